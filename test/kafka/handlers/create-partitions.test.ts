import { describe, expect, it } from 'vitest'
import { createPartitions } from '../../../src/kafka/handlers/create-partitions.ts'
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../../src/protocol/generated/create-partitions.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

type Wanted = CreatePartitionsRequest['topics'][number]

function request(topics: Wanted[], validateOnly = false): CreatePartitionsRequest {
  return { topics, timeoutMs: 5000, validateOnly }
}

const codes = (response: CreatePartitionsResponse): Array<[string, number]> => response.results.map((r) => [r.name, r.errorCode])

describe('CreatePartitions', () => {
  it('grows a topic to the new count', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 2 } })
    const response = await exchange<CreatePartitionsResponse>(createPartitions, 3, request([{ name: 'orders', count: 5, assignments: null }]), context)
    expect(response.results).toEqual([{ name: 'orders', errorCode: ErrorCode.NONE, errorMessage: null }])
    expect(log.topicByName('orders')!.partitions).toHaveLength(5)
  })

  it('takes assignments of the new partitions to this broker alone and refuses any other', async () => {
    const { context, log, broker } = await makeHandlerContext({ topics: { here: 1, there: 1 } })
    const response = await call<CreatePartitionsResponse>(createPartitions, 1, request([
      { name: 'here', count: 2, assignments: [{ brokerIds: [broker.nodeId] }] },
      { name: 'there', count: 2, assignments: [{ brokerIds: [broker.nodeId, broker.nodeId + 1] }] },
    ]), context)
    expect(codes(response)).toEqual([['here', ErrorCode.NONE], ['there', ErrorCode.INVALID_REPLICA_ASSIGNMENT]])
    expect([log.topicByName('here')!.partitions.length, log.topicByName('there')!.partitions.length]).toEqual([2, 1])
  })

  it('refuses assignments that do not name each new partition exactly once, as Kafka does', async () => {
    const { context, log, broker } = await makeHandlerContext({ topics: { orders: 2 } })
    const response = await call<CreatePartitionsResponse>(createPartitions, 3, request([{ name: 'orders', count: 5, assignments: [{ brokerIds: [broker.nodeId] }] }]), context)
    expect(codes(response)).toEqual([['orders', ErrorCode.INVALID_REPLICA_ASSIGNMENT]])
    expect(log.topicByName('orders')!.partitions).toHaveLength(2)
  })

  it('never shrinks a topic, answers UNKNOWN_TOPIC_OR_PARTITION for a missing one, and goes on with the rest', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 3, other: 1 } })
    const response = await call<CreatePartitionsResponse>(createPartitions, 3, request([
      { name: 'orders', count: 2, assignments: null },
      { name: 'orders', count: 3, assignments: null },
      { name: 'missing', count: 2, assignments: null },
      { name: 'other', count: 2, assignments: null },
    ]), context)
    expect(codes(response)).toEqual([
      ['orders', ErrorCode.INVALID_PARTITIONS], ['orders', ErrorCode.INVALID_PARTITIONS], ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['other', ErrorCode.NONE],
    ])
    expect(response.results[0]!.errorMessage).toMatch(/3 partitions/)
    expect(log.topicByName('orders')!.partitions).toHaveLength(3)
  })

  it('answers POLICY_VIOLATION past the broker partition limit', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 2 }, maxPartitions: 4 })
    expect(codes(await call(createPartitions, 3, request([{ name: 'orders', count: 5, assignments: null }]), context))).toEqual([['orders', ErrorCode.POLICY_VIOLATION]])
  })

  it('with validate_only checks the request and adds nothing', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 1 } })
    const response = await exchange<CreatePartitionsResponse>(createPartitions, 0, request([{ name: 'orders', count: 4, assignments: null }, { name: 'orders', count: 1, assignments: null }], true), context)
    expect(codes(response)).toEqual([['orders', ErrorCode.NONE], ['orders', ErrorCode.INVALID_PARTITIONS]])
    expect(log.topicByName('orders')!.partitions).toHaveLength(1)
  })
})
