// The Node clients against the real server: kafkajs (producer, admin) and @platformatic/kafka (producer,
// group-less Consumer.fetch). kafkajs can only consume through a group, so its records are read back with
// @platformatic/kafka's fetch here and with kcat in kcat.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { CompressionTypes, Kafka, logLevel, Partitioners, type Message } from 'kafkajs'
import { Producer, ProduceAcks } from '@platformatic/kafka'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { codecIds, codecs, readPartition, type FetchedRecord } from './fixtures/platformatic.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.cleanup()
})

/** A record as the tests compare it: header names as text, everything else as bytes. */
interface Comparable {
  offset: number
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
  headers: [string, Buffer | null][]
}

function comparable(record: FetchedRecord): Comparable {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers.map(([name, value]): [string, Buffer | null] => [name?.toString('utf8') ?? '<null name>', value]),
  }
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8')
}

const binaryValue = Buffer.from(Array.from({ length: 512 }, (_, index) => (index * 31) & 0xff))
const baseTimestamp = 1_710_000_000_000

function kafkajsClient(): Kafka {
  return new Kafka({
    clientId: 'zombi-e2e-kafkajs',
    brokers: [broker.bootstrap],
    logLevel: logLevel.ERROR,
    retry: { retries: 5 },
  })
}

/** kafkajs messages covering keys, null keys, null values, repeated and binary headers; and what they become. */
function kafkajsCases(): { messages: Message[]; expected: Omit<Comparable, 'offset'>[] } {
  const messages: Message[] = [
    { key: 'user-1', value: 'plain text', timestamp: String(baseTimestamp), headers: { source: 'kafkajs' } },
    { key: null, value: 'null key', timestamp: String(baseTimestamp + 1) },
    { key: 'tombstone', value: null, timestamp: String(baseTimestamp + 2), headers: { reason: 'deleted' } },
    { key: Buffer.from([0, 1, 2, 255]), value: binaryValue, timestamp: String(baseTimestamp + 3), headers: { bin: Buffer.from([0, 255]), repeated: ['a', 'b'] } },
    { key: '', value: '', timestamp: String(baseTimestamp + 4) },
    { key: 'utf8 ☃', value: 'héllo 🧟\nsecond line', timestamp: String(baseTimestamp + 5) },
  ]
  const expected: Omit<Comparable, 'offset'>[] = [
    { timestamp: BigInt(baseTimestamp), key: bytes('user-1'), value: bytes('plain text'), headers: [['source', bytes('kafkajs')]] },
    { timestamp: BigInt(baseTimestamp + 1), key: null, value: bytes('null key'), headers: [] },
    { timestamp: BigInt(baseTimestamp + 2), key: bytes('tombstone'), value: null, headers: [['reason', bytes('deleted')]] },
    {
      timestamp: BigInt(baseTimestamp + 3),
      key: Buffer.from([0, 1, 2, 255]),
      value: binaryValue,
      headers: [['bin', Buffer.from([0, 255])], ['repeated', bytes('a')], ['repeated', bytes('b')]],
    },
    { timestamp: BigInt(baseTimestamp + 4), key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [] },
    { timestamp: BigInt(baseTimestamp + 5), key: bytes('utf8 ☃'), value: bytes('héllo 🧟\nsecond line'), headers: [] },
  ]
  return { messages, expected }
}

describe('kafkajs', () => {
  const variants = [
    { name: 'uncompressed', compression: CompressionTypes.None, codec: codecIds.none },
    { name: 'gzip', compression: CompressionTypes.GZIP, codec: codecIds.gzip },
  ]

  test.each(variants)('producer ($name, acks=all): keys, nulls and headers read back byte-exact', async ({ compression, codec }) => {
    const topic = uniqueTopic(`kafkajs-${codec}`)
    const producer = kafkajsClient().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true })
    await producer.connect()
    const { messages, expected } = kafkajsCases()
    try {
      const first = await producer.send({ topic, acks: -1, compression, messages: messages.map((m) => ({ ...m, partition: 0 })) })
      expect(first).toMatchObject([{ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' }])
      // A second request continues the partition's offsets.
      const second = await producer.send({ topic, acks: -1, compression, messages: [{ partition: 0, key: 'again', value: 'second request', timestamp: String(baseTimestamp + 6) }] })
      expect(second).toMatchObject([{ partition: 0, errorCode: 0, baseOffset: String(messages.length) }])
    } finally {
      await producer.disconnect()
    }

    const stored = await readPartition(broker.bootstrap, topic, 0)
    expect(stored.records.map(comparable)).toEqual([
      ...expected.map((record, offset) => ({ offset, ...record })),
      { offset: messages.length, timestamp: BigInt(baseTimestamp + 6), key: bytes('again'), value: bytes('second request'), headers: [] },
    ])
    expect(stored.highWatermark).toBe(messages.length + 1)
    expect(stored.batches.map((batch) => batch.attributes & 0x07)).toEqual([codec, codec])
  })

  test('admin creates a topic with partitions, and reports its metadata and offsets', async () => {
    const topic = uniqueTopic('kafkajs-admin')
    const kafka = kafkajsClient()
    const admin = kafka.admin()
    await admin.connect()
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true })).toBe(true)
      expect(await admin.listTopics()).toContain(topic)
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
      expect(metadata.topics).toHaveLength(1)
      expect(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3])

      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
      await producer.connect()
      try {
        await producer.send({ topic, acks: -1, messages: [{ partition: 2, value: 'a' }, { partition: 2, value: 'b' }, { partition: 3, value: 'c' }] })
      } finally {
        await producer.disconnect()
      }
      const offsets = await admin.fetchTopicOffsets(topic)
      const byPartition = Object.fromEntries(offsets.map((entry) => [entry.partition, { low: entry.low, high: entry.high }]))
      expect(byPartition).toEqual({
        0: { low: '0', high: '0' },
        1: { low: '0', high: '0' },
        2: { low: '0', high: '2' },
        3: { low: '0', high: '1' },
      })
    } finally {
      await admin.disconnect()
    }
  })
})

describe('@platformatic/kafka', () => {
  test.each(codecs)('producer (%s, acks=all): keys, null values, null header values and timestamps read back byte-exact', async (codec) => {
    const topic = uniqueTopic(`platformatic-${codec}`)
    const producer = new Producer<Buffer | null, Buffer | null, Buffer, Buffer | null>({
      clientId: 'zombi-e2e-platformatic',
      bootstrapBrokers: [broker.bootstrap],
      retries: 3,
      autocreateTopics: true,
    })
    const messages = [
      { key: bytes('k0'), value: bytes('v0'), headers: new Map<Buffer, Buffer | null>([[bytes('h'), bytes('one')], [bytes('nullable'), null]]) },
      { key: null, value: bytes('no key') },
      { key: bytes('tombstone'), value: null },
      { key: bytes('binary'), value: binaryValue },
      // Compressible, so every codec really shrinks the batch.
      { key: bytes('large'), value: bytes('brains '.repeat(10_000)) },
    ]
    try {
      const result = await producer.send({
        acks: ProduceAcks.ALL,
        compression: codec,
        messages: messages.map((message, index) => ({ ...message, topic, partition: 0, timestamp: BigInt(baseTimestamp + index) })),
      })
      expect(result.offsets).toEqual([{ topic, partition: 0, offset: 0n }])
    } finally {
      await producer.close()
    }

    const stored = await readPartition(broker.bootstrap, topic, 0)
    expect(stored.records.map(comparable)).toEqual(
      messages.map((message, offset) => ({
        offset,
        timestamp: BigInt(baseTimestamp + offset),
        key: message.key,
        value: message.value,
        headers: [...(message.headers ?? new Map<Buffer, Buffer | null>()).entries()].map(([name, value]) => [name.toString('utf8'), value]),
      })),
    )
    expect(stored.batches.map((batch) => batch.attributes & 0x07)).toEqual([codecIds[codec]])
  })

  test('Consumer.fetch without a group reads from any offset, also inside a batch', async () => {
    const topic = uniqueTopic('platformatic-fetch')
    const producer = new Producer({ clientId: 'zombi-e2e-platformatic', bootstrapBrokers: [broker.bootstrap], retries: 3, autocreateTopics: true })
    try {
      for (let request = 0; request < 3; request++) {
        await producer.send({
          acks: ProduceAcks.ALL,
          messages: Array.from({ length: 4 }, (_, index) => ({ topic, partition: 0, value: bytes(`r${request}-${index}`) })),
        })
      }
    } finally {
      await producer.close()
    }

    const all = await readPartition(broker.bootstrap, topic, 0)
    expect(all.records.map((record) => [record.offset, record.value!.toString()])).toEqual(
      Array.from({ length: 12 }, (_, offset) => [offset, `r${Math.floor(offset / 4)}-${offset % 4}`]),
    )
    expect(all.batches.map((batch) => [batch.baseOffset, batch.recordCount])).toEqual([[0, 4], [4, 4], [8, 4]])
    expect(all.logStartOffset).toBe(0)

    const fromMiddle = await readPartition(broker.bootstrap, topic, 0, { fromOffset: 6 })
    expect(fromMiddle.records.map((record) => record.offset)).toEqual([6, 7, 8, 9, 10, 11])
    expect(fromMiddle.highWatermark).toBe(12)
  })
})
