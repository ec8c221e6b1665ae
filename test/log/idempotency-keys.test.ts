import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { IDEMPOTENCY_WINDOW_MS, IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { openMemoryStore } from '../support/log.ts'

const dirs: string[] = []
const stores: DiskHotStore[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function openDisk(dir: string): Promise<DiskHotStore> {
  const store = new DiskHotStore({ dir, durability: 'fsync' })
  await store.open()
  stores.push(store)
  return store
}

async function closeDisk(store: DiskHotStore): Promise<void> {
  stores.splice(stores.indexOf(store), 1)
  await store.close()
}

const topicId = '6f1c1d2e-0000-4000-8000-000000000001'
const now = 1_700_000_000_000
const row = (offset: number, atMs: number, partition?: number) => Buffer.from(JSON.stringify(partition === undefined ? { offset, atMs } : { partition, offset, atMs }))

describe('idempotency keys', () => {
  it('are unique per table: a key answers with the partition and offset it was first written to', async () => {
    const store = await openMemoryStore()
    const keys = new IdempotencyKeys(store)
    keys.remember(topicId, 2, [{ key: 'order-1', offset: 7 }], now, Promise.resolve(true))
    expect(await keys.lookup(topicId, 'order-1', now)).toEqual({ partition: 2, offset: 7 })
    expect(keys.lookup('another-topic', 'order-1', now)).toBeUndefined()
    expect(keys.lookup(topicId, 'order-1', now + IDEMPOTENCY_WINDOW_MS + 1)).toBeUndefined()
    expect(await keys.expire(now + IDEMPOTENCY_WINDOW_MS + 1)).toBe(1)
    expect(await store.scanState('idem/')).toEqual([])
  })

  it('come back after a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-idem-'))
    dirs.push(dir)
    const store = await openDisk(dir)
    new IdempotencyKeys(store).remember(topicId, 3, [{ key: 'a/b', offset: 11 }, { key: 'c', offset: 12 }], now, Promise.resolve(true))
    // State writes are durable in call order: once this one is, the keys' rows are.
    await store.writeState([])
    await closeDisk(store)
    const keys = new IdempotencyKeys(await openDisk(dir))
    await keys.load()
    expect([keys.lookup(topicId, 'a/b', now), keys.lookup(topicId, 'c', now)]).toEqual([{ partition: 3, offset: 11 }, { partition: 3, offset: 12 }])
  })

  it('stored per partition by earlier versions are found after a restart and rewritten per table, the first write keeping a key used on two partitions', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-idem-'))
    dirs.push(dir)
    const old = await openDisk(dir)
    await old.writeState([
      { key: `idem/${topicId}/2/order-1`, value: row(5, now) },
      { key: `idem/${topicId}/0/with/slashes`, value: row(1, now) },
      { key: `idem/${topicId}/1/twice`, value: row(3, now + 100) },
      { key: `idem/${topicId}/3/twice`, value: row(9, now + 50) },
    ])
    await closeDisk(old)

    const migrating = await openDisk(dir)
    const keys = new IdempotencyKeys(migrating)
    await keys.load()
    const expected = { 'order-1': { partition: 2, offset: 5 }, 'with/slashes': { partition: 0, offset: 1 }, twice: { partition: 3, offset: 9 } }
    for (const [key, written] of Object.entries(expected)) expect(keys.lookup(topicId, key, now + 200)).toEqual(written)
    const rows = (await migrating.scanState('idem/')).map(({ key, value }) => [key, JSON.parse(value.toString()) as unknown])
    expect(rows.sort()).toEqual([
      [`idem/${topicId}/order-1`, { partition: 2, offset: 5, atMs: now }],
      [`idem/${topicId}/twice`, { partition: 3, offset: 9, atMs: now + 50 }],
      [`idem/${topicId}/with/slashes`, { partition: 0, offset: 1, atMs: now }],
    ])
    await closeDisk(migrating)

    const reloaded = new IdempotencyKeys(await openDisk(dir))
    await reloaded.load()
    for (const [key, written] of Object.entries(expected)) expect(reloaded.lookup(topicId, key, now + 200)).toEqual(written)
  })

  it('read a row of the per-table layout whose key looks like the old one by its value', async () => {
    const store = await openMemoryStore()
    await store.writeState([{ key: `idem/${topicId}/4/x`, value: row(8, now, 1) }])
    const keys = new IdempotencyKeys(store)
    await keys.load()
    expect([keys.lookup(topicId, '4/x', now), keys.lookup(topicId, 'x', now)]).toEqual([{ partition: 1, offset: 8 }, undefined])
  })
})

it('forgets a key whose write was rolled back (disk full), telling a retry in flight, so the next retry writes', async () => {
  const store = await openMemoryStore()
  const keys = new IdempotencyKeys(store)
  const now = Date.now()
  const stored = Promise.withResolvers<boolean>()
  keys.remember('topic', 0, [{ key: 'k', offset: 7 }], now, stored.promise)
  const inFlight = keys.lookup('topic', 'k', now)
  stored.resolve(false)
  expect(await inFlight).toBeNull()
  expect(keys.lookup('topic', 'k', now)).toBeUndefined()

  keys.remember('topic', 2, [{ key: 'k', offset: 7 }], now, Promise.resolve(true))
  await Promise.resolve()
  expect(await keys.lookup('topic', 'k', now)).toEqual({ partition: 2, offset: 7 })
  await store.close()
})
