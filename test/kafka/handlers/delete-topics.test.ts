import { describe, expect, it } from 'vitest'
import { deleteTopics } from '../../../src/kafka/handlers/delete-topics.ts'
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../../src/protocol/generated/delete-topics.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { ZERO_UUID } from '../../../src/protocol/reader.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const byNames = (...topicNames: string[]): DeleteTopicsRequest => ({ topics: [], topicNames, timeoutMs: 5000 })
const byStates = (...topics: DeleteTopicsRequest['topics']): DeleteTopicsRequest => ({ topics, topicNames: [], timeoutMs: 5000 })
const codes = (response: DeleteTopicsResponse): Array<[string | null, number]> => response.responses.map((r) => [r.name, r.errorCode])

describe('DeleteTopics', () => {
  it('deletes topics by name (v0-5) and answers UNKNOWN_TOPIC_OR_PARTITION for a missing one', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 1, keep: 1 } })
    const response = await exchange<DeleteTopicsResponse>(deleteTopics, 5, byNames('orders', 'missing'), context)
    expect(codes(response)).toEqual([['orders', ErrorCode.NONE], ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
    expect(log.topicByName('orders')).toBeUndefined()
    expect(log.topicByName('keep')).toBeDefined()
  })

  it('deletes topics by name or by id (v6), answering UNKNOWN_TOPIC_ID for an unknown id', async () => {
    const { context, log } = await makeHandlerContext({ topics: { named: 1, identified: 1 } })
    const id = log.topicByName('identified')!.id
    const unknownId = '6f1c1d2e-0000-4000-8000-000000000001'
    const response = await exchange<DeleteTopicsResponse>(deleteTopics, 6, byStates({ name: 'named', topicId: ZERO_UUID }, { name: null, topicId: id }, { name: null, topicId: unknownId }), context)
    expect(response.responses).toEqual([
      { name: 'named', topicId: expect.any(String), errorCode: ErrorCode.NONE, errorMessage: null },
      { name: 'identified', topicId: id, errorCode: ErrorCode.NONE, errorMessage: null },
      { name: null, topicId: unknownId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `no topic with id ${unknownId}` },
    ])
    expect([...log.topics()]).toEqual([])
  })

  it('reads only the v6 topic list at v6, and only the name list before', async () => {
    const { context, log } = await makeHandlerContext({ topics: { a: 1, b: 1 } })
    const both = { topics: [{ name: 'a', topicId: ZERO_UUID }], topicNames: ['b'], timeoutMs: 5000 }
    expect(codes(await call(deleteTopics, 6, both, context))).toEqual([['a', ErrorCode.NONE]])
    expect(log.topicByName('b')).toBeDefined()
    await log.createTopic('a', 1, {})
    expect(codes(await call(deleteTopics, 5, both, context))).toEqual([['b', ErrorCode.NONE]])
    expect(log.topicByName('a')).toBeDefined()
  })

  it('answers KAFKA_STORAGE_ERROR when the deletion cannot be stored', async () => {
    const { context, store } = await makeHandlerContext({ topics: { orders: 1 } })
    await store.close()
    const response = await call<DeleteTopicsResponse>(deleteTopics, 4, byNames('orders'), context)
    expect(codes(response)).toEqual([['orders', ErrorCode.KAFKA_STORAGE_ERROR]])
  })
})
