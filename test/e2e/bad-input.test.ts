// Bad input over the wire: every case gets the right error or closes only its own connection,
// the broker keeps serving a well-behaved client, and no acknowledged record is lost.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readApiVersionsResponse, writeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readFetchResponse, writeFetchRequest } from '../../src/protocol/generated/fetch.ts'
import { readMetadataResponse, writeMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import { readProduceResponse, writeProduceRequest } from '../../src/protocol/generated/produce.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { MAGIC } from '../../src/protocol/record-batch.ts'
import { decodeBatch, encodeBatch } from '../../src/protocol/records.ts'
import { logsEventuallyMatch, startBroker, type Broker } from './fixtures/broker.ts'
import { RawClient } from './fixtures/raw-client.ts'

const PRODUCE_VERSION = 9
const FETCH_VERSION = 12

async function produce(client: RawClient, topic: string, records: Buffer | null, acks = -1): Promise<{ errorCode: number; baseOffset: number; errorMessage: string | null }> {
  const reader = await client.request(ApiKey.Produce, PRODUCE_VERSION, (w) =>
    writeProduceRequest(w, PRODUCE_VERSION, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }))
  const partition = readProduceResponse(reader, PRODUCE_VERSION).responses[0]!.partitionResponses[0]!
  return { errorCode: partition.errorCode, baseOffset: partition.baseOffset, errorMessage: partition.errorMessage }
}

async function fetchValues(client: RawClient, topic: string): Promise<{ errorCode: number; highWatermark: number; values: string[] }> {
  const values: string[] = []
  let offset = 0
  let highWatermark = 0
  let errorCode = 0
  for (let round = 0; round < 1000; round++) {
    const reader = await client.request(ApiKey.Fetch, FETCH_VERSION, (w) => writeFetchRequest(w, FETCH_VERSION, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
      forgottenTopicsData: [], rackId: '',
    }))
    const partition = readFetchResponse(reader, FETCH_VERSION).responses[0]!.partitions[0]!
    errorCode = partition.errorCode
    highWatermark = partition.highWatermark
    const records = partition.records
    if (errorCode !== 0 || records === null || records.length === 0) break
    let position = 0
    while (position < records.length) {
      const size = records.readInt32BE(position + 8) + 12
      for (const record of decodeBatch(records.subarray(position, position + size)).records) {
        if (record.offset >= offset) values.push(record.value?.toString() ?? '<null>')
        offset = record.offset + 1
      }
      position += size
    }
    if (offset >= highWatermark) break
  }
  return { errorCode, highWatermark, values }
}

function batchOf(...values: string[]): Buffer {
  return encodeBatch(values.map((v) => ({ key: null, value: Buffer.from(v) })))
}

/** Resolves true if the server closed the connection within the time, false if it stayed open. */
async function closesWithin(client: RawClient, ms: number): Promise<boolean> {
  return Promise.race([client.closedPromise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])
}

describe('bad input over the Kafka wire', () => {
  let broker: Broker
  let good: RawClient
  const acknowledged: string[] = []

  beforeAll(async () => {
    broker = await startBroker({ ZOMBI_MAX_REQUEST_BYTES: String(2 * 1024 * 1024) })
    good = await RawClient.connect(broker.host, broker.kafkaPort)
    const first = await produce(good, 'steady', batchOf('before-0', 'before-1'))
    expect(first.errorCode).toBe(0)
    acknowledged.push('before-0', 'before-1')
  })

  afterAll(async () => {
    good?.close()
    await broker?.cleanup()
  })

  async function assertStillServing(label: string): Promise<void> {
    const value = `after-${label}`
    const result = await produce(good, 'steady', batchOf(value))
    expect(result.errorCode, label).toBe(0)
    acknowledged.push(value)
    const { values } = await fetchValues(good, 'steady')
    expect(values).toEqual(acknowledged)
  }

  it('closes a connection whose size prefix exceeds ZOMBI_MAX_REQUEST_BYTES before the body arrives', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    const prefix = Buffer.alloc(4)
    prefix.writeInt32BE(0x7fffffff)
    client.sendRaw(prefix)
    expect(await closesWithin(client, 5000)).toBe(true)
    await logsEventuallyMatch(broker, /request frame size out of range/)
    await assertStillServing('oversized')
  })

  it('closes a connection with a negative size prefix', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    client.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xfe]))
    expect(await closesWithin(client, 5000)).toBe(true)
    await assertStillServing('negative-size')
  })

  it('closes a connection whose size prefix is 0 (four zero bytes) and keeps serving everyone else', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    client.sendRaw(Buffer.alloc(4))
    expect(await closesWithin(client, 5000)).toBe(true)
    await logsEventuallyMatch(broker, /request frame size out of range/)
    await assertStillServing('zero-size')
  })

  it('closes a connection whose frame is shorter than a request header, sent a byte at a time', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    for (const byte of [0, 0, 0, 9, 0, 18, 0, 3, 0, 0, 0, 1, 0]) client.sendRaw(Buffer.from([byte]))
    expect(await closesWithin(client, 5000)).toBe(true)
    await assertStillServing('short-header')
  })

  it('closes a connection that sends a truncated request body', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    const frame = RawClient.frame(ApiKey.Metadata, 12, 7, (w) => writeMetadataRequest(w, 12, { topics: [{ topicId: ZERO_UUID, name: 'x' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
    // Keep the size prefix honest about a body that ends too early.
    const cut = frame.subarray(0, frame.length - 5)
    cut.writeInt32BE(cut.length - 4, 0)
    client.sendRaw(cut)
    expect(await closesWithin(client, 5000)).toBe(true)
    await logsEventuallyMatch(broker, /malformed request/)
    await assertStillServing('truncated')
  })

  it('closes a connection that sends an unknown api key', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    client.sendRaw(RawClient.frame(9999, 0, 1, () => undefined))
    expect(await closesWithin(client, 5000)).toBe(true)
    await logsEventuallyMatch(broker, /unknown api key/)
    await assertStillServing('unknown-key')
  })

  it('answers ApiVersions of an unknown version with UNSUPPORTED_VERSION in v0 and the supported ranges', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    const response = client.nextFrame()
    client.sendRaw(RawClient.frame(ApiKey.ApiVersions, 99, 42, () => undefined))
    const frame = await response
    expect(frame.readInt32BE(0)).toBe(42)
    const { Reader } = await import('../../src/protocol/reader.ts')
    const body = readApiVersionsResponse(new Reader(frame, 4), 0)
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION)
    expect(body.apiKeys.find((k) => k.apiKey === ApiKey.Produce)).toEqual({ apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 11 })
    expect(body.apiKeys.find((k) => k.apiKey === ApiKey.Fetch)).toEqual({ apiKey: ApiKey.Fetch, minVersion: 0, maxVersion: 17 })
    client.close()
  })

  it('advertises exactly the handled APIs through ApiVersions v3', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    const body = readApiVersionsResponse(await client.request(ApiKey.ApiVersions, 3, (w) => writeApiVersionsRequest(w, 3, { clientSoftwareName: 'zombi-test', clientSoftwareVersion: '1' })), 3)
    expect(body.errorCode).toBe(0)
    expect(body.apiKeys.map((k) => k.apiKey).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 47, 48, 50, 51, 60, 61, 65, 66, 68, 69])
    client.close()
  })

  it('closes a connection that uses an unsupported version of another api', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    client.sendRaw(RawClient.frame(ApiKey.Produce, 99, 1, () => undefined))
    expect(await closesWithin(client, 5000)).toBe(true)
    await logsEventuallyMatch(broker, /unsupported api version/)
    await assertStillServing('unsupported-version')
  })

  it('refuses a batch with a bad CRC with CORRUPT_MESSAGE and stores nothing', async () => {
    const batch = batchOf('corrupt')
    batch[batch.length - 1]! ^= 0xff
    const result = await produce(good, 'steady', batch)
    expect(result.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
    expect(result.errorMessage).toMatch(/CRC/)
    await assertStillServing('bad-crc')
  })

  it('refuses a request where only the second of two batches is bad, storing neither', async () => {
    const bad = batchOf('second')
    bad[bad.length - 1]! ^= 0xff
    const result = await produce(good, 'steady', Buffer.concat([batchOf('first'), bad]))
    expect(result.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
    await assertStillServing('half-bad')
  })

  it('refuses magic 0/1 batches with UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
    const batch = batchOf('old')
    batch.writeInt8(1, MAGIC)
    expect((await produce(good, 'steady', batch)).errorCode).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT)
    await assertStillServing('old-magic')
  })

  it('refuses a batch over max.message.bytes with MESSAGE_TOO_LARGE', async () => {
    const big = encodeBatch([{ key: null, value: Buffer.alloc(1_100_000, 7) }])
    expect((await produce(good, 'steady', big)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE)
    await assertStillServing('too-large')
  })

  it('refuses batches with timestamps past year 9999 or beyond 2^53 with INVALID_TIMESTAMP, and keeps serving', async () => {
    // Such a timestamp once reached the hot store, whose refusal of the append stopped the broker.
    for (const timestamp of [2 ** 62, 253_402_300_800_000, -(2 ** 60)]) {
      const result = await produce(good, 'steady', encodeBatch([{ key: null, value: Buffer.from('far'), timestamp }]))
      expect(result.errorCode, String(timestamp)).toBe(ErrorCode.INVALID_TIMESTAMP)
      expect(result.errorMessage).toMatch(/outside 0001-01-01 .. 9999-12-31/)
    }
    await assertStillServing('far-timestamps')
  })

  it('refuses an empty records field with CORRUPT_MESSAGE', async () => {
    expect((await produce(good, 'steady', null)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
  })

  it('answers invalid topic names with INVALID_TOPIC_EXCEPTION in Produce and Metadata', async () => {
    expect((await produce(good, 'bad/name', batchOf('x'))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION)
    expect((await produce(good, 'x'.repeat(250), batchOf('x'))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION)
    const metadata = readMetadataResponse(await good.request(ApiKey.Metadata, 12, (w) => writeMetadataRequest(w, 12, {
      topics: [{ topicId: ZERO_UUID, name: '..' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })), 12)
    expect(metadata.topics[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION)
  })

  it('keeps serving and loses nothing under random and mutated frames', async () => {
    const valid = RawClient.frame(ApiKey.Produce, PRODUCE_VERSION, 5, (w) => writeProduceRequest(w, PRODUCE_VERSION, {
      transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'fuzzed', partitionData: [{ index: 0, records: batchOf('fuzz') }] }],
    }))
    const frames = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([position, xor]) => {
        const copy = Buffer.from(valid)
        copy[position]! ^= xor
        return copy
      }),
      fc.nat(valid.length - 1).map((cut) => Buffer.from(valid.subarray(0, cut))),
    )
    await fc.assert(
      fc.asyncProperty(frames, async (bytes) => {
        const client = await RawClient.connect(broker.host, broker.kafkaPort)
        client.nextFrame().catch(() => undefined)
        client.sendRaw(bytes)
        await closesWithin(client, 50)
        client.close()
      }),
      { numRuns: 150 },
    )
    await assertStillServing('fuzz')
  })
})

describe('unknown topics with auto-create off', () => {
  let broker: Broker

  beforeAll(async () => {
    broker = await startBroker({ ZOMBI_AUTO_CREATE_TOPICS: 'false' })
  })

  afterAll(async () => {
    await broker?.cleanup()
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION in Produce, Metadata and Fetch', async () => {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    expect((await produce(client, 'missing', batchOf('x'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    const metadata = readMetadataResponse(await client.request(ApiKey.Metadata, 12, (w) => writeMetadataRequest(w, 12, {
      topics: [{ topicId: ZERO_UUID, name: 'missing' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })), 12)
    expect(metadata.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect((await fetchValues(client, 'missing')).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    client.close()
  })
})
