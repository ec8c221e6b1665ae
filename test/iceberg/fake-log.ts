// A hot log in memory for flusher and cold-reader tests: real Partition and BatchIndex, batches kept in arrays.
import type { FlushSource, FlushableTopic } from '../../src/iceberg/flusher.ts'
import { Partition } from '../../src/log/partition.ts'
import { encodeBatch } from '../../src/protocol/records.ts'

export const base = Date.UTC(2024, 5, 1, 12, 0)

/** A hot log in memory with the shape the flusher reads (real Partition and BatchIndex). */
export class FakeLog implements FlushSource {
  readonly byName = new Map<string, FlushableTopic>()
  readonly stored = new Map<Partition, Buffer[]>()
  failRecord = false
  recorded: Array<[string, number, number]> = []

  createTopic(name: string, partitions: number, id = `${name}-id-${Math.random()}`): FlushableTopic {
    const topic = { id, name, partitions: Array.from({ length: partitions }, (_, p) => new Partition(id, p, 0, 0, 0)) }
    this.byName.set(name, topic)
    return topic
  }

  append(topic: FlushableTopic, partitionId: number, values: string[], timestamp = base): void {
    const partition = topic.partitions[partitionId] as Partition
    const baseOffset = partition.nextOffset
    const batch = encodeBatch(values.map((value, i) => ({ key: Buffer.from(`k${baseOffset + i}`), value: Buffer.from(value), timestamp: timestamp + i })), { baseOffset })
    const list = this.stored.get(partition) ?? []
    this.stored.set(partition, list)
    list.push(batch)
    const lastOffset = baseOffset + values.length - 1
    partition.index.push({ baseOffset, lastOffset, maxTimestamp: timestamp, segment: 0, position: list.length - 1, size: batch.length })
    partition.nextOffset = partition.highWatermark = lastOffset + 1
    partition.wakeWaiters()
  }

  topics(): Iterable<FlushableTopic> {
    return this.byName.values()
  }

  topicByName(name: string): FlushableTopic | undefined {
    return this.byName.get(name)
  }

  topicById(id: string): FlushableTopic | undefined {
    return [...this.byName.values()].find((topic) => topic.id === id)
  }

  readBatch(partition: Partition, i: number): Buffer {
    return this.stored.get(partition)![partition.index.location(i).position]!
  }

  async recordFlushed(topicId: string, partition: number, flushedOffset: number): Promise<void> {
    if (this.failRecord) throw new Error('crash before the flushed offset was recorded')
    this.recorded.push([topicId, partition, flushedOffset])
  }
}

