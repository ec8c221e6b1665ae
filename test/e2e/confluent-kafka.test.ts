// confluent-kafka (PyPI, librdkafka inside) against the real server: Producer with every codec, and a Consumer
// that reads through assign() at explicit offsets. The scripts live in compat-tests/confluent-kafka-python/.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { codecIds, codecs, readPartition } from './fixtures/platformatic.ts'
import { pythonJsonLines } from './fixtures/python.ts'

const scripts = 'compat-tests/confluent-kafka-python'
const partitionsPerTopic = 2

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: String(partitionsPerTopic) })
})

afterAll(async () => {
  await broker?.cleanup()
})

/** The JSON-lines record format of the scripts: bytes as base64, null for Kafka nulls. */
interface WireRecord {
  key: string | null
  value: string | null
  headers: [string, string | null][]
  timestamp?: number
  partition?: number
}

interface DeliveryReport {
  partition: number
  offset: number
  timestamp: number
}

interface ConsumedRecord {
  type: 'record'
  partition: number
  offset: number
  timestamp: number
  timestamp_type: number
  key: string | null
  value: string | null
  headers: [string, string | null][]
}

interface Watermarks {
  type: 'watermarks'
  partition: number
  low: number
  high: number
}

function b64(data: string | Buffer | null): string | null {
  if (data === null) return null
  return (Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')).toString('base64')
}

async function produce(topic: string, records: WireRecord[], compression: string): Promise<DeliveryReport[]> {
  const input = records.map((record) => JSON.stringify(record)).join('\n') + '\n'
  const reports = await pythonJsonLines(`${scripts}/produce.py`, ['--bootstrap', broker.bootstrap, '--topic', topic, '--compression', compression], { input })
  return reports as DeliveryReport[]
}

async function consume(topic: string, partitions: number[], offset: number, count: number): Promise<{ records: ConsumedRecord[]; watermarks: Watermarks[] }> {
  const lines = (await pythonJsonLines(`${scripts}/consume.py`, [
    '--bootstrap', broker.bootstrap, '--topic', topic,
    ...partitions.flatMap((partition) => ['--partition', String(partition)]),
    '--offset', String(offset), '--count', String(count),
  ])) as (ConsumedRecord | Watermarks)[]
  return {
    records: lines.filter((line): line is ConsumedRecord => line.type === 'record'),
    watermarks: lines.filter((line): line is Watermarks => line.type === 'watermarks'),
  }
}

const createTime = 1
const baseTimestamp = 1_720_000_000_000
const binary = Buffer.from(Array.from({ length: 300 }, (_, index) => (index * 13 + 5) & 0xff))

function sampleRecords(): WireRecord[] {
  return [
    { key: b64('k0'), value: b64('v0'), headers: [['h1', b64('one')], ['h1', b64('repeated')], ['nullable', null]], timestamp: baseTimestamp },
    { key: null, value: b64('null key'), headers: [], timestamp: baseTimestamp + 1 },
    { key: b64('tombstone'), value: null, headers: [], timestamp: baseTimestamp + 2 },
    { key: b64(''), value: b64(''), headers: [['empty', b64('')]], timestamp: baseTimestamp + 3 },
    { key: b64(Buffer.from([0, 0xff, 0x0a])), value: b64(binary), headers: [['bin', b64(Buffer.from([0, 1, 0xfe]))]], timestamp: baseTimestamp + 4 },
    { key: b64('large'), value: b64('undead '.repeat(8_000)), headers: [], timestamp: baseTimestamp + 5 },
  ]
}

describe('confluent-kafka (Python)', () => {
  test.each(codecs)('Producer (%s) and an assign()-based Consumer round-trip keys, nulls and headers byte-exact', async (codec) => {
    const topic = uniqueTopic(`confluent-${codec}`)
    const records = sampleRecords().map((record) => ({ ...record, partition: 0 }))

    const reports = await produce(topic, records, codec)
    expect(reports.map((report) => [report.partition, report.offset])).toEqual(records.map((_, offset) => [0, offset]))

    const { records: consumed, watermarks } = await consume(topic, [0], 0, records.length)
    expect(consumed).toEqual(
      records.map((record, offset) => ({
        type: 'record',
        partition: 0,
        offset,
        timestamp: record.timestamp,
        timestamp_type: createTime,
        key: record.key,
        value: record.value,
        headers: record.headers,
      })),
    )
    expect(watermarks).toEqual([{ type: 'watermarks', partition: 0, low: 0, high: records.length }])

    // librdkafka really compressed with the codec asked for. It sends a batch uncompressed when compressing
    // does not shrink it (small batches), so only the batch holding the large value is sure to be compressed.
    const stored = await readPartition(broker.bootstrap, topic, 0)
    const largeOffset = records.length - 1
    const largeBatch = stored.batches.find((batch) => batch.baseOffset <= largeOffset && largeOffset < batch.baseOffset + batch.recordCount)
    expect(largeBatch, JSON.stringify(stored.batches)).toBeDefined()
    expect(largeBatch!.attributes & 0x07).toBe(codecIds[codec])
    for (const batch of stored.batches) expect([codecIds.none, codecIds[codec]]).toContain(batch.attributes & 0x07)
  })

  test('Consumer reads from an explicit offset and from several partitions', async () => {
    const topic = uniqueTopic('confluent-assign')
    const records: WireRecord[] = []
    for (let index = 0; index < 10; index++) {
      records.push({ key: b64(`k${index}`), value: b64(`v${index}`), headers: [], partition: index % partitionsPerTopic, timestamp: baseTimestamp + index })
    }
    const reports = await produce(topic, records, 'lz4')
    expect(reports.filter((report) => report.partition === 0).map((report) => report.offset)).toEqual([0, 1, 2, 3, 4])
    expect(reports.filter((report) => report.partition === 1).map((report) => report.offset)).toEqual([0, 1, 2, 3, 4])

    // Offset 3 of each partition: records 6 and 8 of partition 0, 7 and 9 of partition 1.
    const { records: consumed, watermarks } = await consume(topic, [0, 1], 3, 4)
    const byPosition = consumed
      .map((record) => [record.partition, record.offset, Buffer.from(record.value!, 'base64').toString()])
      .sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number))
    expect(byPosition).toEqual([
      [0, 3, 'v6'],
      [0, 4, 'v8'],
      [1, 3, 'v7'],
      [1, 4, 'v9'],
    ])
    expect(watermarks).toEqual([
      { type: 'watermarks', partition: 0, low: 0, high: 5 },
      { type: 'watermarks', partition: 1, low: 0, high: 5 },
    ])
  })
})
