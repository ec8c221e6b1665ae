// The contract every hot store passes (run by disk-store.test.ts and memory-store.test.ts).
import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { HotStore, TopicRecord } from '../../src/storage/hot-store.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { patchBaseOffset } from '../../src/protocol/record-batch.ts'

export function topicRecord(name: string, partitions = 1): TopicRecord {
  return { id: randomUUID(), name, partitions, configs: {}, createdAtMs: 1_700_000_000_000 }
}

/** A valid batch of `count` records with base offset `baseOffset`. */
export function batchAt(baseOffset: number, count = 1, tag = 'v'): Buffer {
  const batch = encodeBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${baseOffset + i}`), timestamp: 1_700_000_000_000 + baseOffset + i })))
  patchBaseOffset(batch, baseOffset)
  return batch
}

export function hotStoreContract(name: string, makeStore: () => Promise<HotStore>, dispose: () => Promise<void> = async () => undefined): void {
  describe(`${name} hot store contract`, () => {
    let store: HotStore

    beforeEach(async () => {
      store = await makeStore()
      await store.open()
    })

    afterEach(async () => {
      await store.close()
      await dispose()
    })

    it('returns exactly the appended bytes', async () => {
      const topic = topicRecord('bytes')
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0])
      const batch = batchAt(0, 3)
      const location = await store.append({ topicId: topic.id, partition: 0, baseOffset: 0, lastOffset: 2, maxTimestamp: 5, bytes: batch })
      expect(location.size).toBe(batch.length)
      expect(store.read(location).equals(batch)).toBe(true)
    })

    it('resolves appends of one tick in call order, across partitions', async () => {
      const topic = topicRecord('order', 4)
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0, 1, 2, 3])
      const resolved: number[] = []
      const next = [0, 0, 0, 0]
      const promises = Array.from({ length: 40 }, (_, i) => {
        const partition = i % 4
        const base = next[partition]!
        next[partition] = base + 2
        return store.append({ topicId: topic.id, partition, baseOffset: base, lastOffset: base + 1, maxTimestamp: i, bytes: batchAt(base, 2, `p${partition}`) })
          .then((location) => {
            resolved.push(i)
            return location
          })
      })
      const locations = await Promise.all(promises)
      expect(resolved).toEqual(Array.from({ length: 40 }, (_, i) => i))
      for (let i = 0; i < 40; i++) expect(store.read(locations[i]!).equals(batchAt(Math.floor(i / 4) * 2, 2, `p${i % 4}`))).toBe(true)
    })

    it('records index entries and advances nextOffset per partition', async () => {
      const topic = topicRecord('index', 2)
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0, 1])
      await store.append({ topicId: topic.id, partition: 0, baseOffset: 0, lastOffset: 4, maxTimestamp: 10, bytes: batchAt(0, 5) })
      await store.append({ topicId: topic.id, partition: 0, baseOffset: 5, lastOffset: 5, maxTimestamp: 20, bytes: batchAt(5, 1) })
      await store.append({ topicId: topic.id, partition: 1, baseOffset: 0, lastOffset: 0, maxTimestamp: 30, bytes: batchAt(0, 1) })
      const partitions = await store.loadPartitions()
      const p0 = partitions.find((p) => p.topicId === topic.id && p.partition === 0)!
      const p1 = partitions.find((p) => p.topicId === topic.id && p.partition === 1)!
      expect(p0.state).toEqual({ logStartOffset: 0, nextOffset: 6, flushedOffset: 0 })
      expect(p0.entries.map((e) => [e.baseOffset, e.lastOffset, e.maxTimestamp])).toEqual([[0, 4, 10], [5, 5, 20]])
      expect(p1.state.nextOffset).toBe(1)
      expect(store.read(p0.entries[1]!).equals(batchAt(5, 1))).toBe(true)
    })

    it('puts, loads and deletes topics with their partitions and index', async () => {
      const keep = topicRecord('keep')
      const drop = topicRecord('drop', 2)
      await store.putTopic(keep)
      await store.putTopic(drop)
      await store.initPartitions(keep.id, [0])
      await store.initPartitions(drop.id, [0, 1])
      await store.append({ topicId: drop.id, partition: 1, baseOffset: 0, lastOffset: 0, maxTimestamp: 1, bytes: batchAt(0) })
      expect((await store.loadTopics()).map((t) => t.name).sort()).toEqual(['drop', 'keep'])
      await store.deleteTopic(drop.id)
      expect((await store.loadTopics()).map((t) => t.name)).toEqual(['keep'])
      const partitions = await store.loadPartitions()
      expect(partitions.filter((p) => p.topicId === drop.id)).toEqual([])
      expect(partitions.filter((p) => p.topicId === keep.id)).toHaveLength(1)
    })

    it('keeps topic configs and partition counts as put', async () => {
      const topic = { ...topicRecord('configured', 3), configs: { 'retention.ms': '1000', 'message.timestamp.type': 'LogAppendTime' } }
      await store.putTopic(topic)
      await store.putTopic({ ...topic, partitions: 5 })
      const [loaded] = await store.loadTopics()
      expect(loaded).toEqual({ ...topic, partitions: 5 })
    })

    it('writes, overwrites, deletes and scans state rows by prefix in key order', async () => {
      await store.writeState([{ key: 'group/g1/t/1', value: Buffer.from('b') }, { key: 'group/g1/t/0', value: Buffer.from('a') }, { key: 'group/g2/t/0', value: Buffer.from('c') }])
      await store.writeState([{ key: 'group/g1/t/1', value: Buffer.from('B') }, { key: 'group/g2/t/0', value: null }])
      expect((await store.scanState('group/g1/')).map((r) => [r.key, r.value.toString()])).toEqual([['group/g1/t/0', 'a'], ['group/g1/t/1', 'B']])
      expect(await store.scanState('group/g2/')).toEqual([])
    })

    it('updates logStartOffset and flushedOffset without moving nextOffset', async () => {
      const topic = topicRecord('watermarks')
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0])
      await store.append({ topicId: topic.id, partition: 0, baseOffset: 0, lastOffset: 9, maxTimestamp: 1, bytes: batchAt(0, 10) })
      await store.updatePartitionState(topic.id, 0, { flushedOffset: 7 })
      await store.updatePartitionState(topic.id, 0, { logStartOffset: 3 })
      const [partition] = (await store.loadPartitions()).filter((p) => p.topicId === topic.id)
      expect(partition!.state).toEqual({ logStartOffset: 3, nextOffset: 10, flushedOffset: 7 })
    })

    it('initialises new partitions at offset 0 and leaves existing ones alone', async () => {
      const topic = topicRecord('grow', 1)
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0])
      await store.append({ topicId: topic.id, partition: 0, baseOffset: 0, lastOffset: 0, maxTimestamp: 1, bytes: batchAt(0) })
      await store.initPartitions(topic.id, [0, 1, 2])
      const states = (await store.loadPartitions()).filter((p) => p.topicId === topic.id).sort((a, b) => a.partition - b.partition).map((p) => p.state.nextOffset)
      expect(states).toEqual([1, 0, 0])
    })
  })
}
