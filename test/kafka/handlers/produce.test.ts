import { describe, expect, it, test } from 'vitest'
import { produce } from '../../../src/kafka/handlers/produce.ts'
import { ProduceBudget } from '../../../src/kafka/produce-budget.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { ProduceResponse } from '../../../src/protocol/generated/produce.ts'
import { MemoryHotStore } from '../../../src/storage/memory-store.ts'
import { batchOf } from '../../support/log.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'
import { produceRequest } from '../fixtures/requests.ts'

/** Each partition's answer without the fields every one of these tests leaves at their defaults. */
function outcomes(response: ProduceResponse | null) {
  return response!.responses.flatMap((topic) => topic.partitionResponses.map(({ index, errorCode, baseOffset }) => ({ topic: topic.name, index, errorCode, baseOffset })))
}

test('an acks=0 Produce has no response, but its handling ends only once the records are stored (so budgets and pending counts hold it)', async () => {
  const { log, context } = await makeHandlerContext({ topics: { fire: 1 }, apiVersion: 9 })
  const handled = produce.handle(produceRequest({ fire: [{ index: 0, records: batchOf(['and forget']) }] }, 0), context)
  expect(handled).toBeInstanceOf(Promise)
  // The memory store settles appends at the end of the tick: until then the handling is not done.
  let done = false
  void (handled as Promise<unknown>).then(() => { done = true })
  await Promise.resolve()
  expect(done).toBe(false)
  expect(await handled).toBeNull()
  expect(log.topicByName('fire')!.partitions[0]!.highWatermark).toBe(1)
})

test('a Produce on a full disk is answered KAFKA_STORAGE_ERROR per partition, with no offset given out', async () => {
  class FullStore extends MemoryHotStore {
    override hasSpaceFor(): boolean {
      return false
    }
  }
  const { log, context } = await makeHandlerContext({ store: new FullStore(), topics: { full: 2 } })
  const request = produceRequest({ full: [{ index: 0, records: batchOf(['no room']) }, { index: 1, records: batchOf(['no room']) }] })
  expect(outcomes(await call(produce, 9, request, context))).toEqual([
    { topic: 'full', index: 0, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
    { topic: 'full', index: 1, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
  ])
  expect(log.topicByName('full')!.partitions.map((p) => p.nextOffset)).toEqual([0, 0])
})

describe('Produce', () => {
  it('gives dense offsets per partition in request order and answers each partition with its base offset', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 2 } })
    const first = await call<ProduceResponse>(produce, 9, produceRequest({ orders: [{ index: 0, records: batchOf(['a', 'b', 'c']) }, { index: 1, records: batchOf(['x']) }] }), context)
    const second = await call<ProduceResponse>(produce, 9, produceRequest({ orders: [{ index: 1, records: batchOf(['y', 'z']) }, { index: 0, records: batchOf(['d']) }] }), context)
    expect(outcomes(first)).toEqual([
      { topic: 'orders', index: 0, errorCode: ErrorCode.NONE, baseOffset: 0 },
      { topic: 'orders', index: 1, errorCode: ErrorCode.NONE, baseOffset: 0 },
    ])
    expect(outcomes(second)).toEqual([
      { topic: 'orders', index: 1, errorCode: ErrorCode.NONE, baseOffset: 1 },
      { topic: 'orders', index: 0, errorCode: ErrorCode.NONE, baseOffset: 3 },
    ])
    expect(second.responses[0]!.partitionResponses[0]).toMatchObject({ logAppendTimeMs: -1, logStartOffset: 0, errorMessage: null })
  })

  it('assigns the offsets of pipelined requests in the order they were handled, not the order they were stored', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    // Both are handed to the handler before either append has settled, as the connection does.
    context.apiVersion = 9
    const earlier = produce.handle(produceRequest({ orders: [{ index: 0, records: batchOf(['1', '2']) }] }), context)
    const later = produce.handle(produceRequest({ orders: [{ index: 0, records: batchOf(['3']) }] }), context)
    expect(outcomes(await later as ProduceResponse)[0]!.baseOffset).toBe(2)
    expect(outcomes(await earlier as ProduceResponse)[0]!.baseOffset).toBe(0)
  })

  it('refuses every partition of a request with invalid acks, storing nothing', async () => {
    const { log, context } = await makeHandlerContext({ topics: { orders: 1 } })
    const response = await call<ProduceResponse>(produce, 9, produceRequest({ orders: [{ index: 0, records: batchOf(['a']) }] }, 2), context)
    expect(outcomes(response)).toEqual([{ topic: 'orders', index: 0, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1 }])
    expect(response.responses[0]!.partitionResponses[0]!.errorMessage).toMatch(/acks/)
    expect(log.topicByName('orders')!.partitions[0]!.highWatermark).toBe(0)
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic (auto-create off) or partition, INVALID_TOPIC_EXCEPTION for a bad name, and stores the rest', async () => {
    const { log, context } = await makeHandlerContext({ topics: { orders: 1 }, settings: { ZOMBI_AUTO_CREATE_TOPICS: 'false' } })
    const response = await call<ProduceResponse>(produce, 9, produceRequest({
      orders: [{ index: 0, records: batchOf(['kept']) }, { index: 1, records: batchOf(['no partition 1']) }],
      missing: [{ index: 0, records: batchOf(['nowhere']) }],
      'bad/name': [{ index: 0, records: batchOf(['never']) }],
    }), context)
    expect(outcomes(response)).toEqual([
      { topic: 'orders', index: 0, errorCode: ErrorCode.NONE, baseOffset: 0 },
      { topic: 'orders', index: 1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1 },
      { topic: 'missing', index: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1 },
      { topic: 'bad/name', index: 0, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, baseOffset: -1 },
    ])
    expect(log.topicByName('missing')).toBeUndefined()
  })

  it('auto-creates an unknown topic with the default partition count in prepare, so the same request is stored', async () => {
    const { log, context } = await makeHandlerContext({ settings: { ZOMBI_DEFAULT_PARTITIONS: '3' } })
    const response = await call<ProduceResponse>(produce, 9, produceRequest({ fresh: [{ index: 2, records: batchOf(['first']) }], 'bad/name': [{ index: 0, records: batchOf(['x']) }] }), context)
    expect(outcomes(response)).toEqual([
      { topic: 'fresh', index: 2, errorCode: ErrorCode.NONE, baseOffset: 0 },
      { topic: 'bad/name', index: 0, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, baseOffset: -1 },
    ])
    expect(log.topicByName('fresh')!.partitions).toHaveLength(3)
    expect(log.topicByName('bad/name')).toBeUndefined()
  })

  it('asks for a throttle while the broker-wide produce budget is overloaded', async () => {
    const produceBudget = new ProduceBudget(100)
    const { context } = await makeHandlerContext({ topics: { orders: 1 }, produceBudget })
    const request = produceRequest({ orders: [{ index: 0, records: batchOf(['a']) }] })
    expect((await call<ProduceResponse>(produce, 9, request, context)).throttleTimeMs).toBe(0)
    produceBudget.acquire(1000)
    expect((await call<ProduceResponse>(produce, 9, request, context)).throttleTimeMs).toBeGreaterThan(0)
  })

  it.each([3, 7, 9, 11])('answers a v%i client in a response that encodes for its version', async (version) => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    await call(produce, version, produceRequest({ orders: [{ index: 0, records: batchOf(['earlier']) }] }), context)
    const response = await exchange<ProduceResponse>(produce, version, produceRequest({ orders: [{ index: 0, records: batchOf(['wired']) }] }), context)
    expect(outcomes(response)).toEqual([{ topic: 'orders', index: 0, errorCode: ErrorCode.NONE, baseOffset: 1 }])
  })
})

test('acks=all on a topic whose min.insync.replicas is above 1 is refused NOT_ENOUGH_REPLICAS (one replica); acks=1 is stored', async () => {
  const { log, context } = await makeHandlerContext({ apiVersion: 9 })
  await log.createTopic('safe', 1, { 'min.insync.replicas': '2' })
  const all = await call<ProduceResponse>(produce, 9, produceRequest({ safe: [{ index: 0, records: batchOf(['a']) }] }, -1), context)
  expect(outcomes(all)).toEqual([{ topic: 'safe', index: 0, errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, baseOffset: -1 }])
  expect(all!.responses[0]!.partitionResponses[0]!.errorMessage).toMatch(/min.insync.replicas 2/)
  const one = await call<ProduceResponse>(produce, 9, produceRequest({ safe: [{ index: 0, records: batchOf(['b']) }] }, 1), context)
  expect(outcomes(one)).toEqual([{ topic: 'safe', index: 0, errorCode: ErrorCode.NONE, baseOffset: 0 }])
})
