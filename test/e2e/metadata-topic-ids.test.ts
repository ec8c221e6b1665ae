// Metadata v12 requests that name topics by id, with the name as each client sends it: null
// (@platformatic/kafka, franz-go) or "" (the Java Admin client's default for an unset name).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readMetadataResponse, writeMetadataRequest, type MetadataRequestTopic } from '../../src/protocol/generated/metadata.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { RawClient } from './fixtures/raw-client.ts'

let broker: Broker
let client: RawClient

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '3' })
  client = await RawClient.connect(broker.host, broker.kafkaPort)
})

afterAll(async () => {
  client?.close()
  await broker?.cleanup()
})

async function metadata(topics: MetadataRequestTopic[], allowAutoTopicCreation = false) {
  const reader = await client.request(ApiKey.Metadata, 12, (w) => writeMetadataRequest(w, 12, {
    topics, allowAutoTopicCreation, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  }))
  return readMetadataResponse(reader, 12).topics.map((t) => ({ name: t.name, topicId: t.topicId, errorCode: t.errorCode, partitions: t.partitions.length }))
}

describe('Metadata by topic id', () => {
  it('looks a topic up by its id whether the name is null or "" (Java Admin describeTopics by id)', async () => {
    const name = uniqueTopic('metadata-by-id')
    const [created] = await metadata([{ name, topicId: ZERO_UUID }], true)
    expect(created).toMatchObject({ name, errorCode: ErrorCode.NONE, partitions: 3 })
    const expected = { name, topicId: created!.topicId, errorCode: ErrorCode.NONE, partitions: 3 }
    expect(await metadata([{ name: null, topicId: created!.topicId }])).toEqual([expected])
    expect(await metadata([{ name: '', topicId: created!.topicId }])).toEqual([expected])
  })

  it('answers an unknown id with UNKNOWN_TOPIC_ID and that id, and never auto-creates from an id request', async () => {
    const unknown = '11111111-2222-4333-8444-555555555555'
    expect(await metadata([{ name: '', topicId: unknown }], true)).toEqual([{ name: null, topicId: unknown, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, partitions: 0 }])
    expect(await metadata([{ name: null, topicId: unknown }], true)).toEqual([{ name: null, topicId: unknown, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, partitions: 0 }])
  })
})
