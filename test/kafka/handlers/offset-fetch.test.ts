import { describe, expect, it, test } from 'vitest'
import { offsetFetch } from '../../../src/kafka/handlers/offset-fetch.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../../src/protocol/generated/offset-fetch.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

type Topics = Array<{ name: string; partitionIndexes: number[] }> | null

const single = (groupId: string, topics: Topics): OffsetFetchRequest => ({ groupId, topics, groups: [], requireStable: false })
const batched = (...groups: Array<[groupId: string, topics: Topics]>): OffsetFetchRequest =>
  ({ groupId: '', topics: [], groups: groups.map(([groupId, topics]) => ({ groupId, memberId: null, memberEpoch: -1, topics })), requireStable: false })

const offsets = (topics: OffsetFetchResponse['topics']) => topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]))

/** Group "g" committed orders/0 = 5 and orders/1 = 8; group "h" committed other/0 = 2. */
async function withCommits() {
  const harness = await makeHandlerContext({ topics: { orders: 2, other: 1 } })
  const commit = (groupId: string, topic: string, partition: number, offset: number) =>
    harness.groups.commitOffsets(groupId, -1, '', null, [{ topic, partition, offset, leaderEpoch: -1, metadata: `m${offset}` }])
  await commit('g', 'orders', 0, 5)
  await commit('g', 'orders', 1, 8)
  await commit('h', 'other', 0, 2)
  return harness
}

describe('OffsetFetch', () => {
  it('answers the asked-for partitions of one group, -1 without an error where nothing was committed (v0-7)', async () => {
    const { context } = await withCommits()
    const response = await exchange<OffsetFetchResponse>(offsetFetch, 7, single('g', [{ name: 'orders', partitionIndexes: [1, 0] }, { name: 'other', partitionIndexes: [0] }]), context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    expect(offsets(response.topics)).toEqual([['orders', 1, 8, 'm8', 0], ['orders', 0, 5, 'm5', 0], ['other', 0, -1, '', 0]])
  })

  it('answers every committed partition of the group for null topics (v2+)', async () => {
    const { context } = await withCommits()
    const response = await exchange<OffsetFetchResponse>(offsetFetch, 2, single('g', null), context)
    expect(offsets(response.topics).sort()).toEqual([['orders', 0, 5, 'm5', 0], ['orders', 1, 8, 'm8', 0]])
  })

  it('answers several groups at once (v8+)', async () => {
    const { context } = await withCommits()
    const response = await exchange<OffsetFetchResponse>(offsetFetch, 8, batched(['g', [{ name: 'orders', partitionIndexes: [0] }]], ['h', null], ['unknown', null]), context)
    expect(response.groups.map((g) => [g.groupId, g.errorCode, offsets(g.topics)])).toEqual([
      ['g', 0, [['orders', 0, 5, 'm5', 0]]],
      ['h', 0, [['other', 0, 2, 'm2', 0]]],
      ['unknown', 0, []],
    ])
  })

  it('answers a v1 client, which has no null topics, from the list it sent', async () => {
    const { context } = await withCommits()
    expect(offsets((await call<OffsetFetchResponse>(offsetFetch, 1, single('h', [{ name: 'other', partitionIndexes: [0] }]), context)).topics)).toEqual([['other', 0, 2, 'm2', 0]])
  })
})

test('with require_stable, an offset an open transaction will commit answers UNSTABLE_OFFSET_COMMIT until the transaction ends', async () => {
  const { context, groups } = await makeHandlerContext({ topics: { orders: 2 } })
  await groups.commitOffsets('g', -1, '', null, [{ topic: 'orders', partition: 0, offset: 3, leaderEpoch: -1, metadata: null }])
  const tx = groups.transactions
  const { producerId } = await tx.initProducerId('app', 60_000, -1, -1, true)
  await tx.addOffsets('app', producerId, 0, 'g', true)
  await tx.commitOffsets('app', 'g', producerId, 0, [{ topic: 'orders', partition: 0, offset: 9, leaderEpoch: -1, metadata: null }])
  const stable = { ...single('g', [{ name: 'orders', partitionIndexes: [0, 1] }]), requireStable: true }
  const codes = async (request: OffsetFetchRequest): Promise<Array<[number, number]>> =>
    (await call<OffsetFetchResponse>(offsetFetch, 7, request, context)).topics[0]!.partitions.map((p) => [p.committedOffset, p.errorCode])
  expect(await codes(stable)).toEqual([[-1, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1, ErrorCode.NONE]])
  // Without require_stable the committed offset is answered as before.
  expect(await codes(single('g', [{ name: 'orders', partitionIndexes: [0] }]))).toEqual([[3, ErrorCode.NONE]])
  await tx.endTransaction('app', producerId, 0, true, true)
  expect(await codes(stable)).toEqual([[9, ErrorCode.NONE], [-1, ErrorCode.NONE]])
})
