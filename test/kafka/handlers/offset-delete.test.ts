import { AssignerProtocol } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { offsetDelete } from '../../../src/kafka/handlers/offset-delete.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../../src/protocol/generated/offset-delete.ts'
import { joinStable } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const request = (groupId: string, topics: Record<string, number[]>): OffsetDeleteRequest =>
  ({ groupId, topics: Object.entries(topics).map(([name, partitions]) => ({ name, partitions: partitions.map((partitionIndex) => ({ partitionIndex })) })) })

const codes = (response: OffsetDeleteResponse) => response.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode]))

async function committed(groupId: string) {
  const harness = await makeHandlerContext({ topics: { orders: 2 } })
  await harness.groups.commitOffsets(groupId, -1, '', null, [0, 1].map((partition) => ({ topic: 'orders', partition, offset: 3, leaderEpoch: -1, metadata: null })))
  return harness
}

describe('OffsetDelete', () => {
  it('removes committed offsets of an empty group, partition by partition', async () => {
    const { context, groups } = await committed('g')
    const response = await exchange<OffsetDeleteResponse>(offsetDelete, 0, request('g', { orders: [1, 5] }), context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    expect(codes(response)).toEqual([['orders', 1, ErrorCode.NONE], ['orders', 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
    expect(groups.fetchOffset('g', 'orders', 1)).toBeUndefined()
    expect(groups.fetchOffset('g', 'orders', 0)!.offset).toBe(3)
  })

  it('keeps the offsets of topics a live consumer group still subscribes to', async () => {
    const { context, groups } = await committed('g')
    await joinStable(groups, { protocols: [{ name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['orders'], userData: Buffer.alloc(0) }) }] })
    const response = await call<OffsetDeleteResponse>(offsetDelete, 0, request('g', { orders: [0] }), context)
    expect([response.errorCode, ...codes(response)]).toEqual([ErrorCode.NONE, ['orders', 0, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]])
    expect(groups.fetchOffset('g', 'orders', 0)!.offset).toBe(3)
  })

  it('answers GROUP_ID_NOT_FOUND at the top level for an unknown group, with no topics', async () => {
    const { context } = await committed('g')
    expect(await exchange(offsetDelete, 0, request('unknown', { orders: [0] }), context)).toEqual({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] })
  })
})
