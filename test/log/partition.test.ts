import { describe, expect, it } from 'vitest'
import { baseOffsetOf } from '../../src/protocol/record-batch.ts'
import { batchOf, makeLog, topicOf } from '../support/log.ts'

describe('Partition reads', () => {
  it('reads whole batches from an offset inside one, up to the byte limit, the first one even above it', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'reads')
    const partition = topic.partitions[0]!
    for (const values of [['a', 'b', 'c'], ['d'], ['e', 'f']]) await log.append(topic, partition, batchOf(values))
    const all: Buffer[] = []
    const bytes = partition.read(1, Number.POSITIVE_INFINITY, true, all)
    expect(all.map((batch) => baseOffsetOf(batch))).toEqual([0, 3, 4])
    expect(bytes).toBe(all.reduce((sum, batch) => sum + batch.length, 0))
    const one: Buffer[] = []
    expect(partition.read(0, 1, true, one)).toBe(all[0]!.length)
    expect(partition.read(0, 1, false, [])).toBe(0)
    // Bounded by an end offset: only batches starting below it.
    const below: Buffer[] = []
    partition.read(0, Number.POSITIVE_INFINITY, true, below, 4)
    expect(below.map((batch) => baseOffsetOf(batch))).toEqual([0, 3])
    expect(partition.readEnd(0, all[0]!.length + all[1]!.length, 6)).toBe(4)
    expect(partition.readEnd(6, 100, 10)).toBe(6)
    expect(partition.bytesBetween(3, 5)).toBe(all[1]!.length + all[2]!.length)
    expect(partition.bytesBetween(6, 10)).toBe(0)
    // A store without files: the flusher's worker cannot read them itself.
    expect(partition.files(0, 6)).toBeNull()
  })

  it('finds batches by timestamp and the batch with the largest timestamp', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'timed')
    const partition = topic.partitions[0]!
    await log.append(topic, partition, batchOf(['a', 'b'], 1_000))
    await log.append(topic, partition, batchOf(['c'], 5_000))
    await log.append(topic, partition, batchOf(['d'], 3_000))
    expect(partition.batchAtTimestamp(1_001)).toMatchObject({ offset: 0, timestamp: 1_001 })
    expect(partition.batchAtTimestamp(4_000)).toMatchObject({ offset: 2, timestamp: 5_000 })
    expect(partition.batchAtTimestamp(6_000)).toBeNull()
    expect(partition.batchWithMaxTimestamp()).toMatchObject({ offset: 2, timestamp: 5_000 })
  })
})

describe('flushed offsets', () => {
  it('markFlushed records the offset in the store and in memory in one call, and never moves it back in memory', async () => {
    const { log, store } = await makeLog()
    const topic = await topicOf(log, 'flushed')
    const partition = topic.partitions[0]!
    await log.append(topic, partition, batchOf(['a', 'b', 'c']))
    let told = 0
    log.onFlushed(() => told++)
    await log.markFlushed(partition, 2)
    expect(partition.flushedOffset).toBe(2)
    expect((await store.loadPartitions()).find((p) => p.topicId === topic.id)!.state.flushedOffset).toBe(2)
    await log.markFlushed(partition, 1)
    expect(partition.flushedOffset).toBe(2)
    expect(told).toBe(2)
  })

  it('leaves memory alone when the store refuses the flushed offset', async () => {
    const { log, store } = await makeLog()
    const topic = await topicOf(log, 'refused')
    const partition = topic.partitions[0]!
    await log.append(topic, partition, batchOf(['a']))
    store.updatePartitionState = () => Promise.reject(new Error('store down'))
    await expect(log.markFlushed(partition, 1)).rejects.toThrow(/store down/)
    expect(partition.flushedOffset).toBe(0)
  })
})

describe('ensureTopic', () => {
  it('creates a topic on first use with the default partition count, once for concurrent callers', async () => {
    const { log } = await makeLog({ defaultPartitions: 3 })
    expect(log.autoCreates('fresh')).toBe(true)
    const [first, second] = await Promise.all([log.ensureTopic('fresh'), log.ensureTopic('fresh')])
    expect(first).toBe(second)
    expect(log.topicByName('fresh')!.partitions).toHaveLength(3)
    expect(log.autoCreates('fresh')).toBe(false)
  })

  it('refuses invalid names and, with auto-create off, unknown topics', async () => {
    const { log } = await makeLog({ autoCreateTopics: false })
    expect(await log.ensureTopic('bad name!')).toMatchObject({ errorCode: 17 })
    expect(await log.ensureTopic('unknown')).toMatchObject({ errorCode: 3 })
    expect(log.autoCreates('unknown')).toBe(false)
    expect(log.topicByName('unknown')).toBeUndefined()
  })
})
