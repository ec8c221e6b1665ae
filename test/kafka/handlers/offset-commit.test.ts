import { describe, expect, it } from 'vitest'
import { offsetCommit } from '../../../src/kafka/handlers/offset-commit.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../../src/protocol/generated/offset-commit.ts'
import { joinNew, joinStable } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function request(generation: number, memberId: string, offsets: Array<[topic: string, partition: number, offset: number]>): OffsetCommitRequest {
  const topics = [...new Set(offsets.map(([topic]) => topic))]
  return {
    groupId: 'g', generationIdOrMemberEpoch: generation, memberId, groupInstanceId: null, retentionTimeMs: -1,
    topics: topics.map((name) => ({
      name,
      partitions: offsets.filter(([topic]) => topic === name).map(([, partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'meta' })),
    })),
  }
}

const codes = (response: OffsetCommitResponse) => response.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode]))

describe('OffsetCommit', () => {
  it('stores a member\'s commits for its generation, answering each partition in request order', async () => {
    const { context, groups } = await makeHandlerContext({ topics: { orders: 2, other: 1 } })
    const member = await joinStable(groups)
    const response = await exchange<OffsetCommitResponse>(offsetCommit, 8, request(member.generationId, member.memberId, [['orders', 1, 7], ['other', 0, 3], ['orders', 0, 5]]), context)
    expect(codes(response)).toEqual([['orders', 1, 0], ['orders', 0, 0], ['other', 0, 0]])
    expect(groups.fetchOffset('g', 'orders', 1)).toMatchObject({ offset: 7, metadata: 'meta' })
    expect(groups.fetchOffset('g', 'orders', 0)!.offset).toBe(5)
  })

  it('takes a simple commit (no generation, no member) for a group without members', async () => {
    const { context, groups } = await makeHandlerContext({ topics: { orders: 1 } })
    expect(codes(await exchange(offsetCommit, 2, request(-1, '', [['orders', 0, 4]]), context))).toEqual([['orders', 0, ErrorCode.NONE]])
    expect(groups.fetchOffset('g', 'orders', 0)!.offset).toBe(4)
  })

  it('reads a v0 commit, which has no generation, as a simple commit', async () => {
    const { context, groups } = await makeHandlerContext({ topics: { orders: 1 } })
    expect(codes(await call(offsetCommit, 0, request(12, '', [['orders', 0, 9]]), context))).toEqual([['orders', 0, ErrorCode.NONE]])
    expect(groups.fetchOffset('g', 'orders', 0)!.offset).toBe(9)
  })

  it('refuses a stale generation, a stranger, a commit during the rebalance, and partitions that do not exist', async () => {
    const { context, groups } = await makeHandlerContext({ topics: { orders: 1 } })
    const member = await joinStable(groups)
    expect(codes(await call(offsetCommit, 8, request(member.generationId + 1, member.memberId, [['orders', 0, 1]]), context))).toEqual([['orders', 0, ErrorCode.ILLEGAL_GENERATION]])
    expect(codes(await call(offsetCommit, 8, request(member.generationId, 'stranger', [['orders', 0, 1]]), context))).toEqual([['orders', 0, ErrorCode.UNKNOWN_MEMBER_ID]])
    expect(codes(await call(offsetCommit, 8, request(member.generationId, member.memberId, [['orders', 1, 1], ['missing', 0, 1], ['orders', 0, -2]]), context))).toEqual([
      ['orders', 1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['orders', 0, ErrorCode.INVALID_COMMIT_OFFSET_SIZE], ['missing', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ])
    expect(groups.fetchOffset('g', 'orders', 0)).toBeUndefined()
  })

  it('answers REBALANCE_IN_PROGRESS to a member committing before its generation is synced', async () => {
    const { context, groups } = await makeHandlerContext({ topics: { orders: 1 } })
    const member = await joinNew(groups)
    expect(codes(await call(offsetCommit, 8, request(member.generationId, member.memberId, [['orders', 0, 1]]), context))).toEqual([['orders', 0, ErrorCode.REBALANCE_IN_PROGRESS]])
  })
})
