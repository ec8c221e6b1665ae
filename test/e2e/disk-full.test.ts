// A full disk is an error answer, not an exit: the real broker with its data dir on a small tmpfs,
// filled up by a file beside it. Produce gets KAFKA_STORAGE_ERROR (not a dropped connection), every
// acknowledged record is read back with dense offsets, HTTP writes get 507, /health/ready names the
// disk, producing resumes by itself once space returns, and a broker started on a disk with 0 bytes
// free comes up and serves reads.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { readPartition } from './fixtures/platformatic.ts'

const MB = 1024 * 1024
const TMPFS_MB = 48
/** The broker keeps 8 MB free (4 MB of it in its reserve file). */
const FLOOR_MB = 8
const RECORDS_PER_SEND = 50
const VALUE_BYTES = 1000

const mountPoint = await mkdtemp(join(tmpdir(), 'zombi-disk-full-'))
let mounted = false
let skipReason: string | null = null
if (process.getuid?.() !== 0) {
  skipReason = 'mounting a tmpfs needs root'
} else {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m`, 'tmpfs', mountPoint], { stdio: 'pipe' })
    mounted = true
  } catch (error) {
    skipReason = `mount -t tmpfs failed: ${(error as Error).message.trim()}`
  }
}
if (skipReason !== null) console.warn(`test/e2e/disk-full.test.ts is skipped: ${skipReason}`)

const warehouse = await mkdtemp(join(tmpdir(), 'zombi-disk-full-warehouse-'))
let broker: Broker | undefined

afterAll(async () => {
  await broker?.cleanup()
  if (mounted) execFileSync('umount', [mountPoint])
  await rm(mountPoint, { recursive: true, force: true })
  await rm(warehouse, { recursive: true, force: true })
})

function freeBytes(): number {
  const stats = fs.statfsSync(mountPoint)
  return stats.bavail * stats.bsize
}

/** Writes a file of zeros on the tmpfs: `bytes` of it, or until the disk is full (then down to the last byte). */
function fill(path: string, bytes = Number.POSITIVE_INFINITY): void {
  const fd = fs.openSync(path, 'w')
  const chunk = Buffer.alloc(MB)
  try {
    for (let written = 0; written < bytes;) written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
    try {
      for (;;) fs.writeSync(fd, chunk, 0, 1)
    } catch (last) {
      if ((last as NodeJS.ErrnoException).code !== 'ENOSPC') throw last
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** The Kafka error type of a failed send (kafkajs wraps it when it gives up retrying), or the message. */
function failureOf(error: unknown): string {
  for (let e = error as { type?: string; originalError?: unknown; cause?: unknown; message?: string } | undefined; e !== undefined && e !== null;) {
    if (typeof e.type === 'string' && e.type !== 'KAFKAJS_NUMBER_OF_RETRIES_EXCEEDED') return e.type
    e = (e.originalError ?? e.cause) as typeof e | undefined
  }
  return String((error as Error).message)
}

class Acked {
  /** Value of every acknowledged record, by offset. */
  readonly values = new Map<number, string>()
  #next = 0

  value(): string {
    return `record-${this.#next++}-`.padEnd(VALUE_BYTES, 'x')
  }

  /** One send of RECORDS_PER_SEND records: 'ok', or why it failed. */
  async send(producer: Producer, topic: string): Promise<string> {
    const values = Array.from({ length: RECORDS_PER_SEND }, () => this.value())
    try {
      const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ partition: 0, value })) })
      if (result === undefined || result.errorCode !== 0) return `error code ${result?.errorCode}`
      const base = Number(result.baseOffset)
      values.forEach((value, i) => this.values.set(base + i, value))
      return 'ok'
    } catch (error) {
      return failureOf(error)
    }
  }
}

async function expectEveryAckedRecordReadBack(acked: Acked, topic: string): Promise<void> {
  const contents = await readPartition(broker!.bootstrap, topic, 0, { timeoutMs: 60_000 })
  // Dense from 0, exactly the acknowledged records and nothing else.
  expect(contents.highWatermark).toBe(acked.values.size)
  expect(contents.records.map((r) => r.offset)).toEqual([...acked.values.keys()].sort((a, b) => a - b))
  for (const record of contents.records) expect(record.value?.toString()).toBe(acked.values.get(record.offset))
}

/** Waits until the broker's free-space estimate (its metric) is under `bytes`. */
async function diskFreeBelow(bytes: number): Promise<void> {
  let free = Number.POSITIVE_INFINITY
  for (let attempt = 0; attempt < 300 && !(free < bytes); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100))
    const metrics = await (await fetch(`${broker!.httpUrl}/metrics`)).text()
    free = Number(/^zombi_hot_log_disk_free_bytes (\d+)$/m.exec(metrics)?.[1])
  }
  expect(free).toBeLessThan(bytes)
}

async function readiness(): Promise<{ status: number; body: { components: Record<string, { ok: boolean; detail?: string }> } }> {
  const response = await fetch(`${broker!.httpUrl}/health/ready`)
  return { status: response.status, body: (await response.json()) as { components: Record<string, { ok: boolean; detail?: string }> } }
}

async function metric(name: string): Promise<number> {
  const metrics = await (await fetch(`${broker!.httpUrl}/metrics`)).text()
  const escaped = name.replace(/[{}]/g, (c) => `\\${c}`)
  return Number(new RegExp(`^${escaped} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0)
}

/** Stops the broker of a describe block and removes its data dir from the tmpfs. */
async function removeBroker(): Promise<void> {
  if (broker === undefined) return
  await broker.cleanup()
  await rm(broker.dataDir, { recursive: true, force: true })
  broker = undefined
}

describe.skipIf(skipReason !== null)(`broker on a full disk (${TMPFS_MB} MB tmpfs, ZOMBI_MIN_FREE_DISK_MB=${FLOOR_MB})`, () => {
  const topic = uniqueTopic('disk-full')
  const acked = new Acked()
  const filler = join(mountPoint, 'filler')
  let kafka: Kafka
  let producer: Producer

  afterAll(removeBroker)

  it('answers produce with KAFKA_STORAGE_ERROR once the disk is full, keeps running and reads back every acknowledged record', async () => {
    broker = await startBroker({
      ZOMBI_DATA_DIR: join(mountPoint, 'data'),
      ZOMBI_MIN_FREE_DISK_MB: String(FLOOR_MB),
      ZOMBI_SEGMENT_BYTES: String(4 * MB),
      // Iceberg on a normal disk and flushed only at shutdown: this test is about the hot log's disk.
      ZOMBI_WAREHOUSE: warehouse,
      ZOMBI_FLUSH_INTERVAL_SECS: '0',
    })
    // About 16 MB left for the broker: its reserve file is made at start, so appends stop near 4 MB free.
    fill(filler, Math.max(0, freeBytes() - 16 * MB))
    // Produce only once the broker has measured the filler (every second): then the floor refuses,
    // rather than a write failing on the full disk (that path has its own test below).
    await diskFreeBelow(24 * MB)
    kafka = new Kafka({ clientId: 'zombi-e2e-disk-full', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } })
    await producer.connect()

    let outcome = 'ok'
    let sends = 0
    for (; outcome === 'ok' && sends < 10_000; sends++) outcome = await acked.send(producer, topic)
    expect(outcome).toBe('KAFKA_STORAGE_ERROR')
    // Refused again and again on the same connection, never a dropped connection or a time-out.
    const refusals = [outcome]
    for (let i = 0; i < 5; i++) refusals.push(await acked.send(producer, topic))
    expect(refusals).toEqual(Array(6).fill('KAFKA_STORAGE_ERROR'))
    console.log(`disk-full e2e: ${acked.values.size} records acked in ${sends - 1} sends, then ${refusals.length} sends refused at ${(freeBytes() / MB).toFixed(1)} MB free`)

    expect((await fetch(`${broker.httpUrl}/health/live`)).status).toBe(200)
    await expectEveryAckedRecordReadBack(acked, topic)
  })

  it('refuses HTTP writes with 507, reports the disk in /health/ready, and keeps HTTP reads and group offsets working', async () => {
    // Larger than any space the broker's own housekeeping can free meanwhile (LevelDB replacing its write-ahead
    // log with a table file frees up to a few MB): the floor refuses what does not fit, and a write only as large
    // as the refused Kafka send could fit again after such a cleanup (seen on a loaded machine).
    const payload = 'h'.repeat(RECORDS_PER_SEND * VALUE_BYTES)
    const events = Array.from({ length: 160 }, () => ({ payload, partition: 0 }))
    const write = await fetch(`${broker!.httpUrl}/tables/${topic}/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) })
    expect(write.status).toBe(507)
    expect(write.headers.get('retry-after')).toBe('1')
    expect(await write.json()).toMatchObject({ error: 'insufficient_storage' })

    const ready = await readiness()
    expect(ready.status).toBe(503)
    expect(ready.body.components.hot_storage).toEqual({ ok: false, detail: expect.stringMatching(new RegExp(`^disk full: [\\d.]+ MB free, floor ${FLOOR_MB} MB$`)) })
    const health = await fetch(`${broker!.httpUrl}/health`)
    expect(health.status).toBe(503)

    const stream = await fetch(`${broker!.httpUrl}/tables/${topic}/stream?partition=0&offset=0&limit=3`)
    expect(stream.status).toBe(200)
    expect(((await stream.json()) as { events: unknown[] }).events).toHaveLength(3)
    // Group offsets are state rows: they go into the space the floor keeps.
    const commit = await fetch(`${broker!.httpUrl}/consumers/full-group/commit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic, partition: 0, offset: 42 }) })
    expect(commit.status).toBe(200)
    const offset = await fetch(`${broker!.httpUrl}/consumers/full-group/offset?topic=${topic}&partition=0`)
    expect(await offset.json()).toMatchObject({ offset: 42 })

    const metrics = await (await fetch(`${broker!.httpUrl}/metrics`)).text()
    expect(Number(/^zombi_produce_refused_total\{reason="disk_full"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(6)
    expect(Number(/^zombi_hot_log_disk_free_bytes (\d+)$/m.exec(metrics)?.[1])).toBeLessThan((FLOOR_MB + 1) * MB)
  })

  it('accepts produce again by itself once space returns, with offsets going on densely', async () => {
    fs.rmSync(filler)
    const freedAt = performance.now()
    let outcome = ''
    for (let attempt = 0; attempt < 300 && outcome !== 'ok'; attempt++) {
      outcome = await acked.send(producer, topic)
      if (outcome === 'ok') break
      expect(outcome).toBe('KAFKA_STORAGE_ERROR')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(outcome).toBe('ok')
    console.log(`disk-full e2e: produce accepted again ${Math.round(performance.now() - freedAt)} ms after the filler was deleted`)
    // Readiness follows the broker's disk check (every second); a send that fitted may come before it.
    let ready = await readiness()
    for (let attempt = 0; attempt < 50 && ready.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      ready = await readiness()
    }
    expect(ready.status).toBe(200)
    await expectEveryAckedRecordReadBack(acked, topic)
    await producer.disconnect()
  })

  it('starts on a disk with 0 bytes free and serves every acknowledged record', async () => {
    await broker!.stop()
    fill(filler)
    expect(freeBytes()).toBe(0)
    await broker!.restart()
    // Its reserve file went so the index could open; the disk is still full.
    expect(fs.existsSync(join(mountPoint, 'data', 'reserved-space'))).toBe(false)
    await expectEveryAckedRecordReadBack(acked, topic)
    const ready = await readiness()
    expect(ready.status).toBe(503)
    expect(ready.body.components.hot_storage?.detail).toMatch(/^disk full: /)
    const again = new Kafka({ clientId: 'zombi-e2e-disk-full-2', brokers: [broker!.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    const late = again.producer({ retry: { retries: 0 } })
    await late.connect()
    expect(await acked.send(late, topic)).toBe('KAFKA_STORAGE_ERROR')
    await late.disconnect()
    fs.rmSync(filler)
  })
})

describe.skipIf(skipReason !== null)('broker whose write fails on a disk filled behind its back (ZOMBI_MIN_FREE_DISK_MB=0)', () => {
  const topic = uniqueTopic('disk-full-rollback')
  const acked = new Acked()
  const filler = join(mountPoint, 'filler')

  afterAll(async () => {
    fs.rmSync(filler, { force: true })
    await removeBroker()
  })

  it('rolls the failed write back, answers KAFKA_STORAGE_ERROR, keeps every acknowledged record and resumes once space returns', async () => {
    // No floor and no reserve: only the rollback stands between a failed write and a lost broker.
    broker = await startBroker({
      ZOMBI_DATA_DIR: join(mountPoint, 'data-no-floor'),
      ZOMBI_MIN_FREE_DISK_MB: '0',
      ZOMBI_SEGMENT_BYTES: String(4 * MB),
      ZOMBI_WAREHOUSE: warehouse,
      ZOMBI_FLUSH_INTERVAL_SECS: '0',
    })
    const kafka = new Kafka({ clientId: 'zombi-e2e-disk-full-rollback', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } })
    await producer.connect()
    for (let i = 0; i < 20; i++) expect(await acked.send(producer, topic)).toBe('ok')

    // Filled to the last byte, then a send at once: the broker measured free space up to a second ago,
    // so the write goes to the disk and fails there. Should its once-a-second measurement land in between
    // (the floor then refuses the send before writing), free the disk and try again.
    let rolledBack = 0
    for (let attempt = 0; attempt < 5 && rolledBack === 0; attempt++) {
      fill(filler)
      expect(await acked.send(producer, topic)).toBe('KAFKA_STORAGE_ERROR')
      rolledBack = await metric('zombi_produce_refused_total{reason="rolled_back"}')
      if (rolledBack === 0) {
        fs.rmSync(filler)
        // Until the broker has measured the free space again (and accepts writes), the next fill waits.
        await new Promise((resolve) => setTimeout(resolve, 1500))
      }
    }
    expect(rolledBack).toBeGreaterThan(0)
    for (let i = 0; i < 3; i++) expect(await acked.send(producer, topic)).toBe('KAFKA_STORAGE_ERROR')
    expect((await fetch(`${broker.httpUrl}/health/live`)).status).toBe(200)
    expect((await readiness()).body.components.hot_storage?.detail).toMatch(/^disk full: /)
    await expectEveryAckedRecordReadBack(acked, topic)
    console.log(`disk-full e2e (no floor): ${acked.values.size} records acked, ${rolledBack} send(s) rolled back after failing on the full disk`)

    fs.rmSync(filler)
    let outcome = ''
    for (let attempt = 0; attempt < 300 && outcome !== 'ok'; attempt++) {
      outcome = await acked.send(producer, topic)
      if (outcome !== 'ok') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(outcome).toBe('ok')
    await expectEveryAckedRecordReadBack(acked, topic)
    await producer.disconnect()
  })
})
