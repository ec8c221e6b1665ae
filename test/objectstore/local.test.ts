import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { expect, test } from 'vitest'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { objectStoreContract } from './contract.ts'

objectStoreContract('local', async () => new LocalObjectStore(await mkdtemp(join(tmpdir(), 'zombi-objects-'))))

test('local locations are file: and the path as written (spaces, non-ASCII, percent signs), and no temp file is left behind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zombi objects zöm-'))
  const store = new LocalObjectStore(root)
  expect(store.location('a b/c%20ö.json')).toBe(`file:${root}/a b/c%20ö.json`)
  expect(store.keyOf(store.location('a b/c%20ö.json'))).toBe('a b/c%20ö.json')
  expect(store.keyOf(`${root}/a b/c.json`)).toBe('a b/c.json')
  await store.putIfAbsent('m/v1', Buffer.from('x'))
  await store.putIfAbsent('m/v1', Buffer.from('y'))
  expect(await readdir(join(root, 'm'))).toEqual(['v1'])
})

test('keyOf still takes the percent-encoded file:/// URLs earlier versions wrote, so their tables are read and cleaned', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zombi objects zöm-'))
  const store = new LocalObjectStore(root)
  expect(store.keyOf(pathToFileURL(join(root, 'a b/c%20ö.json')).href)).toBe('a b/c%20ö.json')
  expect(store.keyOf(`file://localhost${pathToFileURL(join(root, 'a b/c.json')).pathname}`)).toBe('a b/c.json')
  expect(store.keyOf(`file:${root}-other/a`)).toBeNull()
  expect(store.keyOf('file:relative/a')).toBeNull()
  expect(store.keyOf('file://otherhost/a')).toBeNull()
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
