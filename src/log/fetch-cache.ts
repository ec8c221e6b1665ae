// A broker-wide byte budget for recently appended batches kept in memory, so Fetch of the hot
// tail never touches the log files. Oldest bytes are evicted first, across all partitions.
import type { BatchIndex } from './batch-index.ts'

/**
 * The bytes to keep in the cache: the batch itself when it is most of the memory it lives in (a large
 * request's own buffer), else a copy, so a small batch does not keep alive the read buffer or socket
 * chunk it arrived in (up to 64 KiB for a few bytes, which the budget would not see).
 */
export function ownBytes(bytes: Buffer): Buffer {
  if (bytes.buffer.byteLength <= 2 * bytes.length) return bytes
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
