import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { makeLog, topicOf } from '../support/log.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { HotRetention } from '../../src/log/hot-retention.ts'
import { Topic } from '../../src/log/topic.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import type { HotStore } from '../../src/storage/hot-store.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { baseOffsetOf } from '../../src/protocol/record-batch.ts'
import { storedBatches } from './stored.ts'

const HOUR = 3_600_000
const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

interface Harness {
  log: BrokerLog
  store: HotStore
  topic: Topic
  clock: { now: number }
  retention(retentionMs: number, retentionBytes?: number): HotRetention
}

async function harness(store: HotStore, clock: { now: number }, partitions = 2): Promise<Harness> {
  const { log } = await makeLog({ store, fetchCacheBytes: 0 })
  return {
    log, store, topic: await topicOf(log, 'hot', partitions), clock,
    retention: (retentionMs, retentionBytes = -1) => new HotRetention({
      store, logger: silentLogger, topics: () => log.topics(), retentionMs, retentionBytes, now: () => clock.now,
    }),
  }
}

/** Appends `count` batches of one 1000-byte record each, alternating partitions; returns record count per partition. */
async function produce(h: Harness, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const partition = h.topic.partitions[i % h.topic.partitions.length]!
    const result = await h.log.append(h.topic, partition, encodeBatch([{ key: null, value: Buffer.alloc(1000, i % 256) }]))
    expect(result.errorCode).toBe(0)
  }
}

/** Marks every record flushed up to `offset` (what the flusher does after an Iceberg commit). */
async function flushTo(h: Harness, offset: number): Promise<void> {
  for (const partition of h.topic.partitions) {
    await h.log.markFlushed(partition, Math.min(offset, partition.highWatermark))
  }
}

describe('hot retention', () => {
  it('keeps every unflushed batch, however old', async () => {
    const clock = { now: 1_000 }
    const h = await harness(new MemoryHotStore({ segmentBytes: 4096, now: () => clock.now }), clock)
    await produce(h, 30)
    clock.now += 10 * HOUR
    const pass = await h.retention(0).enforce()
    expect(pass).toEqual({ segmentsDeleted: 0, bytesFreed: 0, keptBecause: 'unflushed' })
    expect(h.topic.partitions.map((p) => p.logStartOffset)).toEqual([0, 0])
  })

  it('deletes flushed segments past the retention time, up to the first unflushed batch, and moves log start offsets', async () => {
    const clock = { now: 1_000 }
    const h = await harness(new MemoryHotStore({ segmentBytes: 4096, now: () => clock.now }), clock)
    await produce(h, 30) // 15 records per partition, ~3 batches per segment
    await flushTo(h, 8)
    const segmentsBefore = h.store.segments().segments.length
    // Not old enough yet.
    expect((await h.retention(HOUR).enforce()).keptBecause).toBe('retention')
    clock.now += 2 * HOUR
    const pass = await h.retention(HOUR).enforce()
    expect(pass.segmentsDeleted).toBeGreaterThan(0)
    expect(pass.keptBecause).toBe('unflushed')
    expect(h.store.segments().segments.length).toBe(segmentsBefore - pass.segmentsDeleted)
    for (const partition of h.topic.partitions) {
      expect(partition.logStartOffset).toBeGreaterThan(0)
      expect(partition.logStartOffset).toBeLessThanOrEqual(8)
      // The first batch still indexed is the log start, and it reads back.
      const [first] = storedBatches(partition)
      expect(baseOffsetOf(first!)).toBe(partition.logStartOffset)
      expect(first!.length).toBeGreaterThan(1000)
    }
    // Once all is flushed, everything but the segment taking appends goes.
    await flushTo(h, 15)
    const rest = await h.retention(HOUR).enforce()
    expect(rest.keptBecause).toBe('active')
    expect(h.store.segments().segments).toHaveLength(1)
    // Appends go on with dense offsets.
    await produce(h, 2)
    expect(h.topic.partitions.map((p) => p.highWatermark)).toEqual([16, 16])
  })

  it('with a byte limit, deletes only the oldest flushed segments over it; -1 time keeps the rest', async () => {
    const clock = { now: 1_000 }
    const h = await harness(new MemoryHotStore({ segmentBytes: 4096, now: () => clock.now }), clock)
    await produce(h, 30)
    await flushTo(h, 15)
    const total = h.store.segments().segments.reduce((sum, info) => sum + info.bytes, 0)
    const pass = await h.retention(-1, Math.floor(total / 2)).enforce()
    expect(pass.keptBecause).toBe('retention')
    const left = h.store.segments().segments.reduce((sum, info) => sum + info.bytes, 0)
    expect(left).toBeLessThanOrEqual(Math.floor(total / 2))
    expect(left + pass.bytesFreed).toBe(total)
    expect(await h.retention(-1).enforce()).toMatchObject({ segmentsDeleted: 0, keptBecause: 'retention' })
  })

  it('on disk: deleted segment files are gone, the log start offsets survive a restart, and reads past them work', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-retention-'))
    dirs.push(dir)
    const clock = { now: Date.now() }
    const h = await harness(new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 8192 }), clock)
    await produce(h, 60)
    await flushTo(h, 20)
    clock.now += 2 * HOUR
    const pass = await h.retention(HOUR).enforce()
    expect(pass.segmentsDeleted).toBeGreaterThan(2)
    const starts = h.topic.partitions.map((p) => p.logStartOffset)
    const segmentsLeft = h.store.segments().segments.map((info) => info.segment)
    await h.store.close()

    const store = new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 8192 })
    const recovery = await store.open()
    expect(recovery.droppedEntries).toBe(0)
    expect(store.segments().segments.map((info) => info.segment)).toEqual(segmentsLeft)
    const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
    await log.open(recovery)
    const topic = log.topicByName('hot')!
    expect(topic.partitions.map((p) => p.logStartOffset)).toEqual(starts)
    for (const partition of topic.partitions) {
      expect(partition.highWatermark).toBe(30)
      const batches = storedBatches(partition)
      expect(baseOffsetOf(batches[0]!)).toBe(partition.logStartOffset)
      for (const batch of batches) expect(batch.length).toBeGreaterThan(1000)
    }
    await store.close()
  })
})
