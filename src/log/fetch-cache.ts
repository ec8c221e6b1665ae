// A broker-wide byte budget for recently appended batches kept in memory, so Fetch of the hot
// tail never touches the log files. Oldest bytes are evicted first, across all partitions.
import type { BatchIndex } from './batch-index.ts'

/**
 * The bytes to keep in the cache: always a copy of exactly the batch. A view would keep alive the
 * read buffer or socket chunk it arrived in (up to 64 KiB for a few bytes, which the budget would not
 * see), and a large Produce request's buffer is reused for the next request once the append has
 * settled (kafka/request-buffers.ts).
 */
export function ownBytes(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length)
  bytes.copy(copy)
  return copy
}

export class FetchCache {
  readonly budgetBytes: number
  #usedBytes = 0
  // One slot per cached batch, in append order; a ring would save the shifts, but the head
  // index below already makes eviction O(1) amortised.
  #queue: Array<BatchIndex | undefined> = []
  #sizes: number[] = []
  #head = 0

  constructor(budgetBytes: number) {
    this.budgetBytes = budgetBytes
  }

  get usedBytes(): number {
    return this.#usedBytes
  }

  /** Whether a batch of this size should be kept in memory; the caller then pushes it with bytes. */
  admit(index: BatchIndex, size: number): boolean {
    if (size > this.budgetBytes) return false
    this.#usedBytes += size
    this.#queue.push(index)
    this.#sizes.push(size)
    while (this.#usedBytes > this.budgetBytes && this.#head < this.#queue.length) {
      // The slot's own size is subtracted even when the batch already left the index (topic
      // deleted, retention): accounting never drifts, at worst a newer batch is evicted early.
      this.#queue[this.#head]!.uncacheOldest()
      this.#queue[this.#head] = undefined
      this.#usedBytes -= this.#sizes[this.#head++]!
    }
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#sizes = this.#sizes.slice(this.#head)
      this.#head = 0
    }
    return true
  }
}
