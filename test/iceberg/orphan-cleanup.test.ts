import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { expireSnapshots } from '../../src/iceberg/expiry.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { parseTableMetadata, serializeTableMetadata } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { removeInterruptedWrites } from '../../src/iceberg/orphan-cleanup.ts'
import { enforceRetention } from '../../src/iceberg/retention.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { TestLog } from './test-log.ts'
import { readRows } from './readers.ts'
import { readTable } from './table-reader.ts'

const GRACE_MS = 5 * 60_000
const HOUR_AGO = new Date(Date.now() - 3_600_000)
const roots: string[] = []

afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true })
})

async function filesUnder(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort()
}

async function plant(root: string, key: string, body: string | Buffer, old: boolean): Promise<void> {
  await mkdir(dirname(join(root, key)), { recursive: true })
  await writeFile(join(root, key), body)
  if (old) await utimes(join(root, key), HOUR_AGO, HOUR_AGO)
}

/** A warehouse with table zombi.events made by the flusher in two commits (v1, v2), every file an hour old. */
async function warehouse(): Promise<{ root: string; catalog: FilesystemCatalog; committed: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'zombi-orphans-'))
  roots.push(root)
  const catalog = new FilesystemCatalog(new LocalObjectStore(root, { fsync: false }))
  const log = await TestLog.open()
  const topic = await log.addTopic('events', 2)
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  await flusher.start()
  await log.add(topic, 0, ['a', 'b'])
  await log.add(topic, 1, ['c'])
  await flusher.flush('events')
  await log.add(topic, 0, ['d'])
  await flusher.flush('events')
  await flusher.close()
  const committed = await filesUnder(root)
  for (const file of committed) await utimes(join(root, file), HOUR_AGO, HOUR_AGO)
  return { root, catalog, committed }
}

const dataKey = (table: string): string => `zombi/${table}/data/event_date=2024-06-01/event_hour=12/partition=0/${randomUUID()}.parquet`

test('old orphans and temp files are removed, young ones and every referenced file kept, and the table reads the same', async () => {
  const { root, catalog, committed } = await warehouse()
  const aParquetFile = await readFile(join(root, committed.find((file) => file.endsWith('.parquet'))!))
  const oldOrphans = [
    dataKey('events'),
    `zombi/events/metadata/${randomUUID()}-m0.avro`,
    `zombi/events/metadata/snap-123-1-${randomUUID()}.avro`,
    // A crash before the first commit of a table: no metadata file at all.
    dataKey('never-committed'),
  ]
  for (const key of oldOrphans) await plant(root, key, aParquetFile, true)
  const oldTemporaries = [`${dataKey('events')}.0123456789ab.zombi-tmp`, 'zombi/events/metadata/version-hint.text.ba9876543210.zombi-tmp']
  for (const key of oldTemporaries) await plant(root, key, 'partial', true)
  const young = [dataKey('events'), `zombi/events/metadata/${randomUUID()}-m0.avro`, `${dataKey('events')}.aaaaaaaaaaaa.zombi-tmp`]
  for (const key of young) await plant(root, key, 'being written', false)
  // Unreferenced but not a kind of file a flush writes: never touched.
  const foreign = ['zombi/events/metadata/v2.metadata.json.bak', 'zombi/events/notes.txt']
  for (const key of foreign) await plant(root, key, 'someone else', true)
  const before = await readTable(catalog, { namespace: 'zombi', name: 'events' })

  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })

  expect(report).toEqual({
    temporaries: { count: 2, bytes: 2 * 'partial'.length },
    orphans: { count: oldOrphans.length, bytes: oldOrphans.length * aParquetFile.length },
    skippedTables: [],
  })
  expect(await filesUnder(root)).toEqual([...committed, ...young, ...foreign].sort())
  expect(before.map((row) => [row.partition, row.sequence, row.payload])).toEqual([[0, 0, 'a'], [0, 1, 'b'], [0, 2, 'd'], [1, 0, 'c']])
  expect(await readTable(catalog, { namespace: 'zombi', name: 'events' })).toEqual(before)
  // And an independent reader (DuckDB's iceberg extension) still reads every row.
  const rows = await readRows(join(root, 'zombi/events'), 'duckdb')
  expect(rows.map((row) => [row.partition, row.sequence, Buffer.from(row.payload, 'base64').toString()])).toEqual([[0, 0, 'a'], [0, 1, 'b'], [0, 2, 'd'], [1, 0, 'c']])
}, 120_000)

test('what only expired snapshots reached is removed although older metadata versions still name it (a crash between expiry\'s commit and its deletes)', async () => {
  const { root, catalog, committed } = await warehouse()
  // v3 drops the first snapshot, as snapshot expiry's commit does, and the kill came before its deletes: v1 and v2 stay on disk.
  const v2 = parseTableMetadata(await readFile(join(root, 'zombi/events/metadata/v2.metadata.json'), 'utf8'))
  const [first, second] = v2.snapshots
  await plant(root, 'zombi/events/metadata/v3.metadata.json', serializeTableMetadata({ ...v2, snapshots: [second!], 'snapshot-log': [] }), true)
  const onlyExpired = catalog.store.keyOf(first!['manifest-list'])!
  expect(committed).toContain(onlyExpired)
  const size = (await stat(join(root, onlyExpired))).size

  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })

  expect(report).toEqual({ temporaries: { count: 0, bytes: 0 }, orphans: { count: 1, bytes: size }, skippedTables: [] })
  expect(await filesUnder(root)).toEqual([...committed.filter((file) => file !== onlyExpired), 'zombi/events/metadata/v3.metadata.json'].sort())
  expect(await readTable(catalog, { namespace: 'zombi', name: 'events' })).toHaveLength(4)
})

test('a kill after retention\'s delete and expiry\'s commit, before expiry\'s deletes: the removed data file and what only expired snapshots reached go', async () => {
  const { root, catalog, committed } = await warehouse()
  const id = { namespace: 'zombi', name: 'events' }
  // Retention keeps the newest file only; the delete snapshot's manifest still names the removed file (status DELETED).
  const removed = await enforceRetention(catalog, id, { retentionMs: -1, retentionBytes: 1 })
  expect(removed.filesDeleted).toBe(1)
  // Expiry's commit lands, then the process dies at its first delete.
  class DyingStore extends LocalObjectStore {
    override delete(): Promise<void> {
      return Promise.reject(new Error('killed'))
    }
  }
  await expect(expireSnapshots(new FilesystemCatalog(new DyingStore(root, { fsync: false })), id, { retentionMs: 0, minKeep: 1 }, Date.now() + 1000)).rejects.toThrow('killed')
  const rowsLeft = await readTable(catalog, id)
  const live = new Set((await readRows(join(root, 'zombi/events'), 'duckdb')).map((row) => `${row.partition}/${row.sequence}`))
  expect(live.size).toBe(rowsLeft.length)

  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: 0, logger: silentLogger, now: Date.now() + 1000 })

  const gone = committed.filter((file) => !existsSync(join(root, file)))
  // The removed data file, and the manifest lists and manifests only the expired snapshots reached.
  expect(gone.filter((file) => file.endsWith('.parquet'))).toHaveLength(1)
  expect(gone.filter((file) => file.endsWith('.avro')).length).toBeGreaterThan(0)
  expect(report).toMatchObject({ orphans: { count: gone.length }, skippedTables: [] })
  expect(await readTable(catalog, id)).toEqual(rowsLeft)
  // Nothing more is unreferenced.
  expect((await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: 0, logger: silentLogger, now: Date.now() + 1000 })).orphans.count).toBe(0)
})

test('a directory the catalog knows no table at keeps whatever any of its metadata files reaches', async () => {
  const { root, catalog, committed } = await warehouse()
  // As a REST catalog that lost the table (or holds it elsewhere) answers: the files on disk may still be someone's.
  const forgetful = new (class extends FilesystemCatalog {
    override loadTable(): Promise<null> {
      return Promise.resolve(null)
    }
  })(catalog.store)
  const orphan = dataKey('events')
  await plant(root, orphan, 'orphan', true)

  const report = await removeInterruptedWrites({ catalog: forgetful, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })

  expect(report.orphans).toEqual({ count: 1, bytes: 'orphan'.length })
  expect(await filesUnder(root)).toEqual(committed)
})

test('a table whose metadata cannot be read completely is left alone', async () => {
  const { root, catalog, committed } = await warehouse()
  const v1 = parseTableMetadata(await readFile(join(root, 'zombi/events/metadata/v1.metadata.json'), 'utf8'))
  // Its first manifest list is gone: which data files it referenced is unknown, so none may go.
  await rm(join(root, catalog.store.keyOf(v1.snapshots[0]!['manifest-list'])!))
  const orphan = dataKey('events')
  await plant(root, orphan, 'orphan', true)

  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })

  expect(report).toEqual({ temporaries: { count: 0, bytes: 0 }, orphans: { count: 0, bytes: 0 }, skippedTables: ['events'] })
  expect(await filesUnder(root)).toContain(orphan)
  expect((await filesUnder(root)).length).toBe(committed.length)
})

test('a grace of 0 removes every unreferenced file, however young', async () => {
  const { root, catalog, committed } = await warehouse()
  await plant(root, dataKey('events'), 'just now', false)
  await plant(root, `${dataKey('events')}.0123456789ab.zombi-tmp`, 'just now', false)
  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: 0, logger: silentLogger, now: Date.now() + 1000 })
  expect([report.orphans.count, report.temporaries.count]).toEqual([1, 1])
  expect(await filesUnder(root)).toEqual(committed)
})

test('only the current metadata decides: an unreadable older version neither blocks nor protects anything', async () => {
  const { root, catalog, committed } = await warehouse()
  await plant(root, 'zombi/events/metadata/v1.metadata.json', 'not json', true)
  expect((await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })).skippedTables).toEqual([])
  const orphan = dataKey('events')
  await plant(root, orphan, 'orphan', true)
  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })
  expect(report).toEqual({ temporaries: { count: 0, bytes: 0 }, orphans: { count: 1, bytes: 'orphan'.length }, skippedTables: [] })
  expect(await filesUnder(root)).toEqual(committed)
})
