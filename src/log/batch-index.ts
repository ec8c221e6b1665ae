// The in-memory view of one partition's stored batches: parallel typed arrays (no object per
// batch), ascending by offset, binary-searchable by offset and by timestamp.
import type { BatchLocation, IndexEntry } from '../storage/hot-store.ts'

const INITIAL_CAPACITY = 64
/** A partition that never got a batch holds no arrays of its own: 100,000 empty partitions cost ~300 MB of them. */
const EMPTY = new Float64Array(0)

export class BatchIndex {
  #start = 0
  #end = 0
  #baseOffsets: Float64Array = EMPTY
  #lastOffsets: Float64Array = EMPTY
  #maxTimestamps: Float64Array = EMPTY
  #segments: Float64Array = EMPTY
  #positions: Float64Array = EMPTY
  #sizes: Float64Array = EMPTY
  // Batches kept in memory to serve Fetch without touching the log file (a suffix of the index).
  #cached: Array<Buffer | undefined> = []
  #cacheFrom = 0

  get count(): number {
    return this.#end - this.#start
  }

  /** Adds a batch after the last one; `bytes` (optional) is cached for Fetch. */
  push(entry: IndexEntry, bytes?: Buffer): void {
    if (this.#end === this.#baseOffsets.length) this.#grow()
    const i = this.#end++
    this.#baseOffsets[i] = entry.baseOffset
    this.#lastOffsets[i] = entry.lastOffset
    this.#maxTimestamps[i] = entry.maxTimestamp
    this.#segments[i] = entry.segment
    this.#positions[i] = entry.position
    this.#sizes[i] = entry.size
    this.#cached[i] = bytes
  }

  /** Position (0-based from the first live batch) of the first batch whose last offset >= offset, or count. */
  findByOffset(offset: number): number {
    let lo = this.#start
    let hi = this.#end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#lastOffsets[mid]! < offset) lo = mid + 1
      else hi = mid
    }
    return lo - this.#start
  }

  /**
   * Position of the first batch stored in segment `segment` or a later one, or count. A
   * partition's batches are appended in order to a log whose segment numbers only grow.
   */
  findBySegment(segment: number): number {
    let lo = this.#start
    let hi = this.#end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#segments[mid]! < segment) lo = mid + 1
      else hi = mid
    }
    return lo - this.#start
  }

  /**
   * First batch whose max timestamp >= timestamp. Max timestamps are not monotonic across
   * batches (clients choose CreateTime), so this is a linear scan from the front, as Kafka's
   * time index semantics require the first offset with timestamp >= target.
   */
  findByTimestamp(timestamp: number, from = 0): number {
    for (let i = this.#start + from; i < this.#end; i++) if (this.#maxTimestamps[i]! >= timestamp) return i - this.#start
    return this.count
  }

  baseOffset(i: number): number {
    return this.#baseOffsets[this.#start + i]!
  }

  lastOffset(i: number): number {
    return this.#lastOffsets[this.#start + i]!
  }

  maxTimestamp(i: number): number {
    return this.#maxTimestamps[this.#start + i]!
  }

  size(i: number): number {
    return this.#sizes[this.#start + i]!
  }

  segment(i: number): number {
    return this.#segments[this.#start + i]!
  }

  cachedBytes(i: number): Buffer | undefined {
    return this.#cached[this.#start + i]
  }

  location(i: number): BatchLocation {
    const j = this.#start + i
    return { segment: this.#segments[j]!, position: this.#positions[j]!, size: this.#sizes[j]! }
  }

  /**
   * Drops the oldest cached batch's bytes and returns how many bytes that freed. Cached
   * batches are a suffix of the index pushed in time order, so a global FIFO of partitions
   * (one slot per cached push) evicts exactly the oldest bytes broker-wide.
   */
  uncacheOldest(): number {
    while (this.#cacheFrom < this.#end) {
      const bytes = this.#cached[this.#cacheFrom]
      this.#cached[this.#cacheFrom++] = undefined
      if (bytes !== undefined) return bytes.length
    }
    return 0
  }

  /** Removes every batch whose last offset is below `offset` (retention, DeleteRecords). */
  dropBefore(offset: number): void {
    const keep = this.findByOffset(offset)
    for (let i = 0; i < keep; i++) this.#cached[this.#start + i] = undefined
    this.#start += keep
    if (this.#cacheFrom < this.#start) this.#cacheFrom = this.#start
  }

  /** Removes every batch. */
  clear(): void {
    this.#start = 0
    this.#end = 0
    this.#cacheFrom = 0
    this.#cached = []
  }

  #grow(): void {
    const live = this.#end - this.#start
    const capacity = Math.max(INITIAL_CAPACITY, live * 2)
    const move = (from: Float64Array): Float64Array => {
      const to = new Float64Array(capacity)
      to.set(from.subarray(this.#start, this.#end))
      return to
    }
    this.#baseOffsets = move(this.#baseOffsets)
    this.#lastOffsets = move(this.#lastOffsets)
    this.#maxTimestamps = move(this.#maxTimestamps)
    this.#segments = move(this.#segments)
    this.#positions = move(this.#positions)
    this.#sizes = move(this.#sizes)
    this.#cached = this.#cached.slice(this.#start, this.#end)
    this.#cacheFrom = Math.max(0, this.#cacheFrom - this.#start)
    this.#start = 0
    this.#end = live
  }
}
