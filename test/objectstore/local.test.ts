import { mkdtemp, readdir } from 'node:fs/promises'
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
