import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { newTableMetadata, parseTableMetadata } from '../../src/iceberg/metadata.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { catalogContract } from './contract.ts'

catalogContract('filesystem (memory store)', async () => new FilesystemCatalog(new MemoryObjectStore()))
catalogContract('filesystem (local files)', async () => new FilesystemCatalog(new LocalObjectStore(await mkdtemp(join(tmpdir(), 'zombi-catalog-')))))
const id = { namespace: 'zombi', name: 'orders.v1' }

test('commits are vN.metadata.json created exclusively, then version-hint.text without a newline', async () => {
  const store = new MemoryObjectStore()
  const catalog = new FilesystemCatalog(store)
  const metadata = newTableMetadata(store.location('zombi/orders.v1'), {}, 1)
  const v1 = await catalog.commit(id, null, metadata)
  expect([v1.version, v1.metadataLocation]).toEqual([1, store.location('zombi/orders.v1/metadata/v1.metadata.json')])
  const v2 = await catalog.commit(id, v1, { ...metadata, 'last-updated-ms': 2 })
  expect(v2.version).toBe(2)
  expect((await store.get('zombi/orders.v1/metadata/version-hint.text'))!.toString()).toBe('2')
  // Someone else's v3 already there: the create-exclusive is the conflict.
  await store.put('zombi/orders.v1/metadata/v3.metadata.json', Buffer.from('{}'))
  await expect(catalog.commit(id, v2, metadata)).rejects.toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
  expect((await store.get('zombi/orders.v1/metadata/version-hint.text'))!.toString()).toBe('2')
})

test('a hint left behind by a crash between the commit and the hint is probed past', async () => {
  const store = new MemoryObjectStore()
  const catalog = new FilesystemCatalog(store)
  const metadata = newTableMetadata(store.location('zombi/orders.v1'), {}, 1)
  const v1 = await catalog.commit(id, null, metadata)
  await catalog.commit(id, v1, { ...metadata, 'last-updated-ms': 7 })
  await store.put('zombi/orders.v1/metadata/version-hint.text', Buffer.from('1'))
  const loaded = await catalog.loadTable(id)
  expect(loaded!.version).toBe(2)
  expect(loaded!.metadata['last-updated-ms']).toBe(7)
  await store.delete('zombi/orders.v1/metadata/version-hint.text')
  expect((await catalog.loadTable(id))!.version).toBe(2)
})

test('table metadata keeps 63-bit snapshot ids exact and has every required v2 field', async () => {
  const metadata = newTableMetadata('file:///w/zombi/t', {}, 1)
  const text = JSON.stringify({ ...metadata, 'last-sequence-number': 1, 'current-snapshot-id': '__ID__', snapshots: [], refs: { main: { 'snapshot-id': '__ID__', type: 'branch' } } })
    .replaceAll('"__ID__"', '9223372036854775807')
  const parsed = parseTableMetadata(text)
  expect(parsed['current-snapshot-id']).toBe(9223372036854775807n)
  expect(parsed.refs.main!['snapshot-id']).toBe(9223372036854775807n)
  for (const field of ['format-version', 'table-uuid', 'location', 'last-sequence-number', 'last-updated-ms', 'last-column-id', 'current-schema-id', 'schemas',
    'default-spec-id', 'partition-specs', 'last-partition-id', 'default-sort-order-id', 'sort-orders', 'snapshots', 'snapshot-log', 'metadata-log', 'refs']) {
    expect(metadata).toHaveProperty([field])
  }
})
