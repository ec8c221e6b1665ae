// Where the CPU work of a cleaning runs (decompressing, mapping keys, rebuilding and recompressing
// batches): on a worker thread of its own, below the event loop's priority, so produce and fetch are
// served first; or inline (tests, and a fallback). The log cleaner (log-cleaner.ts) drives either the
// same way: reset, map the dirty batches, clean the batches chunk by chunk.
import { Worker } from 'node:worker_threads'
import { ZombiError } from '../errors.ts'
import { CleanedBatch, OffsetMap, cleanBatch } from './compaction.ts'

/** What the tombstone rule of one cleaning needs, as plain data (it crosses to the worker). */
export interface TombstoneClock {
  nowMs: number
  deleteRetentionMs: number
  /** [end offset, time] of past cleanings, ascending (log-cleaner.ts). */
  horizons: Array<[number, number]>
}

/** When the tombstone at `offset` expires under `clock`. */
export function tombstoneExpiry(clock: TombstoneClock, offset: number): number {
  for (const [end, at] of clock.horizons) if (offset < end) return at + clock.deleteRetentionMs
  // Reached by this cleaning for the first time.
  return clock.nowMs + clock.deleteRetentionMs
}

export interface MapState {
  keys: number
  bytes: number
}

export interface BatchCleaner {
  /** Starts a cleaning with an empty key map. */
  reset(): Promise<void>
  /** Adds batches (in offset order) to the key map. */
  map(batches: readonly Buffer[]): Promise<MapState>
  /** Cleans batches against the key map; `CleanedBatch.bytes` is the input itself when every record stays. */
  clean(batches: readonly Buffer[], clock: TombstoneClock): Promise<CleanedBatch[]>
  close(): Promise<void>
}

/** On the calling thread. */
export class InlineBatchCleaner implements BatchCleaner {
  #map = new OffsetMap()

  async reset(): Promise<void> {
    this.#map = new OffsetMap()
  }

  async map(batches: readonly Buffer[]): Promise<MapState> {
    for (const batch of batches) this.#map.add(batch)
    return { keys: this.#map.size, bytes: this.#map.bytes }
  }

  async clean(batches: readonly Buffer[], clock: TombstoneClock): Promise<CleanedBatch[]> {
    return cleanBatches(this.#map, batches, clock)
  }

  async close(): Promise<void> {}
}

export function cleanBatches(map: OffsetMap, batches: readonly Buffer[], clock: TombstoneClock): CleanedBatch[] {
  const policy = { nowMs: clock.nowMs, expiresAt: (offset: number) => tombstoneExpiry(clock, offset) }
  return batches.map((batch) => cleanBatch(batch, map, policy))
}

// The worker protocol: one request at a time, answered in order.
export type ToCleaner =
  | { kind: 'reset' }
  | { kind: 'map'; batches: Uint8Array[] }
  | { kind: 'clean'; batches: Uint8Array[]; clock: TombstoneClock }

/** One cleaned batch as it crosses back: 'whole' when the input stays as it was. */
export interface CleanedOnWire {
  bytes: Uint8Array | 'whole' | null
  recordsRemoved: number
  tombstonesRemoved: number
  nextTombstoneExpiry: number
}

export type FromCleaner =
  | { kind: 'ok'; map?: MapState; cleaned?: CleanedOnWire[] }
  | { kind: 'error'; message: string }

const workerUrl = new URL('./batch-cleaner-worker.ts', import.meta.url)

/** Below the flush encoders (10) like Iceberg compaction: cleaning takes the CPU left over. */
export const CLEANER_NICENESS = 19

/**
 * On a worker thread (one per log cleaner: it cleans one partition at a time). A worker that dies fails
 * the request in flight (that cleaning is retried at the next pass) and is replaced at the next request.
 */
export class WorkerBatchCleaner implements BatchCleaner {
  #worker: Worker | null = null
  #pending: { resolve(reply: FromCleaner): void; reject(error: Error): void } | null = null
  #closed = false

  #spawn(): Worker {
    const worker = new Worker(workerUrl, { workerData: { niceness: CLEANER_NICENESS } })
    worker.unref()
    worker.on('message', (reply: FromCleaner) => {
      const pending = this.#pending
      this.#pending = null
      pending?.resolve(reply)
    })
    const fail = (error: Error): void => {
      if (this.#worker === worker) this.#worker = null
      const pending = this.#pending
      this.#pending = null
      pending?.reject(error)
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new ZombiError('INVALID_STATE', `the log cleaner's worker exited with code ${code}`)))
    return worker
  }

  async reset(): Promise<void> {
    await this.#ask({ kind: 'reset' })
  }

  async map(batches: readonly Buffer[]): Promise<MapState> {
    return (await this.#ask({ kind: 'map', batches: [...batches] })).map!
  }

  async clean(batches: readonly Buffer[], clock: TombstoneClock): Promise<CleanedBatch[]> {
    const reply = await this.#ask({ kind: 'clean', batches: [...batches], clock })
    return reply.cleaned!.map((cleaned, i) => {
      const bytes = cleaned.bytes === 'whole' ? batches[i]! : cleaned.bytes === null ? null : Buffer.from(cleaned.bytes.buffer, cleaned.bytes.byteOffset, cleaned.bytes.byteLength)
      return new CleanedBatch(bytes, cleaned.recordsRemoved, cleaned.tombstonesRemoved, cleaned.nextTombstoneExpiry)
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = null
    await worker?.terminate()
  }

  #ask(message: ToCleaner): Promise<Extract<FromCleaner, { kind: 'ok' }>> {
    if (this.#closed) return Promise.reject(new ZombiError('INVALID_STATE', 'the log cleaner\'s worker is closed'))
    if (this.#pending !== null) return Promise.reject(new ZombiError('INVALID_STATE', 'the log cleaner\'s worker runs one request at a time'))
    const { promise, resolve, reject } = Promise.withResolvers<FromCleaner>()
    this.#pending = { resolve, reject }
    this.#worker ??= this.#spawn()
    // Batches are copied (structured clone): stored batches may share their memory with others.
    this.#worker.postMessage(message)
    return promise.then((reply) => {
      if (reply.kind === 'error') throw new ZombiError('INVALID_STATE', `log cleaning failed in its worker: ${reply.message}`)
      return reply
    })
  }
}
