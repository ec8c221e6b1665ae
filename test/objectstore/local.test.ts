import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { objectStoreContract } from './contract.ts'

objectStoreContract('local', async () => new LocalObjectStore(await mkdtemp(join(tmpdir(), 'zombi-objects-'))))

test('local locations are file:// URLs under the root, and no temp file is left behind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zombi-objects-'))
  const store = new LocalObjectStore(root)
  expect(store.location('a b/c.json')).toBe(`file://${root}/a%20b/c.json`)
  expect(store.keyOf(`${root}/a b/c.json`)).toBe('a b/c.json')
  await store.putIfAbsent('m/v1', Buffer.from('x'))
  await store.putIfAbsent('m/v1', Buffer.from('y'))
  expect(await readdir(join(root, 'm'))).toEqual(['v1'])
})

test('removeAbandonedUploads deletes temp files older than the cutoff under the prefix and keeps younger ones', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zombi-objects-'))
  const store = new LocalObjectStore(root)
  await store.put('t/data/a.parquet', Buffer.from('done'))
  await mkdir(join(root, 't/metadata'), { recursive: true })
  await mkdir(join(root, 'u'), { recursive: true })
  // What a kill -9 between open and rename leaves behind.
  await writeFile(join(root, 't/data/b.parquet.0a1b2c3d4e5f.zombi-tmp'), 'half')
  await writeFile(join(root, 't/metadata/version-hint.text.00aa11bb22cc.zombi-tmp'), '12')
  await writeFile(join(root, 't/metadata/v3.metadata.json.ffeeddccbbaa.zombi-tmp'), 'young')
  await writeFile(join(root, 'u/x.0a1b2c3d4e5f.zombi-tmp'), 'other prefix')
  const old = new Date(Date.now() - 3_600_000)
  for (const name of ['t/data/b.parquet.0a1b2c3d4e5f.zombi-tmp', 't/metadata/version-hint.text.00aa11bb22cc.zombi-tmp', 'u/x.0a1b2c3d4e5f.zombi-tmp']) {
    await utimes(join(root, name), old, old)
  }
  expect(await store.list('t/')).toEqual(['t/data/a.parquet'])
  expect(await store.removeAbandonedUploads('t/', Date.now() - 60_000)).toEqual({ count: 2, bytes: 6 })
  expect(await readdir(join(root, 't/data'))).toEqual(['a.parquet'])
  expect(await readdir(join(root, 't/metadata'))).toEqual(['v3.metadata.json.ffeeddccbbaa.zombi-tmp'])
  expect(await readdir(join(root, 'u'))).toEqual(['x.0a1b2c3d4e5f.zombi-tmp'])
})
