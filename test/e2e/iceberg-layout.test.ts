// Files per table partition, not per Kafka partition: a flush of a 100-partition topic writes one
// data file per event hour holding every partition's rows, read back exactly once by DuckDB and
// pyiceberg; the files' partition and sequence bounds still let a reader skip files.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher, type FlushSummary } from '../../src/iceberg/flusher.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { base, TestLog } from '../iceberg/test-log.ts'
import { filesScanned, readInfo, readRows } from '../iceberg/readers.ts'

const PARTITIONS = 100
const HOUR = 3_600_000

describe('a flush writes files per event hour, each holding many Kafka partitions', () => {
  let root: string
  let log: TestLog

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zombi-layout-'))
    log = await TestLog.open()
  })
  afterAll(async () => {
    await rm(root, { recursive: true, force: true })
  })

  async function flush(topic: string, targetFileBytes: number): Promise<FlushSummary> {
    const flusher = new Flusher({
      source: log, catalog: new FilesystemCatalog(new LocalObjectStore(root, { fsync: false })), namespace: 'zombi', pool: new EncodePool(1),
      metrics: new FlushMetrics(), logger: silentLogger, targetFileBytes, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
    })
    await flusher.start()
    try {
      return await flusher.flush(topic)
    } finally {
      await flusher.close()
    }
  }

  test('100 partitions over two hours, flushed once: two files, one snapshot with a range per partition, every row once', async () => {
    const topic = await log.addTopic('layout', PARTITIONS)
    // Partition p: 3 records in the first hour, then 2 in the next; values name partition and offset.
    for (let p = 0; p < PARTITIONS; p++) {
      await log.add(topic, p, [0, 1, 2].map((i) => `p${p}-o${i}`), base + p * 1000)
      await log.add(topic, p, [3, 4].map((i) => `p${p}-o${i}`), base + HOUR + p * 1000)
    }
    const summary = await flush('layout', 1 << 20)
    expect(summary).toMatchObject({ rows: 5 * PARTITIONS, files: 2, snapshots: 1 })
    const dir = join(root, 'zombi', 'layout')
    const info = await readInfo(dir)
    expect(info.files.map((file) => [file.partition.event_hour, file.record_count]).sort()).toEqual([[12, 3 * PARTITIONS], [13, 2 * PARTITIONS]])
    expect(info.snapshots).toHaveLength(1)
    for (let p = 0; p < PARTITIONS; p++) expect(info.snapshots[0]!.summary[`zombi.offsets.${p}`]).toBe('0-4')
    expect(info.sort_order).toEqual([{ source_id: 3, direction: 'ASC' }, { source_id: 1, direction: 'ASC' }])
    const expected = Array.from({ length: PARTITIONS * 5 }, (_, i) => [Math.floor(i / 5), i % 5, `p${Math.floor(i / 5)}-o${i % 5}`])
    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      const rows = await readRows(dir, reader)
      // readRows sorts by (partition, sequence): a row read twice or missed shows as a difference.
      expect(rows.map((row) => [row.partition, row.sequence, Buffer.from(row.payload, 'base64').toString()])).toEqual(expected)
    }
  })

  test('with several files, a filter on partition and sequence reads fewer files than the table has', async () => {
    const topic = await log.addTopic('pruned', PARTITIONS)
    const value = 'x'.repeat(200)
    for (let p = 0; p < PARTITIONS; p++) await log.add(topic, p, Array.from({ length: 10 }, () => value))
    // A target of ~64 KiB: ~25 partitions' chunks per job, so one hour's rows land in several files by partition range.
    const first = await flush('pruned', 64 * 1024)
    expect(first.files).toBeGreaterThan(2)
    for (let p = 0; p < PARTITIONS; p++) await log.add(topic, p, Array.from({ length: 10 }, () => value))
    const second = await flush('pruned', 1 << 20)
    expect(second.files).toBe(1)
    const dir = join(root, 'zombi', 'pruned')
    const byPartition = await filesScanned(dir, 'partition = 42')
    expect(byPartition.rows).toBe(20)
    expect(byPartition.data_files).toBe(first.files + second.files)
    expect(byPartition.files_read).toBe(2)
    const bySequence = await filesScanned(dir, 'partition = 42 AND sequence >= 10')
    expect(bySequence.rows).toBe(10)
    expect(bySequence.files_read).toBe(1)
    const rows = await readRows(dir, 'duckdb', { where: 'partition = 42 AND sequence >= 15' })
    expect(rows.map((row) => row.sequence)).toEqual([15, 16, 17, 18, 19])
  })
})
