// Kafka consumers behind the hot log: once hot retention deleted the segments of a topic, kcat,
// confluent-kafka, the Java consumer (kafka-clients 4.x, the driver of compat-tests/java) and a
// consumer group still read it from offset 0, byte-exact, from the Iceberg table (batches rebuilt
// from its rows), and ListOffsets answers earliest and by timestamp from it.
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readListOffsetsResponse, writeListOffsetsRequest } from '../../src/protocol/generated/list-offsets.ts'
import { javaCommand } from '../../compat-tests/java/family.ts'
import { repoRoot, startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcatConsume, report, runProcess } from './fixtures/kcat.ts'
import { b64, produceRecords, type Produced, type ToProduce } from './fixtures/produced.ts'
import { pythonJsonLines } from './fixtures/python.ts'
import { RawClient } from './fixtures/raw-client.ts'

const RECORDS = 3000
const BASE_TIMESTAMP = 1_750_000_000_000
const scripts = 'compat-tests/confluent-kafka-python'
let broker: Broker
let javaBuilt: Promise<void>

beforeAll(async () => {
  // The Java driver is built (Maven Central, cached in compat-tests/java/.deps; a no-op when built) while the topic is produced.
  javaBuilt = runProcess('bash', [join(repoRoot, 'compat-tests/java/setup.sh'), '4'], { timeoutMs: 600_000 }).then((setup) => {
    if (setup.code !== 0) throw new Error(`compat-tests/java/setup.sh failed\n${report(setup)}`)
  })
  javaBuilt.catch(() => {})
  broker = await startBroker({
    ZOMBI_SEGMENT_BYTES: String(1024 * 1024),
    ZOMBI_HOT_RETENTION_MS: '0',
    ZOMBI_HOT_RETENTION_CHECK_SECS: '1',
    ZOMBI_FLUSH_INTERVAL_SECS: '0',
    // Small, so a replay of the topic goes through several table reads and evictions.
    ZOMBI_COLD_FETCH_CACHE_MB: '1',
  })
})

afterAll(async () => {
  await broker?.cleanup()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Keys, null keys, null values, empty values, binary bytes, headers (repeated, null, empty), timestamps out of order. */
function record(i: number): ToProduce {
  const value = i % 97 === 5 ? null : i % 101 === 7 ? '' : `${String(i).padStart(6, '0')}${'v'.repeat(900)}\u00e9\n`
  const headers: Array<[string, string | null]> = i % 10 === 0 ? [['h1', b64(`one ${i}`)], ['h1', b64('again')], ['nullable', null], ['empty', b64('')]] : []
  return {
    partition: 0,
    key: i % 13 === 0 ? null : b64(i % 17 === 0 ? '\u0000\u00ff' : `key-${i}`),
    value: value === null ? null : b64(value),
    headers,
    timestamp: BASE_TIMESTAMP + i * 10 - (i % 7 === 3 ? 5_000 : 0),
  }
}

/** The hot log's own start, as Kafka's EARLIEST_LOCAL (-4) names it, and EARLIEST and by-timestamp answers. */
async function listOffsets(topic: string, timestamps: number[]): Promise<Array<{ offset: number; timestamp: number; errorCode: number }>> {
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  try {
    const answers = []
    for (const timestamp of timestamps) {
      const reader = await client.request(ApiKey.ListOffsets, 9, (w) => writeListOffsetsRequest(w, 9, {
        replicaId: -1, isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
      }))
      const partition = readListOffsetsResponse(reader, 9).topics[0]!.partitions[0]!
      answers.push({ offset: partition.offset, timestamp: partition.timestamp, errorCode: partition.errorCode })
    }
    return answers
  } finally {
    client.socket.destroy()
  }
}

let topic: string
let produced: Produced[]
let hotStart = 0

async function retainedTopic(): Promise<void> {
  topic = uniqueTopic('cold-kafka')
  produced = await produceRecords(broker, topic, Array.from({ length: RECORDS }, (_, i) => record(i)))
  expect(produced.map((p) => p.offset)).toEqual(Array.from({ length: RECORDS }, (_, i) => i))
  expect((await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })).status).toBe(200)
  for (let i = 0; i < 200 && hotStart === 0; i++) {
    await sleep(100)
    hotStart = (await listOffsets(topic, [-4]))[0]!.offset
  }
  expect(hotStart).toBeGreaterThan(1000)
  expect(hotStart).toBeLessThan(RECORDS)
}

beforeAll(retainedTopic, 180_000)

test('ListOffsets: earliest is the table\'s first offset, by timestamp looks in the table below the hot log', async () => {
  const target = produced[500]!
  const [earliest, local, latest, byTime, tiered] = await listOffsets(topic, [-2, -4, -1, target.timestamp, -5])
  expect(earliest).toEqual({ offset: 0, timestamp: -1, errorCode: 0 })
  expect(local!.offset).toBe(hotStart)
  expect(latest!.offset).toBe(RECORDS)
  // The first record (in offset order) at or after the timestamp: 500, unless an earlier one is later in time.
  const first = produced.find((p) => p.timestamp >= target.timestamp)!
  expect(byTime).toEqual({ offset: first.offset, timestamp: first.timestamp, errorCode: 0 })
  expect(tiered!.offset).toBe(RECORDS - 1)
  const admin = new Kafka({ clientId: 'cold-kafka', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    expect(await admin.fetchTopicOffsets(topic)).toEqual([expect.objectContaining({ partition: 0, low: '0', high: String(RECORDS) })])
  } finally {
    await admin.disconnect()
  }
})

test('kcat reads the topic from offset 0, byte-exact, across the table and the hot log', async () => {
  const consumed = await kcatConsume(broker.bootstrap, topic, { partition: 0 })
  const kcatHeaders = (headers: Array<[string, string | null]>): string =>
    headers.map(([name, value]) => `${name}=${value === null ? 'NULL' : Buffer.from(value, 'base64').toString('utf8')}`).join(',')
  expect(consumed).toEqual(produced.map((p) => ({
    partition: 0, offset: p.offset, timestamp: p.timestamp,
    key: p.key === null ? null : Buffer.from(p.key, 'base64'), value: p.value === null ? null : Buffer.from(p.value, 'base64'),
    headers: kcatHeaders(p.headers),
  })))
})

test('confluent-kafka reads the topic from offset 0, byte-exact, with CreateTime timestamps and headers', async () => {
  const lines = (await pythonJsonLines(`${scripts}/consume.py`, ['--bootstrap', broker.bootstrap, '--topic', topic, '--partition', '0', '--offset', '0', '--count', String(RECORDS)])) as Array<Record<string, unknown>>
  expect(lines.filter((line) => line.type === 'record')).toEqual(produced.map((p) => ({
    type: 'record', partition: 0, offset: p.offset, timestamp: p.timestamp, timestamp_type: 1, key: p.key, value: p.value, headers: p.headers,
  })))
  expect(lines.filter((line) => line.type === 'watermarks')).toEqual([{ type: 'watermarks', partition: 0, low: 0, high: RECORDS }])
})

test('the Java consumer reads the topic from the beginning, byte-exact: keys, null values, headers, CreateTime timestamps, offsets', async () => {
  await javaBuilt
  const [command, ...args] = javaCommand('4')
  const run = await runProcess(command!, [...args, 'dump', broker.bootstrap, topic, '0', 'earliest', String(RECORDS)], { timeoutMs: 120_000 })
  if (run.code !== 0) throw new Error(`the Java consumer failed\n${report(run)}`)
  const lines = run.stdout.toString('utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
  // seekToBeginning lands on the table's first offset, not the hot log's start.
  expect(lines.filter((line) => line.type === 'watermarks')).toEqual([{ type: 'watermarks', low: 0, high: RECORDS }])
  const records = lines.filter((line) => line.type === 'record')
  const expected = produced.map((p) => ({
    type: 'record', partition: 0, offset: p.offset, timestamp: p.timestamp, timestamp_type: 'CreateTime', key: p.key, value: p.value, headers: p.headers,
  }))
  const firstDifference = records.findIndex((record, i) => JSON.stringify(record) !== JSON.stringify(expected[i]))
  expect({ count: records.length, firstDifference, got: records[firstDifference] }).toEqual({ count: RECORDS, firstDifference: -1, got: undefined })
  expect(records).toEqual(expected)
}, 180_000)

test('a consumer group resumes from a committed offset older than the hot log, and a new group starts at the table\'s beginning', async () => {
  const committed = 123
  expect(committed).toBeLessThan(hotStart)
  const groupId = `cold-group-${topic}`
  const admin = new Kafka({ clientId: 'cold-kafka', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: String(committed) }] })
  } finally {
    await admin.disconnect()
  }
  const consume = async (group: string, count: number): Promise<Array<{ offset: number; value: string | null }>> =>
    ((await pythonJsonLines(`${scripts}/group_consume.py`, ['--bootstrap', broker.bootstrap, '--topic', topic, '--group', group, '--count', String(count), '--idle', '20'])) as Array<{ type: string; offset: number; value: string | null }>)
      .filter((line) => line.type === 'record').map(({ offset, value }) => ({ offset, value }))
  const resumed = await consume(groupId, RECORDS - committed)
  expect(resumed).toEqual(produced.slice(committed).map((p) => ({ offset: p.offset, value: p.value })))
  // auto.offset.reset=earliest: from the beginning of the table, not from the hot log's start.
  const fresh = await consume(`${groupId}-new`, 5)
  expect(fresh.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4])
})
