import { expect, test } from 'vitest'
import { READ_SLAB_BYTES, ReadBufferPool } from '../../src/kafka/read-buffers.ts'

test('a lease packs reads into slabs, returns them on release and the next lease reuses them', () => {
  const pool = new ReadBufferPool(4 * READ_SLAB_BYTES)
  const lease = pool.lease()
  const a = lease.allocate(600_000)
  const b = lease.allocate(400_000)
  const c = lease.allocate(600_000)
  // a and b share the first slab; c did not fit beside them.
  expect(a.buffer).toBe(b.buffer)
  expect(c.buffer).not.toBe(a.buffer)
  expect([a.length, b.length, c.length]).toEqual([600_000, 400_000, 600_000])
  a.fill(1)
  b.fill(2)
  expect(a.every((byte) => byte === 1) && b.every((byte) => byte === 2)).toBe(true)
  expect(pool.leasedBytes).toBe(2 * READ_SLAB_BYTES)
  lease.release()
  expect([pool.leasedBytes, pool.freeBytes]).toEqual([0, 2 * READ_SLAB_BYTES])
  const next = pool.lease()
  const reused = next.allocate(10)
  expect([a.buffer, c.buffer]).toContain(reused.buffer)
  next.release()
})

test('a batch bigger than a slab gets its own buffer; the pool keeps at most its bound; abandoned slabs are not reused', () => {
  const pool = new ReadBufferPool(READ_SLAB_BYTES)
  const lease = pool.lease()
  const big = lease.allocate(READ_SLAB_BYTES + 1)
  expect(big.length).toBe(READ_SLAB_BYTES + 1)
  expect(pool.leasedBytes).toBe(0)
  lease.allocate(READ_SLAB_BYTES)
  lease.allocate(READ_SLAB_BYTES)
  lease.release()
  expect(pool.freeBytes).toBe(READ_SLAB_BYTES)

  const abandoned = pool.lease()
  const held = abandoned.allocate(100)
  abandoned.abandon()
  expect([pool.leasedBytes, pool.freeBytes]).toEqual([0, 0])
  const fresh = pool.lease().allocate(100)
  expect(fresh.buffer).not.toBe(held.buffer)
})
