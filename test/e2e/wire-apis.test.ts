// The wire-core APIs against the real server, through our codec with chosen versions: Fetch
// long polls and byte limits, ListOffsets, topic admin, DescribeConfigs/Cluster, LogAppendTime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readCreatePartitionsResponse, writeCreatePartitionsRequest } from '../../src/protocol/generated/create-partitions.ts'
import { readCreateTopicsResponse, writeCreateTopicsRequest, type CreateTopicsRequest } from '../../src/protocol/generated/create-topics.ts'
import { readDeleteTopicsResponse, writeDeleteTopicsRequest } from '../../src/protocol/generated/delete-topics.ts'
import { readDescribeClusterResponse, writeDescribeClusterRequest } from '../../src/protocol/generated/describe-cluster.ts'
import { readDescribeConfigsResponse, writeDescribeConfigsRequest } from '../../src/protocol/generated/describe-configs.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readFetchResponse, writeFetchRequest, type FetchRequest } from '../../src/protocol/generated/fetch.ts'
import { readListOffsetsResponse, writeListOffsetsRequest } from '../../src/protocol/generated/list-offsets.ts'
import { readMetadataResponse, writeMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import { readProduceResponse, writeProduceRequest } from '../../src/protocol/generated/produce.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { ATTR_LOG_APPEND_TIME, attributesOf, batchSize } from '../../src/protocol/record-batch.ts'
import { decodeBatch, encodeBatch } from '../../src/protocol/records.ts'
import { startBroker, type Broker } from './fixtures/broker.ts'
import { RawClient } from './fixtures/raw-client.ts'

const FETCH_VERSION = 13 // by topic id

let broker: Broker
let client: RawClient
let topicSeq = 0
const uniqueTopic = (base: string): string => `${base}-${process.pid}-${++topicSeq}`

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '2' })
  client = await RawClient.connect(broker.host, broker.kafkaPort)
})

afterAll(async () => {
  client?.close()
  await broker?.cleanup()
})

async function createTopic(name: string, partitions: number, configs: Record<string, string> = {}, validateOnly = false, version = 7) {
  const request: CreateTopicsRequest = {
    topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    timeoutMs: 5000,
    validateOnly,
  }
  return readCreateTopicsResponse(await client.request(ApiKey.CreateTopics, version, (w) => writeCreateTopicsRequest(w, version, request)), version).topics[0]!
}

async function produce(topic: string, partition: number, batch: Buffer, version = 9) {
  const reader = await client.request(ApiKey.Produce, version, (w) => writeProduceRequest(w, version, {
    transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  }))
  return readProduceResponse(reader, version).responses[0]!.partitionResponses[0]!
}

async function topicId(name: string): Promise<string> {
  const metadata = readMetadataResponse(await client.request(ApiKey.Metadata, 12, (w) => writeMetadataRequest(w, 12, {
    topics: [{ topicId: ZERO_UUID, name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  })), 12)
  return metadata.topics[0]!.topicId
}

function fetchRequest(id: string, partitions: Array<{ partition: number; offset: number; maxBytes?: number }>, options: Partial<FetchRequest> = {}): FetchRequest {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
    isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: '', topicId: id, partitions: partitions.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: p.maxBytes ?? 1 << 20, replicaDirectoryId: ZERO_UUID })) }],
    forgottenTopicsData: [], rackId: '',
    ...options,
  }
}

async function fetch(request: FetchRequest, on: RawClient = client) {
  return readFetchResponse(await on.request(ApiKey.Fetch, FETCH_VERSION, (w) => writeFetchRequest(w, FETCH_VERSION, request)), FETCH_VERSION)
}

function values(records: Buffer | null): string[] {
  const out: string[] = []
  if (records === null) return out
  for (let position = 0; position < records.length;) {
    const size = batchSize(records, position)
    for (const record of decodeBatch(records.subarray(position, position + size)).records) out.push(record.value!.toString())
    position += size
  }
  return out
}

const batchOf = (...vals: string[]): Buffer => encodeBatch(vals.map((v) => ({ key: null, value: Buffer.from(v) })))

describe('Fetch', () => {
  it('answers every requested partition, with errors for unknown ones and out-of-range offsets', async () => {
    const name = uniqueTopic('fetch-all')
    await createTopic(name, 2)
    await produce(name, 0, batchOf('a', 'b'))
    const id = await topicId(name)
    const response = await fetch(fetchRequest(id, [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }, { partition: 7, offset: 0 }, { partition: 0, offset: 5 }]))
    const partitions = response.responses[0]!.partitions
    expect(partitions.map((p) => [p.partitionIndex, p.errorCode])).toEqual([[0, 0], [1, 0], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [0, ErrorCode.OFFSET_OUT_OF_RANGE]])
    expect(values(partitions[0]!.records)).toEqual(['a', 'b'])
    expect(partitions[0]!.highWatermark).toBe(2)
    expect(partitions[0]!.lastStableOffset).toBe(2)
    expect(values(partitions[1]!.records)).toEqual([])
    const unknownTopic = await fetch(fetchRequest('11111111-2222-4333-8444-555555555555', [{ partition: 0, offset: 0 }]))
    expect(unknownTopic.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
  })

  it('long-polls until a produce arrives instead of answering empty', async () => {
    const name = uniqueTopic('fetch-wait')
    await createTopic(name, 1)
    const id = await topicId(name)
    const poller = await RawClient.connect(broker.host, broker.kafkaPort)
    // A wait far longer than the test timeout: only the append can answer it.
    const pending = fetch(fetchRequest(id, [{ partition: 0, offset: 0 }], { maxWaitMs: 600_000 }), poller)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await produce(name, 0, batchOf('woke'))
    const response = await pending
    expect(values(response.responses[0]!.partitions[0]!.records)).toEqual(['woke'])
    poller.close()
  })

  it('waits for min_bytes across appends', async () => {
    const name = uniqueTopic('fetch-min')
    await createTopic(name, 1)
    const id = await topicId(name)
    const first = batchOf('one')
    const poller = await RawClient.connect(broker.host, broker.kafkaPort)
    const pending = fetch(fetchRequest(id, [{ partition: 0, offset: 0 }], { maxWaitMs: 600_000, minBytes: first.length + 1 }), poller)
    let answered = false
    void pending.then(() => { answered = true })
    await produce(name, 0, first)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(answered).toBe(false)
    await produce(name, 0, batchOf('two'))
    expect(values((await pending).responses[0]!.partitions[0]!.records)).toEqual(['one', 'two'])
    poller.close()
  })

  it('returns whole batches within partition_max_bytes and max_bytes, but always the first batch', async () => {
    const name = uniqueTopic('fetch-limits')
    await createTopic(name, 2)
    const big = batchOf('x'.repeat(1000))
    for (let i = 0; i < 3; i++) await produce(name, 0, big)
    await produce(name, 1, batchOf('p1'))
    const id = await topicId(name)
    // partition_max_bytes below one batch: still one whole batch, so the consumer progresses.
    const tiny = await fetch(fetchRequest(id, [{ partition: 0, offset: 0, maxBytes: 10 }]))
    expect(values(tiny.responses[0]!.partitions[0]!.records)).toHaveLength(1)
    // Room for two batches of partition 0.
    const two = await fetch(fetchRequest(id, [{ partition: 0, offset: 0, maxBytes: big.length * 2 + 10 }]))
    expect(values(two.responses[0]!.partitions[0]!.records)).toHaveLength(2)
    // max_bytes spent on partition 0 leaves partition 1 empty but still answered.
    const capped = await fetch(fetchRequest(id, [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }], { maxBytes: big.length + 5 }))
    expect(capped.responses[0]!.partitions.map((p) => values(p.records).length)).toEqual([1, 0])
    // A fetch offset inside a batch returns the batch holding it.
    const inside = await fetch(fetchRequest(id, [{ partition: 0, offset: 1 }]))
    expect(values(inside.responses[0]!.partitions[0]!.records)).toHaveLength(2)
  })

  it('serves sessionless fetches and refuses a session id it never issued', async () => {
    const name = uniqueTopic('fetch-session')
    await createTopic(name, 1)
    const id = await topicId(name)
    const created = await fetch(fetchRequest(id, [{ partition: 0, offset: 0 }], { sessionId: 0, sessionEpoch: 0 }))
    expect(created.errorCode).toBe(0)
    expect(created.sessionId).toBe(0)
    const unknown = await fetch(fetchRequest(id, [{ partition: 0, offset: 0 }], { sessionId: 1234, sessionEpoch: 1 }))
    expect(unknown.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  })
})

describe('ListOffsets', () => {
  it('answers earliest, latest, max timestamp and the first offset at or after a timestamp', async () => {
    const name = uniqueTopic('list-offsets')
    await createTopic(name, 1)
    await produce(name, 0, encodeBatch([
      { key: null, value: Buffer.from('a'), timestamp: 1000 },
      { key: null, value: Buffer.from('b'), timestamp: 3000 },
      { key: null, value: Buffer.from('c'), timestamp: 2000 },
    ]))
    await produce(name, 0, encodeBatch([{ key: null, value: Buffer.from('d'), timestamp: 4000 }]))
    const ask = async (timestamp: number, version = 9) => {
      const response = readListOffsetsResponse(await client.request(ApiKey.ListOffsets, version, (w) => writeListOffsetsRequest(w, version, {
        replicaId: -1, isolationLevel: 0, topics: [{ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
      })), version)
      const partition = response.topics[0]!.partitions[0]!
      return version === 0 ? partition.oldStyleOffsets : [partition.errorCode, partition.offset, partition.timestamp]
    }
    expect(await ask(-2)).toEqual([0, 0, -1])
    expect(await ask(-1)).toEqual([0, 4, -1])
    expect(await ask(-3)).toEqual([0, 3, 4000])
    expect(await ask(1500)).toEqual([0, 1, 3000])
    expect(await ask(2500)).toEqual([0, 1, 3000])
    expect(await ask(3500)).toEqual([0, 3, 4000])
    expect(await ask(5000)).toEqual([0, -1, -1])
    expect(await ask(-1, 0)).toEqual([4])
  })
})

describe('topic admin', () => {
  it('creates topics with partitions and configs, and validate_only writes nothing', async () => {
    const name = uniqueTopic('create')
    const dry = await createTopic(name, 3, { 'retention.ms': '1000' }, true)
    expect(dry.errorCode).toBe(0)
    expect(dry.numPartitions).toBe(3)
    expect(await topicId(name)).toBe(ZERO_UUID)
    const created = await createTopic(name, 3, { 'retention.ms': '1000' })
    expect(created.errorCode).toBe(0)
    expect(created.topicId).not.toBe(ZERO_UUID)
    expect(created.configs!.find((c) => c.name === 'retention.ms')!.value).toBe('1000')
    expect(await topicId(name)).toBe(created.topicId)
    expect((await createTopic(name, 1)).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS)
  })

  it('uses the broker default for -1 partitions and refuses bad requests with the right codes', async () => {
    expect((await createTopic(uniqueTopic('default'), -1)).numPartitions).toBe(2)
    expect((await createTopic('bad name!', 1)).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION)
    expect((await createTopic(uniqueTopic('zero'), 0)).errorCode).toBe(ErrorCode.INVALID_PARTITIONS)
    expect((await createTopic(uniqueTopic('cfg'), 1, { 'no.such.config': '1' })).errorCode).toBe(ErrorCode.INVALID_CONFIG)
    expect((await createTopic(uniqueTopic('cfg'), 1, { 'message.timestamp.type': 'Sometimes' })).errorCode).toBe(ErrorCode.INVALID_CONFIG)
    const replicated = readCreateTopicsResponse(await client.request(ApiKey.CreateTopics, 4, (w) => writeCreateTopicsRequest(w, 4, {
      topics: [{ name: uniqueTopic('rf'), numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false,
    })), 4)
    expect(replicated.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR)
  })

  it('grows partitions with CreatePartitions and never shrinks them', async () => {
    const name = uniqueTopic('grow')
    await createTopic(name, 1)
    const grow = async (count: number) => readCreatePartitionsResponse(await client.request(ApiKey.CreatePartitions, 3, (w) => writeCreatePartitionsRequest(w, 3, {
      topics: [{ name, count, assignments: null }], timeoutMs: 1000, validateOnly: false,
    })), 3).results[0]!
    expect((await grow(4)).errorCode).toBe(0)
    expect((await grow(2)).errorCode).toBe(ErrorCode.INVALID_PARTITIONS)
    expect((await produce(name, 3, batchOf('in the new partition'))).errorCode).toBe(0)
  })

  it('deletes topics by name and by id; a recreated topic gets a new id and starts at offset 0', async () => {
    const name = uniqueTopic('delete')
    const first = await createTopic(name, 1)
    await produce(name, 0, batchOf('old'))
    const byName = readDeleteTopicsResponse(await client.request(ApiKey.DeleteTopics, 5, (w) => writeDeleteTopicsRequest(w, 5, { topics: [], topicNames: [name, 'never-existed'], timeoutMs: 1000 })), 5)
    expect(byName.responses.map((r) => r.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    const again = await createTopic(name, 1)
    expect(again.topicId).not.toBe(first.topicId)
    expect((await produce(name, 0, batchOf('new'))).baseOffset).toBe(0)
    const byId = readDeleteTopicsResponse(await client.request(ApiKey.DeleteTopics, 6, (w) => writeDeleteTopicsRequest(w, 6, { topics: [{ name: null, topicId: again.topicId }], topicNames: [], timeoutMs: 1000 })), 6)
    expect(byId.responses[0]!.errorCode).toBe(0)
    expect(byId.responses[0]!.name).toBe(name)
  })
})

describe('configs and cluster', () => {
  it('describes set and default topic configs and the broker configs', async () => {
    const name = uniqueTopic('configs')
    await createTopic(name, 1, { 'max.message.bytes': '2048' })
    const response = readDescribeConfigsResponse(await client.request(ApiKey.DescribeConfigs, 4, (w) => writeDescribeConfigsRequest(w, 4, {
      resources: [{ resourceType: 2, resourceName: name, configurationKeys: null }, { resourceType: 4, resourceName: '0', configurationKeys: ['num.partitions'] }, { resourceType: 2, resourceName: 'missing-topic', configurationKeys: null }],
      includeSynonyms: true, includeDocumentation: false,
    })), 4)
    const [topic, brokerConfigs, missing] = response.results
    const maxMessage = topic!.configs.find((c) => c.name === 'max.message.bytes')!
    expect([maxMessage.value, maxMessage.configSource]).toEqual(['2048', 1])
    const retention = topic!.configs.find((c) => c.name === 'retention.ms')!
    expect([retention.value, retention.configSource]).toEqual(['-1', 5])
    expect(brokerConfigs!.configs.map((c) => [c.name, c.value])).toEqual([['num.partitions', '2']])
    expect(missing!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  it('enforces max.message.bytes set on the topic', async () => {
    const name = uniqueTopic('small')
    await createTopic(name, 1, { 'max.message.bytes': '1024' })
    expect((await produce(name, 0, batchOf('x'.repeat(2000)))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE)
    expect((await produce(name, 0, batchOf('fits'))).errorCode).toBe(0)
  })

  it('stamps LogAppendTime when the topic asks for it', async () => {
    const name = uniqueTopic('append-time')
    await createTopic(name, 1, { 'message.timestamp.type': 'LogAppendTime' })
    const before = Date.now()
    const result = await produce(name, 0, encodeBatch([{ key: null, value: Buffer.from('t'), timestamp: 42 }]))
    expect(result.logAppendTimeMs).toBeGreaterThanOrEqual(before)
    const response = await fetch(fetchRequest(await topicId(name), [{ partition: 0, offset: 0 }]))
    const batch = response.responses[0]!.partitions[0]!.records!
    expect(attributesOf(batch) & ATTR_LOG_APPEND_TIME).toBe(ATTR_LOG_APPEND_TIME)
    expect(decodeBatch(batch).records[0]!.timestamp).toBe(result.logAppendTimeMs)
  })

  it('describes the cluster as this one broker, also as controller', async () => {
    const response = readDescribeClusterResponse(await client.request(ApiKey.DescribeCluster, 1, (w) => writeDescribeClusterRequest(w, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 })), 1)
    expect(response.errorCode).toBe(0)
    expect(response.brokers).toEqual([{ brokerId: 0, host: broker.host, port: broker.kafkaPort, rack: null }])
    expect(response.controllerId).toBe(0)
    expect(response.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })
})
