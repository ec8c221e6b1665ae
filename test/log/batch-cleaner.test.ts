import { afterAll, describe, expect, it } from 'vitest'
import { InlineBatchCleaner, WorkerBatchCleaner, tombstoneExpiry } from '../../src/log/batch-cleaner.ts'
import { LogCleaner } from '../../src/log/log-cleaner.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Compression } from '../../src/protocol/compression.ts'
import { patchBaseOffset } from '../../src/protocol/record-batch.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { makeLog } from '../support/log.ts'
import { compactedTopic, compactionProblem, partitionRecords, produceKeyed } from './compacted.ts'

// One worker thread for the file, as broker.ts runs one for the broker.
const worker = new WorkerBatchCleaner()
afterAll(async () => {
  await worker.close()
})

function batchAt(baseOffset: number, records: Array<[string, string | null]>, compression = 0): Buffer {
  const batch = encodeBatch(records.map(([key, value]) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: 1_000 })), { compression })
  patchBaseOffset(batch, baseOffset)
  return batch
}

describe('batch cleaners', () => {
  it('clean the same way on a worker thread as inline', async () => {
    const batches = [
      batchAt(0, [['a', '1'], ['b', '1'], ['c', null]], Compression.zstd),
      batchAt(3, [['a', '2'], ['d', null]], Compression.gzip),
      batchAt(5, [['e', '1']]),
    ]
    const clock = { nowMs: 10_000, deleteRetentionMs: 1_000, horizons: [[4, 9_500]] as Array<[number, number]> }
    expect(tombstoneExpiry(clock, 2)).toBe(10_500)
    expect(tombstoneExpiry(clock, 4)).toBe(11_000)
    const inline = new InlineBatchCleaner()
    const results = []
    for (const cleaner of [inline, worker]) {
      await cleaner.reset()
      expect(await cleaner.map(batches.slice(0, 2))).toMatchObject({ keys: 4 })
      expect(await cleaner.map(batches.slice(2))).toMatchObject({ keys: 5 })
      results.push(await cleaner.clean(batches, clock))
    }
    const [fromInline, fromWorker] = results
    expect(fromWorker!.map((r) => [r.bytes?.toString('hex') ?? null, r.recordsRemoved, r.tombstonesRemoved, r.nextTombstoneExpiry]))
      .toEqual(fromInline!.map((r) => [r.bytes?.toString('hex') ?? null, r.recordsRemoved, r.tombstonesRemoved, r.nextTombstoneExpiry]))
    // A batch kept whole comes back as the caller's own buffer.
    expect(fromWorker![2]!.bytes).toBe(batches[2])
    expect(fromWorker![0]!.recordsRemoved).toBe(1)
  })

  it('run a whole cleaning on the worker', async () => {
    const { log } = await makeLog({ fetchCacheBytes: 0 })
    const topic = await compactedTopic(log, 'on-a-worker')
    const partition = topic.partitions[0]!
    const written = await produceKeyed(log, topic, partition, 150, { tombstoneEvery: 5 })
    await log.markFlushed(partition, partition.highWatermark)
    const cleaner = new LogCleaner({ store: log.store, topics: () => log.topics(), logger: silentLogger, now: () => 10_000, chunkBytes: 1024, engine: worker })
    const [result] = await cleaner.runOnce()
    expect(result!.recordsRemoved).toBeGreaterThan(200)
    expect(compactionProblem(written, partitionRecords(partition))).toBeNull()
  })
})
