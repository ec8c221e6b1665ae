import { expect, test } from 'vitest'
import { RequestBufferPool } from '../../src/kafka/request-buffers.ts'

test('a request of a size class gets exactly its size over pooled memory, which the next request of that class reuses once given back', () => {
  const pool = new RequestBufferPool(8 << 20)
  const first = pool.take(1_000_100)
  expect(first.length).toBe(1_000_100)
  expect(first.buffer.byteLength).toBe(1 << 20)
  pool.release(first)
  expect(pool.freeBytes).toBe(1 << 20)
  const second = pool.take(600_000)
  expect(second.buffer).toBe(first.buffer)
  expect(second.length).toBe(600_000)
  expect([pool.allocated, pool.reused, pool.freeBytes]).toEqual([1, 1, 0])
  // Another class (32 KiB) does not take the 1 MiB one.
  const small = pool.take(20_000)
  expect(small.buffer.byteLength).toBe(32 * 1024)
  expect(pool.allocated).toBe(2)
})

test('memory given back twice, or never taken from the pool, is never handed out twice', () => {
  const pool = new RequestBufferPool(8 << 20)
  const request = pool.take(100_000)
  pool.release(request)
  pool.release(request)
  const a = pool.take(100_000)
  const b = pool.take(100_000)
  expect(a.buffer).toBe(request.buffer)
  expect(b.buffer).not.toBe(a.buffer)
  // A view of a read buffer or a socket chunk: not the pool's to reuse.
  pool.release(Buffer.allocUnsafeSlow(128 * 1024).subarray(0, 100_000))
  expect(pool.freeBytes).toBe(0)
})

test('requests outside the size classes get buffers of their own, and the pool keeps no more than its bound', () => {
  const pool = new RequestBufferPool(1 << 20)
  for (const size of [1000, 2 * 1024 - 1, 4 * 1024 * 1024 + 1]) {
    const own = pool.take(size)
    expect(own.length).toBe(size)
    pool.release(own)
  }
  expect([pool.allocated, pool.freeBytes]).toEqual([0, 0])
  const held = [pool.take(1 << 20), pool.take(1 << 20)]
  for (const request of held) pool.release(request)
  expect(pool.freeBytes).toBe(1 << 20)
})

test('a full pool makes room for the size in use now by dropping the sizes taken longest ago, never the other way round', () => {
  const pool = new RequestBufferPool(1 << 20)
  // The last client's 1 MiB requests fill the pool.
  const large = pool.take(1_000_000)
  pool.release(large)
  expect(pool.freeBytes).toBe(1 << 20)
  // A client with ~100 KB requests: its buffer is kept (the 1 MiB one goes), so its next request reuses it.
  const small = pool.take(100_000)
  const old = pool.take(1_000_000)
  pool.release(small)
  expect(pool.freeBytes).toBe(128 * 1024)
  expect(pool.take(100_000).buffer).toBe(small.buffer)
  pool.release(old)
  // The 1 MiB class was taken from after the 128 KiB one had been given back: it fits beside nothing else.
  expect(pool.freeBytes).toBe(1 << 20)
  // The 1 MiB class taken last: a 128 KiB buffer coming back later does not push it out.
  const before = pool.take(120_000)
  const recent = pool.take(900_000)
  pool.release(recent)
  pool.release(before)
  expect(pool.freeBytes).toBe(1 << 20)
  // The 128 KiB class taken last: the 1 MiB buffer makes room for it.
  const now = pool.take(120_000)
  pool.release(now)
  expect(pool.freeBytes).toBe(128 * 1024)
})

test('a read buffer comes back only once the reader and every request parsed out of it have released their holds', () => {
  const pool = new RequestBufferPool(8 << 20)
  const region = pool.take(40_000)
  const first = region.subarray(0, 10_000)
  const second = region.subarray(10_000, 30_000)
  pool.retain(first)
  pool.retain(second)
  // The socket reads into another buffer: the reader's hold goes, the requests' stay.
  pool.release(region)
  pool.release(first)
  expect(pool.freeBytes).toBe(0)
  expect(pool.take(40_000).buffer).not.toBe(region.buffer)
  pool.release(second)
  expect(pool.freeBytes).toBe(64 * 1024)
  // A request never released (any API but a Produce answered) keeps its buffer from the pool for good.
  const kept = pool.take(40_000)
  expect(kept.buffer).toBe(region.buffer)
  pool.retain(kept.subarray(0, 100))
  pool.release(kept)
  expect(pool.freeBytes).toBe(0)
  // Views of memory the pool never handed out are ignored.
  pool.retain(Buffer.alloc(40_000))
  expect(pool.freeBytes).toBe(0)
})
