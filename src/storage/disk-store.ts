// The hot store on disk: batch bytes in the broker-wide segment log, everything else in
// classic-level. Appends and state writes of one event-loop tick form one group commit:
// one writev, one fdatasync (durability fsync), one index batch, then every promise resolves.
import fsp from 'node:fs/promises'
import path from 'node:path'
import { ClassicLevel } from 'classic-level'
import { ZombiError } from '../errors.ts'
import { silentLogger, type Logger } from '../observability/logger.ts'
import { baseOffsetOf, indexTimestampOf, lastOffsetDeltaOf } from '../protocol/record-batch.ts'
import type {
  AppendRequest, BatchLocation, HotStore, IndexEntry, PartitionState, RecoveredPartition, RecoveryReport, ReindexedBatch,
  StateWrite, TopicRecord,
} from './hot-store.ts'
import {
  CHECKPOINT_KEY, PREFIX_INDEX, PREFIX_PARTITION, PREFIX_TOPIC, bytesToUuid, indexKey, partitionKey,
  prefixRange, readUint64, stateKey, topicKey, topicRange, writeUint64,
} from './keys.ts'
import { FRAME_HEADER_BYTES, SegmentLog, frameHeader } from './segment-log.ts'

export interface DiskHotStoreOptions {
  dir: string
  durability: 'fsync' | 'none'
  segmentBytes?: number
  logger?: Logger
}

type Db = ClassicLevel<Buffer, Buffer>
type BatchOperation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }

const DEFAULT_SEGMENT_BYTES = 256 * 1024 * 1024

class PendingAppend {
  readonly request: AppendRequest
  readonly resolve: (location: BatchLocation) => void
  readonly reject: (error: unknown) => void

  constructor(request: AppendRequest, resolve: (location: BatchLocation) => void, reject: (error: unknown) => void) {
    this.request = request
    this.resolve = resolve
    this.reject = reject
  }
}

class PendingState {
  readonly writes: StateWrite[]
  readonly resolve: () => void
  readonly reject: (error: unknown) => void

  constructor(writes: StateWrite[], resolve: () => void, reject: (error: unknown) => void) {
    this.writes = writes
    this.resolve = resolve
    this.reject = reject
  }
}

function encodePartitionState(state: PartitionState): Buffer {
  const value = Buffer.allocUnsafe(24)
  writeUint64(value, state.logStartOffset, 0)
  writeUint64(value, state.nextOffset, 8)
  writeUint64(value, state.flushedOffset, 16)
  return value
}

function decodePartitionState(value: Buffer): PartitionState {
  return { logStartOffset: readUint64(value, 0), nextOffset: readUint64(value, 8), flushedOffset: readUint64(value, 16) }
}

function encodeIndexValue(entry: IndexEntry): Buffer {
  const value = Buffer.allocUnsafe(36)
  value.writeUInt32BE(entry.segment, 0)
  writeUint64(value, entry.position, 4)
  value.writeUInt32BE(entry.size, 12)
  writeUint64(value, entry.lastOffset, 16)
  // Timestamps may be negative (-1 for "none"), so they are stored as doubles.
  value.writeDoubleBE(entry.maxTimestamp, 24)
  return value
}

function decodeIndexEntry(key: Buffer, value: Buffer): IndexEntry {
  return {
    baseOffset: readUint64(key, 21),
    segment: value.readUInt32BE(0),
    position: readUint64(value, 4),
    size: value.readUInt32BE(12),
    lastOffset: readUint64(value, 16),
    maxTimestamp: value.readDoubleBE(24),
  }
}

function encodeCheckpoint(segment: number, position: number): Buffer {
  const value = Buffer.allocUnsafe(12)
  value.writeUInt32BE(segment, 0)
  writeUint64(value, position, 4)
  return value
}

const partitionId = (topicId: string, partition: number): string => `${topicId}/${partition}`

export class DiskHotStore implements HotStore {
  readonly #dir: string
  readonly #durability: 'fsync' | 'none'
  readonly #logger: Logger
  readonly #log: SegmentLog
  readonly #db: Db
  readonly #partitions = new Map<string, PartitionState>()
  readonly #topics = new Set<string>()
  #appends: PendingAppend[] = []
  #states: PendingState[] = []
  #scheduled = false
  #committing: Promise<void> | null = null
  #failure: unknown = null
  #closed = false

  constructor(options: DiskHotStoreOptions) {
    this.#dir = options.dir
    this.#durability = options.durability
    this.#logger = options.logger ?? silentLogger
    this.#log = new SegmentLog(path.join(options.dir, 'log'), options.segmentBytes ?? DEFAULT_SEGMENT_BYTES)
    this.#db = new ClassicLevel<Buffer, Buffer>(path.join(options.dir, 'index'), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  }

  get #sync(): boolean {
    return this.#durability === 'fsync'
  }

  async open(): Promise<RecoveryReport> {
    await fsp.mkdir(this.#dir, { recursive: true })
    await this.#db.open()
    for await (const key of this.#db.keys(prefixRange(PREFIX_TOPIC))) this.#topics.add(bytesToUuid(key, 1))
    for await (const [key, value] of this.#db.iterator(prefixRange(PREFIX_PARTITION))) {
      this.#partitions.set(partitionId(bytesToUuid(key, 1), key.readUInt32BE(17)), decodePartitionState(value))
    }
    return this.#recover()
  }

  /** Indexes frames written after the last checkpoint and cuts a torn tail. */
  async #recover(): Promise<RecoveryReport> {
    const checkpoint = await this.#db.get(CHECKPOINT_KEY)
    const fromSegment = checkpoint === undefined ? 0 : checkpoint.readUInt32BE(0)
    const fromPosition = checkpoint === undefined ? 0 : readUint64(checkpoint, 4)
    const segments = await this.#log.list()
    const reindexed: ReindexedBatch[] = []
    let truncatedBytes = 0
    const operations: BatchOperation[] = []
    let lastSegment = fromSegment
    let lastPosition = fromPosition
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!
      if (segment < fromSegment) continue
      const scan = this.#log.scan(segment, segment === fromSegment ? fromPosition : 0)
      for (const frame of scan.frames) {
        lastSegment = segment
        lastPosition = frame.position + FRAME_HEADER_BYTES + frame.batch.length
        const key = partitionId(frame.topicId, frame.partition)
        const state = this.#partitions.get(key)
        // Frames of deleted topics are garbage: their index must not come back.
        if (!this.#topics.has(frame.topicId) || state === undefined) continue
        const baseOffset = baseOffsetOf(frame.batch)
        const entry: IndexEntry = {
          baseOffset,
          lastOffset: baseOffset + lastOffsetDeltaOf(frame.batch),
          maxTimestamp: indexTimestampOf(frame.batch),
          segment,
          position: frame.position,
          size: frame.batch.length,
        }
        operations.push({ type: 'put', key: indexKey(frame.topicId, frame.partition, baseOffset), value: encodeIndexValue(entry) })
        if (entry.lastOffset + 1 > state.nextOffset) state.nextOffset = entry.lastOffset + 1
        operations.push({ type: 'put', key: partitionKey(frame.topicId, frame.partition), value: encodePartitionState(state) })
        reindexed.push({ topicId: frame.topicId, partition: frame.partition, entry })
      }
      if (scan.validEnd < scan.fileSize) {
        // Only the tail of the last written segment can be torn; anything after it was never acknowledged.
        truncatedBytes += scan.fileSize - scan.validEnd
        this.#logger.warn({ segment, validEnd: scan.validEnd, fileSize: scan.fileSize }, 'cutting a torn tail off the hot log')
        this.#log.truncate(segment, scan.validEnd)
        for (const later of segments.slice(i + 1)) {
          truncatedBytes += (await fsp.stat(this.#log.path(later))).size
          await this.#log.remove(later)
        }
        lastSegment = segment
        lastPosition = scan.validEnd
        break
      }
      if (scan.frames.length === 0 && segment > lastSegment) {
        lastSegment = segment
        lastPosition = 0
      }
    }
    if (operations.length > 0 || checkpoint === undefined) {
      operations.push({ type: 'put', key: CHECKPOINT_KEY, value: encodeCheckpoint(lastSegment, lastPosition) })
      await this.#db.batch(operations, { sync: true })
    }
    const remaining = await this.#log.list()
    this.#log.activate(remaining.length === 0 ? 0 : remaining[remaining.length - 1]!)
    return { reindexedBatches: reindexed.length, reindexed, truncatedBytes }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    while (this.#committing !== null || this.#appends.length > 0 || this.#states.length > 0) {
      if (this.#committing === null) await this.#commit()
      else await this.#committing
    }
    this.#closed = true
    this.#log.close()
    await this.#db.close()
  }

  async loadTopics(): Promise<TopicRecord[]> {
    const topics: TopicRecord[] = []
    for await (const value of this.#db.values(prefixRange(PREFIX_TOPIC))) topics.push(JSON.parse(value.toString('utf8')) as TopicRecord)
    return topics
  }

  async putTopic(topic: TopicRecord): Promise<void> {
    this.#assertOpen()
    await this.#db.put(topicKey(topic.id), Buffer.from(JSON.stringify(topic)), { sync: this.#sync })
    this.#topics.add(topic.id)
  }

  async deleteTopic(topicId: string): Promise<void> {
    this.#assertOpen()
    this.#topics.delete(topicId)
    for (const key of [...this.#partitions.keys()]) if (key.startsWith(`${topicId}/`)) this.#partitions.delete(key)
    // Wait for an in-flight commit, so none of its index rows land after the delete.
    if (this.#committing !== null) await this.#committing
    await this.#db.del(topicKey(topicId), { sync: this.#sync })
    await this.#db.clear(topicRange(PREFIX_PARTITION, topicId))
    await this.#db.clear(topicRange(PREFIX_INDEX, topicId))
  }

  async loadPartitions(): Promise<RecoveredPartition[]> {
    const byPartition = new Map<string, RecoveredPartition>()
    for (const [key, state] of this.#partitions) {
      const [topicId, partition] = key.split('/') as [string, string]
      byPartition.set(key, { topicId, partition: Number(partition), state: { ...state }, entries: [] })
    }
    for await (const [key, value] of this.#db.iterator(prefixRange(PREFIX_INDEX))) {
      const recovered = byPartition.get(partitionId(bytesToUuid(key, 1), key.readUInt32BE(17)))
      if (recovered !== undefined) recovered.entries.push(decodeIndexEntry(key, value))
    }
    return [...byPartition.values()]
  }

  append(request: AppendRequest): Promise<BatchLocation> {
    if (this.#failure !== null) return Promise.reject(this.#failedError())
    if (this.#closed) return Promise.reject(new ZombiError('STORAGE_CLOSED', 'the hot store is closed'))
    return new Promise((resolve, reject) => {
      this.#appends.push(new PendingAppend(request, resolve, reject))
      this.#schedule()
    })
  }

  writeState(writes: StateWrite[]): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failedError())
    if (this.#closed) return Promise.reject(new ZombiError('STORAGE_CLOSED', 'the hot store is closed'))
    return new Promise((resolve, reject) => {
      this.#states.push(new PendingState(writes, resolve, reject))
      this.#schedule()
    })
  }

  async updatePartitionState(topicId: string, partition: number, update: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void> {
    this.#assertOpen()
    const state = this.#partitions.get(partitionId(topicId, partition))
    if (state === undefined) throw new ZombiError('STORAGE_FAILED', `no partition ${partition} of topic ${topicId}`)
    if (update.logStartOffset !== undefined) state.logStartOffset = update.logStartOffset
    if (update.flushedOffset !== undefined) state.flushedOffset = update.flushedOffset
    await this.#db.put(partitionKey(topicId, partition), encodePartitionState(state), { sync: this.#sync })
  }

  async initPartitions(topicId: string, partitions: number[]): Promise<void> {
    this.#assertOpen()
    const operations: BatchOperation[] = []
    for (const partition of partitions) {
      const key = partitionId(topicId, partition)
      if (this.#partitions.has(key)) continue
      const state: PartitionState = { logStartOffset: 0, nextOffset: 0, flushedOffset: 0 }
      this.#partitions.set(key, state)
      operations.push({ type: 'put', key: partitionKey(topicId, partition), value: encodePartitionState(state) })
    }
    if (operations.length > 0) await this.#db.batch(operations, { sync: this.#sync })
  }

  read(location: BatchLocation): Buffer {
    return this.#log.read(location.segment, location.position + FRAME_HEADER_BYTES, location.size)
  }

  async scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>> {
    const gte = stateKey(prefix)
    const rows: Array<{ key: string; value: Buffer }> = []
    for await (const [key, value] of this.#db.iterator({ gte, lt: Buffer.concat([gte, Buffer.from([0xff])]) })) {
      rows.push({ key: key.toString('utf8', 1), value })
    }
    return rows
  }

  #assertOpen(): void {
    if (this.#failure !== null) throw this.#failedError()
    if (this.#closed) throw new ZombiError('STORAGE_CLOSED', 'the hot store is closed')
  }

  #failedError(): ZombiError {
    return new ZombiError('STORAGE_FAILED', 'the hot log failed earlier; no further writes are accepted', { cause: this.#failure })
  }

  #schedule(): void {
    if (this.#scheduled || this.#committing !== null) return
    this.#scheduled = true
    // setImmediate runs after the I/O callbacks of this loop turn, so every request that
    // arrived in the same turn joins the same commit.
    setImmediate(() => {
      this.#scheduled = false
      void this.#commit()
    })
  }

  #commit(): Promise<void> {
    const appends = this.#appends
    const states = this.#states
    this.#appends = []
    this.#states = []
    const committing = this.#write(appends, states).finally(() => {
      this.#committing = null
      if (this.#appends.length > 0 || this.#states.length > 0) this.#schedule()
    })
    this.#committing = committing
    return committing
  }

  async #write(appends: PendingAppend[], states: PendingState[]): Promise<void> {
    if (appends.length === 0 && states.length === 0) return
    const locations: BatchLocation[] = []
    try {
      const operations: BatchOperation[] = []
      // Frames of this commit, grouped by the segment they land in (a roll splits them).
      let segment = this.#log.active()
      let start = segment.size
      let buffers: Buffer[] = []
      const flushGroup = async (): Promise<void> => {
        if (buffers.length === 0) return
        await this.#log.write(segment, start, buffers)
        if (this.#sync) await this.#log.sync(segment)
      }
      for (const pending of appends) {
        const { request } = pending
        const frameBytes = FRAME_HEADER_BYTES + request.bytes.length
        const target = this.#log.reserve(frameBytes)
        if (target !== segment) {
          await flushGroup()
          segment = target
          start = segment.size
          buffers = []
        }
        const position = segment.size
        segment.size += frameBytes
        buffers.push(frameHeader(request.topicId, request.partition, request.bytes), request.bytes)
        const location: BatchLocation = { segment: segment.number, position, size: request.bytes.length }
        locations.push(location)
        const entry: IndexEntry = { ...location, baseOffset: request.baseOffset, lastOffset: request.lastOffset, maxTimestamp: request.maxTimestamp }
        const key = partitionId(request.topicId, request.partition)
        const state = this.#partitions.get(key)
        // A topic deleted while its append was queued: the frame is garbage, no index row.
        if (state === undefined || !this.#topics.has(request.topicId)) continue
        operations.push({ type: 'put', key: indexKey(request.topicId, request.partition, request.baseOffset), value: encodeIndexValue(entry) })
        if (request.lastOffset + 1 > state.nextOffset) state.nextOffset = request.lastOffset + 1
        operations.push({ type: 'put', key: partitionKey(request.topicId, request.partition), value: encodePartitionState(state) })
      }
      await flushGroup()
      if (appends.length > 0) operations.push({ type: 'put', key: CHECKPOINT_KEY, value: encodeCheckpoint(segment.number, segment.size) })
      for (const pending of states) {
        for (const write of pending.writes) {
          operations.push(write.value === null ? { type: 'del', key: stateKey(write.key) } : { type: 'put', key: stateKey(write.key), value: write.value })
        }
      }
      // Index rows may lag the log (recovery re-indexes from the checkpoint); state rows exist only here.
      await this.#db.batch(operations, { sync: this.#sync && states.length > 0 })
    } catch (error) {
      this.#failure = error
      this.#logger.fatal({ err: error }, 'hot log write failed; refusing further writes')
      const failed = this.#failedError()
      for (const pending of appends) pending.reject(failed)
      for (const pending of states) pending.reject(failed)
      return
    }
    for (let i = 0; i < appends.length; i++) appends[i]!.resolve(locations[i]!)
    for (const pending of states) pending.resolve()
  }
}
