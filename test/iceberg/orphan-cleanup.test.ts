import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { parseTableMetadata, serializeTableMetadata } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { removeInterruptedWrites } from '../../src/iceberg/orphan-cleanup.ts'
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

test('a manifest list that only an older metadata version references is kept (time travel may read it)', async () => {
  const { root, catalog, committed } = await warehouse()
  // v3 drops the first snapshot, as snapshot expiry would, while v1 and v2 stay on disk.
  const v2 = parseTableMetadata(await readFile(join(root, 'zombi/events/metadata/v2.metadata.json'), 'utf8'))
  const [first, second] = v2.snapshots
  await plant(root, 'zombi/events/metadata/v3.metadata.json', serializeTableMetadata({ ...v2, snapshots: [second!], 'snapshot-log': [] }), true)
  const onlyInOldVersions = catalog.store.keyOf(first!['manifest-list'])!
  expect(committed).toContain(onlyInOldVersions)

  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })

  expect(report.orphans).toEqual({ count: 0, bytes: 0 })
  expect(await filesUnder(root)).toEqual([...committed, 'zombi/events/metadata/v3.metadata.json'].sort())
  // Once no metadata file references it any more, it is an orphan like any other.
  await rm(join(root, 'zombi/events/metadata/v1.metadata.json'))
  await rm(join(root, 'zombi/events/metadata/v2.metadata.json'))
  const size = (await stat(join(root, onlyInOldVersions))).size
  expect((await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })).orphans).toEqual({ count: 1, bytes: size })
  expect(await readTable(catalog, { namespace: 'zombi', name: 'events' })).toHaveLength(4)
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

test('older metadata versions are read only while some candidate is still unreferenced', async () => {
  const { root, catalog, committed } = await warehouse()
  // v1 is unreadable, but v2 (the newest) references every file: v1 is never needed.
  await plant(root, 'zombi/events/metadata/v1.metadata.json', 'not json', true)
  expect((await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })).skippedTables).toEqual([])
  // With an orphan, every version must be read to prove nothing references it: v1 cannot be, so nothing goes.
  const orphan = dataKey('events')
  await plant(root, orphan, 'orphan', true)
  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: GRACE_MS, logger: silentLogger })
  expect(report).toEqual({ temporaries: { count: 0, bytes: 0 }, orphans: { count: 0, bytes: 0 }, skippedTables: ['events'] })
  expect(await filesUnder(root)).toEqual([...committed, orphan].sort())
})
