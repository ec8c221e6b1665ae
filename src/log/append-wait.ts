// The one "wait for an append" primitive: Kafka Fetch (over every partition it asked for), the HTTP
// stream's long poll and the flusher's size trigger all wait with it. One wait is one object and one
// promise, however many partitions it watches: it registers itself on each, no closure per partition.
import type { Partition } from './partition.ts'

/** Node's timers fire at once for a delay past 2^31 - 1 ms (about 24.8 days): a farther deadline waits that long. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Something woken by the next append to a partition it watches. */
export interface AppendWatcher {
  wake(): void
}

/** Ends at the first append to any of its partitions (or the topic's deletion), the deadline, or the signal's abort. */
class AppendWait implements AppendWatcher {
  readonly #partitions: readonly Partition[]
  readonly #signal: AbortSignal | undefined
  #resolve: (() => void) | null = null
  #timer: NodeJS.Timeout | null = null

  constructor(partitions: readonly Partition[], signal: AbortSignal | undefined) {
    this.#partitions = partitions
    this.#signal = signal
  }

  start(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      this.#resolve = resolve
      for (const partition of this.#partitions) partition.watch(this)
      if (deadline !== Number.POSITIVE_INFINITY) this.#timer = setTimeout(() => this.wake(), Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())))
      this.#signal?.addEventListener('abort', this.#onAbort)
    })
  }

  readonly #onAbort = (): void => this.wake()

  wake(): void {
    const resolve = this.#resolve
    if (resolve === null) return
    this.#resolve = null
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this.#onAbort)
    for (const partition of this.#partitions) partition.unwatch(this)
    resolve()
  }
}

/**
 * Resolves at the next append to any of `partitions`, at `deadline` (ms since the epoch; Infinity:
 * none) or when `signal` aborts, whichever comes first. Callers check again what they wait for:
 * an append may not hold what they need.
 */
export function waitForAppend(partitions: readonly Partition[], deadline: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true || deadline <= Date.now()) return Promise.resolve()
  return new AppendWait(partitions, signal).start(deadline)
}
