// A topic's retention.ms governs its Iceberg table: a topic created with retention.ms (kafkajs admin)
// loses the files whose records are older, and Kafka's view follows: ListOffsets earliest moves to
// the first kept offset and a Fetch below it answers OFFSET_OUT_OF_RANGE, as Kafka does after retention;
// /metrics counts the files and rows retention removed. retention.ms also acts on records still in the
// hot log (never flushed, never deleted by hot retention): Kafka and HTTP readers stop seeing them.
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readRows, tableDir } from '../iceberg/readers.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, produceRecords } from './fixtures/produced.ts'
import { fetchAt, listOffset } from './fixtures/log-probes.ts'

const OLD = 1000
const NEW = 2000
const DAY = 86_400_000
let broker: Broker
let unflushed: Broker | undefined

beforeAll(async () => {
  broker = await startBroker({
    ZOMBI_SEGMENT_BYTES: String(1024 * 1024),
    ZOMBI_HOT_RETENTION_MS: '0',
    ZOMBI_HOT_RETENTION_CHECK_SECS: '1',
    ZOMBI_FLUSH_INTERVAL_SECS: '0',
    // Topic retention runs in each expiry pass.
    ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '1',
  })
})

afterAll(async () => {
  await broker?.cleanup()
  await unflushed?.cleanup()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The counters topic retention exposes in /metrics. */
async function retentionMetrics(): Promise<{ files: number; rows: number; failures: number }> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  const value = (name: string): number => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `))
    if (line === undefined) throw new Error(`${name} is not in /metrics`)
    return Number(line.slice(name.length + 1))
  }
  return { files: value('zombi_iceberg_retention_files_deleted_total'), rows: value('zombi_iceberg_retention_rows_deleted_total'), failures: value('zombi_iceberg_expiry_failures_total') }
}

/** Creates `topic` with one partition and retention.ms of a day. */
async function createWithDayRetention(on: Broker, topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'topic-retention', brokers: [on.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(DAY) }] }] })
  } finally {
    await admin.disconnect()
  }
}

test('records older than retention.ms leave the table; ListOffsets earliest moves to the first kept offset and Fetch below it is out of range', async () => {
  // Nothing was past any retention before this topic.
  expect(await retentionMetrics()).toEqual({ files: 0, rows: 0, failures: 0 })
  const topic = uniqueTopic('topic-retention')
  await createWithDayRetention(broker, topic)
  const now = Date.now()
  const value = (i: number): string => b64(`${String(i).padStart(6, '0')}${'v'.repeat(900)}`)
  // Three days old, then current: they land in files of different hour partitions.
  const records = Array.from({ length: OLD + NEW }, (_, i) => ({ partition: 0, key: null, value: value(i), headers: [], timestamp: i < OLD ? now - 3 * DAY + i : now + i }))
  const produced = await produceRecords(broker, topic, records)
  expect(produced.map((p) => p.offset)).toEqual(records.map((_, i) => i))
  expect((await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })).status).toBe(200)

  // Hot retention deletes the flushed segments: the old records then live only in the table.
  let hotStart = 0
  for (let i = 0; i < 300 && hotStart <= OLD; i++) {
    await sleep(100)
    hotStart = await listOffset(broker, topic, -4)
  }
  expect(hotStart).toBeGreaterThan(OLD)
  let earliest = -1
  for (let i = 0; i < 300 && earliest !== OLD; i++) {
    earliest = await listOffset(broker, topic, -2)
    if (earliest !== OLD) await sleep(100)
  }
  expect(earliest).toBe(OLD)
  expect(await fetchAt(broker, topic, OLD - 1)).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: OLD })
  expect(await fetchAt(broker, topic, 0)).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: OLD })
  const kept = await fetchAt(broker, topic, OLD)
  expect(kept).toMatchObject({ errorCode: ErrorCode.NONE, logStartOffset: OLD })
  expect(kept.bytes).toBeGreaterThan(0)
  // What SQL engines read: the current records only.
  const rows = await readRows(tableDir(broker.dataDir, topic), 'duckdb')
  expect(rows.map((row) => row.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: NEW }, (_, i) => OLD + i))
  // One flush wrote a file per hour partition: the old records' hours are the files retention removed, their rows the rows.
  const oldHours = new Set(records.slice(0, OLD).map((record) => Math.floor(record.timestamp / 3_600_000))).size
  expect(await retentionMetrics()).toEqual({ files: oldHours, rows: OLD, failures: 0 })
  // Later passes find nothing more to remove: the counters stay.
  await sleep(2500)
  expect(await retentionMetrics()).toEqual({ files: oldHours, rows: OLD, failures: 0 })
}, 180_000)

test('records older than retention.ms that are still in the hot log are no longer served to Kafka or HTTP readers', async () => {
  // No flush and no hot retention: the records stay in the hot log, only topic retention can move the log start.
  unflushed = await startBroker({ ZOMBI_HOT_RETENTION_MS: '-1', ZOMBI_HOT_RETENTION_CHECK_SECS: '1', ZOMBI_FLUSH_INTERVAL_SECS: '0', ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '0' })
  const topic = uniqueTopic('hot-topic-retention')
  await createWithDayRetention(unflushed, topic)
  const now = Date.now()
  const record = (i: number, timestamp: number) => ({ partition: 0, key: null, value: b64(`record-${i}`), headers: [], timestamp })
  // Two producer runs, so the old and the current records never share a batch.
  await produceRecords(unflushed, topic, Array.from({ length: 50 }, (_, i) => record(i, now - 3 * DAY + i)))
  await produceRecords(unflushed, topic, Array.from({ length: 20 }, (_, i) => record(50 + i, now + i)))
  let earliest = -1
  for (let i = 0; i < 100 && earliest !== 50; i++) {
    earliest = await listOffset(unflushed, topic, -2)
    if (earliest !== 50) await sleep(100)
  }
  expect(earliest).toBe(50)
  expect(await listOffset(unflushed, topic, -1)).toBe(70)
  expect(await fetchAt(unflushed, topic, 49)).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 50 })
  expect(await fetchAt(unflushed, topic, 50)).toMatchObject({ errorCode: ErrorCode.NONE, logStartOffset: 50 })
  const below = await fetch(`${unflushed.httpUrl}/tables/${topic}/stream?partition=0&offset=0&limit=10`)
  expect([below.status, await below.json()]).toEqual([400, { error: 'offset_out_of_range', message: 'offset 0 is below the log start offset 50' }])
  const since = await (await fetch(`${unflushed.httpUrl}/tables/${topic}?since=0&limit=100`)).json() as { count: number }
  expect(since.count).toBe(20)
}, 120_000)
