// Transactions meet consumer-protocol groups (KIP-848): TxnOffsetCommit names a member by its member
// epoch, and the offsets a committed transaction carries land in the consumer group without making a
// classic group of the same id (which would then refuse the group's own members).
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { makeHandlerContext } from '../kafka/fixtures/broker-parts.ts'

async function consumerGroupMember() {
  const harness = await makeHandlerContext()
  const joined = await harness.groups.consumerHeartbeat({
    groupId: 'eos', memberId: 'm1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['orders'],
    subscribedTopicRegex: null, serverAssignor: null, ownedPartitions: null, serverGeneratesMemberId: false, clientId: 'c', clientHost: '/h',
  })
  expect(joined.errorCode).toBe(ErrorCode.NONE)
  return { groups: harness.groups, epoch: joined.memberEpoch }
}

describe('transactional offsets of a consumer-protocol group', () => {
  it('checks the member and its epoch', async () => {
    const { groups, epoch } = await consumerGroupMember()
    expect(epoch).toBeGreaterThan(0)
    expect(groups.validateTransactionalCommit('eos', epoch, 'm1', null)).toBe(ErrorCode.NONE)
    expect(groups.validateTransactionalCommit('eos', epoch + 1, 'm1', null)).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect(groups.validateTransactionalCommit('eos', epoch, 'ghost', null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    // Generation -1 (TxnOffsetCommit before v3) names no member.
    expect(groups.validateTransactionalCommit('eos', -1, '', null)).toBe(ErrorCode.NONE)
  })

  it('commits into the consumer group, with no classic group of the same id', async () => {
    const { groups } = await consumerGroupMember()
    await groups.commitTransactionalOffsets('eos', [{ topic: 'orders', partition: 0, committed: { offset: 42, leaderEpoch: -1, metadata: null, commitTimestampMs: 1 } }])
    expect(groups.group('eos')).toBeUndefined()
    expect(groups.consumerGroup('eos')).toBeDefined()
    expect([...groups.committedOffsets('eos')].map(([topic, partition, committed]) => [topic, partition, committed.offset])).toEqual([['orders', 0, 42]])
  })
})
