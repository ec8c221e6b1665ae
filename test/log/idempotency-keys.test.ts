import { expect, it } from 'vitest'
import { IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

it('forgets a key whose write was rolled back (disk full), telling a retry in flight, so the next retry writes', async () => {
  const store = new MemoryHotStore()
  await store.open()
  const keys = new IdempotencyKeys(store)
  const now = Date.now()
  const stored = Promise.withResolvers<boolean>()
  keys.remember('topic', 0, [{ key: 'k', offset: 7 }], now, stored.promise)
  const inFlight = keys.lookup('topic', 0, 'k', now)
  stored.resolve(false)
  expect(await inFlight).toBeNull()
  expect(keys.lookup('topic', 0, 'k', now)).toBeUndefined()

  keys.remember('topic', 0, [{ key: 'k', offset: 7 }], now, Promise.resolve(true))
  await Promise.resolve()
  expect(await keys.lookup('topic', 0, 'k', now)).toBe(7)
  await store.close()
})
