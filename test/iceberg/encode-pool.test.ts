import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { readTable } from './table-reader.ts'
import { TestLog } from './test-log.ts'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined)
})

async function setUp(pool: EncodePool): Promise<{ log: TestLog; flusher: Flusher; catalog: FilesystemCatalog }> {
  const root = await mkdtemp(path.join(tmpdir(), 'zombi-pool-'))
  cleanup.push(() => rm(root, { recursive: true, force: true }))
  const catalog = new FilesystemCatalog(new LocalObjectStore(root, { fsync: false }))
  const log = await TestLog.open()
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool, metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 64 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  cleanup.push(() => flusher.close())
  return { log, flusher, catalog }
}

test('a worker holding more than its recycle limit after a job is replaced, and the fresh one runs the next job', async () => {
  const pool = new EncodePool(1, { recycleBytes: 0 })
  const { log, flusher, catalog } = await setUp(pool)
  const topic = await log.addTopic('events', 1)
  await log.add(topic, 0, ['a', 'b', 'c'])
  expect(await flusher.flush('events')).toMatchObject({ rows: 3 })
  // Every worker holds some memory after a job (its V8 heap at least), so a limit of 0 replaces it each time.
  expect(pool.recycled).toBe(1)
  await log.add(topic, 0, ['d', 'e'])
  expect(await flusher.flush('events')).toMatchObject({ rows: 2 })
  expect(pool.recycled).toBe(2)
  const rows = await readTable(catalog, { namespace: 'zombi', name: 'events' })
  expect(rows.map((row) => row.payload)).toEqual(['a', 'b', 'c', 'd', 'e'])
  // The next job starts a fresh worker; until then none runs and nothing is held.
  expect(pool.workers).toBe(0)
  expect(pool.memory()).toEqual({ heapBytes: 0, externalBytes: 0, wasmBytes: 0 })
})

test('workers start on demand and an idle one is ended; the next job starts a fresh one', async () => {
  const pool = new EncodePool(1, { idleMs: 10 })
  const { log, flusher, catalog } = await setUp(pool)
  expect(pool.workers).toBe(0)
  const topic = await log.addTopic('events', 1)
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  await expect.poll(() => pool.workers, { timeout: 10_000 }).toBe(0)
  expect(pool.retiredIdle).toBe(1)
  await log.add(topic, 0, ['b'])
  expect(await flusher.flush('events')).toMatchObject({ rows: 1 })
  const rows = await readTable(catalog, { namespace: 'zombi', name: 'events' })
  expect(rows.map((row) => row.payload)).toEqual(['a', 'b'])
})

test('endIdleWorkers ends the idle workers at once (compaction\'s, after its pass), and the next job starts a fresh one', async () => {
  const pool = new EncodePool(1)
  const { log, flusher, catalog } = await setUp(pool)
  const topic = await log.addTopic('events', 1)
  await log.add(topic, 0, ['a'])
  await flusher.flush('events')
  expect(pool.workers).toBe(1)
  expect(pool.endIdleWorkers()).toBe(1)
  expect(pool.workers).toBe(0)
  expect(pool.memory()).toEqual({ heapBytes: 0, externalBytes: 0, wasmBytes: 0 })
  expect(pool.endIdleWorkers()).toBe(0)
  await log.add(topic, 0, ['b'])
  expect(await flusher.flush('events')).toMatchObject({ rows: 1 })
  expect(pool.workers).toBe(1)
  const rows = await readTable(catalog, { namespace: 'zombi', name: 'events' })
  expect(rows.map((row) => row.payload)).toEqual(['a', 'b'])
})

test('a worker within its recycle limit is kept, and reports its heap and wasm memory after each job', async () => {
  const pool = new EncodePool(1, { recycleBytes: 1 << 30 })
  const { log, flusher } = await setUp(pool)
  const topic = await log.addTopic('events', 1)
  await log.add(topic, 0, ['a', 'b', 'c'])
  await flusher.flush('events')
  expect(pool.recycled).toBe(0)
  const memory = pool.memory()
  expect(memory.heapBytes).toBeGreaterThan(0)
  expect(memory.wasmBytes).toBeGreaterThan(0)
})

const held = (memory: { heapBytes: number; externalBytes: number; wasmBytes: number }): number => memory.heapBytes + memory.externalBytes + memory.wasmBytes

// Well above how much a worker's committed heap varies between runs (up to ~20 MiB).
const INPUT_BYTES = 64 << 20

/** Runs one job with 64 MiB of input on `pool` (its input moves to the worker, garbage there once the job ends) and takes its files. */
async function runInputJob(pool: EncodePool): Promise<void> {
  // Records of one large value compress to a tiny file: the job's garbage is its input.
  const batch = encodeBatch(Array.from({ length: 32 }, () => ({ key: null, value: Buffer.alloc(INPUT_BYTES / 32 - 64, 97), timestamp: Date.now() })))
  const batches = new Uint8Array(batch.length)
  batches.set(batch)
  const run = pool.run({ topic: 't', parts: [{ partition: 0, fromOffset: 0, batchBytes: batches.length }], batches, maxRowBytes: 1 << 30, targetFileBytes: 1 << 27 })
  for (let file = await run.nextFile(); file !== null; file = await run.nextFile()) for await (const chunk of file.chunks()) expect(chunk.length).toBeGreaterThan(0)
  await run.settled
  // The pool decides on the worker in the turn after the run settles.
  await new Promise((resolve) => setImmediate(resolve))
}

test('a worker collects a job\'s garbage once it has been idle a while, not after each job, and then reports its memory again', async () => {
  const pool = new EncodePool(1, { recycleBytes: 1 << 30, idleCollectMs: 50 })
  cleanup.push(() => pool.close())
  await runInputJob(pool)
  const afterJob = held(pool.memory())
  await expect.poll(() => held(pool.memory()), { timeout: 10_000 }).toBeLessThan(afterJob - INPUT_BYTES / 2)
})

test('a worker whose uncollected memory passes its recycle limit collects before the pool decides, and is kept when it is then below', async () => {
  const probe = new EncodePool(1, { recycleBytes: 1 << 30, idleCollectMs: 50 })
  cleanup.push(() => probe.close())
  await runInputJob(probe)
  const afterJob = held(probe.memory())
  await expect.poll(() => held(probe.memory()), { timeout: 10_000 }).toBeLessThan(afterJob - INPUT_BYTES / 2)
  // Half the input above what the worker keeps once it is collected: only a report that still counts the input passes it.
  const pool = new EncodePool(1, { recycleBytes: held(probe.memory()) + INPUT_BYTES / 2, idleCollectMs: 60_000 })
  cleanup.push(() => pool.close())
  await runInputJob(pool)
  expect(pool.recycled).toBe(0)
  expect(pool.workers).toBe(1)
  expect(held(pool.memory())).toBeLessThan(pool.recycleBytes)
})
