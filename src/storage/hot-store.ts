// The hot store's contract: what the log layer needs from durable storage. Every engine
// (segment files + classic-level on disk, memory for tests) passes test/storage/contract.ts.

/** Where one stored record batch lives. Opaque to callers except for `size`. */
export interface BatchLocation {
  segment: number
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

/** One batch to append. The bytes are a complete magic-2 record batch whose base offset is already patched. */
export interface AppendRequest {
  topicId: string
  partition: number
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
  bytes: Buffer
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
}

export interface HotStore {
  /** Opens the store, running recovery of the log tail. Must be called once before anything else. */
  open(): Promise<RecoveryReport>
  /** Finishes pending commits and releases files. */
  close(): Promise<void>

  loadTopics(): Promise<TopicRecord[]>
  /** Durable before the promise resolves (in every durability mode that syncs). */
  putTopic(topic: TopicRecord): Promise<void>
  /** Removes the topic record, its partition states and index entries. Its batches become garbage. */
  deleteTopic(topicId: string): Promise<void>

  /** All partitions with state, with their index entries (used once at start to build the in-memory view). */
  loadPartitions(): Promise<RecoveredPartition[]>
  /**
   * Queues a batch for the current group commit and resolves once it is durable per the
   * durability mode. All appends (and state writes) queued in one event-loop tick share one
   * log write, one fdatasync and one index batch. Resolution order equals call order.
   * The partition's nextOffset becomes `lastOffset + 1`.
   */
  append(request: AppendRequest): Promise<BatchLocation>
  /** Queues generic state rows into the current group commit. */
  writeState(writes: StateWrite[]): Promise<void>
  /** Durably updates a partition's logStartOffset / flushedOffset (nextOffset only moves by append). */
  updatePartitionState(topicId: string, partition: number, state: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void>
  /** Creates state rows for new partitions (nextOffset 0). */
  initPartitions(topicId: string, partitions: number[]): Promise<void>

  /**
   * Reads a stored batch back synchronously (positional read; the file is usually in page
   * cache). Returns exactly the appended bytes.
   */
  read(location: BatchLocation): Buffer
  /** Generic state rows whose key starts with `prefix`. */
  scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>>
}
