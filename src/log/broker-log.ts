// The broker's topics and partitions over the hot store: create/delete topics (and create them on
// first use), append validated batches with dense offsets, record what reached Iceberg, and wait for
// appends. Partitions answer reads themselves (partition.ts).
import { randomUUID } from 'node:crypto'
import { ZombiError, isStorageFull } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { RecordCursor } from '../protocol/record-cursor.ts'
import {
  ATTR_CONTROL, ATTR_TRANSACTIONAL, ERR_CRC, ERR_OLD_MAGIC, attributesOf, baseSequenceOf, baseTimestampOf, batchSize, checkBatch,
  MAX_RECORD_TIMESTAMP, MIN_RECORD_TIMESTAMP, indexTimestampOf, lastOffsetDeltaOf, maxTimestampOf, patchBaseOffset, patchLeaderEpoch, producerEpochOf, producerIdOf, stampLogAppendTime,
} from '../protocol/record-batch.ts'
import { recompressBatches } from '../protocol/recompress.ts'
import type { HotStore, IndexEntry, RecoveryReport, StateWrite, TopicRecord } from '../storage/hot-store.ts'
import { waitForAppend } from './append-wait.ts'
import { ColdFetch } from './cold-fetch.ts'
import { FetchCache } from './fetch-cache.ts'
import { Partition } from './partition.ts'
import { ABORTED_INDEX_PREFIX, abortedIndexKey, decodeAbortedRow, encodeAbortedEntry } from './partition-transactions.ts'
import { ProducerBatch, ProducerEntry, addSequence, decodeProducerEntry, encodeProducerEntry } from './producer-state.ts'
import { CONTROL_ABORT, CONTROL_COMMIT, controlTypeOf, encodeControlBatch } from '../protocol/control-record.ts'
import type { ColdRead } from './record-reader.ts'
import { Topic } from './topic.ts'
import { topicConfigProblem, topicConfigsProblem, topicNameProblem, type BrokerDefaults } from './topic-config.ts'

export interface BrokerLogOptions {
  store: HotStore
  logger: Logger
  defaults: BrokerDefaults
  fetchCacheBytes: number
  /** Clock for LogAppendTime (tests pin it). */
  now?: () => number
  /** Most partitions over all topics (ZOMBI_MAX_PARTITIONS); each costs memory even while empty. */
  maxPartitions?: number
  /**
   * Called once when an append cannot be made durable and the store cannot go on (not for a full
   * disk, which is answered with KAFKA_STORAGE_ERROR): the log directory has failed.
   */
  onStorageFailure?: (error: unknown) => void
  /** Topics are created on first use (ZOMBI_AUTO_CREATE_TOPICS, default true)... */
  autoCreateTopics?: boolean
  /** ...with this many partitions (ZOMBI_DEFAULT_PARTITIONS, default 1). */
  defaultPartitions?: number
  /** Reads records back from a topic's Iceberg table; without it, offsets below the hot log's start are out of range for Kafka. */
  readCold?: ColdRead
  /** Memory for batches rebuilt from the table (ZOMBI_COLD_FETCH_CACHE_MB). */
  coldFetchCacheBytes?: number
}

/** A Kafka error code with a message for the response's error_message field. */
export interface LogError {
  errorCode: ErrorCode
  message: string
}

/** A record of a refused batch, by its index in the batch, with why (Produce v8+ record_errors). */
export interface RecordError {
  batchIndex: number
  message: string
}

export interface AppendResult {
  errorCode: ErrorCode
  errorMessage: string | null
  /** The records at fault when a batch was refused for them (INVALID_RECORD); absent otherwise. */
  recordErrors?: RecordError[]
  baseOffset: number
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTime: number
}

/**
 * Told in the tick of an append that got its offsets (not for one refused before), so state written
 * then (such as idempotency keys) joins the same group commit; `result` settles once it is durable.
 */
export interface AppendListener {
  accepted(baseOffset: number, result: Promise<AppendResult>): void
}

const NO_ERROR_RESULT_FIELDS = { errorMessage: null } as const

/** Appends answered KAFKA_STORAGE_ERROR, by why (for metrics). */
export class StorageRefusals {
  /** Refused before offsets were given out: free space under the floor. */
  diskFull = 0
  /** Accepted, then rolled back: the disk filled up under the write. */
  rolledBack = 0
}
/** The partition leader epoch this single broker reports everywhere (Metadata, Fetch, ListOffsets, batches). */
const NO_LEADER_EPOCH = -1
const NEXT_PRODUCER_ID_KEY = 'broker/next-producer-id'
const PRODUCER_PREFIX = 'producer/'
/** Per partition, the offset below which records are deleted for readers (DeleteRecords, topic retention). */
const DELETED_BEFORE_PREFIX = 'deleted-before/'
/** Kafka's producer.id.expiration.ms default: producer state idle this long is forgotten. */
export const PRODUCER_EXPIRATION_MS = 24 * 60 * 60 * 1000

function deletedBeforeKey(topicId: string, partition: number): string {
  return `${DELETED_BEFORE_PREFIX}${topicId}/${partition}`
}

/** DeleteRecords' answer for one partition. */
export interface DeleteRecordsResult {
  errorCode: ErrorCode
  /** The log start offset after the deletion, or -1 with an error. */
  lowWatermark: number
}

function producerStateKey(topicId: string, partition: number, producerId: number): string {
  return `${PRODUCER_PREFIX}${topicId}/${partition}/${producerId}`
}

export class BrokerLog {
  readonly store: HotStore
  readonly defaults: BrokerDefaults
  readonly #logger: Logger
  readonly #byName = new Map<string, Topic>()
  readonly #byId = new Map<string, Topic>()
  readonly #cache: FetchCache
  readonly #now: () => number
  // Topic names with a create or delete in progress: a second one for the same name waits.
  readonly #pending = new Map<string, Promise<unknown>>()
  readonly #onStorageFailure: (error: unknown) => void
  #storageFailed = false
  readonly storageRefusals = new StorageRefusals()
  #nextProducerId = 0
  readonly #maxPartitions: number
  /** Partitions of every registered topic, including creations still being written. */
  #partitionCount = 0
  readonly #autoCreateTopics: boolean
  readonly #defaultPartitions: number
  #onFlushed: () => void = () => undefined
  /** Kafka reads below the hot log's start, from the Iceberg table; null: they are out of range. */
  readonly cold: ColdFetch | null

  /** Bytes of batches the fetch cache holds now (its budget is ZOMBI_FETCH_CACHE_MB). */
  get fetchCacheUsedBytes(): number {
    return this.#cache.usedBytes
  }

  constructor(options: BrokerLogOptions) {
    this.store = options.store
    this.defaults = options.defaults
    this.#logger = options.logger
    this.#cache = new FetchCache(options.fetchCacheBytes)
    this.#now = options.now ?? Date.now
    this.#maxPartitions = options.maxPartitions ?? Number.POSITIVE_INFINITY
    this.#onStorageFailure = options.onStorageFailure ?? (() => undefined)
    this.#autoCreateTopics = options.autoCreateTopics ?? true
    this.#defaultPartitions = options.defaultPartitions ?? 1
    this.cold = options.readCold === undefined ? null : new ColdFetch({ read: options.readCold, cacheBytes: options.coldFetchCacheBytes ?? 64 * 1024 * 1024 })
  }

  /**
   * The log start offset Kafka clients see: the first offset of the partition's Iceberg table once hot
   * retention has moved the hot log past it (so `auto.offset.reset=earliest` means the table's
   * beginning), else the hot log's. Rejects when the table cannot be read.
   */
  async logStartOffset(topic: Topic, partition: Partition): Promise<number> {
    const cold = this.coldFor(topic)
    const start = cold === null ? partition.logStartOffset : await cold.logStartOffset(topic, partition)
    return Math.max(start, partition.deletedBefore)
  }

  /**
   * Where Kafka reads of the topic below the hot log go: the Iceberg table, or null (out of range). A
   * compacted topic has none: its table holds every version of every key, while the hot log keeps the
   * latest per key for ever (docs/compacted-topics.md), so the hot log is its whole Kafka view.
   */
  coldFor(topic: Topic): ColdFetch | null {
    return topic.compacted ? null : this.cold
  }

  /** Retention removed rows from the topic's table: Kafka's log start is learnt from the table again. */
  tableRowsRemoved(topicName: string): void {
    const topic = this.topicByName(topicName)
    if (topic !== undefined) this.cold?.forgetTopic(topic.id)
  }

  /** logStartOffset as far as known without reading the table (Fetch's log_start_offset field). */
  knownLogStartOffset(topic: Topic, partition: Partition): number {
    const cold = this.coldFor(topic)
    const start = cold === null ? partition.logStartOffset : cold.knownLogStartOffset(topic, partition)
    return Math.max(start, partition.deletedBefore)
  }

  /**
   * DeleteRecords: records below `offset` (-1: the high watermark) are deleted for every reader, durably
   * before the answer. An offset above the high watermark is OFFSET_OUT_OF_RANGE; one below the log
   * start changes nothing. The Iceberg table keeps the rows (docs/topic-configs.md).
   */
  async deleteRecords(topic: Topic, partition: Partition, offset: number): Promise<DeleteRecordsResult> {
    const target = offset === -1 ? partition.highWatermark : offset
    if (target < 0 || target > partition.highWatermark) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 }
    try {
      await this.#moveDeletionFloor(topic, partition, target)
    } catch (error) {
      const refusal = storageRefusal(error)
      if (refusal !== null) return { errorCode: refusal.errorCode, lowWatermark: -1 }
      throw error
    }
    const lowWatermark = await this.logStartOffset(topic, partition).catch(() => this.knownLogStartOffset(topic, partition))
    return { errorCode: ErrorCode.NONE, lowWatermark }
  }

  /**
   * The topics' retention.ms and retention.bytes over the Kafka view of their partitions: the deletion
   * floor moves past the batches they put out (Partition.retentionFloor), durably; only for a
   * cleanup.policy with delete (a compact-only topic keeps every key's latest value). Returns the
   * partitions moved. The Iceberg table's own retention follows the same configs (src/iceberg/retention.ts).
   */
  async enforceTopicRetention(nowMs: number): Promise<number> {
    let moved = 0
    for (const topic of [...this.#byName.values()]) {
      const retentionMs = topic.retentionMs
      const retentionBytes = topic.retentionBytes
      if (!topic.retentionDeletes || (retentionMs < 0 && retentionBytes < 0)) continue
      const cutoff = retentionMs < 0 ? Number.NEGATIVE_INFINITY : nowMs - retentionMs
      for (const partition of topic.partitions) {
        const floor = partition.retentionFloor(cutoff, retentionBytes)
        if (floor <= partition.deletedBefore) continue
        await this.#moveDeletionFloor(topic, partition, floor)
        moved++
      }
    }
    if (moved > 0) this.#logger.info({ partitions: moved }, 'topic retention moved log start offsets')
    return moved
  }

  /** Makes the floor durable, then moves it in memory (a crash between only leaves it moved on disk: never back). */
  async #moveDeletionFloor(topic: Topic, partition: Partition, offset: number): Promise<void> {
    // A topic deleted meanwhile keeps no row (its state rows went with it).
    if (offset <= partition.deletedBefore || this.#byId.get(topic.id) !== topic) return
    await this.store.writeState([{ key: deletedBeforeKey(topic.id, partition.id), value: Buffer.from(String(offset)) }])
    if (partition.deleteBefore(offset)) this.#logger.debug({ topic: topic.name, partition: partition.id, offset }, 'records deleted before offset')
  }

  /** Builds the in-memory view (topics, partitions, batch indexes, producer state) from the store. */
  async open(recovery?: RecoveryReport): Promise<void> {
    for (const record of await this.store.loadTopics()) {
      const topic = new Topic(record, this.defaults)
      for (let p = 0; p < record.partitions; p++) topic.partitions.push(new Partition(topic.id, p, this.store))
      this.#register(topic)
    }
    for (const recovered of await this.store.loadPartitions()) {
      const topic = this.#byId.get(recovered.topicId)
      if (topic === undefined) continue
      const partition = topic.partitions[recovered.partition]
      if (partition === undefined) continue
      partition.restore(recovered.state, recovered.entries)
    }
    await this.#loadDeletionFloors()
    await this.#loadProducerState(recovery)
  }

  async #loadDeletionFloors(): Promise<void> {
    for (const { key, value } of await this.store.scanState(DELETED_BEFORE_PREFIX)) {
      const [topicId, partitionIndex] = key.slice(DELETED_BEFORE_PREFIX.length).split('/') as [string, string]
      this.#byId.get(topicId)?.partitions[Number(partitionIndex)]?.deleteBefore(Number(value.toString('utf8')))
    }
  }

  async #loadProducerState(recovery: RecoveryReport | undefined): Promise<void> {
    const [next] = await this.store.scanState(NEXT_PRODUCER_ID_KEY)
    if (next !== undefined) this.#nextProducerId = Number(next.value.toString('utf8'))
    for (const { key, value } of await this.store.scanState(PRODUCER_PREFIX)) {
      const [topicId, partitionIndex, producerId] = key.slice(PRODUCER_PREFIX.length).split('/') as [string, string, string]
      const partition = this.#byId.get(topicId)?.partitions[Number(partitionIndex)]
      if (partition === undefined) continue
      const entry = decodeProducerEntry(value)
      partition.producers.set(Number(producerId), entry)
      if (entry.transactionFirstOffset >= 0) partition.transactions.begin(Number(producerId), entry.transactionFirstOffset)
    }
    const stale: StateWrite[] = []
    for (const { key, value } of await this.store.scanState(ABORTED_INDEX_PREFIX)) {
      const { topicId, partition: partitionIndex, entry } = decodeAbortedRow(key, value)
      const partition = this.#byId.get(topicId)?.partitions[partitionIndex]
      // Below the hot log's start the batches are gone (hot retention wrote the start before this row was deleted).
      if (partition === undefined || entry.lastOffset < partition.logStartOffset) stale.push({ key, value: null })
      else partition.transactions.restoreAborted(entry)
    }
    if (stale.length > 0) await this.store.writeState(stale)
    // Batches re-indexed at recovery: their producer-state row follows them in the same commit, and
    // a torn tail can keep the batch frame but cut that row. The batch was never acknowledged, so
    // the producer retries it; without this replay the retry would be stored a second time.
    const writes: StateWrite[] = []
    for (const { topicId, partition: partitionIndex, entry } of recovery?.reindexed ?? []) {
      const partition = this.#byId.get(topicId)?.partitions[partitionIndex]
      if (partition === undefined) continue
      const batch = this.store.read(entry)
      const producerId = producerIdOf(batch)
      if (producerId < 0) continue
      if ((attributesOf(batch) & ATTR_CONTROL) !== 0) {
        // A marker whose state rows were cut with the tail: its transaction is closed here all the same.
        writes.push(...this.#markerWritten(topicId, partition, producerId, producerEpochOf(batch), controlTypeOf(batch) === CONTROL_COMMIT, entry.baseOffset))
        partition.transactions.end(producerId, entry.baseOffset, controlTypeOf(batch) !== CONTROL_COMMIT)
        continue
      }
      const firstSequence = baseSequenceOf(batch)
      const lastSequence = addSequence(firstSequence, lastOffsetDeltaOf(batch))
      const producer = partition.producers.record(producerId, producerEpochOf(batch), new ProducerBatch(firstSequence, lastSequence, entry.baseOffset, entry.lastOffset, null), Date.now())
      if ((attributesOf(batch) & ATTR_TRANSACTIONAL) !== 0 && producer.transactionFirstOffset < 0) {
        producer.transactionFirstOffset = entry.baseOffset
        partition.transactions.begin(producerId, entry.baseOffset)
      }
      if (producerId >= this.#nextProducerId) this.#nextProducerId = producerId + 1
      writes.push({ key: producerStateKey(topicId, partitionIndex, producerId), value: encodeProducerEntry(producer) })
    }
    if (writes.length > 0) await this.store.writeState(writes)
  }

  /** Hands out a new producer id (idempotent producers get a fresh id and epoch 0 each time, as in Kafka). */
  async allocateProducerId(): Promise<number> {
    // An id whose write fails is skipped, never handed out: the next one is written with a higher value.
    const producerId = this.#nextProducerId++
    await this.store.writeState([{ key: NEXT_PRODUCER_ID_KEY, value: Buffer.from(String(producerId + 1)) }])
    return producerId
  }

  /** Forgets producers idle for longer than the expiration, in memory and in the store. */
  async expireProducers(nowMs: number, expirationMs = PRODUCER_EXPIRATION_MS): Promise<number> {
    const writes: StateWrite[] = []
    for (const topic of this.#byName.values()) {
      for (const partition of topic.partitions) {
        for (const producerId of partition.producers.expire(nowMs - expirationMs)) {
          writes.push({ key: producerStateKey(topic.id, partition.id, producerId), value: null })
        }
      }
    }
    if (writes.length > 0) await this.store.writeState(writes)
    return writes.length
  }

  topics(): IterableIterator<Topic> {
    return this.#byName.values()
  }

  topicByName(name: string): Topic | undefined {
    return this.#byName.get(name)
  }

  topicById(id: string): Topic | undefined {
    return this.#byId.get(id)
  }

  partition(topicName: string, partition: number): Partition | undefined {
    return this.#byName.get(topicName)?.partitions[partition]
  }

  /**
   * Validates and creates a topic. Returns the topic or a Kafka error. With `validateOnly`
   * nothing is written. Concurrent creates of one name: the second gets TOPIC_ALREADY_EXISTS.
   */
  async createTopic(name: string, partitions: number, configs: Record<string, string>, validateOnly = false): Promise<Topic | LogError> {
    const nameProblem = topicNameProblem(name)
    if (nameProblem !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: nameProblem }
    await this.#pending.get(name)
    if (this.#byName.has(name)) return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `topic ${name} already exists` }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100_000) {
      return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `partition count must be between 1 and 100000, got ${partitions}` }
    }
    for (const [key, value] of Object.entries(configs)) {
      const problem = topicConfigProblem(key, value, this.defaults)
      if (problem !== null) return { errorCode: ErrorCode.INVALID_CONFIG, message: problem }
    }
    const configsProblem = topicConfigsProblem(configs)
    if (configsProblem !== null) return { errorCode: ErrorCode.INVALID_CONFIG, message: configsProblem }
    const overLimit = this.#partitionLimitProblem(partitions)
    if (overLimit !== null) return overLimit
    const record: TopicRecord = { id: randomUUID(), name, partitions, configs: { ...configs }, createdAtMs: Date.now() }
    const topic = new Topic(record, this.defaults)
    for (let p = 0; p < partitions; p++) topic.partitions.push(new Partition(topic.id, p, this.store))
    if (validateOnly) return topic
    // Visible at once so produce/metadata racing with the create see one topic, durable before we answer.
    this.#register(topic)
    const written = (async () => {
      await this.store.putTopic(record)
      await this.store.initPartitions(topic.id, topic.partitions.map((p) => p.id))
    })()
    this.#pending.set(name, written)
    try {
      await written
    } catch (error) {
      this.#unregister(topic)
      const refusal = storageRefusal(error)
      if (refusal !== null) return refusal
      throw error
    } finally {
      this.#pending.delete(name)
    }
    this.#logger.info({ topic: name, topicId: topic.id, partitions }, 'topic created')
    return topic
  }

  async deleteTopic(topic: Topic): Promise<void> {
    await this.#pending.get(topic.name)
    if (this.#byId.get(topic.id) !== topic) return
    this.#unregister(topic)
    const deleted = this.store.deleteTopic(topic.id)
    this.#pending.set(topic.name, deleted)
    try {
      await deleted
    } finally {
      this.#pending.delete(topic.name)
    }
    for (const partition of topic.partitions) partition.clear()
    await this.store.writeState(topic.partitions.map((partition) => ({ key: deletedBeforeKey(topic.id, partition.id), value: null }))).catch(() => undefined)
    this.#logger.info({ topic: topic.name, topicId: topic.id }, 'topic deleted')
  }

  async createPartitions(topic: Topic, count: number, validateOnly: boolean): Promise<LogError | null> {
    if (!Number.isInteger(count) || count <= topic.partitions.length || count > 100_000) {
      return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `topic ${topic.name} has ${topic.partitions.length} partitions; the new count must be larger (got ${count})` }
    }
    const overLimit = this.#partitionLimitProblem(count - topic.partitions.length)
    if (overLimit !== null) return overLimit
    if (validateOnly) return null
    const added: Partition[] = []
    for (let p = topic.partitions.length; p < count; p++) added.push(new Partition(topic.id, p, this.store))
    const before = topic.partitions.length
    // Counted before the first await, so a concurrent creation sees them against the limit.
    this.#partitionCount += added.length
    try {
      await this.store.initPartitions(topic.id, added.map((p) => p.id))
      topic.partitions.push(...added)
      await this.store.putTopic(topic.record())
    } catch (error) {
      // Without the rewritten topic record the new partitions would vanish at the next start: gone
      // now too (their state rows, if written, are ignored as the record does not list them).
      topic.partitions.length = before
      this.#partitionCount -= added.length
      const refusal = storageRefusal(error)
      if (refusal !== null) return refusal
      throw error
    }
    return null
  }

  /** Partitions of a topic created without a count (ZOMBI_DEFAULT_PARTITIONS). */
  get defaultPartitions(): number {
    return this.#defaultPartitions
  }

  async alterTopicConfigs(topic: Topic, configs: Record<string, string>): Promise<void> {
    topic.configs = configs
    topic.applyConfigs(this.defaults)
    await this.store.putTopic(topic.record())
  }

  /**
   * Validates every batch in `records`, assigns offsets, patches and stores them. Resolves
   * once durable, with the first base offset. Nothing is stored if any batch is invalid.
   */
  async append(topic: Topic, partition: Partition, records: Buffer | null, listener?: AppendListener): Promise<AppendResult> {
    if (records === null || records.length === 0) return appendError(ErrorCode.CORRUPT_MESSAGE, 'produce request has no record batches')
    // Validate every batch before assigning anything, so a bad batch leaves no trace.
    let position = 0
    let batches = 0
    while (position < records.length) {
      const size = checkBatch(records, position)
      if (size < 0) {
        if (size === ERR_OLD_MAGIC) return appendError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, 'record batches of magic 0 and 1 are not supported; use a client that writes magic 2 (Kafka 0.11+)')
        if (size === ERR_CRC) return appendError(ErrorCode.CORRUPT_MESSAGE, 'record batch CRC-32C does not match its contents')
        return appendError(ErrorCode.CORRUPT_MESSAGE, 'record batch is malformed (length, magic or record count)')
      }
      const timestampProblem = batchTimestampProblem(records, position) ?? this.#timestampBoundProblem(topic, records, position)
      if (timestampProblem !== null) return appendError(ErrorCode.INVALID_TIMESTAMP, timestampProblem)
      if (size > topic.maxMessageBytes) {
        return appendError(ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${size} bytes exceeds max.message.bytes ${topic.maxMessageBytes}`)
      }
      if (topic.compacted) {
        const refused = keylessRecords(records.subarray(position, position + size), topic.name, partition.id)
        if (refused !== null) return refused
      }
      position += size
      batches++
    }
    if (topic.compressionCodec !== null) {
      let recompressed: Buffer
      try {
        recompressed = recompressBatches(records, topic.compressionCodec)
      } catch {
        return appendError(ErrorCode.CORRUPT_MESSAGE, 'a record batch\'s compressed records cannot be decoded')
      }
      // As Kafka: the size limit holds for the batches as stored, after recompression too.
      for (let at = 0; recompressed !== records && at < recompressed.length; at += batchSize(recompressed, at)) {
        const size = batchSize(recompressed, at)
        if (size > topic.maxMessageBytes) return appendError(ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${size} bytes once recompressed (compression.type) exceeds max.message.bytes ${topic.maxMessageBytes}`)
      }
      records = recompressed
    }
    const producerId = producerIdOf(records)
    if (producerId >= 0) return this.#appendIdempotent(topic, partition, records, batches, producerId, listener)
    if (!this.store.hasSpaceFor(records.length)) return this.#refuse()
    const baseOffset = partition.nextOffset
    const appended = this.#appendBatches(topic, partition, records, batches)
    listener?.accepted(baseOffset, appended)
    return appended
  }

  /**
   * The topic's message.timestamp.before.max.ms / after.max.ms against a CreateTime batch's first and
   * max timestamps (the batch header's; records are not decoded), as Kafka refuses such records; null
   * when they hold or the topic stamps LogAppendTime.
   */
  #timestampBoundProblem(topic: Topic, records: Buffer, position: number): string | null {
    if (topic.logAppendTime || (topic.timestampBeforeMaxMs === Number.POSITIVE_INFINITY && topic.timestampAfterMaxMs === Number.POSITIVE_INFINITY)) return null
    const now = this.#now()
    const earliest = now - topic.timestampBeforeMaxMs
    const latest = now + topic.timestampAfterMaxMs
    for (const timestamp of [baseTimestampOf(records, position), maxTimestampOf(records, position)]) {
      if (timestamp < earliest || timestamp > latest) {
        return `record batch timestamp ${timestamp} is out of range for topic ${topic.name}: it must lie within [${earliest}, ${latest}] (message.timestamp.before.max.ms ${topic.timestampBeforeMaxMs}, message.timestamp.after.max.ms ${topic.timestampAfterMaxMs})`
      }
    }
    return null
  }

  /** KAFKA_STORAGE_ERROR before any offset is given out (retriable: clients retry the same batch). */
  #refuse(): AppendResult {
    this.storageRefusals.diskFull++
    return appendError(ErrorCode.KAFKA_STORAGE_ERROR, `not stored, the broker's disk is full (${this.store.health().detail}); retry later`)
  }

  /**
   * An idempotent batch: refused if its sequence does not follow the producer's last one,
   * answered with the original offset if it repeats one of the last five, else appended
   * with the producer state joining the same group commit.
   */
  #appendIdempotent(topic: Topic, partition: Partition, records: Buffer, batches: number, producerId: number, listener: AppendListener | undefined): Promise<AppendResult> | AppendResult {
    const attributes = attributesOf(records)
    if ((attributes & ATTR_CONTROL) !== 0) {
      return appendError(ErrorCode.INVALID_RECORD, 'control batches are written by the transaction coordinator, not by producers')
    }
    const transactional = (attributes & ATTR_TRANSACTIONAL) !== 0
    if (batches !== 1) return appendError(ErrorCode.INVALID_RECORD, 'an idempotent producer sends one record batch per partition per request')
    if (producerId >= this.#nextProducerId) {
      return appendError(ErrorCode.UNKNOWN_PRODUCER_ID, `producer id ${producerId} was not issued by this broker; call InitProducerId`)
    }
    const epoch = producerEpochOf(records)
    const firstSequence = baseSequenceOf(records)
    const lastSequence = addSequence(firstSequence, lastOffsetDeltaOf(records))
    const check = partition.producers.check(producerId, epoch, firstSequence, lastSequence)
    if (check.kind === 'error') return appendError(check.errorCode, check.message)
    if (check.kind === 'duplicate') {
      const original = check.batch
      const answer = (): AppendResult => ({ errorCode: ErrorCode.NONE, ...NO_ERROR_RESULT_FIELDS, baseOffset: original.baseOffset, logAppendTime: -1 })
      // A retry of a batch still in flight gets the original's answer, a failure included.
      return original.durable === null ? answer() : original.durable.then((result) => (result.errorCode === ErrorCode.NONE ? answer() : appendError(result.errorCode, 'the first copy of this batch was not stored; retry it')))
    }
    // After the duplicate check: a retry of a stored batch is answered even on a full disk.
    if (!this.store.hasSpaceFor(records.length)) return this.#refuse()
    const baseOffset = partition.nextOffset
    const appended = this.#appendBatches(topic, partition, records, 1)
    listener?.accepted(baseOffset, appended)
    const batch = new ProducerBatch(firstSequence, lastSequence, baseOffset, partition.nextOffset - 1, appended)
    const entry = partition.producers.record(producerId, epoch, batch, this.#now())
    // The first batch of a transaction on this partition holds the last stable offset back until its marker.
    const opensTransaction = transactional && entry.transactionFirstOffset < 0
    if (opensTransaction) {
      entry.transactionFirstOffset = baseOffset
      partition.transactions.begin(producerId, baseOffset)
    }
    // Queued in the same tick as the append, so it lands in the same commit.
    void this.store.writeState([{ key: producerStateKey(topic.id, partition.id, producerId), value: encodeProducerEntry(entry) }]).catch(() => undefined)
    void appended.then((result) => {
      batch.durable = null
      // Rolled back: forgotten, so the producer's retry with the same sequence is stored, not refused.
      if (result.errorCode !== ErrorCode.NONE) {
        partition.producers.forget(producerId, batch)
        if (opensTransaction && entry.transactionFirstOffset === baseOffset) {
          entry.transactionFirstOffset = -1
          partition.transactions.end(producerId, baseOffset, false)
        }
      }
    }, () => undefined)
    return appended
  }

  /**
   * Writes the commit or abort marker of the producer's transaction on this partition (a control
   * batch, through the append path: offsets stay dense) and closes the transaction there once the
   * marker is durable: the last stable offset moves past it, an abort joins the aborted index. A
   * partition where the producer has no open transaction (its marker is already written, or the
   * transaction never wrote here) gets none, so writing the markers of a transaction again is safe.
   */
  async writeTransactionMarker(topic: Topic, partition: Partition, producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<LogError | null> {
    const firstOffset = partition.transactions.openFirstOffset(producerId)
    if (firstOffset < 0) return null
    const batch = encodeControlBatch(commit ? CONTROL_COMMIT : CONTROL_ABORT, producerId, producerEpoch, coordinatorEpoch, this.#now())
    if (!this.store.hasSpaceFor(batch.length)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: this.#refuse().errorMessage! }
    const markerOffset = partition.nextOffset
    const appended = this.#appendBatches(topic, partition, batch, 1)
    const previous = partition.producers.entry(producerId)
    const writes = this.#markerWritten(topic.id, partition, producerId, producerEpoch, commit, markerOffset)
    void this.store.writeState(writes).catch(() => undefined)
    const result = await appended
    if (result.errorCode !== ErrorCode.NONE) {
      // Not stored: the transaction stays open here, and the coordinator writes the marker again.
      if (previous !== undefined) {
        partition.producers.set(producerId, previous)
        previous.transactionFirstOffset = firstOffset
      }
      return { errorCode: result.errorCode, message: result.errorMessage ?? 'marker not stored' }
    }
    partition.transactionEnded(producerId, markerOffset, !commit)
    return null
  }

  /**
   * The producer state a marker leaves (its epoch, no open transaction; a higher epoch starts the
   * producer's sequences afresh) and the state rows that record it, with the aborted-index row of an abort.
   */
  #markerWritten(topicId: string, partition: Partition, producerId: number, producerEpoch: number, commit: boolean, markerOffset: number): StateWrite[] {
    const firstOffset = partition.transactions.openFirstOffset(producerId)
    let entry = partition.producers.entry(producerId)
    const now = this.#now()
    if (entry === undefined || producerEpoch > entry.epoch) {
      const fresh = new ProducerEntry(Math.max(producerEpoch, entry?.epoch ?? 0), now)
      partition.producers.set(producerId, fresh)
      entry = fresh
    } else {
      // A copy, so a marker that is not stored leaves the old entry to put back.
      const copy = new ProducerEntry(entry.epoch, now)
      copy.batches = entry.batches
      partition.producers.set(producerId, copy)
      entry = copy
    }
    entry.transactionFirstOffset = -1
    const writes: StateWrite[] = [{ key: producerStateKey(topicId, partition.id, producerId), value: encodeProducerEntry(entry) }]
    if (!commit && firstOffset >= 0) writes.push({ key: abortedIndexKey(topicId, partition.id, markerOffset), value: encodeAbortedEntry(producerId, firstOffset) })
    return writes
  }

  async #appendBatches(topic: Topic, partition: Partition, records: Buffer, batches: number): Promise<AppendResult> {
    const logAppendTime = topic.logAppendTime ? this.#now() : -1
    let firstOffset = -1
    let last: Promise<boolean> | undefined
    let position = 0
    for (let b = 0; b < batches; b++) {
      const size = batchSize(records, position)
      const batch = batches === 1 ? records : records.subarray(position, position + size)
      const lastOffsetDelta = lastOffsetDeltaOf(batch)
      const baseOffset = partition.assignOffsets(lastOffsetDelta + 1)
      const lastOffset = baseOffset + lastOffsetDelta
      if (b === 0) firstOffset = baseOffset
      patchBaseOffset(batch, baseOffset)
      // Like a Kafka leader stamping its epoch: Metadata and Fetch report epoch -1, so stored batches say -1
      // too (producers write 0 or -1 here); consumers then commit epoch -1 and skip offset validation.
      patchLeaderEpoch(batch, NO_LEADER_EPOCH)
      if (logAppendTime !== -1) stampLogAppendTime(batch, logAppendTime)
      const maxTimestamp = logAppendTime !== -1 ? logAppendTime : indexTimestampOf(batch)
      last = this.#store(partition, batch, baseOffset, lastOffset, maxTimestamp)
      position += size
    }
    // The store resolves in call order and rolls back whole commits (the batches of one call share
    // one), so the last batch's outcome is every batch's.
    if (!(await last)) {
      this.storageRefusals.rolledBack++
      return appendError(ErrorCode.KAFKA_STORAGE_ERROR, `not stored, the broker's disk filled up during the write (${this.store.health().detail}); retry later`)
    }
    return { errorCode: ErrorCode.NONE, ...NO_ERROR_RESULT_FIELDS, baseOffset: firstOffset, logAppendTime }
  }

  /** Stores one batch; false when the store rolled it back (disk full), with its offsets taken back. */
  async #store(partition: Partition, batch: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number): Promise<boolean> {
    let location
    try {
      // checkBatch verified the CRC; the patches since (base offset, leader epoch) lie outside what it covers, and LogAppendTime re-stamps it.
      location = await this.store.append({ topicId: partition.topicId, partition: partition.id, baseOffset, lastOffset, maxTimestamp, bytes: batch, batchCrcChecked: true })
    } catch (error) {
      if (isStorageFull(error)) {
        // Rolled back with every write queued after it, once every write before it was acknowledged:
        // the lowest failed base offset of a partition is its durable end, given out again next.
        partition.rollBackTo(baseOffset)
        return false
      }
      // Offsets were handed out for bytes that are not durable: nothing may be acknowledged after this.
      if (!this.#storageFailed) {
        this.#storageFailed = true
        this.#logger.fatal({ err: error }, 'hot log append failed')
        this.#onStorageFailure(error)
      }
      throw error
    }
    const entry: IndexEntry = { baseOffset, lastOffset, maxTimestamp, segment: location.segment, position: location.position, size: location.size }
    partition.stored(entry, batch, this.#cache)
    return true
  }

  /**
   * Records that every offset of the partition below `offset` is in its Iceberg table: durably in the
   * store first, then in memory (a crash between leaves the table ahead, which the flusher reconciles).
   */
  async markFlushed(partition: Partition, offset: number): Promise<void> {
    await this.store.updatePartitionState(partition.topicId, partition.id, { flushedOffset: offset })
    partition.flushedTo(offset)
    this.#onFlushed()
  }

  /** Called after every markFlushed (hot retention may then free segments). */
  onFlushed(listener: () => void): void {
    this.#onFlushed = listener
  }

  /** See append-wait.ts: resolves at the next append to any of the partitions, the deadline or the abort. */
  waitForAppend(partitions: readonly Partition[], deadline: number, signal?: AbortSignal): Promise<void> {
    return waitForAppend(partitions, deadline, signal)
  }

  /** Whether a topic of this name would be created on first use (it does not exist, the name is valid, auto-create is on). */
  autoCreates(name: string): boolean {
    return this.#autoCreateTopics && !this.#byName.has(name) && topicNameProblem(name) === null
  }

  /**
   * The named topic, created with the default partition count on first use when auto-create is on.
   * Errors: INVALID_TOPIC_EXCEPTION (a bad name), UNKNOWN_TOPIC_OR_PARTITION (auto-create is off),
   * KAFKA_STORAGE_ERROR (not stored).
   */
  async ensureTopic(name: string): Promise<Topic | LogError> {
    const existing = this.#byName.get(name)
    if (existing !== undefined) return existing
    const problem = topicNameProblem(name)
    if (problem !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: problem }
    if (!this.#autoCreateTopics) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `topic ${name} does not exist and auto-creation is off` }
    const created = await this.createTopic(name, this.#defaultPartitions, {})
    // TOPIC_ALREADY_EXISTS: someone else created it meanwhile.
    if (!(created instanceof Topic) && created.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return this.#byName.get(name) ?? created
    return created
  }

  #register(topic: Topic): void {
    this.#byName.set(topic.name, topic)
    this.#byId.set(topic.id, topic)
    this.#partitionCount += topic.partitions.length
  }

  #unregister(topic: Topic): void {
    if (this.#byName.get(topic.name) === topic) this.#byName.delete(topic.name)
    if (this.#byId.delete(topic.id)) this.#partitionCount -= topic.partitions.length
  }

  /** A Kafka error if `added` more partitions would pass ZOMBI_MAX_PARTITIONS, else null. */
  #partitionLimitProblem(added: number): LogError | null {
    if (this.#partitionCount + added <= this.#maxPartitions) return null
    return {
      errorCode: ErrorCode.POLICY_VIOLATION,
      message: `the broker holds ${this.#partitionCount} partitions; ${added} more would pass its limit of ${this.#maxPartitions} (ZOMBI_MAX_PARTITIONS)`,
    }
  }
}

/** Why a batch's first or max timestamp is unusable (it would break the index and the Iceberg columns), or null. */
function batchTimestampProblem(records: Buffer, position: number): string | null {
  for (const timestamp of [baseTimestampOf(records, position), maxTimestampOf(records, position)]) {
    if (!(timestamp >= MIN_RECORD_TIMESTAMP && timestamp <= MAX_RECORD_TIMESTAMP)) {
      return `record batch timestamp ${timestamp} is outside 0001-01-01 .. 9999-12-31 (ms since the epoch)`
    }
  }
  return null
}

/**
 * A compacted topic keeps the latest record per key, so a record without a key is refused, as Kafka
 * does: INVALID_RECORD with a record error per keyless record (control batches carry no user records).
 * Null when every record has a key.
 */
function keylessRecords(batch: Buffer, topicName: string, partition: number): AppendResult | null {
  if ((attributesOf(batch) & ATTR_CONTROL) !== 0) return null
  let cursor: RecordCursor
  try {
    cursor = new RecordCursor().open(batch)
  } catch {
    return appendError(ErrorCode.CORRUPT_MESSAGE, 'record batch does not decompress')
  }
  const recordErrors: RecordError[] = []
  let index = 0
  try {
    while (cursor.nextRecord()) {
      if (cursor.keyLength < 0) recordErrors.push({ batchIndex: index, message: `Compacted topic cannot accept message without key in topic partition ${topicName}-${partition}.` })
      index++
    }
  } catch {
    return appendError(ErrorCode.CORRUPT_MESSAGE, 'record batch holds a malformed record')
  }
  if (recordErrors.length === 0) return null
  return { ...appendError(ErrorCode.INVALID_RECORD, recordErrors[0]!.message), recordErrors }
}

/** A store error as a Kafka error when the disk is full (or the store cannot write), else null. */
export function storageRefusal(error: unknown): LogError | null {
  if (!(error instanceof ZombiError) || !error.code.startsWith('STORAGE_')) return null
  return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: `not stored: ${error.message}` }
}

function appendError(errorCode: ErrorCode, message: string): AppendResult {
  return { errorCode, errorMessage: message, baseOffset: -1, logAppendTime: -1 }
}
