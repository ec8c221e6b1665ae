import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as parquet from 'parquet-wasm/node'
import { afterEach, expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Credit, EncodeRun } from '../../src/iceberg/encode-stream.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import type { ObjectInfo, ObjectStore, Removed } from '../../src/objectstore/object-store.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { dataFiles, readTable } from './table-reader.ts'
import { TestLog } from './test-log.ts'

/** A real store underneath; putStream records each upload's chunk sizes and hash, and can be made to fail after some chunks. */
class RecordingStore implements ObjectStore {
  readonly inner: ObjectStore
  readonly uploads = new Map<string, { chunks: number[]; sha256: string }>()
  /** While >= 0, the next putStream fails after taking this many chunks. */
  failAfterChunks = -1

  constructor(inner: ObjectStore) {
    this.inner = inner
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const chunks: number[] = []
    const hash = createHash('sha256')
    const failAfter = this.failAfterChunks
    this.failAfterChunks = -1
    const recorded = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        if (chunks.length === failAfter) throw new Error('upload failed mid-way')
        chunks.push(chunk.length)
        hash.update(chunk)
        yield chunk
      }
    }
    const size = await this.inner.putStream(key, recorded())
    this.uploads.set(key, { chunks, sha256: hash.digest('hex') })
    return size
  }

  location(key: string): string { return this.inner.location(key) }
  keyOf(location: string): string | null { return this.inner.keyOf(location) }
  put(key: string, body: Uint8Array): Promise<void> { return this.inner.put(key, body) }
  putIfAbsent(key: string, body: Uint8Array): Promise<boolean> { return this.inner.putIfAbsent(key, body) }
  get(key: string): Promise<Buffer | null> { return this.inner.get(key) }
  getRange(key: string, start: number, endExclusive: number): Promise<Buffer | null> { return this.inner.getRange(key, start, endExclusive) }
  exists(key: string): Promise<boolean> { return this.inner.exists(key) }
  list(prefix: string): Promise<string[]> { return this.inner.list(prefix) }
  listInfo(prefix: string): Promise<ObjectInfo[]> { return this.inner.listInfo(prefix) }
  delete(key: string): Promise<void> { return this.inner.delete(key) }
  removeAbandonedUploads(prefix: string, modifiedBeforeMs: number): Promise<Removed> { return this.inner.removeAbandonedUploads(prefix, modifiedBeforeMs) }
}

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined)
})

async function localStore(): Promise<{ root: string; store: RecordingStore }> {
  const root = await mkdtemp(path.join(tmpdir(), 'zombi-stream-'))
  cleanup.push(() => rm(root, { recursive: true, force: true }))
  return { root, store: new RecordingStore(new LocalObjectStore(root, { fsync: false })) }
}

/** A window of a few row groups: the encoder has to wait for the store again and again. */
const windowBytes = 128 * 1024

function newFlusher(log: TestLog, catalog: FilesystemCatalog, workers: number, rowGroupBytes: number): Flusher {
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(workers, { windowBytes }), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 64 << 20, rowGroupBytes, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  cleanup.push(() => flusher.close())
  return flusher
}

/** Values of incompressible-ish text (base64 of random bytes), `batches` batches of `perBatch`. */
async function fill(log: TestLog, batches: number, perBatch: number, valueBytes: number): Promise<string[]> {
  const topic = await log.addTopic('events', 1)
  const values: string[] = []
  for (let b = 0; b < batches; b++) {
    const batch = Array.from({ length: perBatch }, () => randomBytes((valueBytes * 3) / 4).toString('base64'))
    await log.add(topic, 0, batch)
    values.push(...batch)
  }
  return values
}

/** Files left under the warehouse, temp files of unfinished writes included. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name))).sort()
}

test('a large data file streams from the encode worker into putStream in many chunks, none near the file size, and reads back whole', async () => {
  const { store } = await localStore()
  const catalog = new FilesystemCatalog(store)
  const log = await TestLog.open()
  // 8 MiB of payloads in one hour: one data file of several MiB.
  const values = await fill(log, 64, 128, 1024)
  const summary = await newFlusher(log, catalog, 1, 256 * 1024).flush('events')
  expect(summary).toMatchObject({ rows: values.length, files: 1, snapshots: 1 })

  const [entry] = await dataFiles(catalog, (await catalog.loadTable({ namespace: 'zombi', name: 'events' }))!.metadata)
  const key = store.keyOf(entry!.data_file.file_path)!
  const upload = store.uploads.get(key)!
  const stored = (await store.get(key))!
  const fileSize = stored.length
  expect(fileSize).toBeGreaterThan(4 << 20)
  expect(Number(entry!.data_file.file_size_in_bytes)).toBe(fileSize)
  expect(summary.bytes).toBe(fileSize)
  expect(upload.chunks.length).toBeGreaterThan(16)
  expect(upload.chunks.reduce((sum, size) => sum + size, 0)).toBe(fileSize)
  expect(Math.max(...upload.chunks)).toBeLessThan(fileSize / 16)
  // What went through putStream is what is stored, and that is valid Parquet with every row in order.
  expect(createHash('sha256').update(stored).digest('hex')).toBe(upload.sha256)
  const rows = await readTable(catalog, { namespace: 'zombi', name: 'events' })
  expect(rows.map((row) => row.sequence)).toEqual(values.map((_, i) => i))
  expect(rows.map((row) => row.payload)).toEqual(values)
})

test.each([0, 1])('an upload failing mid-way fails the flush, leaves no file and no commit; the next flush commits every record once (workers: %i)', async (workers) => {
  const { root, store } = await localStore()
  const catalog = new FilesystemCatalog(store)
  const log = await TestLog.open()
  const values = await fill(log, 16, 64, 1024)
  const flusher = newFlusher(log, catalog, workers, 64 * 1024)
  store.failAfterChunks = 3
  await expect(flusher.flush('events')).rejects.toThrow(/upload failed mid-way/)
  expect(await catalog.loadTable({ namespace: 'zombi', name: 'events' })).toBeNull()
  expect(await filesUnder(root)).toEqual([])
  expect(flusher.failing()).toMatchObject([{ topic: 'events', failures: 1 }])
  // The same pool (its one worker, if any) takes the retry: the failed job let go of it.
  const summary = await flusher.flush('events')
  expect(summary).toMatchObject({ rows: values.length, snapshots: 1 })
  const rows = await readTable(catalog, { namespace: 'zombi', name: 'events' })
  expect(rows.map((row) => row.payload)).toEqual(values)
  const loaded = await catalog.loadTable({ namespace: 'zombi', name: 'events' })
  expect(loaded!.metadata.snapshots.map((snapshot) => snapshot.summary['zombi.offsets.0'])).toEqual([`0-${values.length - 1}`])
})

test('an encoder failing mid-file aborts the upload: putStream fails and leaves nothing behind', async () => {
  const { root, store } = await localStore()
  const run = new EncodeRun()
  run.push({ kind: 'begin', eventDate: 19_000, eventHour: 3 })
  run.push({ kind: 'chunk', bytes: new Uint8Array(1000) })
  run.push({ kind: 'chunk', bytes: new Uint8Array(1000) })
  run.push({ kind: 'error', error: new Error('encoder died') })
  const file = (await run.nextFile())!
  await expect(store.putStream('t/data/x.parquet', file.chunks())).rejects.toThrow(/encoder died/)
  expect(await filesUnder(root)).toEqual([])
})

test('the credit window holds the sender back until enough is taken, and a failure releases it with the error', async () => {
  const credit = new Credit(1000)
  expect(credit.sent(600)).toBeUndefined()
  const waiting = credit.sent(600)
  expect(waiting).toBeInstanceOf(Promise)
  let released = false
  void waiting!.then(() => {
    released = true
  })
  credit.taken(100)
  await Promise.resolve()
  expect(released).toBe(false)
  credit.taken(600)
  await waiting
  expect(released).toBe(true)
  const blocked = credit.sent(1000)
  credit.fail(new Error('store gone'))
  await expect(blocked).rejects.toThrow('store gone')
  expect(() => credit.check()).toThrow('store gone')
})

test('cancelled encodes on this thread do not grow wasm memory per failure', async () => {
  const { store } = await localStore()
  const catalog = new FilesystemCatalog(store)
  const log = await TestLog.open()
  await fill(log, 8, 64, 1024)
  const flusher = newFlusher(log, catalog, 0, 32 * 1024)
  const fail = async (): Promise<void> => {
    store.failAfterChunks = 4
    await expect(flusher.flush('events')).rejects.toThrow(/upload failed mid-way/)
  }
  for (let i = 0; i < 5; i++) await fail()
  const warmedUp = parquet.wasmMemory().buffer.byteLength
  for (let i = 0; i < 20; i++) await fail()
  expect(parquet.wasmMemory().buffer.byteLength).toBe(warmedUp)
})
