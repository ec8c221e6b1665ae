import { describe, expect, it } from 'vitest'
import { createTopics } from '../../../src/kafka/handlers/create-topics.ts'
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../../src/protocol/generated/create-topics.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { ZERO_UUID } from '../../../src/protocol/reader.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

type Wanted = CreateTopicsRequest['topics'][number]

function wanted(name: string, overrides: Partial<Wanted> = {}): Wanted {
  return { name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [], ...overrides }
}

function request(topics: Wanted[], validateOnly = false): CreateTopicsRequest {
  return { topics, timeoutMs: 5000, validateOnly }
}

function codes(response: CreateTopicsResponse): Array<[string, number]> {
  return response.topics.map((t) => [t.name, t.errorCode])
}

describe('CreateTopics', () => {
  it('creates a topic with its partitions and configs and describes it back (v7: with its id)', async () => {
    const { context, log } = await makeHandlerContext()
    const response = await exchange<CreateTopicsResponse>(createTopics, 7, request([wanted('orders', { configs: [{ name: 'retention.ms', value: '1000' }] })]), context)
    const topic = log.topicByName('orders')!
    expect(response.topics[0]).toMatchObject({ name: 'orders', topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: 2, replicationFactor: 1 })
    expect(response.topics[0]!.configs).toContainEqual({ name: 'retention.ms', value: '1000', readOnly: false, configSource: 1, isSensitive: false })
    expect(topic.partitions).toHaveLength(2)
    expect(topic.configs).toEqual({ 'retention.ms': '1000' })
  })

  it('uses the broker default partition count for -1 and takes replication factor -1 as 1', async () => {
    const { context, log } = await makeHandlerContext({ settings: { ZOMBI_DEFAULT_PARTITIONS: '4' } })
    const response = await call<CreateTopicsResponse>(createTopics, 5, request([wanted('defaults', { numPartitions: -1, replicationFactor: -1 })]), context)
    expect(response.topics[0]).toMatchObject({ errorCode: ErrorCode.NONE, numPartitions: 4 })
    expect(log.topicByName('defaults')!.partitions).toHaveLength(4)
  })

  it('takes replica assignments of partitions 0..n-1, each on this broker alone, as n partitions', async () => {
    const { context, log, broker } = await makeHandlerContext()
    const assignments = [1, 0, 2].map((partitionIndex) => ({ partitionIndex, brokerIds: [broker.nodeId] }))
    const response = await call<CreateTopicsResponse>(createTopics, 5, request([wanted('assigned', { numPartitions: -1, replicationFactor: -1, assignments })]), context)
    expect(codes(response)).toEqual([['assigned', ErrorCode.NONE]])
    expect(log.topicByName('assigned')!.partitions).toHaveLength(3)
  })

  it('refuses what one broker cannot do and malformed requests, topic by topic, creating none of them', async () => {
    const { context, log, broker } = await makeHandlerContext()
    const on = (brokerIds: number[], partitionIndex = 0) => ({ partitionIndex, brokerIds })
    const response = await call<CreateTopicsResponse>(createTopics, 5, request([
      wanted('replicated', { replicationFactor: 3 }),
      wanted('elsewhere', { numPartitions: -1, replicationFactor: -1, assignments: [on([broker.nodeId + 1])] }),
      wanted('gap', { numPartitions: -1, replicationFactor: -1, assignments: [on([broker.nodeId], 0), on([broker.nodeId], 2)] }),
      wanted('both', { assignments: [on([broker.nodeId])] }),
      wanted('null-config', { configs: [{ name: 'retention.ms', value: null }] }),
      wanted('bad-config', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      wanted('no-partitions', { numPartitions: 0 }),
      wanted('bad/name'),
    ]), context)
    expect(codes(response)).toEqual([
      ['replicated', ErrorCode.INVALID_REPLICATION_FACTOR],
      ['elsewhere', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['gap', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['both', ErrorCode.INVALID_REQUEST],
      ['null-config', ErrorCode.INVALID_CONFIG],
      ['bad-config', ErrorCode.INVALID_CONFIG],
      ['no-partitions', ErrorCode.INVALID_PARTITIONS],
      ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
    ])
    for (const topic of response.topics) expect(topic).toMatchObject({ topicId: ZERO_UUID, numPartitions: -1, replicationFactor: -1, configs: null })
    expect([...log.topics()]).toEqual([])
  })

  it('answers TOPIC_ALREADY_EXISTS for an existing topic and INVALID_REQUEST for a name given twice in one request', async () => {
    const { context } = await makeHandlerContext({ topics: { existing: 1 } })
    const response = await call<CreateTopicsResponse>(createTopics, 5, request([wanted('existing'), wanted('twice'), wanted('twice')]), context)
    expect(codes(response)).toEqual([['existing', ErrorCode.TOPIC_ALREADY_EXISTS], ['twice', ErrorCode.NONE], ['twice', ErrorCode.INVALID_REQUEST]])
  })

  it('with validate_only answers as if created, without an id, and creates nothing', async () => {
    const { context, log } = await makeHandlerContext()
    const response = await exchange<CreateTopicsResponse>(createTopics, 7, request([wanted('dry-run', { numPartitions: 3 })], true), context)
    expect(response.topics[0]).toMatchObject({ errorCode: ErrorCode.NONE, topicId: ZERO_UUID, numPartitions: 3 })
    expect(log.topicByName('dry-run')).toBeUndefined()
  })

  it('creates the topic for a v0 client, whose request cannot say validate_only', async () => {
    const { context, log } = await makeHandlerContext()
    const response = await exchange<CreateTopicsResponse>(createTopics, 0, request([wanted('v0')], true), context)
    expect(codes(response)).toEqual([['v0', ErrorCode.NONE]])
    expect(log.topicByName('v0')).toBeDefined()
  })
})
