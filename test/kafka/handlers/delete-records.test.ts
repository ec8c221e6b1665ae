// DeleteRecords: the log start offset moves (durably: test/log/broker-log.test.ts), Fetch below it is out
// of range, ListOffsets earliest returns it, -1 means the high watermark, an offset past the high
// watermark is OFFSET_OUT_OF_RANGE, and a cut inside a batch hides the records before it from lookups.
import { describe, expect, it } from 'vitest'
import { deleteRecords } from '../../../src/kafka/handlers/delete-records.ts'
import { fetch } from '../../../src/kafka/handlers/fetch.ts'
import { listOffsets } from '../../../src/kafka/handlers/list-offsets.ts'
import { RecordReader } from '../../../src/log/record-reader.ts'
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../../src/protocol/generated/delete-records.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { FetchResponse } from '../../../src/protocol/generated/fetch.ts'
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../../src/protocol/generated/list-offsets.ts'
import type { Records } from '../../../src/protocol/writer.ts'
import { batchOf } from '../../support/log.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'
import { fetchPartition, fetchRequest } from '../fixtures/requests.ts'

function request(topic: string, cuts: Array<[partitionIndex: number, offset: number]>): DeleteRecordsRequest {
  return { topics: [{ name: topic, partitions: cuts.map(([partitionIndex, offset]) => ({ partitionIndex, offset })) }], timeoutMs: 1000 }
}

function lookup(topic: string, partitionIndex: number, timestamp: number): ListOffsetsRequest {
  return { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }] }
}

/** "orders" partition 0: offsets 0-2 (timestamps 1000-1002) and 3-4 (2000-2001); partition 1 empty. */
async function withRecords() {
  const harness = await makeHandlerContext({ topics: { orders: 2 } })
  const topic = harness.log.topicByName('orders')!
  await harness.log.append(topic, topic.partitions[0]!, batchOf(['a', 'b', 'c'], 1000))
  await harness.log.append(topic, topic.partitions[0]!, batchOf(['d', 'e'], 2000))
  return harness
}

describe('DeleteRecords', () => {
  it('moves the log start offset: Fetch below it is out of range and ListOffsets earliest returns it', async () => {
    const { context } = await withRecords()
    for (const version of [0, 1, 2]) {
      const response = await exchange<DeleteRecordsResponse>(deleteRecords, version, request('orders', [[0, 2]]), context)
      expect(response.topics).toEqual([{ name: 'orders', partitions: [{ partitionIndex: 0, lowWatermark: 2, errorCode: ErrorCode.NONE }] }])
    }
    const earliest = await call<ListOffsetsResponse>(listOffsets, 9, lookup('orders', 0, -2), context)
    expect(earliest.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: 2 })
    const below = await call<FetchResponse<Records>>(fetch, 12, fetchRequest([{ topic: 'orders', partitions: [fetchPartition(0, 1)] }]), context)
    expect(below.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 2 })
    const at = await call<FetchResponse<Records>>(fetch, 12, fetchRequest([{ topic: 'orders', partitions: [fetchPartition(0, 2)] }]), context)
    expect(at.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, logStartOffset: 2 })
    expect((at.responses[0]!.partitions[0]!.records as Buffer[]).length).toBe(2)
  })

  it('takes -1 as the high watermark, refuses offsets past it, and never moves the start back', async () => {
    const { context } = await withRecords()
    const response = await call<DeleteRecordsResponse>(deleteRecords, 2, {
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, offset: 6 }, { partitionIndex: 1, offset: -1 }] },
        { name: 'missing', partitions: [{ partitionIndex: 0, offset: 0 }] },
      ],
      timeoutMs: 0,
    }, context)
    expect(response.topics).toEqual([
      { name: 'orders', partitions: [{ partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }, { partitionIndex: 1, lowWatermark: 0, errorCode: ErrorCode.NONE }] },
      { name: 'missing', partitions: [{ partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ])
    const all = await call<DeleteRecordsResponse>(deleteRecords, 2, request('orders', [[0, -1]]), context)
    expect(all.topics[0]!.partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: 5, errorCode: ErrorCode.NONE })
    const back = await call<DeleteRecordsResponse>(deleteRecords, 2, request('orders', [[0, 1]]), context)
    expect(back.topics[0]!.partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: 5, errorCode: ErrorCode.NONE })
  })

  it('hides the records before a cut inside a batch from timestamp lookups and HTTP reads', async () => {
    const { context, log } = await withRecords()
    await call(deleteRecords, 2, request('orders', [[0, 1]]), context)
    const byTime = await call<ListOffsetsResponse>(listOffsets, 9, lookup('orders', 0, 0), context)
    expect(byTime.topics[0]!.partitions[0]).toMatchObject({ offset: 1, timestamp: 1001 })
    await call(deleteRecords, 2, request('orders', [[0, 3]]), context)
    const later = await call<ListOffsetsResponse>(listOffsets, 9, lookup('orders', 0, 1001), context)
    expect(later.topics[0]!.partitions[0]).toMatchObject({ offset: 3, timestamp: 2000 })
    const maxTimestamp = await call<ListOffsetsResponse>(listOffsets, 9, lookup('orders', 0, -3), context)
    expect(maxTimestamp.topics[0]!.partitions[0]).toMatchObject({ offset: 4, timestamp: 2001 })
    const topic = log.topicByName('orders')!
    const reader = new RecordReader(null)
    expect(await reader.readPartition(topic, topic.partitions[0]!, 2, 10)).toBeNull()
    expect((await reader.readPartition(topic, topic.partitions[0]!, 3, 10))!.records.map((r) => r.offset)).toEqual([3, 4])
    expect((await reader.readSince(topic, 0, 10)).records.map((r) => r.offset)).toEqual([3, 4])
  })

  it('is refused TOPIC_AUTHORIZATION_FAILED without DELETE on the topic', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 }, settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
    context.principal = 'User:nobody'
    const response = await call<DeleteRecordsResponse>(deleteRecords, 2, request('orders', [[0, 0]]), context)
    expect(response.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
  })
})
