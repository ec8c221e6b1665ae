import { describe, expect, it } from 'vitest'
import { listOffsets } from '../../../src/kafka/handlers/list-offsets.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../../src/protocol/generated/list-offsets.ts'
import { ATTR_TRANSACTIONAL } from '../../../src/protocol/record-batch.ts'
import { encodeBatch } from '../../../src/protocol/records.ts'
import { batchOf } from '../../support/log.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function request(topic: string, lookups: Array<[partitionIndex: number, timestamp: number]>): ListOffsetsRequest {
  return { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: lookups.map(([partitionIndex, timestamp]) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }] }
}

const answers = (response: ListOffsetsResponse) => response.topics[0]!.partitions.map(({ errorCode, offset, timestamp }) => ({ errorCode, offset, timestamp }))

/** Partition 0 of "orders" holds offsets 0-2 at timestamps 1000-1002 and offset 3 at 500. */
async function withRecords() {
  const harness = await makeHandlerContext({ topics: { orders: 2 } })
  const topic = harness.log.topicByName('orders')!
  await harness.log.append(topic, topic.partitions[0]!, batchOf(['a', 'b', 'c'], 1000))
  await harness.log.append(topic, topic.partitions[0]!, batchOf(['late'], 500))
  return harness
}

describe('ListOffsets', () => {
  it('answers latest (-1) with the high watermark and earliest (-2, -4) with the log start', async () => {
    const { context } = await withRecords()
    expect(answers(await exchange(listOffsets, 9, request('orders', [[0, -1], [0, -2], [0, -4], [1, -1]]), context))).toEqual([
      { errorCode: ErrorCode.NONE, offset: 4, timestamp: -1 },
      { errorCode: ErrorCode.NONE, offset: 0, timestamp: -1 },
      { errorCode: ErrorCode.NONE, offset: 0, timestamp: -1 },
      { errorCode: ErrorCode.NONE, offset: 0, timestamp: -1 },
    ])
  })

  it('finds the first record at or after a timestamp, and -1 past the newest', async () => {
    const { context } = await withRecords()
    expect(answers(await call(listOffsets, 9, request('orders', [[0, 1001], [0, 0], [0, 5000], [1, 1000]]), context))).toEqual([
      { errorCode: ErrorCode.NONE, offset: 1, timestamp: 1001 },
      { errorCode: ErrorCode.NONE, offset: 0, timestamp: 1000 },
      { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1 },
      { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1 },
    ])
  })

  it('answers max timestamp (-3) with the record holding it, and -1 for an empty partition', async () => {
    const { context } = await withRecords()
    expect(answers(await exchange(listOffsets, 7, request('orders', [[0, -3], [1, -3]]), context))).toEqual([
      { errorCode: ErrorCode.NONE, offset: 2, timestamp: 1002 },
      { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1 },
    ])
  })

  it('answers latest tiered (-5) with -1, as nothing is tiered, and refuses lower special timestamps', async () => {
    const { context } = await withRecords()
    expect(answers(await call(listOffsets, 9, request('orders', [[0, -5], [0, -6]]), context))).toEqual([
      { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1 },
      { errorCode: ErrorCode.INVALID_REQUEST, offset: -1, timestamp: -1 },
    ])
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic or partition', async () => {
    const { context } = await withRecords()
    expect(answers(await call(listOffsets, 9, request('orders', [[2, -1]]), context))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(answers(await call(listOffsets, 9, request('missing', [[0, -1]]), context))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  it('answers a v0 client in the old offsets array', async () => {
    const { context } = await withRecords()
    const response = await exchange<ListOffsetsResponse>(listOffsets, 0, request('orders', [[0, -1], [1, -3]]), context)
    expect(response.topics[0]!.partitions.map((p) => [p.errorCode, p.oldStyleOffsets])).toEqual([[ErrorCode.NONE, [4]], [ErrorCode.NONE, []]])
  })
})

it('answers LATEST with the last stable offset for read_committed, the high watermark for read_uncommitted', async () => {
  const { context, groups, log } = await makeHandlerContext({ topics: { orders: 1 } })
  const topic = log.topicByName('orders')!
  await log.append(topic, topic.partitions[0]!, batchOf(['plain']))
  const { producerId } = await groups.transactions.initProducerId('app', 60_000, -1, -1, true)
  await groups.transactions.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
  await log.append(topic, topic.partitions[0]!, encodeBatch([{ key: null, value: Buffer.from('open') }], { producerId, producerEpoch: 0, baseSequence: 0, attributes: ATTR_TRANSACTIONAL }))
  const latest = (isolationLevel: number): ListOffsetsRequest => ({ ...request('orders', [[0, -1]]), isolationLevel })
  expect(answers(await call<ListOffsetsResponse>(listOffsets, 9, latest(1), context))).toEqual([{ errorCode: ErrorCode.NONE, offset: 1, timestamp: -1 }])
  expect(answers(await call<ListOffsetsResponse>(listOffsets, 9, latest(0), context))).toEqual([{ errorCode: ErrorCode.NONE, offset: 2, timestamp: -1 }])
})
