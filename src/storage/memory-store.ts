// The hot store in memory, for tests of higher layers: same contract, nothing survives the process.
import { ZombiError } from '../errors.ts'
import type {
  AppendRequest, BatchLocation, HotStore, IndexEntry, PartitionState, RecoveredPartition, RecoveryReport, StateWrite,
  TopicRecord,
} from './hot-store.ts'

const partitionId = (topicId: string, partition: number): string => `${topicId}/${partition}`

interface MemoryPartition {
  topicId: string
  partition: number
  state: PartitionState
  entries: IndexEntry[]
}

export class MemoryHotStore implements HotStore {
  readonly #topics = new Map<string, TopicRecord>()
  readonly #partitions = new Map<string, MemoryPartition>()
  readonly #batches: Buffer[] = []
  readonly #state = new Map<string, Buffer>()
  #closed = false
  // Appends of one tick resolve together, like the disk store's group commit.
  #pending: Array<() => void> = []

  async open(): Promise<RecoveryReport> {
    return { reindexedBatches: 0, reindexed: [], truncatedBytes: 0 }
  }

  async close(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    this.#closed = true
  }

  async loadTopics(): Promise<TopicRecord[]> {
    return [...this.#topics.values()].map((t) => structuredClone(t))
  }

  async putTopic(topic: TopicRecord): Promise<void> {
    this.#assertOpen()
    this.#topics.set(topic.id, structuredClone(topic))
  }

  async deleteTopic(topicId: string): Promise<void> {
    this.#assertOpen()
    this.#topics.delete(topicId)
    for (const [key, partition] of this.#partitions) if (partition.topicId === topicId) this.#partitions.delete(key)
  }

  async loadPartitions(): Promise<RecoveredPartition[]> {
    return [...this.#partitions.values()].map((p) => ({ topicId: p.topicId, partition: p.partition, state: { ...p.state }, entries: p.entries.map((e) => ({ ...e })) }))
  }

  append(request: AppendRequest): Promise<BatchLocation> {
    if (this.#closed) return Promise.reject(new ZombiError('STORAGE_CLOSED', 'the hot store is closed'))
    const location: BatchLocation = { segment: 0, position: this.#batches.length, size: request.bytes.length }
    this.#batches.push(Buffer.from(request.bytes))
    const partition = this.#partitions.get(partitionId(request.topicId, request.partition))
    if (partition !== undefined) {
      partition.entries.push({ ...location, baseOffset: request.baseOffset, lastOffset: request.lastOffset, maxTimestamp: request.maxTimestamp })
      partition.state.nextOffset = Math.max(partition.state.nextOffset, request.lastOffset + 1)
    }
    return new Promise((resolve) => this.#defer(() => resolve(location)))
  }

  writeState(writes: StateWrite[]): Promise<void> {
    if (this.#closed) return Promise.reject(new ZombiError('STORAGE_CLOSED', 'the hot store is closed'))
    for (const write of writes) {
      if (write.value === null) this.#state.delete(write.key)
      else this.#state.set(write.key, Buffer.from(write.value))
    }
    return new Promise((resolve) => this.#defer(resolve))
  }

  async updatePartitionState(topicId: string, partition: number, update: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void> {
    this.#assertOpen()
    const found = this.#partitions.get(partitionId(topicId, partition))
    if (found === undefined) throw new ZombiError('STORAGE_FAILED', `no partition ${partition} of topic ${topicId}`)
    Object.assign(found.state, update)
  }

  async initPartitions(topicId: string, partitions: number[]): Promise<void> {
    this.#assertOpen()
    for (const partition of partitions) {
      const key = partitionId(topicId, partition)
      if (!this.#partitions.has(key)) this.#partitions.set(key, { topicId, partition, state: { logStartOffset: 0, nextOffset: 0, flushedOffset: 0 }, entries: [] })
    }
  }

  read(location: BatchLocation): Buffer {
    const batch = this.#batches[location.position]
    if (batch === undefined) throw new ZombiError('STORAGE_CORRUPT', `no batch at ${location.position}`)
    return batch
  }

  async scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>> {
    return [...this.#state].filter(([key]) => key.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => ({ key, value }))
  }

  #defer(resolve: () => void): void {
    this.#pending.push(resolve)
    if (this.#pending.length === 1) {
      setImmediate(() => {
        const pending = this.#pending
        this.#pending = []
        for (const done of pending) done()
      })
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ZombiError('STORAGE_CLOSED', 'the hot store is closed')
  }
}
