import { describe, expect, it } from 'vitest'
import { fetch } from '../../../src/kafka/handlers/fetch.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { FetchRequest, FetchResponse } from '../../../src/protocol/generated/fetch.ts'
import { ATTR_TRANSACTIONAL, batchSize } from '../../../src/protocol/record-batch.ts'
import { decodeBatch, encodeBatch } from '../../../src/protocol/records.ts'
import type { Records } from '../../../src/protocol/writer.ts'
import { batchOf } from '../../support/log.ts'
import { call, exchange, makeHandlerContext, type HandlerHarness } from '../fixtures/broker-parts.ts'
import { fetchPartition, fetchRequest } from '../fixtures/requests.ts'

type Handled = FetchResponse<Records>
type PartitionAnswer = Handled['responses'][number]['partitions'][number]

/** The offsets and values of the records in a partition's answer (whole batches, as sent). */
function recordsOf(records: Records): Array<[number, string]> {
  const bytes = records === null ? Buffer.alloc(0) : Buffer.isBuffer(records) ? records : Buffer.concat(records)
  const out: Array<[number, string]> = []
  for (let position = 0; position < bytes.length; position += batchSize(bytes, position)) {
    const batch = bytes.subarray(position, position + batchSize(bytes, position))
    for (const record of decodeBatch(batch).records) out.push([record.offset, record.value!.toString()])
  }
  return out
}

const answer = (response: Handled, topic = 0, partition = 0): PartitionAnswer => response.responses[topic]!.partitions[partition]!

/** "orders" with partitions 0 and 1; `batches` appended to partition 0 through the log. */
async function ordersWith(...batches: string[][]): Promise<HandlerHarness> {
  const harness = await makeHandlerContext({ topics: { orders: 2 } })
  const topic = harness.log.topicByName('orders')!
  for (const values of batches) await harness.log.append(topic, topic.partitions[0]!, batchOf(values))
  return harness
}

const fromOrders = (partitions: FetchRequest['topics'][number]['partitions'], overrides: Partial<FetchRequest> = {}): FetchRequest =>
  fetchRequest([{ topic: 'orders', partitions }], overrides)

describe('Fetch', () => {
  it('returns the stored batches from the fetch offset, with the watermarks', async () => {
    const { context } = await ordersWith(['a', 'b'], ['c'])
    const response = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0)]), context)
    expect(response).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: 0 })
    expect(answer(response)).toMatchObject({ partitionIndex: 0, errorCode: ErrorCode.NONE, highWatermark: 3, lastStableOffset: 3, logStartOffset: 0 })
    expect(recordsOf(answer(response).records)).toEqual([[0, 'a'], [1, 'b'], [2, 'c']])
  })

  it('sends a batch whole even when the fetch offset is inside it (the client skips what it has)', async () => {
    const { context } = await ordersWith(['a', 'b'], ['c'])
    expect(recordsOf(answer(await call(fetch, 12, fromOrders([fetchPartition(0, 1)]), context)).records)).toEqual([[0, 'a'], [1, 'b'], [2, 'c']])
    expect(recordsOf(answer(await call(fetch, 12, fromOrders([fetchPartition(0, 2)]), context)).records)).toEqual([[2, 'c']])
  })

  it('answers an offset at the high watermark with no records, and one past it or before the log start with OFFSET_OUT_OF_RANGE', async () => {
    const { context } = await ordersWith(['a'])
    const response = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 1), fetchPartition(0, 2), fetchPartition(0, -1)]), context)
    expect(response.responses[0]!.partitions.map((p) => [p.errorCode, recordsOf(p.records)])).toEqual([
      [ErrorCode.NONE, []], [ErrorCode.OFFSET_OUT_OF_RANGE, []], [ErrorCode.OFFSET_OUT_OF_RANGE, []],
    ])
    expect(answer(response, 0, 1).highWatermark).toBe(1)
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic or partition, with watermarks -1', async () => {
    const { context } = await ordersWith(['a'])
    const response = await call<Handled>(fetch, 12, fetchRequest([{ topic: 'orders', partitions: [fetchPartition(5, 0)] }, { topic: 'missing', partitions: [fetchPartition(0, 0)] }]), context)
    for (const topic of [0, 1]) expect(answer(response, topic)).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1, logStartOffset: -1 })
  })

  it('finds topics by id from v13, answering UNKNOWN_TOPIC_ID for an unknown one', async () => {
    const { context, log } = await ordersWith(['a'])
    const topicId = log.topicByName('orders')!.id
    const unknownId = '6f1c1d2e-0000-4000-8000-000000000001'
    const response = await exchange<FetchResponse>(fetch, 13, fetchRequest([{ topic: '', topicId, partitions: [fetchPartition(0, 0)] }, { topic: '', topicId: unknownId, partitions: [fetchPartition(0, 0)] }]), context)
    expect(response.responses.map((t) => [t.topicId, t.partitions[0]!.errorCode])).toEqual([[topicId, ErrorCode.NONE], [unknownId, ErrorCode.UNKNOWN_TOPIC_ID]])
    expect(recordsOf(answer(response as Handled).records)).toEqual([[0, 'a']])
  })

  it('finds topics by name before v13, ignoring any id', async () => {
    const { context } = await ordersWith(['a'])
    const response = await call<Handled>(fetch, 12, fetchRequest([{ topic: 'orders', topicId: '6f1c1d2e-0000-4000-8000-000000000001', partitions: [fetchPartition(0, 0)] }]), context)
    expect(recordsOf(answer(response).records)).toEqual([[0, 'a']])
  })

  it('refuses a session id from v7 with FETCH_SESSION_ID_NOT_FOUND, as it never hands one out', async () => {
    const { context } = await ordersWith(['a'])
    const refused = await exchange<FetchResponse>(fetch, 7, fromOrders([fetchPartition(0, 0)], { sessionId: 12, sessionEpoch: 1 }), context)
    expect(refused).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, responses: [] })
    // A v6 request has no session: the same bytes are a plain fetch.
    const answered = await exchange<FetchResponse>(fetch, 6, fromOrders([fetchPartition(0, 0)], { sessionId: 12 }), context)
    expect(recordsOf(answer(answered as Handled).records)).toEqual([[0, 'a']])
  })

  it('stays within max_bytes over partitions, but always sends the first batch so a large one cannot stall a consumer', async () => {
    const { context, log } = await ordersWith(['a'.repeat(500)], ['b'.repeat(500)])
    const topic = log.topicByName('orders')!
    await log.append(topic, topic.partitions[1]!, batchOf(['c']))
    const response = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0), fetchPartition(1, 0)], { maxBytes: 10 }), context)
    expect(recordsOf(answer(response, 0, 0).records).map(([offset]) => offset)).toEqual([0])
    expect(answer(response, 0, 1)).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 1 })
    expect(recordsOf(answer(response, 0, 1).records)).toEqual([])
  })

  it('stays within each partition_max_bytes, past its first batch', async () => {
    const { context } = await ordersWith(['a'.repeat(500)], ['b'.repeat(500)])
    const response = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0, 10)]), context)
    expect(recordsOf(answer(response).records).map(([offset]) => offset)).toEqual([0])
  })

  it('answers a long poll once records are appended to a partition it waits on', async () => {
    const { context, log } = await ordersWith()
    const topic = log.topicByName('orders')!
    const polling = call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0), fetchPartition(1, 0)], { maxWaitMs: 60_000 }), context)
    await log.append(topic, topic.partitions[1]!, batchOf(['woke']))
    const response = await polling
    expect(recordsOf(answer(response, 0, 1).records)).toEqual([[0, 'woke']])
  })

  it('keeps a long poll waiting until min_bytes are there', async () => {
    const { context, log } = await ordersWith()
    const topic = log.topicByName('orders')!
    let answered = false
    const polling = call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0)], { maxWaitMs: 60_000, minBytes: 150 }), context).finally(() => { answered = true })
    await log.append(topic, topic.partitions[0]!, batchOf(['small']))
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(answered).toBe(false)
    await log.append(topic, topic.partitions[0]!, batchOf(['x'.repeat(200)]))
    expect(recordsOf(answer(await polling).records).map(([offset]) => offset)).toEqual([0, 1])
  })

  it('ends a long poll empty when the broker shuts down (or the connection closes)', async () => {
    const { context, shutdown } = await ordersWith()
    const polling = call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0)], { maxWaitMs: 60_000 }), context)
    shutdown.abort()
    const response = await polling
    expect(answer(response)).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 0 })
    expect(recordsOf(answer(response).records)).toEqual([])
  })

  it('answers an error at once, without waiting for records', async () => {
    const { context } = await ordersWith()
    const response = await call<Handled>(fetch, 12, fetchRequest([{ topic: 'missing', partitions: [fetchPartition(0, 0)] }], { maxWaitMs: 60_000 }), context)
    expect(answer(response).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  it.each([0, 4, 11, 12, 16, 17])('answers a v%i client with records that decode from its response', async (version) => {
    const { context, log } = await ordersWith(['a'], ['b'])
    // From v13 topics go by id only.
    const topicId = version >= 13 ? log.topicByName('orders')!.id : undefined
    const response = await exchange<FetchResponse>(fetch, version, fetchRequest([{ topic: 'orders', topicId, partitions: [fetchPartition(0, 1)] }]), context)
    expect(answer(response as Handled).errorCode).toBe(ErrorCode.NONE)
    expect(recordsOf(answer(response as Handled).records)).toEqual([[1, 'b']])
  })

  it('stops read_committed at the last stable offset and lists the aborted transactions it returns; read_uncommitted gets everything', async () => {
    const harness = await makeHandlerContext({ topics: { orders: 1 } })
    const { log, context, groups } = harness
    const topic = log.topicByName('orders')!
    const partition = topic.partitions[0]!
    const tx = groups.transactions
    const { producerId } = await tx.initProducerId('app', 60_000, -1, -1, true)
    let sequence = 0
    const write = async (values: string[]): Promise<void> => {
      await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
      const batch = encodeBatch(values.map((value) => ({ key: null, value: Buffer.from(value) })), { producerId, producerEpoch: 0, baseSequence: sequence, attributes: ATTR_TRANSACTIONAL })
      sequence += values.length
      expect((await log.append(topic, partition, batch)).errorCode).toBe(ErrorCode.NONE)
    }
    await write(['a', 'b'])
    await tx.endTransaction('app', producerId, 0, false, true)
    await write(['c'])
    // a b | abort 2 | c (open)
    const committed = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0)], { isolationLevel: 1 }), context)
    expect(answer(committed)).toMatchObject({ highWatermark: 4, lastStableOffset: 3, abortedTransactions: [{ producerId, firstOffset: 0 }] })
    // Whole batches below the last stable offset: the aborted one and its marker (the client drops both).
    expect(recordsOf(answer(committed).records).map(([offset]) => offset)).toEqual([0, 1, 2])
    const uncommitted = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 0)]), context)
    expect(answer(uncommitted)).toMatchObject({ lastStableOffset: 3, abortedTransactions: null })
    expect(recordsOf(answer(uncommitted).records).map(([offset]) => offset)).toEqual([0, 1, 2, 3])
    // From the last stable offset a read_committed fetch gets nothing yet; the commit releases it.
    const waiting = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 3)], { isolationLevel: 1 }), context)
    expect(answer(waiting)).toMatchObject({ errorCode: ErrorCode.NONE, abortedTransactions: null })
    expect(recordsOf(answer(waiting).records)).toEqual([])
    await tx.endTransaction('app', producerId, 0, true, true)
    const released = await call<Handled>(fetch, 12, fromOrders([fetchPartition(0, 3)], { isolationLevel: 1 }), context)
    expect(answer(released)).toMatchObject({ highWatermark: 5, lastStableOffset: 5 })
    expect(recordsOf(answer(released).records).map(([offset]) => offset)).toEqual([3, 4])
  })
})
