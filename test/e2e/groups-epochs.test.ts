// Leader epochs as consumers see them: Metadata says -1, stored batches say -1 whatever the
// producer wrote, and OffsetForLeaderEpoch never gives librdkafka a reason to reset a position.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readFetchResponse, writeFetchRequest } from '../../src/protocol/generated/fetch.ts'
import { readMetadataResponse, writeMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import { readOffsetForLeaderEpochResponse, writeOffsetForLeaderEpochRequest } from '../../src/protocol/generated/offset-for-leader-epoch.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { PARTITION_LEADER_EPOCH, batchSize } from '../../src/protocol/record-batch.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs } from './fixtures/kcat.ts'
import { pythonJsonLines } from './fixtures/python.ts'
import { RawClient } from './fixtures/raw-client.ts'

const FETCH_VERSION = 12
const EPOCH_VERSION = 4

let broker: Broker
let client: RawClient

beforeAll(async () => {
  broker = await startBroker()
  client = await RawClient.connect(broker.host, broker.kafkaPort)
})

afterAll(async () => {
  client?.close()
  await broker?.cleanup()
})

/** Ten records in partition 0, produced by kcat (librdkafka writes partition leader epoch 0 into its batches). */
async function produceTen(topic: string): Promise<void> {
  const input = Array.from({ length: 10 }, (_, i) => `record-${i}`).join('\n') + '\n'
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', ...kcatCommonArgs], { input })
}

async function storedEpochs(topic: string): Promise<number[]> {
  const reader = await client.request(ApiKey.Fetch, FETCH_VERSION, (w) => writeFetchRequest(w, FETCH_VERSION, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
    isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
    forgottenTopicsData: [], rackId: '',
  }))
  const partition = readFetchResponse(reader, FETCH_VERSION).responses[0]!.partitions[0]!
  expect(partition.errorCode).toBe(ErrorCode.NONE)
  const records = partition.records!
  const epochs: number[] = []
  for (let position = 0; position < records.length; position += batchSize(records, position)) {
    epochs.push(records.readInt32BE(position + PARTITION_LEADER_EPOCH))
  }
  return epochs
}

async function epochEnd(topic: string, partition: number, leaderEpoch: number) {
  const reader = await client.request(ApiKey.OffsetForLeaderEpoch, EPOCH_VERSION, (w) => writeOffsetForLeaderEpochRequest(w, EPOCH_VERSION, {
    replicaId: -1, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, leaderEpoch }] }],
  }))
  return readOffsetForLeaderEpochResponse(reader, EPOCH_VERSION).topics[0]!.partitions[0]!
}

describe('leader epochs', () => {
  test('Metadata and the stored batches both report epoch -1, even when the producer wrote 0', async () => {
    const topic = uniqueTopic('epochs-stored')
    await produceTen(topic)
    const metadata = readMetadataResponse(await client.request(ApiKey.Metadata, 12, (w) => writeMetadataRequest(w, 12, {
      topics: [{ topicId: ZERO_UUID, name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })), 12)
    expect(metadata.topics[0]!.partitions.map((p) => p.leaderEpoch)).toEqual([-1])
    const epochs = await storedEpochs(topic)
    expect(epochs.length).toBeGreaterThan(0)
    expect(new Set(epochs)).toEqual(new Set([-1]))
  })

  test('OffsetForLeaderEpoch: a known epoch ends at the high watermark; -1 is undefined; unknown partitions are errors', async () => {
    const topic = uniqueTopic('epochs-query')
    await produceTen(topic)
    expect(await epochEnd(topic, 0, 0)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: 0, endOffset: 10 })
    expect(await epochEnd(topic, 0, 7)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: 7, endOffset: 10 })
    expect(await epochEnd(topic, 0, -1)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1 })
    expect(await epochEnd(topic, 5, 0)).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
    expect(await epochEnd(uniqueTopic('epochs-missing'), 0, 0)).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
  })

  test('librdkafka: a seek() carrying leader epoch 0 is validated and resumes at that offset instead of resetting', async () => {
    const topic = uniqueTopic('epochs-seek')
    await produceTen(topic)
    const lines = await pythonJsonLines('compat-tests/confluent-kafka-python/group_seek_epoch.py', [
      '--bootstrap', broker.bootstrap, '--topic', topic, '--group', `${topic}-g`, '--offset', '6', '--epoch', '0',
    ]) as Array<{ type: string; offset?: number; leader_epoch?: number | null }>
    expect(lines[0]).toMatchObject({ type: 'first', offset: 0 })
    // The record carries no epoch: the batch says -1.
    expect(lines[0]!.leader_epoch ?? -1).toBe(-1)
    expect(lines[1]).toMatchObject({ type: 'after_seek', offset: 6 })
  })
})
