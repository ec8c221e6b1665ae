import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import type { BrokerLog } from '../../src/log/broker-log.ts'
import { HotRetention } from '../../src/log/hot-retention.ts'
import { LogCleaner } from '../../src/log/log-cleaner.ts'
import type { Topic } from '../../src/log/topic.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { makeLog } from '../support/log.ts'
import { compactedTopic, compactionProblem, latestPerKey, partitionRecords, produceKeyed, recordAt, type KeyedRecord } from './compacted.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zombi-cleaner-'))
  dirs.push(dir)
  return dir
}

function cleanerOf(log: BrokerLog, clock: { now: number }, options: { relocateBefore?: () => number; chunkBytes?: number } = {}): LogCleaner {
  return new LogCleaner({ store: log.store, topics: () => log.topics(), logger: silentLogger, now: () => clock.now, ...options })
}

async function flushAll(log: BrokerLog, topic: Topic): Promise<void> {
  for (const partition of topic.partitions) await log.markFlushed(partition, partition.highWatermark)
}

describe('log cleaner', () => {
  it('keeps exactly the latest record per key, at its offset, and leaves the active segment alone', async () => {
    const clock = { now: 10_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'compacted')
    const partition = topic.partitions[0]!
    const written = await produceKeyed(log, topic, partition, 200)
    await flushAll(log, topic)
    const cleaner = cleanerOf(log, clock)
    const [result] = await cleaner.runOnce()
    expect(result).toMatchObject({ topic: 'compacted', partition: 0, reason: 'dirty-ratio' })
    expect(result!.recordsRemoved).toBeGreaterThan(400)
    const served = partitionRecords(partition)
    expect(compactionProblem(written, served)).toBeNull()
    // The active segment (the newest ~1 KiB of batches) is served as written.
    const entries = partition.entries()
    const tail = written.filter((r) => r.offset >= entries[entries.length - 1]!.baseOffset)
    expect(served.slice(-tail.length)).toEqual(tail)
    // Everything before the clean end is down to one record per key.
    const cleaned = served.filter((r) => r.offset < result!.cleanEnd)
    expect(result!.cleanEnd).toBeGreaterThan(written.length - 60)
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length)
    // Offsets, high watermark and log start do not move.
    expect(partition.highWatermark).toBe(written.length)
    expect(partition.logStartOffset).toBe(0)
    expect(cleaner.stats).toMatchObject({ cleanings: 1, failures: 0 })
    expect(cleaner.stats.bytesReclaimed).toBeGreaterThan(0)
    // Nothing new: no second cleaning.
    expect(await cleaner.runOnce()).toEqual([])
  })

  it('cleans only what is in Iceberg and older than min.compaction.lag.ms', async () => {
    const clock = { now: 100_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'lagged', { 'min.compaction.lag.ms': '50000' })
    const partition = topic.partitions[0]!
    const old = await produceKeyed(log, topic, partition, 60, { timestamp: 10_000 })
    await log.markFlushed(partition, 30)
    const young = await produceKeyed(log, topic, partition, 60, { timestamp: 90_000, seed: 3 })
    await flushAll(log, topic)
    const cleaner = cleanerOf(log, clock)
    await cleaner.runOnce()
    const served = partitionRecords(partition)
    expect(compactionProblem([...old, ...young], served)).toBeNull()
    // The young ones are within min.compaction.lag.ms: untouched.
    expect(served.filter((r) => r.offset >= young[0]!.offset)).toEqual(young)
    // Unflushed records are never cleaned either.
    const more = await produceKeyed(log, topic, partition, 60, { timestamp: 10_000, seed: 5 })
    clock.now = 200_000
    await cleaner.runOnce()
    expect(partitionRecords(partition).filter((r) => r.offset >= more[0]!.offset)).toEqual(more)
  })

  it('waits for min.cleanable.dirty.ratio, unless max.compaction.lag.ms ran out', async () => {
    const clock = { now: 100_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'ratio', { 'min.cleanable.dirty.ratio': '0.9', 'max.compaction.lag.ms': '500000' })
    const partition = topic.partitions[0]!
    await produceKeyed(log, topic, partition, 100, { timestamp: 50_000, keys: 200 })
    await flushAll(log, topic)
    const cleaner = cleanerOf(log, clock)
    // Never cleaned: all dirty.
    expect(await cleaner.runOnce()).toHaveLength(1)
    await produceKeyed(log, topic, partition, 10, { timestamp: 60_000, keys: 200, seed: 9 })
    await flushAll(log, topic)
    expect(await cleaner.runOnce()).toEqual([])
    clock.now = 60_000 + 500_000
    const [byLag] = await cleaner.runOnce()
    expect(byLag!.reason).toBe('max-lag')
  })

  it('keeps a tombstone for delete.retention.ms after the cleaning that reached it, then removes it', async () => {
    const clock = { now: 100_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'tombstones', { 'delete.retention.ms': '60000' })
    const partition = topic.partitions[0]!
    const written = await produceKeyed(log, topic, partition, 150, { tombstoneEvery: 4 })
    await flushAll(log, topic)
    const cleaner = cleanerOf(log, clock)
    const [cleaning] = await cleaner.runOnce()
    const first = partitionRecords(partition)
    expect(compactionProblem(written, first)).toBeNull()
    const cleanEnd = cleaning!.cleanEnd
    expect(cleanEnd).toBeGreaterThan(300)
    const deleted = [...latestPerKey(written.filter((r) => r.offset < cleanEnd)).values()].filter((r) => r.value === null)
    expect(deleted.length).toBeGreaterThan(0)
    // Reached by this cleaning: kept, and the versions they delete are gone.
    for (const tombstone of deleted) expect(first.filter((r) => r.key === tombstone.key && r.offset < cleanEnd).map((r) => r.offset)).toEqual([tombstone.offset])
    clock.now += 59_999
    expect(await cleaner.runOnce()).toEqual([])
    clock.now += 1
    const [expired] = await cleaner.runOnce()
    expect(expired).toMatchObject({ reason: 'tombstones' })
    expect(expired!.tombstonesRemoved).toBeGreaterThanOrEqual(deleted.length)
    const second = partitionRecords(partition)
    expect(compactionProblem(written, second)).toBeNull()
    for (const tombstone of deleted) expect(second.some((r) => r.key === tombstone.key && r.offset < cleanEnd)).toBe(false)
  })

  it('paces a cleaning to ZOMBI_LOG_CLEANER_IO_MAX_BYTES_PER_SECOND', async () => {
    const clock = { now: 10_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'paced')
    const partition = topic.partitions[0]!
    await produceKeyed(log, topic, partition, 100)
    await flushAll(log, topic)
    const waits: number[] = []
    // 1 KB/s against tens of KB: every chunk is far ahead of the budget and waits its share.
    const cleaner = new LogCleaner({
      store: log.store, topics: () => log.topics(), logger: silentLogger, now: () => clock.now, chunkBytes: 512, ioMaxBytesPerSecond: 1000,
      sleep: async (ms) => {
        waits.push(ms)
      },
    })
    const [result] = await cleaner.runOnce()
    expect(result).toBeDefined()
    expect(waits.length).toBeGreaterThan(3)
    // Each wait is what the bytes so far are ahead of the limit: positive, and below their whole time at 1 KB/s.
    const bytesBefore = result!.bytesReclaimed + partition.entries().reduce((sum, entry) => sum + entry.size, 0)
    for (const ms of waits) expect(ms).toBeGreaterThan(0)
    expect(Math.max(...waits)).toBeLessThan(3 * bytesBefore)
  })

  it('cleans a partition with more keys than its key map holds in several passes, each going further', async () => {
    const clock = { now: 10_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'many-keys')
    const partition = topic.partitions[0]!
    const written = await produceKeyed(log, topic, partition, 300, { keys: 100, tombstoneEvery: 6 })
    await flushAll(log, topic)
    // About 20 keys' worth of map.
    const cleaner = new LogCleaner({ store: log.store, topics: () => log.topics(), logger: silentLogger, now: () => clock.now, dedupeBufferBytes: 20 * 70, chunkBytes: 300 })
    const ends: number[] = []
    for (let pass = 0; pass < 40; pass++) {
      const [result] = await cleaner.runOnce()
      if (result === undefined) break
      ends.push(result.cleanEnd)
      expect(compactionProblem(written, partitionRecords(partition))).toBeNull()
    }
    expect(ends.length).toBeGreaterThan(2)
    // Every pass reaches further, until the whole cleanable range is done.
    for (let i = 1; i < ends.length; i++) expect(ends[i]).toBeGreaterThan(ends[i - 1]!)
    const cleaned = partitionRecords(partition).filter((r) => r.offset < ends.at(-1)!)
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length)
  })

  it('keeps every key\'s latest value at its offset through any mix of appends, flushes, clock moves and cleanings (property)', async () => {
    let cleanings = 0
    let removed = 0
    let tombstones = 0
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        fc.record({ kind: fc.constant('append' as const), records: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 6 }), codec: fc.constantFrom(0, 1, 4) }),
        fc.record({ kind: fc.constant('flush' as const) }),
        fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
        fc.record({ kind: fc.constant('clean' as const), chunkBytes: fc.integer({ min: 100, max: 5000 }), mapBytes: fc.integer({ min: 100, max: 5000 }) }),
      ), { minLength: 10, maxLength: 60 }),
      async (steps) => {
        const clock = { now: 1_000_000 }
        const { log } = await makeLog({ fetchCacheBytes: 0 })
        const topic = await compactedTopic(log, 'property', { 'delete.retention.ms': '2000', 'segment.bytes': '100', 'min.compaction.lag.ms': '100' })
        const partition = topic.partitions[0]!
        const written: KeyedRecord[] = []
        for (const step of steps) {
          if (step.kind === 'append') {
            const batch = encodeBatch(step.records.map(([key, tombstone], i) => ({
              key: Buffer.from(`k${key}`), value: tombstone ? null : Buffer.from(`k${key}@${written.length + i}`), timestamp: clock.now,
            })), { compression: step.codec })
            const result = await log.append(topic, partition, batch)
            expect(result.errorCode).toBe(0)
            step.records.forEach(([key, tombstone], i) => written.push({ offset: result.baseOffset + i, key: `k${key}`, value: tombstone ? null : `k${key}@${written.length}` }))
          } else if (step.kind === 'flush') {
            await log.markFlushed(partition, partition.highWatermark)
          } else if (step.kind === 'tick') {
            clock.now += step.ms
          } else {
            // A new cleaner each time (as after a restart) shares the checkpoints through the store.
            const cleaner = new LogCleaner({ store: log.store, topics: () => log.topics(), logger: silentLogger, now: () => clock.now, chunkBytes: step.chunkBytes, dedupeBufferBytes: step.mapBytes })
            await cleaner.load()
            await cleaner.runOnce()
            cleanings += cleaner.stats.cleanings
            removed += cleaner.stats.recordsRemoved
            tombstones += cleaner.stats.tombstonesRemoved
          }
          const problem = compactionProblem(written, partitionRecords(partition))
          expect(problem).toBeNull()
        }
      },
    ), { numRuns: 80, seed: 20261206 })
    // The runs did clean (the property is not vacuous).
    expect(cleanings).toBeGreaterThan(40)
    expect(removed).toBeGreaterThan(150)
    expect(tombstones).toBeGreaterThan(0)
  })

  it('refuses a record without a key on a compacted topic, as Kafka does', async () => {
    const { log } = await makeLog()
    const topic = await compactedTopic(log, 'keys')
    const batch = encodeBatch([{ key: Buffer.from('a'), value: Buffer.from('1') }, { key: null, value: Buffer.from('2') }])
    const result = await log.append(topic, topic.partitions[0]!, batch)
    expect(result.errorCode).toBe(ErrorCode.INVALID_RECORD)
    expect(result.recordErrors).toEqual([{ batchIndex: 1, message: 'Compacted topic cannot accept message without key in topic partition keys-0.' }])
    expect(topic.partitions[0]!.highWatermark).toBe(0)
    // A delete-policy topic takes it.
    const plain = await log.createTopic('plain', 1, {})
    expect((await log.append(plain as Topic, (plain as Topic).partitions[0]!, batch)).errorCode).toBe(ErrorCode.NONE)
  })

  it('refuses min.compaction.lag.ms above max.compaction.lag.ms and a dirty ratio outside 0..1', async () => {
    const { log } = await makeLog()
    expect(await log.createTopic('lags', 1, { 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' })).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG })
    expect(await log.createTopic('ratio', 1, { 'min.cleanable.dirty.ratio': '1.5' })).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, message: expect.stringContaining('min.cleanable.dirty.ratio') })
  })

  it('drops a compacted partition\'s batches under its deletion floor (compact,delete retention, DeleteRecords) and moves the hot log start', async () => {
    const clock = { now: 100_000 }
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'both', { 'cleanup.policy': 'compact,delete', 'retention.ms': '50000' })
    const partition = topic.partitions[0]!
    await produceKeyed(log, topic, partition, 30, { timestamp: 10_000 })
    const young = await produceKeyed(log, topic, partition, 30, { timestamp: 90_000, seed: 11 })
    await log.markFlushed(partition, partition.highWatermark)
    // Topic retention moves the floor the Kafka view starts at; the cleaner frees what is under it.
    expect(await log.enforceTopicRetention(clock.now)).toBe(1)
    expect(partition.deletedBefore).toBe(young[0]!.offset)
    const cleaner = cleanerOf(log, clock)
    await cleaner.runOnce()
    expect(partition.logStartOffset).toBe(young[0]!.offset)
    expect(await log.logStartOffset(topic, partition)).toBe(young[0]!.offset)
    expect(cleaner.stats.batchesExpired).toBe(30)
    const served = partitionRecords(partition)
    expect(served.every((r) => r.offset >= young[0]!.offset)).toBe(true)
    expect(compactionProblem(young, served)).toBeNull()

    // DeleteRecords on a compact-only topic: the same.
    const only = await compactedTopic(log, 'only', { 'retention.ms': '1' })
    const onlyPartition = only.partitions[0]!
    const written = await produceKeyed(log, only, onlyPartition, 20, { timestamp: 10_000 })
    await log.markFlushed(onlyPartition, onlyPartition.highWatermark)
    // retention.ms does not apply to a compact-only topic.
    await log.enforceTopicRetention(clock.now)
    expect(onlyPartition.deletedBefore).toBe(0)
    expect((await log.deleteRecords(only, onlyPartition, 30)).errorCode).toBe(ErrorCode.NONE)
    await cleaner.runOnce()
    expect(onlyPartition.logStartOffset).toBeGreaterThan(0)
    expect(onlyPartition.logStartOffset).toBeLessThanOrEqual(30)
    expect(partitionRecords(onlyPartition).every((r) => r.offset >= onlyPartition.logStartOffset)).toBe(true)
    expect(compactionProblem(written.filter((r) => r.offset >= 30), partitionRecords(onlyPartition).filter((r) => r.offset >= 30))).toBeNull()
  })

  it('moves compacted batches out of segments hot retention wants, so they can be deleted, and serves the same records after', async () => {
    const clock = { now: 100_000 }
    const store = new MemoryHotStore({ segmentBytes: 2048, now: () => clock.now })
    const { log } = await makeLog({ store, fetchCacheBytes: 0 })
    // A huge dirty ratio: only the move cleans it.
    const topic = await compactedTopic(log, 'pinned', { 'min.cleanable.dirty.ratio': '1', 'segment.bytes': '100000000' })
    const other = await log.createTopic('other', 1, {}) as Topic
    const partition = topic.partitions[0]!
    const written: KeyedRecord[] = []
    for (let round = 0; round < 6; round++) {
      written.push(...await produceKeyed(log, topic, partition, 10, { seed: round + 1, timestamp: 100_000 }))
      await log.append(other, other.partitions[0]!, encodeBatch([{ key: null, value: Buffer.alloc(500) }]))
    }
    await flushAll(log, topic)
    await flushAll(log, other)
    const retention = new HotRetention({ store, logger: silentLogger, topics: () => log.topics(), retentionMs: 0, retentionBytes: -1, now: () => clock.now })
    const before = partitionRecords(partition)
    expect(before).toEqual(written)
    // Pinned by the compacted partition: nothing goes.
    expect((await retention.enforce()).segmentsDeleted).toBe(0)
    const wanted = retention.wantedBefore()
    expect(wanted).toBeGreaterThan(0)
    const cleaner = cleanerOf(log, clock, { relocateBefore: () => retention.wantedBefore(), chunkBytes: 300 })
    const [moved] = await cleaner.runOnce()
    expect(moved!.reason).toBe('relocate')
    expect(cleaner.stats.batchesMoved).toBeGreaterThan(0)
    expect(partition.firstLiveSegment()).toBeGreaterThanOrEqual(wanted)
    const pass = await retention.enforce()
    expect(pass.segmentsDeleted).toBeGreaterThan(0)
    // Same records, same offsets, still served from the hot log, log start unmoved.
    expect(partitionRecords(partition)).toEqual(before)
    expect(partition.logStartOffset).toBe(0)
  })

  it('keeps a cleaning across a restart of the disk store', async () => {
    const clock = { now: 100_000 }
    const dir = await freshDir()
    const first = await makeLog({ store: new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 4096 }), fetchCacheBytes: 0 })
    const topic = await compactedTopic(first.log, 'durable', { 'delete.retention.ms': '1000' })
    const written = await produceKeyed(first.log, topic, topic.partitions[0]!, 120, { tombstoneEvery: 5 })
    await flushAll(first.log, topic)
    const cleaner = cleanerOf(first.log, clock, { chunkBytes: 512 })
    await cleaner.load()
    await cleaner.runOnce()
    const served = partitionRecords(topic.partitions[0]!)
    expect(compactionProblem(written, served)).toBeNull()
    expect(served.length).toBeLessThan(written.length)
    await first.store.close()
    const second = await makeLog({ store: new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 4096 }), fetchCacheBytes: 0 })
    const reopened = second.log.topicByName('durable')!
    expect(partitionRecords(reopened.partitions[0]!)).toEqual(served)
    // The checkpoint came back too: tombstones reached before the restart expire on their own clock.
    const again = cleanerOf(second.log, clock)
    await again.load()
    expect(await again.runOnce()).toEqual([])
    clock.now += 1000
    const [expired] = await again.runOnce()
    expect(expired!.reason).toBe('tombstones')
    expect(compactionProblem(written, partitionRecords(reopened.partitions[0]!))).toBeNull()
    // A deleted topic's checkpoint goes at the next start.
    await second.log.deleteTopic(reopened)
    expect(await second.store.scanState('cleaner/')).toHaveLength(1)
    await new LogCleaner({ store: second.store, topics: () => second.log.topics(), logger: silentLogger }).load()
    expect(await second.store.scanState('cleaner/')).toEqual([])
    await second.store.close()
  })

  it('leaves the old or the new records, never a lost latest value or a duplicate, when killed with SIGKILL mid-cleaning', async () => {
    const dir = await freshDir()
    for (let cycle = 0; cycle < 4; cycle++) {
      const child = spawn(process.execPath, [path.join(import.meta.dirname, 'cleaner-crash.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] })
      let cleanings = 0
      await new Promise<void>((resolve, reject) => {
        let buffered = ''
        let timer: NodeJS.Timeout | undefined
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString()
          const lines = buffered.split('\n')
          buffered = lines.pop()!
          for (const line of lines) if (line.startsWith('cleaning')) cleanings++
          // Killed at a random moment once it cleans, so the kill lands anywhere in a cleaning.
          if (cleanings > 0) timer ??= setTimeout(() => child.kill('SIGKILL'), Math.random() * 400)
        })
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`cleaner child exited with ${code}`))))
      })
      const { log, store } = await makeLog({ store: new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 8192 }), fetchCacheBytes: 0 })
      const topic = log.topicByName('crash')!
      const partition = topic.partitions[0]!
      // Every record the child wrote depends on its offset alone, so the stream is known up to the high watermark.
      const written = Array.from({ length: partition.highWatermark }, (_, offset) => recordAt(offset))
      const served = partitionRecords(partition)
      expect(compactionProblem(written, served)).toBeNull()
      if (cycle === 3) expect(served.length).toBeLessThan(written.length)
      await store.close()
    }
  }, 60_000)
})
