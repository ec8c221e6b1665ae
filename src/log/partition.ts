// One topic partition on this broker: its offsets (changed only by the log, read by everyone), the
// in-memory batch index of the hot log, and the wake-up list of waits for an append.
import { FileRangesBuilder, type FileRanges } from '../storage/file-ranges.ts'
import type { BatchLocation, FileRange, IndexEntry, PartitionState } from '../storage/hot-store.ts'
import type { AppendWatcher } from './append-wait.ts'
import { BatchIndex } from './batch-index.ts'
import { ownBytes, type FetchCache } from './fetch-cache.ts'
import { PartitionTransactions, type AbortedTransaction } from './partition-transactions.ts'
import { PartitionProducers } from './producer-state.ts'

/** Where the stored batches' bytes are (the hot store). */
export interface BatchStore {
  read(location: BatchLocation, allocate?: (size: number) => Buffer): Buffer
  fileOf(location: BatchLocation): FileRange | null
}

/** A stored batch found by timestamp (ListOffsets). */
export interface TimestampedBatch {
  offset: number
  lastOffset: number
  timestamp: number
  batch: Buffer
}

export class Partition {
  readonly topicId: string
  readonly id: number
  readonly producers = new PartitionProducers()
  readonly transactions = new PartitionTransactions()
  readonly #store: BatchStore
  readonly #index = new BatchIndex()
  #nextOffset = 0
  #highWatermark = 0
  #logStartOffset = 0
  #flushedOffset = 0
  #deletedBefore = 0
  #watchers: AppendWatcher[] = []

  constructor(topicId: string, id: number, store: BatchStore) {
    this.topicId = topicId
    this.id = id
    this.#store = store
  }

  /** Offset the next appended record gets; moves when a batch is accepted (before it is durable). */
  get nextOffset(): number {
    return this.#nextOffset
  }

  /** Every offset below is durable and readable; moves when a batch is committed. */
  get highWatermark(): number {
    return this.#highWatermark
  }

  /**
   * Every offset below is decided: not part of a transaction still open (Kafka's last stable offset).
   * read_committed consumers and the flusher read up to here.
   */
  get lastStableOffset(): number {
    return Math.min(this.transactions.firstOpenOffset(), this.#highWatermark)
  }

  /** First offset still in the hot log (older ones are only in the Iceberg table). */
  get logStartOffset(): number {
    return this.#logStartOffset
  }

  /** Every offset below is committed to the Iceberg table. */
  get flushedOffset(): number {
    return this.#flushedOffset
  }

  /**
   * Offsets below were deleted for Kafka and HTTP readers (DeleteRecords, the topic's retention.ms and
   * retention.bytes): never served again, whether from the hot log or the Iceberg table. Their batches
   * stay in the hot log until it drops them (they are flushed like any other), so this is a floor
   * under the log start offset, not where the hot log starts.
   */
  get deletedBefore(): number {
    return this.#deletedBefore
  }

  // --- Changed by the log layer only (broker-log.ts, hot-retention.ts) ---

  /** The state and index rows read back from the store at start. */
  restore(state: PartitionState, entries: readonly IndexEntry[]): void {
    this.#logStartOffset = state.logStartOffset
    this.#nextOffset = this.#highWatermark = state.nextOffset
    this.#flushedOffset = state.flushedOffset
    for (const entry of entries) if (entry.lastOffset >= state.logStartOffset) this.#index.push(entry)
  }

  /** Moves the deletion floor up to `offset` (never back); false when it was already there. */
  deleteBefore(offset: number): boolean {
    if (offset <= this.#deletedBefore) return false
    this.#deletedBefore = offset
    return true
  }

  /**
   * Where the topic's retention moves the deletion floor, batch by batch from it as Kafka does segment
   * by segment: past every leading batch whose max timestamp is older than `cutoffMs` (-Infinity: no
   * time rule), then past the oldest batches while the rest still hold `retentionBytes` (-1: no size
   * rule). Only durable batches count; the answer is the floor itself when nothing is past retention.
   */
  retentionFloor(cutoffMs: number, retentionBytes: number): number {
    const index = this.#index
    const count = index.count
    let i = index.findByOffset(this.#deletedBefore)
    let floor = this.#deletedBefore
    for (; i < count && index.baseOffset(i) < this.#highWatermark && index.maxTimestamp(i) < cutoffMs; i++) floor = index.lastOffset(i) + 1
    if (retentionBytes < 0) return floor
    let bytes = 0
    for (let j = i; j < count && index.baseOffset(j) < this.#highWatermark; j++) bytes += index.size(j)
    for (; i < count && index.baseOffset(i) < this.#highWatermark && bytes - index.size(i) >= retentionBytes; i++) {
      bytes -= index.size(i)
      floor = index.lastOffset(i) + 1
    }
    return floor
  }

  /** Hands out the offsets of `records` records and returns the first. */
  assignOffsets(records: number): number {
    const baseOffset = this.#nextOffset
    this.#nextOffset = baseOffset + records
    return baseOffset
  }

  /** Takes back offsets from `baseOffset` on (their write was rolled back): the next append gets them again. */
  rollBackTo(baseOffset: number): void {
    if (this.#nextOffset > baseOffset) this.#nextOffset = baseOffset
  }

  /** A stored batch joins the index (its bytes kept in memory if the cache admits them); waits for an append wake up. */
  stored(entry: IndexEntry, bytes: Buffer, cache: FetchCache): void {
    this.#index.push(entry, cache.admit(this.#index, bytes.length) ? ownBytes(bytes) : undefined)
    if (entry.lastOffset + 1 > this.#highWatermark) this.#highWatermark = entry.lastOffset + 1
    this.#wake()
  }

  /**
   * The producer's marker at `markerOffset` is durable: its transaction here is closed (and indexed
   * when aborted), and whoever waits for this partition looks again, as the last stable offset moved.
   */
  transactionEnded(producerId: number, markerOffset: number, aborted: boolean): void {
    this.transactions.end(producerId, markerOffset, aborted)
    this.#wake()
  }

  /** Aborted transactions with batches in [from, to) (the flusher skips their batches). */
  abortedTransactions(from: number, to: number): AbortedTransaction[] {
    return this.transactions.abortedBetween(from, to)
  }

  /** Records that every offset below `offset` is in the Iceberg table (never moves back). */
  flushedTo(offset: number): void {
    if (offset > this.#flushedOffset) this.#flushedOffset = offset
  }

  /** Lowest segment holding a batch not yet in the Iceberg table, or Infinity. */
  firstUnflushedSegment(): number {
    return this.#index.minSegment(this.#index.findByOffset(this.#flushedOffset))
  }

  /** Lowest segment holding any batch of the partition, or Infinity (a compacted partition's batches all stay). */
  firstLiveSegment(): number {
    return this.#index.minSegment(0)
  }

  /** Every stored batch, ascending (a snapshot for the log cleaner). */
  entries(): IndexEntry[] {
    const out: IndexEntry[] = []
    for (let i = 0; i < this.#index.count; i++) out.push(this.#index.entry(i))
    return out
  }

  /** The bytes of a stored batch (one of `entries()`). */
  readEntry(entry: IndexEntry): Buffer {
    return this.#store.read(entry)
  }

  /**
   * Log compaction swapped the stored batches with base offsets `removed` (consecutive in the index)
   * for `added`, durably: the in-memory index follows. Batches that left meanwhile (the log start
   * moved) stay gone, and added ones below the log start are not taken.
   */
  replaceBatches(removed: readonly number[], added: readonly IndexEntry[]): void {
    if (removed.length === 0) return
    const index = this.#index
    const first = index.findByOffset(removed[0]!)
    const lastRemoved = removed[removed.length - 1]!
    let end = first
    while (end < index.count && index.baseOffset(end) <= lastRemoved) end++
    index.replace(first, end - first, added.filter((entry) => entry.lastOffset >= this.#logStartOffset))
  }

  /**
   * Drops the batches stored in segments below `segment` (hot retention) and moves the log start
   * offset past them; returns the new log start offset, or -1 when no batch of this partition was there.
   */
  dropSegmentsBefore(segment: number): number {
    const index = this.#index
    const dropped = index.findBySegment(segment)
    if (dropped === 0) return -1
    const next = dropped < index.count ? index.baseOffset(dropped) : index.lastOffset(dropped - 1) + 1
    this.#logStartOffset = Math.max(this.#logStartOffset, next)
    index.dropBefore(this.#logStartOffset)
    return this.#logStartOffset
  }

  /**
   * Moves the log start offset up to `offset` (already durable in the store) and drops the batches
   * wholly below it: retention of a compacted topic with cleanup.policy=compact,delete.
   */
  advanceLogStart(offset: number): void {
    if (offset <= this.#logStartOffset) return
    this.#logStartOffset = offset
    this.#index.dropBefore(offset)
  }

  /** The topic is gone: no batch is readable any more, and every wait ends. */
  clear(): void {
    this.#index.clear()
    this.transactions.clear()
    this.#wake()
  }

  // --- Waits for an append (append-wait.ts) ---

  watch(watcher: AppendWatcher): void {
    this.#watchers.push(watcher)
  }

  unwatch(watcher: AppendWatcher): void {
    const i = this.#watchers.indexOf(watcher)
    if (i !== -1) this.#watchers.splice(i, 1)
  }

  /** Every watcher is woken once and forgotten. */
  #wake(): void {
    if (this.#watchers.length === 0) return
    const watchers = this.#watchers
    this.#watchers = []
    for (const watcher of watchers) watcher.wake()
  }

  // --- Reads ---

  /**
   * Appends the stored batches holding offsets from `offset` up to the high watermark (and below
   * `end`) to `out`, whole, until `maxBytes` is reached; the first batch is always included when
   * `includeOversized` (Kafka returns one batch even above the limit so consumers progress).
   * Batches read from the files go into buffers from `allocate` when given. Returns the bytes added.
   */
  read(offset: number, maxBytes: number, includeOversized: boolean, out: Buffer[], end = Number.POSITIVE_INFINITY, allocate?: (size: number) => Buffer): number {
    if (offset >= this.#highWatermark) return 0
    const first = this.#index.findByOffset(offset)
    const last = this.#spanEnd(first, end, maxBytes, includeOversized)
    let bytes = 0
    for (let i = first; i < last; i++) {
      out.push(this.#batch(i, allocate))
      bytes += this.#index.size(i)
    }
    return bytes
  }

  /**
   * The offset after the batches a `read(offset, maxBytes, true, out, end)` would return (what one
   * chunk of at most maxBytes covers), or `offset` when there is none.
   */
  readEnd(offset: number, maxBytes: number, end: number): number {
    if (offset >= this.#highWatermark) return offset
    const first = this.#index.findByOffset(offset)
    const last = this.#spanEnd(first, end, maxBytes, true)
    return last > first ? this.#index.lastOffset(last - 1) + 1 : offset
  }

  /** Where the batches of offsets [offset, end) lie in the hot log's files, or null if the store has no files. */
  files(offset: number, end: number): FileRanges | null {
    const first = this.#index.findByOffset(offset)
    const last = this.#spanEnd(first, end, Number.POSITIVE_INFINITY, true)
    const ranges = new FileRangesBuilder(Math.max(0, last - first))
    for (let i = first; i < last; i++) {
      const range = this.#store.fileOf(this.#index.location(i))
      if (range === null) return null
      ranges.push(range)
    }
    return ranges.finish()
  }

  /** Bytes of the stored batches holding offsets from `from` below `to` (and the high watermark); stops once `limit` is reached. */
  bytesBetween(from: number, to: number, limit = Number.POSITIVE_INFINITY): number {
    const end = Math.min(to, this.#highWatermark)
    if (from >= end) return 0
    let bytes = 0
    const count = this.#index.count
    for (let i = this.#index.findByOffset(from); i < count && bytes < limit; i++) {
      if (this.#index.baseOffset(i) >= end) break
      bytes += this.#index.size(i)
    }
    return bytes
  }

  /** The first stored batch holding offsets from `fromOffset` (default: the deletion floor) whose max timestamp >= timestamp, or null. */
  batchAtTimestamp(timestamp: number, fromOffset = this.#deletedBefore): TimestampedBatch | null {
    const i = this.#index.findByTimestamp(timestamp, this.#index.findByOffset(fromOffset))
    if (i >= this.#index.count || this.#index.baseOffset(i) >= this.#highWatermark) return null
    return { offset: this.#index.baseOffset(i), lastOffset: this.#index.lastOffset(i), timestamp: this.#index.maxTimestamp(i), batch: this.#batch(i) }
  }

  /** The batch holding the largest timestamp (first such batch) from the deletion floor on, for ListOffsets MAX_TIMESTAMP. */
  batchWithMaxTimestamp(): TimestampedBatch | null {
    const index = this.#index
    let best = -1
    for (let i = index.findByOffset(this.#deletedBefore); i < index.count; i++) {
      if (index.baseOffset(i) >= this.#highWatermark) break
      if (best === -1 || index.maxTimestamp(i) > index.maxTimestamp(best)) best = i
    }
    if (best === -1) return null
    return { offset: index.baseOffset(best), lastOffset: index.lastOffset(best), timestamp: index.maxTimestamp(best), batch: this.#batch(best) }
  }

  /** Position after the last batch, from position `first`, that a read of `maxBytes` below `end` takes. */
  #spanEnd(first: number, end: number, maxBytes: number, includeOversized: boolean): number {
    const limit = Math.min(end, this.#highWatermark)
    const count = this.#index.count
    let bytes = 0
    let i = first
    for (; i < count && this.#index.baseOffset(i) < limit; i++) {
      const size = this.#index.size(i)
      if (bytes + size > maxBytes && !(bytes === 0 && includeOversized)) break
      bytes += size
    }
    return i
  }

  #batch(i: number, allocate?: (size: number) => Buffer): Buffer {
    return this.#index.cachedBytes(i) ?? this.#store.read(this.#index.location(i), allocate)
  }
}
