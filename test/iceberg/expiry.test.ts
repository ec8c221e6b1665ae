// Snapshot expiry: exactly-once after the snapshots holding the offset ranges are gone, files deleted
// only when no kept snapshot reaches them (after the commit), a racing append never dropped, and the
// metadata hygiene properties (previous-versions-max, delete-after-commit, min-count-to-merge) acting.
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import type { TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { tableUpdates } from '../../src/catalog/rest-updates.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { expireSnapshots } from '../../src/iceberg/expiry.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { PROPERTY_COMMITTED_OFFSETS, committedOffsets, extendedMetadataLog, currentSnapshot } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { removeInterruptedWrites } from '../../src/iceberg/orphan-cleanup.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { TestLog } from './test-log.ts'
import { readRows } from './readers.ts'
import { readTable } from './table-reader.ts'
import { RacingCatalog } from './racing-catalog.ts'

const roots: string[] = []
const flushers: Flusher[] = []
afterEach(async () => {
  for (const flusher of flushers.splice(0)) await flusher.close().catch(() => undefined)
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true })
})

const id: TableIdentifier = { namespace: 'zombi', name: 'events' }
const everything = { retentionMs: 0, minKeep: 1 }

async function setup(): Promise<{ root: string; catalog: RacingCatalog; log: TestLog; flusher: Flusher; topic: Awaited<ReturnType<TestLog['addTopic']>> }> {
  const root = await mkdtemp(join(tmpdir(), 'zombi-expiry-'))
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
  return { root, catalog, log, flusher, topic }
}

async function setProperties(catalog: FilesystemCatalog, properties: Record<string, string>): Promise<void> {
  const loaded = (await catalog.loadTable(id))!
  const metadata = { ...loaded.metadata, properties: { ...loaded.metadata.properties, ...properties } }
  await catalog.commit(id, loaded, { ...metadata, 'metadata-log': extendedMetadataLog(metadata, loaded.metadataLocation) })
}

async function filesUnder(root: string, suffix: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String).filter((name) => name.endsWith(suffix)).sort()
}

const keys = (rows: Array<{ partition: number; sequence: number }>): string[] => rows.map((row) => `${row.partition}/${row.sequence}`)

test('after expiring every snapshot but the last, flushing again commits no offset twice (the ranges live on in a table property)', async () => {
  const { catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['a', 'b'])
  await log.add(topic, 1, ['c'])
  await flusher.flush('events')
  // The later snapshots cover partition 1 only: partition 0's range is in the first snapshot alone.
  await log.add(topic, 1, ['d'])
  await flusher.flush('events')
  await log.add(topic, 1, ['e'])
  await flusher.flush('events')
  const before = (await catalog.loadTable(id))!.metadata
  expect(before.snapshots).toHaveLength(3)

  const result = await expireSnapshots(catalog, id, everything, Date.now() + 1000)
  expect(result.snapshotsExpired).toBe(2)
  const after = (await catalog.loadTable(id))!.metadata
  expect(after.snapshots).toHaveLength(1)
  expect(after.properties[PROPERTY_COMMITTED_OFFSETS]).toBeDefined()
  expect(committedOffsets(after, topic.id)).toEqual(committedOffsets(before, topic.id))

  await log.add(topic, 0, ['f'])
  await log.add(topic, 1, ['g'])
  await flusher.flush('events')
  const rows = await readTable(catalog, id)
  expect(keys(rows)).toEqual(['0/0', '0/1', '0/2', '1/0', '1/1', '1/2', '1/3'])
  expect(rows.map((row) => row.payload)).toEqual(['a', 'b', 'f', 'c', 'd', 'e', 'g'])
})

test('expiry keeps the newest snapshots and young ones, and never main\'s head', async () => {
  const { catalog, log, flusher, topic } = await setup()
  for (const value of ['a', 'b', 'c', 'd']) {
    await log.add(topic, 0, [value])
    await flusher.flush('events')
  }
  const metadata = (await catalog.loadTable(id))!.metadata
  const times = metadata.snapshots.map((snapshot) => snapshot['timestamp-ms'])
  // Nothing is older than an hour: nothing goes.
  expect((await expireSnapshots(catalog, id, { retentionMs: 3_600_000, minKeep: 1 }, Math.max(...times) + 1000)).snapshotsExpired).toBe(0)
  // Everything is old, but the newest three stay.
  expect((await expireSnapshots(catalog, id, { retentionMs: 0, minKeep: 3 }, Math.max(...times) + 1000)).snapshotsExpired).toBe(1)
  const after = (await catalog.loadTable(id))!.metadata
  expect(after.snapshots.map((snapshot) => snapshot['snapshot-id'])).toEqual(metadata.snapshots.slice(1).map((snapshot) => snapshot['snapshot-id']))
  expect(currentSnapshot(after)!['snapshot-id']).toBe(currentSnapshot(metadata)!['snapshot-id'])
  expect(after['snapshot-log'].map((entry) => entry['snapshot-id'])).toEqual(after.snapshots.map((snapshot) => snapshot['snapshot-id']))
})

test('files only expired snapshots reached are deleted after the commit; every kept one still reads, with DuckDB and pyiceberg too', async () => {
  const { root, catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  // Merging makes the earlier manifests unreachable from the newer snapshots.
  await setProperties(catalog, { 'commit.manifest.min-count-to-merge': '2' })
  for (const value of ['b', 'c', 'd', 'e']) {
    await log.add(topic, 0, [value])
    await flusher.flush('events')
  }
  const avroBefore = await filesUnder(root, '.avro')
  const result = await expireSnapshots(catalog, id, { retentionMs: 0, minKeep: 2 }, Date.now() + 1000)
  expect(result.snapshotsExpired).toBe(3)
  expect(result.filesDeleted).toBeGreaterThan(3)
  const avroAfter = await filesUnder(root, '.avro')
  expect(avroAfter.length).toBe(avroBefore.length - result.filesDeleted)
  // What is left is exactly what the kept snapshots reach: orphan cleanup with no grace finds nothing more.
  const report = await removeInterruptedWrites({ catalog, namespace: 'zombi', graceMs: 0, logger: silentLogger, now: Date.now() + 60_000 })
  expect(report).toMatchObject({ orphans: { count: 0 }, skippedTables: [] })
  expect((await readTable(catalog, id)).map((row) => row.payload)).toEqual(['a', 'b', 'c', 'd', 'e'])
  const kept = (await catalog.loadTable(id))!.metadata.snapshots
  const dir = join(root, 'zombi', 'events')
  for (const reader of ['duckdb', 'pyiceberg'] as const) {
    expect((await readRows(dir, reader)).map((row) => row.sequence)).toEqual([0, 1, 2, 3, 4])
    expect((await readRows(dir, reader, { snapshot: kept[0]!['snapshot-id'].toString() })).map((row) => row.sequence)).toEqual([0, 1, 2, 3])
  }
}, 60_000)

test('data files of a recreated topic\'s old snapshots are deleted once those snapshots expire; the new topic\'s stay', async () => {
  const { root, catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['old'])
  await flusher.flush('events')
  const oldFiles = await filesUnder(root, '.parquet')
  const again = await log.addTopic('events', 1)
  await log.add(again, 0, ['new'])
  await flusher.flush('events')
  const result = await expireSnapshots(catalog, id, everything, Date.now() + 1000)
  expect(result.snapshotsExpired).toBe(1)
  const left = await filesUnder(root, '.parquet')
  expect(left.filter((file) => oldFiles.includes(file))).toEqual([])
  expect(left).toHaveLength(1)
  expect((await readTable(catalog, id)).map((row) => row.payload)).toEqual(['new'])
})

test('an append that commits while expiry commits is kept: expiry reloads, recomputes and retries', async () => {
  const { catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  await log.add(topic, 1, ['b'])
  await flusher.flush('events')
  await log.add(topic, 0, ['c'])
  catalog.beforeCommit = async () => {
    await flusher.flush('events')
  }
  const result = await expireSnapshots(catalog, id, everything, Date.now() + 60_000)
  // The racing append became main's head: the retry kept it and expired the rest.
  expect(result.snapshotsExpired).toBe(2)
  const after = (await catalog.loadTable(id))!.metadata
  expect(after.snapshots).toHaveLength(1)
  expect(currentSnapshot(after)!.summary['zombi.offsets.0']).toBe('1-1')
  expect((await readTable(catalog, id)).map((row) => row.payload)).toEqual(['a', 'c', 'b'])
  expect([...committedOffsets(after, topic.id)].sort()).toEqual([[0, 2], [1, 1]])
})

test('a REST catalog commit of an expiry removes the snapshots and sets the committed offsets', async () => {
  const { catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  await log.add(topic, 1, ['b'])
  await flusher.flush('events')
  const before = (await catalog.loadTable(id))!.metadata
  await expireSnapshots(catalog, id, everything, Date.now() + 1000)
  const after = (await catalog.loadTable(id))!.metadata
  const updates = tableUpdates(before, after)
  expect(updates).toContainEqual({ action: 'remove-snapshots', 'snapshot-ids': [before.snapshots[0]!['snapshot-id']] })
  expect(updates).toContainEqual({ action: 'set-properties', updates: { [PROPERTY_COMMITTED_OFFSETS]: JSON.stringify({ 'topic-id': topic.id, ends: { 0: 1 } }) } })
})

test('previous-versions-max bounds the metadata log and the older vN.metadata.json files are deleted; loading still finds the newest', async () => {
  const { root, catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  await setProperties(catalog, { 'write.metadata.previous-versions-max': '2' })
  for (const value of ['b', 'c', 'd', 'e']) {
    await log.add(topic, 0, [value])
    await flusher.flush('events')
  }
  const metadataDir = join(root, 'zombi', 'events', 'metadata')
  expect(await filesUnder(metadataDir, '.metadata.json')).toEqual(['v4.metadata.json', 'v5.metadata.json', 'v6.metadata.json'])
  const loaded = (await catalog.loadTable(id))!
  expect(loaded.metadata['metadata-log'].map((entry) => entry['metadata-file'].replace(/.*\//, ''))).toEqual(['v4.metadata.json', 'v5.metadata.json'])
  expect((await readRows(join(root, 'zombi', 'events'), 'duckdb')).map((row) => row.sequence)).toEqual([0, 1, 2, 3, 4])
  // No hint: the listing finds the newest; a hint left behind by failed writes at a deleted version: too.
  await unlink(join(metadataDir, 'version-hint.text'))
  expect((await new FilesystemCatalog(catalog.store).loadTable(id))!.version).toBe(6)
  await writeFile(join(metadataDir, 'version-hint.text'), '1')
  expect((await new FilesystemCatalog(catalog.store).loadTable(id))!.version).toBe(6)
}, 60_000)

test('with delete-after-commit off, old metadata files stay (the log is still bounded)', async () => {
  const { root, catalog, log, flusher, topic } = await setup()
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  await setProperties(catalog, { 'write.metadata.previous-versions-max': '1', 'write.metadata.delete-after-commit.enabled': 'false' })
  for (const value of ['b', 'c']) {
    await log.add(topic, 0, [value])
    await flusher.flush('events')
  }
  expect(await filesUnder(join(root, 'zombi', 'events', 'metadata'), '.metadata.json')).toHaveLength(4)
  expect((await catalog.loadTable(id))!.metadata['metadata-log']).toHaveLength(1)
})
