// Hot retention end to end: segments go only once their records are in Iceberg, the hot log's start
// moves (metrics, ListOffsets EARLIEST_LOCAL) while Kafka clients still see the table's first offset
// as the log start and read below the hot log from the table (cold-kafka-reads.test.ts covers that
// with more clients), the Iceberg table holds every record, HTTP reads below the start come back
// from the table, and the new start survives a restart.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, kcatConsume } from './fixtures/kcat.ts'
import { readRows, tableDir } from '../iceberg/readers.ts'
import { fetchAt, listOffset } from './fixtures/log-probes.ts'

const RECORDS = 4000
const VALUE_BYTES = 1000
let broker: Broker

beforeAll(async () => {
  broker = await startBroker({
    ZOMBI_SEGMENT_BYTES: String(1024 * 1024),
    ZOMBI_HOT_RETENTION_MS: '0',
    ZOMBI_HOT_RETENTION_CHECK_SECS: '1',
    // Flushed only when the test asks, so "unflushed" is a state it controls.
    ZOMBI_FLUSH_INTERVAL_SECS: '0',
  })
})

afterAll(async () => {
  await broker?.cleanup()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function segmentFiles(): Promise<string[]> {
  return (await readdir(join(broker.dataDir, 'log'))).filter((name) => name.endsWith('.seg'))
}

async function offsets(topic: string): Promise<{ low: number; high: number }> {
  const admin = new Kafka({ clientId: 'zombi-e2e-retention', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [partition] = await admin.fetchTopicOffsets(topic)
    return { low: Number(partition!.low), high: Number(partition!.high) }
  } finally {
    await admin.disconnect()
  }
}

test('flushed segments leave the hot log; Kafka clients still read from the table\'s first offset and Iceberg keeps every record', async () => {
  const topic = uniqueTopic('hot-retention')
  const value = (i: number): string => `${String(i).padStart(6, '0')}${'x'.repeat(VALUE_BYTES - 6)}`
  // Record 0 carries a key and a header, to see them come back from Iceberg.
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-K', ':', '-H', 'h1=v1', ...kcatCommonArgs], { input: `k0:${value(0)}\n` })
  const input = Array.from({ length: RECORDS - 1 }, (_, i) => value(i + 1)).join('\n') + '\n'
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', ...kcatCommonArgs], { input })
  expect((await segmentFiles()).length).toBeGreaterThanOrEqual(4)

  // Retention 0 and checks every second, but nothing is flushed yet: nothing may go.
  await sleep(2500)
  expect(await offsets(topic)).toEqual({ low: 0, high: RECORDS })
  expect((await segmentFiles()).length).toBeGreaterThanOrEqual(4)

  const flushed = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
  expect(flushed.status).toBe(200)
  // A retention pass deletes the flushed segments one after the other: wait for all of them, not the first.
  let low = 0
  for (let i = 0; i < 100 && (low === 0 || (await segmentFiles()).length > 2); i++) {
    await sleep(100)
    low = await listOffset(broker, topic, -4)
  }
  low = await listOffset(broker, topic, -4)
  expect(low).toBeGreaterThan(0)
  expect(low).toBeLessThan(RECORDS)
  expect((await segmentFiles()).length).toBeLessThanOrEqual(2)

  // Kafka view: the log start is the table's first offset; Fetch below the hot log is served from the
  // table; a consumer from the beginning reads every record. Past the high watermark is out of range.
  expect(await offsets(topic)).toEqual({ low: 0, high: RECORDS })
  expect(await fetchAt(broker, topic, 0)).toMatchObject({ errorCode: ErrorCode.NONE, logStartOffset: 0 })
  expect((await fetchAt(broker, topic, low)).errorCode).toBe(ErrorCode.NONE)
  expect(await fetchAt(broker, topic, RECORDS + 1)).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 0 })
  const consumed = await kcatConsume(broker.bootstrap, topic, { partition: 0 })
  expect(consumed.map((record) => record.offset)).toEqual(Array.from({ length: RECORDS }, (_, i) => i))
  expect(consumed.map((record) => record.value?.toString())).toEqual(Array.from({ length: RECORDS }, (_, i) => value(i)))
  expect(consumed[0]).toMatchObject({ key: Buffer.from('k0'), headers: 'h1=v1' })

  // Iceberg view: every record, exactly once.
  const rows = await readRows(tableDir(broker.dataDir, topic), 'duckdb')
  expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: RECORDS }, (_, i) => i))
  expect(rows.map((row) => Buffer.from(row.payload, 'base64').toString())).toEqual(Array.from({ length: RECORDS }, (_, i) => value(i)))

  // HTTP view: reads below the log start come back from the Iceberg table, then go on in the hot log.
  const stream = async (offset: number, limit: number): Promise<{ events: Array<{ offset: number; payload: string; key: string | null; headers: Record<string, string | null> }>; next_offset: number; has_more: boolean }> => {
    const response = await fetch(`${broker.httpUrl}/tables/${topic}/stream?partition=0&offset=${offset}&limit=${limit}`)
    expect(response.status).toBe(200)
    return (await response.json()) as never
  }
  const cold = await stream(0, 10)
  expect(cold.events.map((event) => event.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i))
  expect(cold.events.map((event) => event.payload)).toEqual(Array.from({ length: 10 }, (_, i) => value(i)))
  expect(cold.events[0]).toMatchObject({ key: 'k0', headers: { h1: 'v1' } })
  expect([cold.next_offset, cold.has_more]).toEqual([10, true])
  const across = await stream(low - 3, 6)
  expect(across.events.map((event) => event.offset)).toEqual([low - 3, low - 2, low - 1, low, low + 1, low + 2])
  expect(across.events.map((event) => event.payload)).toEqual(across.events.map((event) => value(event.offset)))
  expect(across.next_offset).toBe(low + 3)
  const since = await fetch(`${broker.httpUrl}/tables/${topic}?since=0&limit=5`)
  expect(((await since.json()) as { records: Array<{ offset: number }> }).records.map((record) => record.offset)).toEqual([0, 1, 2, 3, 4])

  // Metrics: the hot log's size and segments, the moved start, and the commit behind it.
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  const sample = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN)
  expect(sample('zombi_hot_log_segments')).toBeLessThanOrEqual(2)
  expect(sample('zombi_hot_log_segments_deleted_total')).toBeGreaterThanOrEqual(3)
  expect(sample('zombi_hot_log_bytes')).toBeGreaterThan(0)
  expect(metrics).toContain(`zombi_partition_log_start_offset{topic="${topic}",partition="0"} ${low}`)
  expect(sample('zombi_iceberg_commit_latency_seconds_count')).toBeGreaterThanOrEqual(1)
  expect(sample('zombi_flush_rows_total')).toBeGreaterThanOrEqual(RECORDS)

  // The new start is durable; appends go on with dense offsets.
  await broker.restart()
  expect(await listOffset(broker, topic, -4)).toBe(low)
  expect(await offsets(topic)).toEqual({ low: 0, high: RECORDS })
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', ...kcatCommonArgs], { input: 'after-restart\n' })
  const tail = await kcatConsume(broker.bootstrap, topic, { partition: 0, offset: String(RECORDS) })
  expect(tail.map((record) => [record.offset, record.value?.toString()])).toEqual([[RECORDS, 'after-restart']])
})
