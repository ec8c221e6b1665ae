import { expect, it } from 'vitest'
import type { Catalog } from '../../src/catalog/catalog.ts'
import { ConnectOnUse } from '../../src/catalog/connect-on-use.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { ZombiError } from '../../src/errors.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'

it('fails each use with the connect error until the catalog answers, then serves from the one connection', async () => {
  const store = new MemoryObjectStore()
  let attempts = 0
  let reachable = false
  const catalog = new ConnectOnUse(store, async (): Promise<Catalog> => {
    attempts++
    await Promise.resolve()
    if (!reachable) throw new ZombiError('CATALOG_UNAVAILABLE', 'catalog down')
    return new FilesystemCatalog(store)
  })
  const id = { namespace: 'zombi', name: 'events' }
  // Callers arriving during one attempt share it.
  const results = await Promise.allSettled([catalog.loadTable(id), catalog.listTables('zombi')])
  expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
  expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/catalog down/)
  expect(attempts).toBe(1)
  reachable = true
  expect(await catalog.loadTable(id)).toBeNull()
  expect(await catalog.listTables('zombi')).toEqual([])
  expect(attempts).toBe(2)
  expect(catalog.tableKey(id)).toBe(new FilesystemCatalog(store).tableKey(id))
})
