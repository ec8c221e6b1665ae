// The hot store in memory, for tests of higher layers: the same contract (test/storage/contract.ts)
// without files. Writes take effect at the call; their promises resolve together at the end of
// the tick, in call order, like the disk store's group commit. Nothing survives the instance.
import { ZombiError } from '../errors.ts'
import {
  appendRequestProblem, notOpenRefusal, replacementProblem, type AppendRequest, type ReplacementBatch, type BatchLocation, type HotStore, type IndexEntry, type PartitionState,
  type LogStartUpdate, type RecoveredPartition, type RecoveryReport, type SegmentInfo, type SegmentListing, type StateWrite, type StoreHealth, type TopicRecord,
} from './hot-store.ts'

class MemoryPartition {
  readonly topicId: string
  readonly partition: number
  readonly state: PartitionState = { logStartOffset: 0, nextOffset: 0, flushedOffset: 0 }
  readonly entries: IndexEntry[] = []

  constructor(topicId: string, partition: number) {
    this.topicId = topicId
    this.partition = partition
  }
}

export interface MemoryHotStoreOptions {
  /** Batches go to a new (virtual) segment once the current one holds this many bytes (default: never). */
  segmentBytes?: number
  now?: () => number
}

export class MemoryHotStore implements HotStore {
  readonly #segmentBytes: number
  readonly #now: () => number
  /** Virtual segments, oldest first; the last one takes appends. */
  readonly #segments: SegmentInfo[]
  /** Segment of the oldest append whose promise has not settled, or -1. */
  #unsettledFrom = -1
  readonly #topics = new Map<string, TopicRecord>()
  readonly #partitions = new Map<string, Map<number, MemoryPartition>>()
  /** Stored batches; a location's position is the index here. */
  readonly #batches: Array<Buffer | undefined> = []
  readonly #batchSegments: number[] = []
  readonly #state = new Map<string, Buffer>()
  #pending: Array<() => void> = []
  #opened = false
  #closed = false

  constructor(options: MemoryHotStoreOptions = {}) {
    this.#segmentBytes = options.segmentBytes ?? Number.POSITIVE_INFINITY
    this.#now = options.now ?? Date.now
    this.#segments = [{ segment: 0, bytes: 0, lastWriteMs: this.#now() }]
  }

  async open(): Promise<RecoveryReport> {
    if (this.#opened) throw new ZombiError('INVALID_STATE', 'the hot store is already open')
    this.#opened = true
    return { reindexedBatches: 0, reindexed: [], truncatedBytes: 0, replayedStateWrites: 0, droppedEntries: 0 }
  }

  async close(): Promise<void> {
    while (this.#pending.length > 0) await new Promise((resolve) => setImmediate(resolve))
    this.#closed = true
  }

  async loadTopics(): Promise<TopicRecord[]> {
    return [...this.#topics.values()].map((topic) => structuredClone(topic))
  }

  async putTopic(topic: TopicRecord): Promise<void> {
    this.#assertWritable()
    this.#topics.set(topic.id, structuredClone(topic))
    if (!this.#partitions.has(topic.id)) this.#partitions.set(topic.id, new Map())
  }

  async deleteTopic(topicId: string): Promise<void> {
    this.#assertWritable()
    this.#topics.delete(topicId)
    this.#partitions.delete(topicId)
  }

  async loadPartitions(): Promise<RecoveredPartition[]> {
    const out: RecoveredPartition[] = []
    for (const partitions of this.#partitions.values()) {
      for (const p of partitions.values()) {
        out.push({ topicId: p.topicId, partition: p.partition, state: { ...p.state }, entries: p.entries.map((e) => ({ ...e })) })
      }
    }
    return out
  }

  append(request: AppendRequest): Promise<BatchLocation> {
    const refusal = notOpenRefusal(this.#opened, this.#closed)
    if (refusal !== null) return Promise.reject(refusal)
    const problem = appendRequestProblem(request)
    if (problem !== null) return Promise.reject(new ZombiError('INVALID_ARGUMENT', problem))
    const location = this.#place(request.bytes)
    const partitions = this.#partitions.get(request.topicId)
    // A topic the store does not know (deleted): stored, never indexed, as on disk.
    if (partitions !== undefined) {
      let partition = partitions.get(request.partition)
      if (partition === undefined) {
        partition = new MemoryPartition(request.topicId, request.partition)
        partitions.set(request.partition, partition)
      }
      partition.entries.push({ ...location, baseOffset: request.baseOffset, lastOffset: request.lastOffset, maxTimestamp: request.maxTimestamp })
      // Entries stay ascending by base offset, as an index keyed by it returns them.
      if (partition.entries.length > 1 && partition.entries[partition.entries.length - 2]!.baseOffset > request.baseOffset) {
        partition.entries.sort((a, b) => a.baseOffset - b.baseOffset)
      }
      partition.state.nextOffset = Math.max(partition.state.nextOffset, request.lastOffset + 1)
    }
    return this.#settleLater(location)
  }

  replaceBatches(topicId: string, partition: number, removed: readonly number[], added: readonly ReplacementBatch[]): Promise<IndexEntry[]> {
    const refusal = notOpenRefusal(this.#opened, this.#closed)
    if (refusal !== null) return Promise.reject(refusal)
    const problem = replacementProblem(partition, removed, added)
    if (problem !== null) return Promise.reject(new ZombiError('INVALID_ARGUMENT', problem))
    const entries: IndexEntry[] = []
    for (const batch of added) {
      const location = this.#place(batch.bytes)
      entries.push({ ...location, baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, maxTimestamp: batch.maxTimestamp })
    }
    const found = this.#partitions.get(topicId)?.get(partition)
    if (found !== undefined) {
      const gone = new Set(removed)
      const kept = found.entries.filter((entry) => !gone.has(entry.baseOffset))
      kept.push(...entries.map((entry) => ({ ...entry })))
      kept.sort((a, b) => a.baseOffset - b.baseOffset)
      found.entries.splice(0, found.entries.length, ...kept)
    }
    return this.#settleLater(entries)
  }

  /** Stores bytes in the active (virtual) segment, rolling it when full. */
  #place(bytes: Buffer): BatchLocation {
    let active = this.#segments[this.#segments.length - 1]!
    if (active.bytes > 0 && active.bytes + bytes.length > this.#segmentBytes) {
      active = { segment: active.segment + 1, bytes: 0, lastWriteMs: this.#now() }
      this.#segments.push(active)
    }
    active.bytes += bytes.length
    active.lastWriteMs = this.#now()
    if (this.#unsettledFrom === -1) this.#unsettledFrom = active.segment
    const location: BatchLocation = { segment: active.segment, position: this.#batches.length, size: bytes.length }
    this.#batches.push(Buffer.from(bytes))
    this.#batchSegments.push(active.segment)
    return location
  }

  writeState(writes: StateWrite[]): Promise<void> {
    const refusal = notOpenRefusal(this.#opened, this.#closed)
    if (refusal !== null) return Promise.reject(refusal)
    for (const write of writes) {
      if (write.value === null) this.#state.delete(write.key)
      else this.#state.set(write.key, Buffer.from(write.value))
    }
    return this.#settleLater(undefined)
  }

  updatePartitionState(topicId: string, partition: number, update: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void> {
    const refusal = notOpenRefusal(this.#opened, this.#closed)
    if (refusal !== null) return Promise.reject(refusal)
    const found = this.#partitions.get(topicId)?.get(partition)
    if (found === undefined) return Promise.reject(new ZombiError('INVALID_ARGUMENT', `no partition ${partition} of topic ${topicId}`))
    if (update.logStartOffset !== undefined) found.state.logStartOffset = update.logStartOffset
    if (update.flushedOffset !== undefined) found.state.flushedOffset = update.flushedOffset
    return this.#settleLater(undefined)
  }

  async initPartitions(topicId: string, partitions: number[]): Promise<void> {
    this.#assertWritable()
    const existing = this.#partitions.get(topicId)
    if (existing === undefined) return
    for (const partition of partitions) if (!existing.has(partition)) existing.set(partition, new MemoryPartition(topicId, partition))
  }

  fileOf(): null {
    return null
  }

  segments(): SegmentListing {
    return { segments: this.#segments.map((info) => ({ ...info })), deletableBefore: this.#deletableBefore() }
  }

  /** The segment of the oldest append not yet settled; the active one when none is. */
  #deletableBefore(): number {
    return this.#unsettledFrom === -1 ? this.#segments[this.#segments.length - 1]!.segment : this.#unsettledFrom
  }

  async deleteSegmentsBefore(segment: number, updates: LogStartUpdate[]): Promise<number> {
    this.#assertWritable()
    const deletableBefore = this.#deletableBefore()
    if (segment > deletableBefore) throw new ZombiError('INVALID_ARGUMENT', `segment ${segment} may still hold unacknowledged writes (deletable before ${deletableBefore})`)
    for (const { topicId, partition, logStartOffset } of updates) {
      const found = this.#partitions.get(topicId)?.get(partition)
      if (found === undefined || logStartOffset <= found.state.logStartOffset) continue
      found.state.logStartOffset = logStartOffset
      const keep = found.entries.findIndex((entry) => entry.lastOffset >= logStartOffset)
      found.entries.splice(0, keep === -1 ? found.entries.length : keep)
    }
    let freed = 0
    while (this.#segments.length > 1 && this.#segments[0]!.segment < segment) freed += this.#segments.shift()!.bytes
    for (let i = 0; i < this.#batches.length; i++) {
      if (this.#batchSegments[i]! < segment) this.#batches[i] = undefined
    }
    return freed
  }

  /** Memory never fills up here (a closed store rejects the append itself). */
  hasSpaceFor(_bytes: number): boolean {
    return true
  }

  health(): StoreHealth {
    const refusal = notOpenRefusal(this.#opened, this.#closed)
    return { ok: refusal === null, detail: refusal?.message ?? 'in memory', freeBytes: null }
  }

  read(location: BatchLocation, _allocate?: (size: number) => Buffer): Buffer {
    const batch = this.#batches[location.position]
    if (batch === undefined || batch.length !== location.size) throw new ZombiError('STORAGE_CORRUPT', `no batch at ${location.position} (deleted by retention?)`)
    return batch
  }

  async scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>> {
    // Sorted by UTF-8 bytes, as classic-level sorts its keys.
    return [...this.#state]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => ({ key, value, bytes: Buffer.from(key, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map(({ key, value }) => ({ key, value }))
  }

  #settleLater<T>(value: T): Promise<T> {
    const { promise, resolve } = Promise.withResolvers<T>()
    this.#pending.push(() => resolve(value))
    if (this.#pending.length === 1) {
      setImmediate(() => {
        const pending = this.#pending
        this.#pending = []
        this.#unsettledFrom = -1
        for (const settle of pending) settle()
      })
    }
    return promise
  }

  #assertWritable(): void {
    const refusal = notOpenRefusal(this.#opened, this.#closed)
    if (refusal !== null) throw refusal
  }
}
