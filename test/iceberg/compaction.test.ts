import { afterEach, describe, expect, test } from 'vitest'
import type { TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { hasCode } from '../../src/errors.ts'
import { Compactor, planRewrites } from '../../src/iceberg/compaction.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { committedOffsets, currentSnapshot } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import type { Topic } from '../../src/log/topic.ts'
import { dataFiles, readTable } from './table-reader.ts'
import { TestLog, base } from './test-log.ts'

const id: TableIdentifier = { namespace: 'zombi', name: 'events' }
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined)
})

async function setup(options: { workers?: number } = {}): Promise<{ log: TestLog; catalog: FilesystemCatalog; flusher: Flusher; compactor: Compactor; topic: Topic; metrics: FlushMetrics }> {
  const log = await TestLog.open()
  const catalog = new FilesystemCatalog(new MemoryObjectStore())
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  const metrics = new FlushMetrics()
  const compactor = new Compactor({
    catalog, namespace: 'zombi', pool: new EncodePool(options.workers ?? 0), logger: silentLogger,
    compactedFileBytes: 64 << 20, maxReadBytes: 64 << 20, flushesIdle: () => flusher.whenIdle(), metrics,
  })
  closers.push(() => compactor.close(), () => flusher.close())
  await flusher.start()
  const topic = await log.addTopic('events', 2)
  return { log, catalog, flusher, compactor, topic, metrics }
}

/** Appends records with keys, null keys, null values, empty values and headers (some null), then flushes. */
async function produceAndFlush(log: TestLog, flusher: Flusher, topic: Topic, round: number, interleave = false): Promise<void> {
  for (const partitionId of [0, 1]) {
    const partition = topic.partitions[partitionId]!
    const records = Array.from({ length: 5 }, (_, i) => ({
      key: i === 3 ? null : Buffer.from(`k${round}-${i}`),
      value: i === 2 ? null : i === 4 ? Buffer.alloc(0) : Buffer.from(`v${round}-${i}-${partitionId}`),
      // Timestamps out of order within the batch: the compacted file still sorts by partition, then sequence.
      // With interleave, every round's timestamps fall between those of the others.
      timestamp: interleave ? base + 1000 + i * 100 + round * 10 : base + 1000 + round * 1000 + (i === 1 ? -500 : i * 10),
      headers: i % 2 === 0 ? [{ key: 'h', value: Buffer.from(`x${i}`) }, { key: 'n', value: null }] : [],
    }))
    const result = await log.append(topic, partition, encodeBatch(records))
    expect(result.errorCode).toBe(0)
  }
  await flusher.flush('events')
}

async function liveFiles(catalog: FilesystemCatalog): Promise<string[]> {
  const loaded = await catalog.loadTable(id)
  return (await dataFiles(catalog, loaded!.metadata)).filter((entry) => entry.status !== 2).map((entry) => entry.data_file.file_path)
}

describe('Compactor', () => {
  test('many small files of a table partition (each holding both Kafka partitions) become one, sorted, and no row changes', async () => {
    const { log, catalog, flusher, compactor, topic, metrics } = await setup()
    for (let round = 0; round < 6; round++) await produceAndFlush(log, flusher, topic, round)
    const before = await readTable(catalog, id)
    expect(before).toHaveLength(60)
    expect(await liveFiles(catalog)).toHaveLength(6)

    const result = await compactor.compact('events')
    expect(result).toMatchObject({ table: 'events', filesIn: 6, filesOut: 1, rows: 60, commitAttempts: 1 })
    expect(result.snapshotId).not.toBeNull()
    expect(metrics).toMatchObject({ compactions: 1, compactedFilesIn: 6, compactedFilesOut: 1, compactedBytesIn: result.bytesIn, compactedBytesOut: result.bytesOut, compactionFailures: 0 })
    expect(await readTable(catalog, id)).toEqual(before)
    expect(await liveFiles(catalog)).toHaveLength(1)

    const loaded = (await catalog.loadTable(id))!
    const snapshot = currentSnapshot(loaded.metadata)!
    expect(snapshot['snapshot-id']).toBe(result.snapshotId)
    expect(snapshot.summary).toMatchObject({
      operation: 'replace', 'added-data-files': '1', 'deleted-data-files': '6', 'added-records': '60', 'deleted-records': '60',
      'total-data-files': '1', 'total-records': '60', 'total-files-size': String(result.bytesOut), 'zombi.topic-id': topic.id,
    })
    expect(Object.keys(snapshot.summary).some((key) => key.startsWith('zombi.offsets.'))).toBe(false)
    expect(snapshot['sequence-number']).toBe(7n)
    const entries = await dataFiles(catalog, loaded.metadata)
    expect(entries.filter((entry) => entry.status === 1).map((entry) => [entry.snapshot_id, entry.sequence_number])).toEqual([[result.snapshotId, null]])
    const deleted = entries.filter((entry) => entry.status === 2)
    expect(deleted).toHaveLength(6)
    // Deleted by this snapshot, with the data sequence numbers of the appends that added them.
    expect(new Set(deleted.map((entry) => entry.snapshot_id))).toEqual(new Set([result.snapshotId]))
    expect(deleted.map((entry) => entry.sequence_number).sort()).toEqual([1n, 2n, 3n, 4n, 5n, 6n])

    // The new file has metrics of every row (its order is checked below).
    for (const entry of entries.filter((candidate) => candidate.status === 1)) {
      const bytes = await catalog.store.get(catalog.store.keyOf(entry.data_file.file_path)!)
      expect(bytes!.length).toBe(Number(entry.data_file.file_size_in_bytes))
      expect(entry.data_file.record_count).toBe(60n)
      expect(entry.data_file.value_counts?.find((count) => count.key === 1)?.value).toBe(60n)
      expect(entry.data_file.null_value_counts?.find((count) => count.key === 9)?.value).toBe(12n)
    }
    const rows = await readTable(catalog, id)
    for (const partition of [0, 1]) {
      const stamps = rows.filter((row) => row.partition === partition)
      expect(stamps.map((row) => row.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i))
    }

    // Nothing left to do: a second run commits nothing.
    expect(await compactor.compact('events')).toMatchObject({ filesIn: 0, filesOut: 0, snapshotId: null })
  })

  test('the rewritten file stores rows in the declared order, Kafka partition then sequence', async () => {
    const { log, catalog, flusher, compactor, topic } = await setup({ workers: 1 })
    for (let round = 0; round < 3; round++) await produceAndFlush(log, flusher, topic, round, true)
    expect(await compactor.compact('events')).toMatchObject({ filesIn: 3, filesOut: 1 })
    const loaded = (await catalog.loadTable(id))!
    const added = (await dataFiles(catalog, loaded.metadata)).filter((entry) => entry.status === 1)
    const { tableFromIPC } = await import('apache-arrow')
    const parquet = await import('parquet-wasm/node')
    for (const entry of added) {
      const table = tableFromIPC(parquet.readParquet((await catalog.store.get(catalog.store.keyOf(entry.data_file.file_path)!))!).intoIPCStream())
      const order = Array.from({ length: table.numRows }, (_, row) => [table.getChild('partition')!.get(row) as number, Number(table.getChild('sequence')!.get(row) as bigint)])
      // Each input file holds partition 0 then 1 of one flush; merged, partition 0's 15 rows of all
      // three flushes come first, by sequence (the inputs concatenated would restart at partition 0 after 10 rows).
      expect(order).toEqual([0, 1].flatMap((partition) => Array.from({ length: 15 }, (_, sequence) => [partition, sequence])))
    }
  })

  test('a background pass ends its rewrite worker once done, instead of keeping its memory until the idle time', async () => {
    const { log, catalog, flusher, topic } = await setup()
    for (let round = 0; round < 3; round++) await produceAndFlush(log, flusher, topic, round)
    const pool = new EncodePool(1)
    const background = new Compactor({
      catalog, namespace: 'zombi', pool, logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: 64 << 20, flushesIdle: () => flusher.whenIdle(),
    })
    closers.unshift(() => background.close())
    background.start(20, async () => ['events'])
    await expect.poll(async () => (await liveFiles(catalog)).length, { timeout: 20_000 }).toBe(1)
    await expect.poll(() => pool.retiredIdle, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    expect(pool.workers).toBe(0)
    expect(pool.memory()).toEqual({ heapBytes: 0, externalBytes: 0, wasmBytes: 0 })
  })

  test('on the flusher\'s pool, rewrites run on its warm worker, which a pass leaves running and close() leaves to the flusher', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const pool = new EncodePool(1)
    const flusher = new Flusher({
      source: log, catalog, namespace: 'zombi', pool, metrics: new FlushMetrics(), logger: silentLogger,
      targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
    })
    const shared = new Compactor({
      catalog, namespace: 'zombi', pool, ownsPool: false, logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: 64 << 20, flushesIdle: () => flusher.whenIdle(),
    })
    closers.push(() => shared.close(), () => flusher.close())
    await flusher.start()
    const topic = await log.addTopic('events', 2)
    for (let round = 0; round < 3; round++) await produceAndFlush(log, flusher, topic, round)
    const before = await readTable(catalog, id)
    shared.start(20, async () => ['events'])
    await expect.poll(async () => (await liveFiles(catalog)).length, { timeout: 20_000 }).toBe(1)
    expect(await readTable(catalog, id)).toEqual(before)
    await shared.close()
    // The pass and close() left the flusher's worker alone: the next flush runs on it, no second worker started.
    expect(pool.retiredIdle).toBe(0)
    expect(pool.workers).toBe(1)
    await produceAndFlush(log, flusher, topic, 3)
    expect(await readTable(catalog, id)).toHaveLength(before.length + 10)
    expect(pool.workers).toBe(1)
  })

  test('a flush committed between compaction\'s load and its commit keeps every row exactly once; the replace retries', async () => {
    const { log, catalog, flusher, compactor, topic } = await setup()
    for (let round = 0; round < 4; round++) await produceAndFlush(log, flusher, topic, round)
    compactor.beforeCommit = async (attempt) => {
      if (attempt === 1) await produceAndFlush(log, flusher, topic, 10)
    }
    const result = await compactor.compact('events')
    expect(result).toMatchObject({ filesIn: 4, filesOut: 1, commitAttempts: 2 })
    const rows = await readTable(catalog, id)
    expect(rows).toHaveLength(50)
    const keys = rows.map((row) => `${row.partition}/${row.sequence}`)
    expect(new Set(keys).size).toBe(50)
    // The appended round's file is live next to the compacted one.
    expect(await liveFiles(catalog)).toHaveLength(2)
    const snapshot = currentSnapshot((await catalog.loadTable(id))!.metadata)!
    expect(snapshot.summary).toMatchObject({ operation: 'replace', 'total-records': '50', 'total-data-files': '2' })

    // Exactly once after compaction: the committed ranges still say where each partition is.
    const loaded = (await catalog.loadTable(id))!
    expect(committedOffsets(loaded.metadata, topic.id)).toEqual(new Map([[0, 25], [1, 25]]))
    compactor.beforeCommit = null
    await produceAndFlush(log, flusher, topic, 11)
    expect((await flusher.flush('events')).snapshots).toBe(0)
    const after = await readTable(catalog, id)
    expect(after).toHaveLength(60)
    expect(new Set(after.map((row) => `${row.partition}/${row.sequence}`)).size).toBe(60)
    expect(after.map((row) => row.sequence).filter((_, i) => after[i]!.partition === 0)).toEqual(Array.from({ length: 30 }, (_, i) => i))
  })

  test('files another writer removed meanwhile are not resurrected: the compaction commits nothing and drops its files', async () => {
    const { log, catalog, flusher, compactor, topic, metrics } = await setup()
    for (let round = 0; round < 3; round++) await produceAndFlush(log, flusher, topic, round)
    const other = new Compactor({ catalog, namespace: 'zombi', pool: new EncodePool(0), logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: 64 << 20 })
    closers.push(() => other.close())
    compactor.beforeCommit = async (attempt) => {
      if (attempt === 1) await other.compact('events')
    }
    const filesBefore = (await catalog.store.list('zombi/events/data/')).length
    const error = await compactor.compact('events').catch((caught: unknown) => caught)
    expect(hasCode(error, 'ICEBERG_REWRITE_CONFLICT')).toBe(true)
    expect(metrics).toMatchObject({ compactions: 0, compactionFailures: 1 })
    expect(await readTable(catalog, id)).toHaveLength(30)
    expect(await liveFiles(catalog)).toHaveLength(1)
    // The other compaction's file was added; this one's was removed again.
    expect((await catalog.store.list('zombi/events/data/')).length).toBe(filesBefore + 1)
  })

  test('files at or above the small-file share of the target, and lone small files, are left alone', async () => {
    const { log, catalog, flusher, topic } = await setup()
    for (let round = 0; round < 3; round++) await produceAndFlush(log, flusher, topic, round)
    const sizes = (await dataFiles(catalog, (await catalog.loadTable(id))!.metadata)).map((entry) => Number(entry.data_file.file_size_in_bytes))
    // A target so small every file counts as big: nothing to do.
    const tight = new Compactor({ catalog, namespace: 'zombi', pool: new EncodePool(0), logger: silentLogger, compactedFileBytes: Math.min(...sizes), maxReadBytes: 64 << 20 })
    closers.push(() => tight.close())
    expect(await tight.compact('events')).toMatchObject({ filesIn: 0, snapshotId: null })
    // A read cap of two files per rewrite: three files of the table partition make a pair and a lone file.
    const capped = new Compactor({ catalog, namespace: 'zombi', pool: new EncodePool(0), logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: Math.ceil(Math.max(...sizes) * 2.2) })
    closers.push(() => capped.close())
    expect(await capped.compact('events')).toMatchObject({ filesIn: 2, filesOut: 1 })
    expect(await liveFiles(catalog)).toHaveLength(2)
  })

  test('the read budget counts what files hold decoded, not their compressed size', async () => {
    const { log, catalog, flusher, topic } = await setup()
    // Values of one repeated byte: each file is a few KB, its rows ~200 KB decoded.
    for (let round = 0; round < 3; round++) {
      const records = Array.from({ length: 200 }, () => ({ key: null, value: Buffer.alloc(1000, round), timestamp: base + round }))
      expect((await log.append(topic, topic.partitions[0]!, encodeBatch(records))).errorCode).toBe(0)
      await flusher.flush('events')
    }
    const sizes = (await dataFiles(catalog, (await catalog.loadTable(id))!.metadata)).map((entry) => Number(entry.data_file.file_size_in_bytes))
    expect(Math.max(...sizes)).toBeLessThan(50_000)
    // Room for every file by size, for two of them decoded: a pair is rewritten, the third file stays.
    const budget = new Compactor({ catalog, namespace: 'zombi', pool: new EncodePool(0), logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: 450_000 })
    closers.push(() => budget.close())
    expect(await budget.compact('events')).toMatchObject({ filesIn: 2, filesOut: 1, rows: 400 })
    expect(await liveFiles(catalog)).toHaveLength(2)
  })
})

test('planRewrites packs a table partition\'s small files in time order, closing a rewrite at the size target or the read budget', () => {
  const file = (hour: number, size: number, readBytes: number, timestamp: number) => ({
    file: { file_size_in_bytes: BigInt(size), partition: { event_date: 1, event_hour: hour } } as Parameters<typeof planRewrites>[0][number]['file'],
    lowestTimestamp: BigInt(timestamp), lowestOffset: 0n, readBytes,
  })
  const files = [file(0, 10, 100, 3), file(0, 10, 100, 1), file(0, 10, 100, 2), file(0, 10, 100, 4), file(1, 10, 100, 5), file(0, 90, 90, 6)]
  const inputs = (rewrites: ReturnType<typeof planRewrites>): number[][] => rewrites.map((rewrite) => rewrite.inputs.map((input) => Number(input.lowestTimestamp)))
  // Target 100: the 90-byte file is not small (>= 75); hour 1 has a lone file.
  expect(inputs(planRewrites(files, 100))).toEqual([[1, 2, 3, 4]])
  expect(inputs(planRewrites(files, 100, 250))).toEqual([[1, 2], [3, 4]])
  expect(inputs(planRewrites(files, 25))).toEqual([[1, 2], [3, 4]])
  expect(planRewrites(files, 100, 150)).toEqual([])
})
