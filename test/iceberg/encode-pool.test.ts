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

/** Runs one job of 16 records of 1 MiB on `pool` and takes its files. */
async function runJob(pool: EncodePool): Promise<void> {
  const batch = encodeBatch(Array.from({ length: 16 }, () => ({ key: null, value: Buffer.alloc((1 << 20) - 64, 97), timestamp: Date.now() })))
  const batches = new Uint8Array(batch.length)
  batches.set(batch)
  const run = pool.run({ topic: 't', parts: [{ partition: 0, fromOffset: 0, batchBytes: batches.length }], batches, maxRowBytes: 1 << 30, targetFileBytes: 1 << 27 })
  for (let file = await run.nextFile(); file !== null; file = await run.nextFile()) for await (const chunk of file.chunks()) expect(chunk.length).toBeGreaterThan(0)
  await run.settled
}

test('an idle worker lets go of the buffers it keeps for the next job, collects and reports again', async () => {
  const pool = new EncodePool(1, { recycleBytes: 1 << 30, idleCollectMs: 50 })
  cleanup.push(() => pool.close())
  await runJob(pool)
  const afterJob = pool.memory().externalBytes
  // The next job's columns (a row group's payload buffer, 9 MiB) and IPC buffer (a row group's stream) are kept.
  expect(afterJob).toBeGreaterThan(16 << 20)
  await expect.poll(() => pool.memory().externalBytes, { timeout: 10_000 }).toBeLessThan(afterJob - (16 << 20))
})
