// The real log over a hot store in memory, for flusher and cold-reader tests: topics of string values,
// and a store whose flushed-offset writes can be made to fail (a crash before the offset is recorded).
import { BrokerLog } from '../../src/log/broker-log.ts'
import { Topic } from '../../src/log/topic.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import type { PartitionState } from '../../src/storage/hot-store.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

export const base = Date.UTC(2024, 5, 1, 12, 0)

class RecordingStore extends MemoryHotStore {
  failRecord = false
  recorded: Array<[string, number, number]> = []

  override async updatePartitionState(topicId: string, partition: number, update: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void> {
    if (update.flushedOffset !== undefined) {
      if (this.failRecord) throw new Error('crash before the flushed offset was recorded')
      this.recorded.push([topicId, partition, update.flushedOffset])
    }
    return super.updatePartitionState(topicId, partition, update)
  }
}

export class TestLog extends BrokerLog {
  readonly #store: RecordingStore

  private constructor(store: RecordingStore) {
    super({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 1 << 20 })
    this.#store = store
  }

  static async open(): Promise<TestLog> {
    const store = new RecordingStore()
    await store.open()
    const log = new TestLog(store)
    await log.open()
    return log
  }

  /** While set, recording a flushed offset fails before anything changes. */
  set failRecord(fail: boolean) {
    this.#store.failRecord = fail
  }

  /** Flushed offsets recorded in the store: [topic id, partition, offset]. */
  get recorded(): Array<[string, number, number]> {
    return this.#store.recorded
  }

  /** A new topic (the one of the same name, if any, deleted first: a recreated topic). */
  async addTopic(name: string, partitions: number): Promise<Topic> {
    const existing = this.topicByName(name)
    if (existing !== undefined) await this.deleteTopic(existing)
    const created = await this.createTopic(name, partitions, {})
    if (!(created instanceof Topic)) throw new Error(created.message)
    return created
  }

  /** Appends one batch of the values (keys k<offset>, timestamps from `timestamp` on, one ms apart; `compression`: the codec id, 1 gzip). */
  async add(topic: Topic, partitionId: number, values: string[], timestamp = base, compression = 0): Promise<void> {
    const partition = topic.partitions[partitionId]!
    const baseOffset = partition.nextOffset
    const batch = encodeBatch(values.map((value, i) => ({ key: Buffer.from(`k${baseOffset + i}`), value: Buffer.from(value), timestamp: timestamp + i })), { compression })
    const result = await this.append(topic, partition, batch)
    if (result.errorCode !== 0) throw new Error(result.errorMessage ?? `append failed with ${result.errorCode}`)
  }
}
