// The hot store's contract: what the log layer needs from durable storage. Every engine
// (segment files + classic-level on disk, memory for tests) passes test/storage/contract.ts.
import { ZombiError } from '../errors.ts'

/** Where one stored record batch lives. Opaque to callers except for `size`. */
export interface BatchLocation {
  segment: number
  position: number
  size: number
}

/** A byte range of a file. */
export interface FileRange {
  path: string
  position: number
  size: number
}

/** One index row: a stored batch of one partition, in offset order. */
export interface IndexEntry extends BatchLocation {
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
}

/** Durable per-partition state. Offsets are absolute Kafka offsets. */
export interface PartitionState {
  /** First offset still readable (advances with DeleteRecords / retention). */
  logStartOffset: number
  /** Offset the next appended record gets (= high watermark on a single node). */
  nextOffset: number
  /** Every offset below this one is committed to Iceberg (0 until the flusher runs). */
  flushedOffset: number
}

export interface TopicRecord {
  /** Canonical lowercase UUID string, never the zero UUID. */
  id: string
  name: string
  partitions: number
  /** Explicitly set topic configs (Kafka names, string values). */
  configs: Record<string, string>
  createdAtMs: number
}

/**
 * One batch to append. The bytes are a complete magic-2 record batch whose base offset is
 * already patched; they must not change after the call (the frame CRC is computed at the call).
 */
export interface AppendRequest {
  topicId: string
  partition: number
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
  bytes: Buffer
  /**
   * The bytes are a magic-2 Kafka record batch whose own CRC-32C the caller verified (and kept
   * valid through its patches): the store may then rely on that CRC for the batch body instead
   * of hashing the bytes a second time. Never set it for unchecked bytes.
   */
  batchCrcChecked?: boolean
}

/** Why an append request breaks the contract (offsets, partition, bytes), or null; stores reject such a call alone. */
export function appendRequestProblem(request: AppendRequest): string | null {
  const { partition, baseOffset, lastOffset, maxTimestamp, bytes } = request
  if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) return `invalid partition ${partition}`
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) return `invalid base offset ${baseOffset}`
  // Kafka's last offset delta is an int32.
  if (!Number.isSafeInteger(lastOffset) || lastOffset < baseOffset || lastOffset - baseOffset > 0x7fffffff) return `invalid last offset ${lastOffset} for base offset ${baseOffset}`
  if (!Number.isSafeInteger(maxTimestamp)) return `invalid max timestamp ${maxTimestamp}`
  if (!Buffer.isBuffer(bytes)) return 'bytes must be a Buffer'
  return null
}

/** A batch that takes the place of stored batches of its partition (log compaction), keeping its offsets. */
export interface ReplacementBatch {
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
  bytes: Buffer
}

/** Why a replacement breaks the contract (offsets out of order or outside the removed range), or null. */
export function replacementProblem(partition: number, removed: readonly number[], added: readonly ReplacementBatch[]): string | null {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) return `invalid partition ${partition}`
  if (removed.length === 0) return 'a replacement removes at least one batch'
  for (let i = 0; i < removed.length; i++) {
    const offset = removed[i]!
    if (!Number.isSafeInteger(offset) || offset < 0 || (i > 0 && offset <= removed[i - 1]!)) return `removed base offsets must be ascending offsets, got ${removed.join(',')}`
  }
  let previousLast = removed[0]! - 1
  for (const batch of added) {
    const problem = appendRequestProblem({ topicId: '', partition, ...batch })
    if (problem !== null) return problem
    if (batch.baseOffset <= previousLast) return `replacement batches must be ascending and disjoint (base offset ${batch.baseOffset})`
    if (batch.baseOffset < removed[0]!) return `replacement batch ${batch.baseOffset} starts before the first removed batch ${removed[0]}`
    previousLast = batch.lastOffset
  }
  return null
}

/** Generic state rows that ride along with a group commit (group offsets, producer state, ...). */
export interface StateWrite {
  /** Namespaced key, e.g. `group/<group>/<topic>/<partition>`. */
  key: string
  /** null deletes the key. */
  value: Buffer | null
}

export interface RecoveredPartition {
  topicId: string
  partition: number
  state: PartitionState
  /** Index entries of the batches still stored, ascending by baseOffset. */
  entries: IndexEntry[]
}

export interface ReindexedBatch {
  topicId: string
  partition: number
  entry: IndexEntry
}

export interface RecoveryReport {
  /** Batches found in the log tail past the last index checkpoint and indexed again. */
  reindexedBatches: number
  /**
   * Those batches, in log order: their state rows (e.g. producer sequences) were written in
   * the same lost index batch, so the log layer replays them.
   */
  reindexed: ReindexedBatch[]
  /** Bytes cut from the tail because they did not form a complete, valid frame. */
  truncatedBytes: number
  /** State rows (writeState) found in the log tail past the checkpoint and written again. */
  replayedStateWrites: number
  /**
   * Index entries dropped because their bytes are no longer in the log: the index got ahead
   * of the log, which only a machine crash with durability `none` can cause. Offsets still
   * never go backwards; those batches are a gap.
   */
  droppedEntries: number
}

/** One segment file of the hot log. */
export interface SegmentInfo {
  segment: number
  bytes: number
  /** When the segment was last written (file modification time). */
  lastWriteMs: number
}

export interface SegmentListing {
  /** Every segment file, oldest first (the one appends go to last). */
  segments: SegmentInfo[]
  /**
   * Segments numbered below this hold only acknowledged frames whose index entries the log
   * layer already has; the rest may hold writes still in flight, so they are never deleted.
   */
  deletableBefore: number
}

/** A partition's new log start offset, made durable before segments are deleted under it. */
export interface LogStartUpdate {
  topicId: string
  partition: number
  logStartOffset: number
}

/** The store as /health reports it. */
export interface StoreHealth {
  ok: boolean
  /** Why not, or what is fine: "disk full: 12 MB free, floor 64 MB". */
  detail: string
  /** Estimated free bytes on the store's filesystem (null for engines without one). */
  freeBytes: number | null
}

export interface HotStore {
  /** Opens the store, running recovery of the log tail. Must be called once before anything else. */
  open(): Promise<RecoveryReport>
  /** Finishes pending commits and releases files. */
  close(): Promise<void>

  loadTopics(): Promise<TopicRecord[]>
  /**
   * Durable before the promise resolves (in every durability mode that syncs). The topic is
   * known to the store from the call on, so appends racing with the put are indexed.
   */
  putTopic(topic: TopicRecord): Promise<void>
  /** Removes the topic record, its partition states and index entries. Its batches become garbage. */
  deleteTopic(topicId: string): Promise<void>

  /** All partitions with state, with their index entries (used once at start to build the in-memory view). */
  loadPartitions(): Promise<RecoveredPartition[]>
  /**
   * Queues a batch for the current group commit and resolves once it is durable per the
   * durability mode. All appends, state writes and partition updates queued in one event-loop
   * tick share one log write, one fdatasync and one index batch; they resolve in call order.
   * The partition's nextOffset becomes max(nextOffset, lastOffset + 1); a partition of a
   * known topic without state gets one. An append to a topic the store does not know (deleted)
   * is written and resolved but never indexed. Rejects with INVALID_ARGUMENT for a malformed request
   * (the store stays usable); with STORAGE_FULL when the disk filled up under it: the write and
   * every one queued after it are rolled back (nothing of them is stored, the offsets they carried
   * may be given out again) and the store goes on; and with STORAGE_FAILED once a log write
   * failed otherwise: from then on every write is refused and nothing after the failure is
   * acknowledged. Once the promise has settled the store holds no reference to `request.bytes`:
   * the caller may reuse that memory (the Kafka listener reads the next Produce request into it).
   */
  append(request: AppendRequest): Promise<BatchLocation>
  /**
   * Whether an append of a batch of `bytes` would be accepted now; false while the disk is under
   * its free-space floor or a rollback runs (not after a failure: the append then rejects with
   * STORAGE_FAILED). The log layer asks before it gives out offsets, so a refused write leaves no
   * trace. Cheap enough to ask per append (no syscall).
   */
  hasSpaceFor(bytes: number): boolean
  /** Health of the store and its disk, for /health. */
  health(): StoreHealth
  /**
   * Queues generic state rows into the current group commit (same ordering, durability and
   * failure rules as append: the rows are framed into the log, so one fdatasync covers them).
   * The values are copied at the call.
   */
  writeState(writes: StateWrite[]): Promise<void>
  /**
   * Durably updates a partition's logStartOffset / flushedOffset (nextOffset only moves by
   * append). Goes through the group commit like append, in call order with it.
   */
  updatePartitionState(topicId: string, partition: number, state: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void>
  /**
   * Log compaction: atomically swaps the partition's index entries whose base offsets are `removed`
   * (ascending) for `added` (ascending, disjoint, each within the removed batches' offsets; the
   * offsets of the records they keep are unchanged). Durable and ordered like append (one frame of
   * the group commit): after a crash the partition has either every removed entry or every added
   * one, never a mix. nextOffset does not move. Resolves with the added batches' index entries
   * (their bytes read back with `read`); a partition of an unknown (deleted) topic changes nothing.
   */
  replaceBatches(topicId: string, partition: number, removed: readonly number[], added: readonly ReplacementBatch[]): Promise<IndexEntry[]>
  /** Creates state rows for new partitions (nextOffset 0) of a known topic; existing ones are left alone. */
  initPartitions(topicId: string, partitions: number[]): Promise<void>

  /**
   * Reads a stored batch back synchronously (positional read; the file is usually in page
   * cache). Returns exactly the appended bytes, in a buffer from `allocate` when given (a store
   * that already holds the bytes in memory may return its own buffer instead).
   */
  read(location: BatchLocation, allocate?: (size: number) => Buffer): Buffer
  /**
   * Where a stored batch's bytes lie in a file, for readers outside this thread (the flusher's
   * worker reads them with positional reads instead of the event loop copying them); null for
   * engines without files.
   */
  fileOf(location: BatchLocation): FileRange | null
  /** The log's segment files (engines without segments list none). */
  segments(): SegmentListing
  /**
   * Hot retention: makes the given log start offsets durable (and drops the index entries
   * below them), then deletes every segment file numbered below `segment`. The caller
   * guarantees that no entry at or above the new log start offsets lies in those segments
   * and that `segment` <= deletableBefore. Returns the bytes freed.
   */
  deleteSegmentsBefore(segment: number, updates: LogStartUpdate[]): Promise<number>
  /** Generic state rows whose key starts with `prefix`. */
  scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>>
}

/** Why a store that was never opened, or is closed, refuses a write (null when it is open): the same answer from every engine. */
export function notOpenRefusal(opened: boolean, closed: boolean): ZombiError | null {
  if (closed) return new ZombiError('STORAGE_CLOSED', 'the hot store is closed')
  if (!opened) return new ZombiError('STORAGE_CLOSED', 'the hot store is not open yet')
  return null
}
