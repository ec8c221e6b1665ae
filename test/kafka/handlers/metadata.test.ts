import { describe, expect, it } from 'vitest'
import { metadata } from '../../../src/kafka/handlers/metadata.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { MetadataRequest, MetadataResponse } from '../../../src/protocol/generated/metadata.ts'
import { ZERO_UUID } from '../../../src/protocol/reader.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function request(names: string[] | null, allowAutoTopicCreation = false): MetadataRequest {
  return { topics: names === null ? null : names.map((name) => ({ topicId: ZERO_UUID, name })), allowAutoTopicCreation, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }
}

const topicCodes = (response: MetadataResponse): Array<[string | null, number]> => response.topics.map((t) => [t.name, t.errorCode])

describe('Metadata', () => {
  it('describes this broker as the leader and only replica of every partition', async () => {
    const { context, log, broker } = await makeHandlerContext({ topics: { orders: 2 } })
    const response = await exchange<MetadataResponse>(metadata, 12, request(['orders']), context)
    expect(response).toMatchObject({ clusterId: broker.clusterId, controllerId: broker.nodeId, brokers: [{ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: null }] })
    expect(response.topics).toEqual([{
      errorCode: ErrorCode.NONE, name: 'orders', topicId: log.topicByName('orders')!.id, isInternal: false, topicAuthorizedOperations: -2147483648,
      partitions: [0, 1].map((partitionIndex) => ({ errorCode: ErrorCode.NONE, partitionIndex, leaderId: broker.nodeId, leaderEpoch: -1, replicaNodes: [broker.nodeId], isrNodes: [broker.nodeId], offlineReplicas: [] })),
    }])
  })

  it('lists every topic for null (v1+) and none for an empty list, but every topic for an empty v0 list', async () => {
    const { context } = await makeHandlerContext({ topics: { a: 1, b: 1 } })
    expect(topicCodes(await exchange(metadata, 9, request(null), context)).map(([name]) => name).sort()).toEqual(['a', 'b'])
    expect((await exchange<MetadataResponse>(metadata, 9, request([]), context)).topics).toEqual([])
    expect(topicCodes(await exchange(metadata, 0, request([]), context)).map(([name]) => name).sort()).toEqual(['a', 'b'])
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic it may not create and INVALID_TOPIC_EXCEPTION for an impossible name', async () => {
    const { context, log } = await makeHandlerContext()
    expect(topicCodes(await exchange(metadata, 12, request(['missing', 'bad/name'], false), context))).toEqual([
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
    ])
    expect(log.topicByName('missing')).toBeUndefined()
  })

  it('auto-creates requested topics with the default partition count when the request and the broker allow it', async () => {
    const { context, log } = await makeHandlerContext({ settings: { ZOMBI_DEFAULT_PARTITIONS: '3' } })
    const response = await exchange<MetadataResponse>(metadata, 12, request(['fresh', 'bad/name'], true), context)
    expect(topicCodes(response)).toEqual([['fresh', ErrorCode.NONE], ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION]])
    expect(response.topics[0]!.partitions).toHaveLength(3)
    expect(log.topicByName('fresh')).toBeDefined()
  })

  it('does not auto-create when the broker forbids it, even if the request allows it', async () => {
    const { context, log } = await makeHandlerContext({ settings: { ZOMBI_AUTO_CREATE_TOPICS: 'false' } })
    expect(topicCodes(await call(metadata, 12, request(['fresh'], true), context))).toEqual([['fresh', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
    expect(log.topicByName('fresh')).toBeUndefined()
  })

  it('auto-creates for a v3 client, whose request cannot refuse it', async () => {
    const { context, log } = await makeHandlerContext()
    expect(topicCodes(await exchange(metadata, 3, request(['fresh'], false), context))).toEqual([['fresh', ErrorCode.NONE]])
    expect(log.topicByName('fresh')).toBeDefined()
  })

  it('looks a topic up by a non-zero id (v10+) even when a name is given, and answers UNKNOWN_TOPIC_ID for an unknown id', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 1 } })
    const id = log.topicByName('orders')!.id
    const unknownId = '6f1c1d2e-0000-4000-8000-000000000001'
    const response = await exchange<MetadataResponse>(metadata, 12, { ...request([]), topics: [{ topicId: id, name: '' }, { topicId: unknownId, name: null }] }, context)
    expect(response.topics.map((t) => [t.name, t.topicId, t.errorCode])).toEqual([['orders', id, ErrorCode.NONE], [null, unknownId, ErrorCode.UNKNOWN_TOPIC_ID]])
  })
})
