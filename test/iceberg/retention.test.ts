// Topic retention in the table: files past retention.ms / beyond retention.bytes leave the current
// snapshot through one `delete` snapshot, a racing append is never dropped, -1 keeps everything,
// readers see only the kept rows, and exactly-once is unaffected (the removed rows are never re-committed).
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import type { TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { expireSnapshots } from '../../src/iceberg/expiry.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { committedOffsets, currentSnapshot } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { enforceRetention, filesPastRetention } from '../../src/iceberg/retention.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { TestLog, base } from './test-log.ts'
import { readRows } from './readers.ts'
import { dataFiles, readTable } from './table-reader.ts'
import { RacingCatalog } from './racing-catalog.ts'

const HOUR = 3_600_000
const id: TableIdentifier = { namespace: 'zombi', name: 'events' }
const roots: string[] = []
const flushers: Flusher[] = []
afterEach(async () => {
  for (const flusher of flushers.splice(0)) await flusher.close().catch(() => undefined)
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true })
})

/** Three flushes, one file each, whose newest records are at base+1ms, base+2h and base+4h. */
async function setup(): Promise<{ root: string; catalog: RacingCatalog; log: TestLog; flusher: Flusher; topic: Awaited<ReturnType<TestLog['addTopic']>> }> {
  const root = await mkdtemp(join(tmpdir(), 'zombi-retention-'))
  roots.push(root)
  const catalog = new RacingCatalog(new LocalObjectStore(root, { fsync: false }))
  const log = await TestLog.open()
  const topic = await log.addTopic('events', 2)
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  flushers.push(flusher)
  await flusher.start()
  await log.add(topic, 0, ['a', 'b'], base)
  await log.add(topic, 1, ['c'], base)
  await flusher.flush('events')
  await log.add(topic, 0, ['d'], base + 2 * HOUR)
  await flusher.flush('events')
  await log.add(topic, 0, ['e'], base + 4 * HOUR)
  await log.add(topic, 1, ['f'], base + 4 * HOUR)
  await flusher.flush('events')
  return { root, catalog, log, flusher, topic }
}

async function live(catalog: FilesystemCatalog): Promise<Array<{ path: string; size: number }>> {
  const entries = await dataFiles(catalog, (await catalog.loadTable(id))!.metadata)
  return entries.filter((entry) => entry.status !== 2).map((entry) => ({ path: entry.data_file.file_path, size: Number(entry.data_file.file_size_in_bytes) }))
}

const payloads = async (catalog: FilesystemCatalog): Promise<string[]> => (await readTable(catalog, id)).map((row) => `${row.partition}/${row.sequence}=${row.payload}`)

test('files whose newest record is past retention.ms leave the table by one delete snapshot; the others stay', async () => {
  const { catalog, topic } = await setup()
  const before = await live(catalog)
  expect(before).toHaveLength(3)
  const result = await enforceRetention(catalog, id, { retentionMs: 3 * HOUR, retentionBytes: -1 }, base + 4 * HOUR + 1000)
  expect(result).toMatchObject({ filesDeleted: 1, rowsDeleted: 3n, bytesDeleted: BigInt(before[2]!.size), commitAttempts: 1 })
  expect(await payloads(catalog)).toEqual(['0/2=d', '0/3=e', '1/1=f'])

  const metadata = (await catalog.loadTable(id))!.metadata
  const snapshot = currentSnapshot(metadata)!
  expect(snapshot['snapshot-id']).toBe(result.snapshotId)
  expect(snapshot.summary).toMatchObject({
    operation: 'delete', 'deleted-data-files': '1', 'deleted-records': '3', 'removed-files-size': String(before[2]!.size),
    'total-data-files': '2', 'total-records': '3', 'total-files-size': String(before[0]!.size + before[1]!.size), 'zombi.topic-id': topic.id,
  })
  expect(Object.keys(snapshot.summary).some((key) => key.startsWith('zombi.offsets.'))).toBe(false)
  const entries = await dataFiles(catalog, metadata)
  const deleted = entries.filter((entry) => entry.status === 2)
  expect(deleted.map((entry) => [entry.data_file.file_path, entry.snapshot_id, entry.sequence_number])).toEqual([[before[2]!.path, result.snapshotId, 1n]])
  // Nothing more is past retention: a second pass commits nothing.
  expect((await enforceRetention(catalog, id, { retentionMs: 3 * HOUR, retentionBytes: -1 }, base + 4 * HOUR + 1000)).snapshotId).toBeNull()
})

test('an append that commits while retention commits is kept: retention reloads, chooses again and retries', async () => {
  const { catalog, log, flusher, topic } = await setup()
  await log.add(topic, 1, ['g'], base + 5 * HOUR)
  catalog.beforeCommit = async () => {
    await flusher.flush('events')
  }
  const result = await enforceRetention(catalog, id, { retentionMs: 3 * HOUR, retentionBytes: -1 }, base + 4 * HOUR + 1000)
  expect(result).toMatchObject({ filesDeleted: 1, commitAttempts: 2 })
  expect(await payloads(catalog)).toEqual(['0/2=d', '0/3=e', '1/1=f', '1/2=g'])
  expect(committedOffsets((await catalog.loadTable(id))!.metadata, topic.id)).toEqual(new Map([[0, 4], [1, 3]]))
})

test('retention.bytes: the oldest files go while the rest still hold at least retention.bytes', async () => {
  const { catalog } = await setup()
  const files = await live(catalog)
  const [newest, middle, oldest] = files.map((file) => file.size)
  // Exactly what the two newer files hold: the oldest goes, the middle one would leave less.
  const result = await enforceRetention(catalog, id, { retentionMs: -1, retentionBytes: newest! + middle! }, base)
  expect(result).toMatchObject({ filesDeleted: 1, bytesDeleted: BigInt(oldest!) })
  expect(await payloads(catalog)).toEqual(['0/2=d', '0/3=e', '1/1=f'])
  // One byte more than the newest file: the middle one stays.
  expect((await enforceRetention(catalog, id, { retentionMs: -1, retentionBytes: newest! + 1 }, base)).snapshotId).toBeNull()
  // 0: everything goes (Kafka's retention.bytes=0).
  expect(await enforceRetention(catalog, id, { retentionMs: -1, retentionBytes: 0 }, base)).toMatchObject({ filesDeleted: 2 })
  expect(await payloads(catalog)).toEqual([])
})

test('-1 keeps everything, however old', async () => {
  const { catalog } = await setup()
  const result = await enforceRetention(catalog, id, { retentionMs: -1, retentionBytes: -1 }, base + 1000 * 24 * HOUR)
  expect(result).toMatchObject({ snapshotId: null, filesDeleted: 0 })
  expect(await live(catalog)).toHaveLength(3)
  expect(filesPastRetention([{ path: 'x', sizeBytes: 10, newestTimestamp: 0, lowestOffset: 0 }], { retentionMs: -1, retentionBytes: -1 }, Date.now())).toEqual(new Set())
})

test('after retention and expiry the removed files are gone, readers see the kept rows, and a flush re-commits nothing removed', async () => {
  const { root, catalog, log, flusher, topic } = await setup()
  const oldest = (await live(catalog))[2]!.path
  const offsetsBefore = committedOffsets((await catalog.loadTable(id))!.metadata, topic.id)
  await enforceRetention(catalog, id, { retentionMs: 3 * HOUR, retentionBytes: -1 }, base + 4 * HOUR + 1000)
  const expired = await expireSnapshots(catalog, id, { retentionMs: 0, minKeep: 1 }, Date.now() + 60_000)
  expect(expired.snapshotsExpired).toBe(3)
  const parquet = (await readdir(root, { recursive: true })).map(String).filter((name) => name.endsWith('.parquet'))
  expect(parquet).toHaveLength(2)
  expect(parquet.some((name) => oldest.endsWith(name))).toBe(false)
  expect(committedOffsets((await catalog.loadTable(id))!.metadata, topic.id)).toEqual(offsetsBefore)

  await log.add(topic, 0, ['h'], base + 5 * HOUR)
  await flusher.flush('events')
  expect(await payloads(catalog)).toEqual(['0/2=d', '0/3=e', '0/4=h', '1/1=f'])
  // A second flush finds nothing new: the removed rows (offsets 0-1 and 0 of partition 1) never come back.
  expect((await flusher.flush('events')).snapshots).toBe(0)
  const dir = join(root, 'zombi', 'events')
  for (const reader of ['duckdb', 'pyiceberg'] as const) {
    expect((await readRows(dir, reader)).map((row) => `${row.partition}/${row.sequence}`).sort()).toEqual(['0/2', '0/3', '0/4', '1/1'])
  }
}, 60_000)
