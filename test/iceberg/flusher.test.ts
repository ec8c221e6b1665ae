import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, test } from 'vitest'
import { type Catalog, type LoadedTable, type TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import type { TableMetadata } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { ZombiError } from '../../src/errors.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { TestLog, base } from './test-log.ts'
import { ATTR_TRANSACTIONAL } from '../../src/protocol/record-batch.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { readTable } from './table-reader.ts'

/** A catalog whose next commits fail after writing nothing (a crash between data files and commit). */
class FailingCatalog extends FilesystemCatalog {
  failures = 0
  override async commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable> {
    if (this.failures > 0) {
      this.failures--
      throw new Error('crash before the commit')
    }
    return super.commit(id, base, metadata)
  }
}

/**
 * A store whose commit writes land but lose their answer (as S3 behind a reset connection), and whose
 * reads or version-hint writes can be made to fail for a while (the store still down).
 */
class LosingStore extends MemoryObjectStore {
  lostCommitAnswers = 0
  /** Reads failing after a lost commit answer. */
  readFailuresAfterLoss = 0
  hintFailures = 0
  #readFailures = 0

  override async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const created = await super.putIfAbsent(key, body)
    if (this.lostCommitAnswers > 0 && key.endsWith('.metadata.json')) {
      this.lostCommitAnswers--
      this.#readFailures = this.readFailuresAfterLoss
      throw new ZombiError('OBJECT_STORE_UNAVAILABLE', `PutObject ${key} failed after 3 attempts: ECONNRESET`)
    }
    return created
  }

  override async put(key: string, body: Uint8Array): Promise<void> {
    if (this.hintFailures > 0 && key.endsWith('version-hint.text')) {
      this.hintFailures--
      throw new ZombiError('OBJECT_STORE_UNAVAILABLE', `PutObject ${key} failed after 3 attempts: HTTP 503 SlowDown`)
    }
    return super.put(key, body)
  }

  override async get(key: string): Promise<Buffer | null> {
    if (this.#readFailures > 0) {
      this.#readFailures--
      throw new ZombiError('OBJECT_STORE_UNAVAILABLE', `GetObject ${key} failed after 3 attempts: HTTP 500`)
    }
    return super.get(key)
  }
}

const flushers: Flusher[] = []
afterEach(async () => {
  for (const flusher of flushers.splice(0)) await flusher.close().catch(() => undefined)
})

function newFlusher(log: TestLog, catalog: Catalog, options: { workers?: number; targetFileBytes?: number; intervalMs?: number; policy?: 'replace' | 'continue'; checkIntervalMs?: number } = {}): Flusher {
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(options.workers ?? 0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: options.targetFileBytes ?? 1 << 20, intervalMs: options.intervalMs ?? 0, recreatedTopicPolicy: options.policy ?? 'replace',
    checkIntervalMs: options.checkIntervalMs ?? 60_000,
  })
  flushers.push(flusher)
  return flusher
}

const table = (name: string): TableIdentifier => ({ namespace: 'zombi', name })

describe('Flusher', () => {
  test('flush(topic) commits every partition up to the high watermark and records the flushed offsets', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 2)
    await log.add(topic, 0, ['a', 'b'])
    await log.add(topic, 1, ['c'])
    await log.add(topic, 0, ['d'])
    const flusher = newFlusher(log, catalog)
    await flusher.start()
    const summary = await flusher.flush('events')
    expect(summary).toMatchObject({ rows: 4, snapshots: 1, flushedOffsets: { 0: 3, 1: 1 } })
    expect((await readTable(catalog, table('events'))).map((row) => [row.partition, row.sequence, row.payload])).toEqual([[0, 0, 'a'], [0, 1, 'b'], [0, 2, 'd'], [1, 0, 'c']])
    expect(log.recorded.map(([, partition, offset]) => [partition, offset]).sort()).toEqual([[0, 3], [1, 1]])
    expect((await flusher.flush('events')).snapshots).toBe(0)
  })

  test('the table takes committed records only: it stops at the last stable offset and skips aborted batches and markers, its ranges covering them', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    const partition = topic.partitions[0]!
    const producerId = await log.allocateProducerId()
    let sequence = 0
    const transactional = async (values: string[]): Promise<void> => {
      const batch = encodeBatch(values.map((value) => ({ key: null, value: Buffer.from(value), timestamp: base })), { producerId, producerEpoch: 0, baseSequence: sequence, attributes: ATTR_TRANSACTIONAL })
      sequence += values.length
      expect((await log.append(topic, partition, batch)).errorCode).toBe(0)
    }
    await transactional(['a0', 'a1'])
    expect(await log.writeTransactionMarker(topic, partition, producerId, 0, true, 0)).toBeNull()
    await transactional(['b0'])
    expect(await log.writeTransactionMarker(topic, partition, producerId, 0, false, 0)).toBeNull()
    await transactional(['c0'])
    // a0 a1 | commit 2 | b0 | abort 4 | c0 (open): the last stable offset is 5.
    expect([partition.highWatermark, partition.lastStableOffset]).toEqual([6, 5])
    const flusher = newFlusher(log, catalog)
    await flusher.start()
    expect(await flusher.flush('events')).toMatchObject({ rows: 2, flushedOffsets: { 0: 5 } })
    expect(await log.writeTransactionMarker(topic, partition, producerId, 0, true, 0)).toBeNull()
    expect(await flusher.flush('events')).toMatchObject({ rows: 1, flushedOffsets: { 0: 7 } })
    expect((await readTable(catalog, table('events'))).map((row) => [row.sequence, row.payload])).toEqual([[0, 'a0'], [1, 'a1'], [5, 'c0']])
    const loaded = await catalog.loadTable(table('events'))
    expect(loaded!.metadata.snapshots.map((snapshot) => snapshot.summary['zombi.offsets.0'])).toEqual(['0-4', '5-6'])
  })

  test('failing() names a topic whose last flush failed, with the error, until a flush succeeds (cold storage health)', async () => {
    const log = await TestLog.open()
    const catalog = new FailingCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a'])
    const flusher = newFlusher(log, catalog)
    await flusher.start()
    catalog.failures = 1
    await expect(flusher.flush('events')).rejects.toThrow(/crash before the commit/)
    expect(flusher.failing()).toEqual([{ topic: 'events', failures: 1, error: 'crash before the commit' }])
    await flusher.flush('events')
    expect(flusher.failing()).toEqual([])
  })

  test('a crash after the commit but before the flushed offset is recorded does not write the rows again', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a', 'b', 'c'])
    log.failRecord = true
    await expect(newFlusher(log, catalog).flush('events')).rejects.toThrow(/crash before the flushed offset/)
    // The process restarts: the partition's flushed offset is still 0, in the store and in memory.
    expect(topic.partitions[0]!.flushedOffset).toBe(0)
    log.failRecord = false
    await log.add(topic, 0, ['d'])
    const restarted = newFlusher(log, catalog)
    await restarted.start()
    expect(topic.partitions[0]!.flushedOffset).toBe(3)
    expect(log.recorded).toEqual([[topic.id, 0, 3]])
    await restarted.flush('events')
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b', 'c', 'd'])
    const loaded = await catalog.loadTable(table('events'))
    expect(loaded!.metadata.snapshots.map((snapshot) => snapshot.summary['zombi.offsets.0'])).toEqual(['0-2', '3-3'])
  })

  test('a crash after writing data files but before the commit loses and duplicates nothing', async () => {
    const log = await TestLog.open()
    const store = new MemoryObjectStore()
    const catalog = new FailingCatalog(store)
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a', 'b'])
    catalog.failures = 1
    const flusher = newFlusher(log, catalog)
    await expect(flusher.flush('events')).rejects.toThrow(/crash before the commit/)
    expect(await catalog.loadTable(table('events'))).toBeNull()
    expect(await store.list('zombi/events/data/')).toEqual([])
    await flusher.flush('events')
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b'])
  })

  test('a commit racing another writer of the same range gives up its files instead of committing twice', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a', 'b'])
    // The first flusher commits, then fails to record it: the partition never learns about the commit (flushed offset 0).
    log.failRecord = true
    await expect(newFlusher(log, catalog).flush('events')).rejects.toThrow(/crash before the flushed offset/)
    log.failRecord = false
    expect(topic.partitions[0]!.flushedOffset).toBe(0)
    const summary = await newFlusher(log, catalog).flush('events')
    expect(summary.snapshots).toBe(0)
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b'])
  })

  test('a commit whose version hint cannot be written is still a commit: its files stay, its rows are flushed once', async () => {
    const log = await TestLog.open()
    const store = new LosingStore()
    const catalog = new FilesystemCatalog(store)
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a'])
    const flusher = newFlusher(log, catalog)
    await flusher.flush('events')
    await log.add(topic, 0, ['b', 'c'])
    store.hintFailures = 1
    expect((await flusher.flush('events')).snapshots).toBe(1)
    expect(flusher.failing()).toEqual([])
    await log.add(topic, 0, ['d'])
    await flusher.flush('events')
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b', 'c', 'd'])
  })

  test('a commit that landed with its answer lost is found in the table and counted once', async () => {
    const log = await TestLog.open()
    const store = new LosingStore()
    const catalog = new FilesystemCatalog(store)
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a', 'b'])
    const flusher = newFlusher(log, catalog)
    store.lostCommitAnswers = 1
    expect((await flusher.flush('events')).snapshots).toBe(1)
    expect(topic.partitions[0]!.flushedOffset).toBe(2)
    await log.add(topic, 0, ['c'])
    await flusher.flush('events')
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b', 'c'])
  })

  test('a commit whose outcome the store cannot tell keeps its files; the next flush finds it in the table and writes nothing twice', async () => {
    const log = await TestLog.open()
    const store = new LosingStore()
    const catalog = new FilesystemCatalog(store)
    const topic = await log.addTopic('events', 1)
    await log.add(topic, 0, ['a', 'b'])
    const flusher = newFlusher(log, catalog)
    store.lostCommitAnswers = 1
    store.readFailuresAfterLoss = 1
    await expect(flusher.flush('events')).rejects.toMatchObject({ code: 'CATALOG_COMMIT_UNKNOWN' })
    expect(flusher.failing()).toMatchObject([{ topic: 'events', failures: 1, error: expect.stringContaining('may have landed') }])
    expect(topic.partitions[0]!.flushedOffset).toBe(0)
    await log.add(topic, 0, ['c'])
    const summary = await flusher.flush('events')
    expect(summary.flushedOffsets).toEqual({ 0: 3 })
    expect(flusher.failing()).toEqual([])
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b', 'c'])
    const loaded = await catalog.loadTable(table('events'))
    expect(loaded!.metadata.snapshots.map((snapshot) => snapshot.summary['zombi.offsets.0'])).toEqual(['0-1', '2-2'])
  })

  test('a large backlog is flushed in bounded rounds, each a snapshot, every record once', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    for (let i = 0; i < 50; i++) await log.add(topic, 0, [`${i}`.padStart(200, '.')])
    const summary = await newFlusher(log, catalog, { targetFileBytes: 2048 }).flush('events')
    expect(summary.snapshots).toBeGreaterThan(3)
    const rows = await readTable(catalog, table('events'))
    expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  test('encoding runs in a worker thread', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 3)
    for (let p = 0; p < 3; p++) await log.add(topic, p, ['x', 'y'])
    const summary = await newFlusher(log, catalog, { workers: 2 }).flush('events')
    expect(summary.rows).toBe(6)
    expect(await readTable(catalog, table('events'))).toHaveLength(6)
  })

  test('the size trigger flushes once the unflushed bytes reach the target', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    const flusher = newFlusher(log, catalog, { targetFileBytes: 4096, checkIntervalMs: 20 })
    await flusher.start()
    await sleep(50) // the first check arms the append watch
    await log.add(topic, 0, ['small'])
    await sleep(300)
    expect(await catalog.loadTable(table('events'))).toBeNull()
    for (let i = 0; i < 10; i++) await log.add(topic, 0, ['x'.repeat(500)])
    for (let i = 0; i < 50 && topic.partitions[0]!.flushedOffset < 11; i++) await sleep(20)
    expect(topic.partitions[0]!.flushedOffset).toBe(11)
  })

  test('the size trigger counts the unflushed bytes of the whole topic, as a data file holds every partition', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 8)
    const flusher = newFlusher(log, catalog, { targetFileBytes: 4096, checkIntervalMs: 20 })
    await flusher.start()
    await sleep(50) // the first check arms the append watches
    // ~800 bytes per partition: no partition alone reaches the target, the topic does.
    for (let p = 0; p < 8; p++) await log.add(topic, p, ['x'.repeat(800)])
    for (let i = 0; i < 100 && topic.partitions.some((partition) => partition.flushedOffset < 1); i++) await sleep(20)
    expect(topic.partitions.map((partition) => partition.flushedOffset)).toEqual(Array(8).fill(1))
  })

  test('a busy partition is flushed over bounded rounds while the quiet ones all go in the first', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 6)
    for (let i = 0; i < 40; i++) await log.add(topic, 0, ['b'.repeat(200)])
    for (let p = 1; p < 6; p++) await log.add(topic, p, ['q'])
    const summary = await newFlusher(log, catalog, { targetFileBytes: 2048 }).flush('events')
    const snapshots = (await catalog.loadTable(table('events')))!.metadata.snapshots
    expect(summary.snapshots).toBe(snapshots.length)
    expect(snapshots.length).toBeGreaterThan(3)
    // Round one: the quiet partitions (smallest first) and what the budget leaves of the busy one, in one file.
    for (let p = 1; p < 6; p++) expect(snapshots[0]!.summary[`zombi.offsets.${p}`]).toBe('0-0')
    // Every round stays within a job's budget: about one target of stored bytes (plus one batch).
    for (const snapshot of snapshots) {
      expect(Number(snapshot.summary['added-data-files'])).toBe(1)
      const range = snapshot.summary['zombi.offsets.0']!.split('-').map(Number)
      expect(range[1]! - range[0]! + 1).toBeLessThanOrEqual(2048 / 200 + 1)
    }
    const rows = await readTable(catalog, table('events'))
    expect(rows.filter((row) => row.partition === 0).map((row) => row.sequence)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    expect(rows).toHaveLength(45)
  })

  test('with several encode workers a round runs one job per worker, each file holding several partitions', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 12)
    for (let p = 0; p < 12; p++) for (let i = 0; i < 4; i++) await log.add(topic, p, ['v'.repeat(200)])
    // ~1 KiB per partition, 4 KiB jobs: three or four partitions per file, two jobs per round.
    const summary = await newFlusher(log, catalog, { workers: 2, targetFileBytes: 4096 }).flush('events')
    expect(summary.rows).toBe(48)
    expect(summary.files).toBeLessThan(12)
    const snapshots = (await catalog.loadTable(table('events')))!.metadata.snapshots
    expect(snapshots.length).toBeLessThan(summary.files)
    const rows = await readTable(catalog, table('events'))
    expect(rows.map((row) => [row.partition, row.sequence])).toEqual(Array.from({ length: 48 }, (_, i) => [Math.floor(i / 4), i % 4]))
  })

  test('one partition with more workers than jobs is split between them, committed as one range, every record once', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    // 24 batches of 16 records of 8 KiB: 3 MiB, enough for two halves of at least 1 MiB.
    for (let b = 0; b < 24; b++) await log.add(topic, 0, Array.from({ length: 16 }, (_, i) => `${String(b * 16 + i).padStart(6, '0')}${'v'.repeat(8186)}`))
    const summary = await newFlusher(log, catalog, { workers: 2, targetFileBytes: 64 * 1024 * 1024 }).flush('events')
    expect(summary.rows).toBe(384)
    // Two jobs (one per worker) in one round: two files, one snapshot recording the partition's whole range.
    expect(summary.files).toBe(2)
    const snapshots = (await catalog.loadTable(table('events')))!.metadata.snapshots
    expect(snapshots).toHaveLength(1)
    expect(snapshots[0]!.summary['zombi.offsets.0']).toBe('0-383')
    const rows = await readTable(catalog, table('events'))
    expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: 384 }, (_, i) => i))
    expect(rows.map((row) => String(row.payload).slice(0, 6))).toEqual(Array.from({ length: 384 }, (_, i) => String(i).padStart(6, '0')))
    expect(topic.partitions[0]!.flushedOffset).toBe(384)
  })

  test('a split half after one that stopped short (decoded-bytes cap) is dropped, and the next round fills the gap: every record once', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    // gzip batches of two-letter noise (~6x smaller stored): a ~1.3 MiB stored half decodes past the job's
    // cap (twice the 3 MiB target), so the first half stops short and the second must not commit.
    let seed = 1
    const noise = (length: number): string => {
      let text = ''
      for (let i = 0; i < length; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        text += seed & 0x10000 ? 'a' : 'b'
      }
      return text
    }
    const count = 64 * 32
    for (let b = 0; b < 64; b++) await log.add(topic, 0, Array.from({ length: 32 }, (_, i) => `${String(b * 32 + i).padStart(6, '0')}${noise(8192)}`), base, 1)
    const summary = await newFlusher(log, catalog, { workers: 2, targetFileBytes: 3 * 1024 * 1024 }).flush('events')
    expect(summary.rows).toBe(count)
    const metadata = (await catalog.loadTable(table('events')))!.metadata
    const ranges = metadata.snapshots.map((snapshot) => snapshot.summary['zombi.offsets.0']!)
    // Ranges of successive snapshots join up and cover every offset once.
    let next = 0
    for (const range of ranges) {
      const [from, to] = range.split('-').map(Number)
      expect(from).toBe(next)
      next = to! + 1
    }
    expect(next).toBe(count)
    const rows = await readTable(catalog, table('events'))
    expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: count }, (_, i) => i))
    expect(rows.map((row) => String(row.payload).slice(0, 6))).toEqual(Array.from({ length: count }, (_, i) => String(i).padStart(6, '0')))
  })

  test('the interval trigger flushes records older than the interval', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    const flusher = newFlusher(log, catalog, { intervalMs: 100, checkIntervalMs: 20 })
    await flusher.start()
    await log.add(topic, 0, ['a'])
    for (let i = 0; i < 100 && topic.partitions[0]!.flushedOffset < 1; i++) await sleep(20)
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a'])
    expect(flusher.lag()).toEqual([{ topic: 'events', partition: 0, records: 0, ageMs: 0 }])
  })

  test('the interval trigger fires when the oldest record is due, not at the next periodic check', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    // The periodic check never runs within the test: only the due timer can start the flush.
    const flusher = newFlusher(log, catalog, { intervalMs: 200, checkIntervalMs: 600_000 })
    await flusher.start()
    await log.add(topic, 0, ['a'])
    await sleep(60)
    await log.add(topic, 0, ['b'])
    for (let i = 0; i < 250 && topic.partitions[0]!.flushedOffset < 2; i++) await sleep(20)
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b'])
    await log.add(topic, 0, ['c'])
    for (let i = 0; i < 250 && topic.partitions[0]!.flushedOffset < 3; i++) await sleep(20)
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['a', 'b', 'c'])
    await flusher.close()
  })

  test('close() makes a final flush', async () => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const topic = await log.addTopic('events', 1)
    const flusher = newFlusher(log, catalog)
    await flusher.start()
    await log.add(topic, 0, ['last words'])
    await flusher.close()
    expect((await readTable(catalog, table('events'))).map((row) => row.payload)).toEqual(['last words'])
  })

  test.each(['replace', 'continue'] as const)('a topic recreated with the same name (%s)', async (policy) => {
    const log = await TestLog.open()
    const catalog = new FilesystemCatalog(new MemoryObjectStore())
    const old = await log.addTopic('events', 1)
    await log.add(old, 0, ['old'])
    await newFlusher(log, catalog, { policy }).flush('events')
    const recreated = await log.addTopic('events', 1)
    await log.add(recreated, 0, ['new'])
    const flusher = newFlusher(log, catalog, { policy })
    await flusher.start()
    expect(recreated.partitions[0]!.flushedOffset).toBe(0)
    await flusher.flush('events')
    const rows = (await readTable(catalog, table('events'))).map((row) => row.payload)
    expect(rows).toEqual(policy === 'replace' ? ['new'] : ['new', 'old'])
    const loaded = await catalog.loadTable(table('events'))
    expect(loaded!.metadata.snapshots).toHaveLength(2)
    expect(loaded!.metadata.properties['zombi.topic-id']).toBe(recreated.id)
  })
})

test('a stale commit conflicts instead of overwriting', async () => {
  const catalog = new FilesystemCatalog(new MemoryObjectStore())
  const log = await TestLog.open()
  const topic = await log.addTopic('events', 1)
  await log.add(topic, 0, ['a'])
  await newFlusher(log, catalog).flush('events')
  const loaded = (await catalog.loadTable(table('events')))!
  await catalog.commit(table('events'), loaded, loaded.metadata)
  await expect(catalog.commit(table('events'), loaded, loaded.metadata)).rejects.toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
})
