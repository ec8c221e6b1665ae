// Manifest merging checked by our reader and by DuckDB and pyiceberg (from the test venv).
import { randomUUID } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { decodeManifestList } from '../../src/iceberg/avro.ts'
import { encodeInMemory } from './encode-in-memory.ts'
import { currentSnapshot } from '../../src/iceberg/metadata.ts'
import { sortOrdersJson } from '../../src/iceberg/schema.ts'
import { TableWriter } from '../../src/iceberg/table-writer.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { readRows } from './readers.ts'
import { dataFiles, readTable } from './table-reader.ts'

test('past the manifest limit a commit merges the manifests; every reader still sees every row once, time travel too', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zombi-warehouse-'))
  const store = new LocalObjectStore(root, { fsync: false })
  const catalog = new FilesystemCatalog(store)
  const id = { namespace: 'zombi', name: 'merged' }
  const writer = new TableWriter(catalog, id, 'topic-id', 'replace', 3)
  const base = Date.UTC(2024, 1, 28, 22, 0)
  const snapshots: bigint[] = []
  for (let round = 0; round < 7; round++) {
    // Two hours per round, so files differ in partition values and the merged bounds matter.
    const batch = encodeBatch([0, 1, 2].map((i) => ({ key: null, value: Buffer.from(`r${round}-${i}`), timestamp: base + (round * 3 + i) * 1_800_000 })), { baseOffset: round * 3 })
    const result = await encodeInMemory({ topic: 'merged', partition: 0, fromOffset: round * 3, batches: batch, maxRowBytes: 1 << 20, targetFileBytes: 1 << 20 })
    const files = []
    for (const file of result.files) {
      const key = `zombi/merged/data/${randomUUID()}.parquet`
      await store.put(key, file.bytes)
      files.push({ key, sizeBytes: file.bytes.length, recordCount: file.recordCount, eventDate: file.eventDate, eventHour: file.eventHour, metrics: file.metrics })
    }
    snapshots.push((await writer.commit(files, [{ partition: 0, from: round * 3, end: result.endOffset }])).snapshotId)
  }
  const loaded = (await catalog.loadTable(id))!
  const list = await decodeManifestList((await store.get(store.keyOf(currentSnapshot(loaded.metadata)!['manifest-list'])!))!)
  expect(list.length).toBeLessThanOrEqual(3)
  expect(list.some((manifest) => manifest.existing_files_count > 0)).toBe(true)
  expect((await dataFiles(catalog, loaded.metadata)).length).toBeGreaterThanOrEqual(7)
  const expected = Array.from({ length: 21 }, (_, i) => `r${Math.floor(i / 3)}-${i % 3}`)
  expect((await readTable(catalog, id)).map((row) => row.payload)).toEqual(expected)
  const dir = join(root, 'zombi', 'merged')
  for (const reader of ['duckdb', 'pyiceberg'] as const) {
    const rows = await readRows(dir, reader)
    expect(rows.map((row) => Buffer.from(row.payload, 'base64').toString())).toEqual(expected)
    const early = await readRows(dir, reader, { snapshot: snapshots[1]!.toString() })
    expect(early.map((row) => row.sequence)).toEqual([0, 1, 2, 3, 4, 5])
  }
}, 60_000)

test('a table made before sort order 2 gains it as its default at its next commit, its older orders kept', async () => {
  const store = new MemoryObjectStore()
  const catalog = new FilesystemCatalog(store)
  const id = { namespace: 'zombi', name: 'older' }
  const commitOne = async (writer: TableWriter, offset: number): Promise<void> => {
    const batch = encodeBatch([{ key: null, value: Buffer.from(`v${offset}`), timestamp: Date.UTC(2024, 1, 28, 22, 0) }], { baseOffset: offset })
    const result = await encodeInMemory({ topic: 'older', partition: 0, fromOffset: offset, batches: batch, maxRowBytes: 1 << 20, targetFileBytes: 1 << 20 })
    const file = result.files[0]!
    const key = `zombi/older/data/${randomUUID()}.parquet`
    await store.put(key, file.bytes)
    await writer.commit([{ key, sizeBytes: file.bytes.length, recordCount: file.recordCount, eventDate: file.eventDate, eventHour: file.eventHour, metrics: file.metrics }], [{ partition: 0, from: offset, end: result.endOffset }])
  }
  await commitOne(new TableWriter(catalog, id, 'topic-id', 'replace'), 0)
  // Make it look like a table of the previous release: orders 0 and 1, default 1.
  const loaded = (await catalog.loadTable(id))!
  const orderId = (order: unknown): number => Number((order as { 'order-id': number })['order-id'])
  await catalog.commit(id, loaded, { ...loaded.metadata, 'default-sort-order-id': 1, 'sort-orders': loaded.metadata['sort-orders'].filter((order) => orderId(order) !== 2) })
  expect((await catalog.loadTable(id))!.metadata['sort-orders'].map(orderId)).toEqual([0, 1])
  await commitOne(new TableWriter(catalog, id, 'topic-id', 'replace'), 1)
  const metadata = (await catalog.loadTable(id))!.metadata
  expect(metadata['default-sort-order-id']).toBe(2)
  expect(metadata['sort-orders']).toEqual(sortOrdersJson())
  expect((await readTable(catalog, id)).map((row) => row.payload)).toEqual(['v0', 'v1'])
})
