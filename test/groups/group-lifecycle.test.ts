// When the coordinator forgets a group: only once it holds nothing (no members, no pending member
// ids, no committed offsets), so floods of joins under fresh group ids cannot pile up.
import { describe, expect, it } from 'vitest'
import type { GroupCoordinator } from '../../src/groups/coordinator.ts'
import { MAX_MEMBER_METADATA_BYTES, type JoinRequest } from '../../src/groups/join.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { startCoordinator } from './fixtures/coordinator.ts'

async function setup(): Promise<GroupCoordinator> {
  return (await startCoordinator()).groups
}

function joinRequest(groupId: string, memberId = '', sessionTimeoutMs = 10_000): JoinRequest {
  return {
    groupId, memberId, groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('r') }],
    sessionTimeoutMs, rebalanceTimeoutMs: 10_000, requireKnownMemberId: true, clientId: 'c', clientHost: '/127.0.0.1',
  }
}

function groupIds(groups: GroupCoordinator): string[] {
  return [...groups.groups()].map((g) => g.groupId)
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe('group lifecycle', () => {
  it('forgets groups made only of member ids that never came back', async () => {
    const groups = await setup()
    for (let i = 0; i < 2000; i++) expect((await groups.join(joinRequest(`flood-${i}`, '', 30))).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED)
    expect(groupIds(groups)).toHaveLength(2000)
    await until(() => groupIds(groups).length === 0)
    expect(groupIds(groups)).toEqual([])
  })

  it('forgets a group whose join failed before anyone became a member', async () => {
    const groups = await setup()
    const refused = await groups.join({ ...joinRequest('refused'), protocols: [] })
    expect(refused.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    expect(groupIds(groups)).toEqual([])
  })

  it('forgets a group when its last member leaves, unless it holds committed offsets', async () => {
    const groups = await setup()
    for (const groupId of ['without-offsets', 'with-offsets']) {
      const first = await groups.join(joinRequest(groupId))
      const joined = await groups.join(joinRequest(groupId, first.memberId))
      await groups.sync(groupId, joined.generationId, joined.memberId, null, null, null, [{ memberId: joined.memberId, assignment: Buffer.from('a') }])
      if (groupId === 'with-offsets') {
        const errors = await groups.commitOffsets(groupId, joined.generationId, joined.memberId, null, [{ topic: 'orders', partition: 0, offset: 3, leaderEpoch: -1, metadata: null }])
        expect(errors).toEqual([ErrorCode.NONE])
      }
      expect(groups.leave(groupId, [{ memberId: joined.memberId, groupInstanceId: null }])).toEqual([ErrorCode.NONE])
    }
    expect(groupIds(groups)).toEqual(['with-offsets'])
    expect(groups.group('with-offsets')!.state).toBe('Empty')
  })

  it('refuses oversized protocol metadata without keeping anything', async () => {
    const groups = await setup()
    const huge = Buffer.alloc(MAX_MEMBER_METADATA_BYTES + 1)
    const refused = await groups.join({ ...joinRequest('huge'), protocols: [{ name: 'range', metadata: huge }] })
    expect(refused.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect(groupIds(groups)).toEqual([])
    const split = await groups.join({ ...joinRequest('huge'), protocols: [{ name: 'range', metadata: huge.subarray(0, 600_000) }, { name: 'roundrobin', metadata: huge.subarray(0, 600_000) }] })
    expect(split.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect((await groups.join({ ...joinRequest('fits'), protocols: [{ name: 'range', metadata: huge.subarray(0, MAX_MEMBER_METADATA_BYTES) }] })).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED)
  })

  it('forgets a pending member id taken back with LeaveGroup, and its group with it', async () => {
    const groups = await setup()
    const first = await groups.join(joinRequest('pending-only'))
    expect(groups.leave('pending-only', [{ memberId: first.memberId, groupInstanceId: null }])).toEqual([ErrorCode.NONE])
    expect(groupIds(groups)).toEqual([])
  })

  it('does not keep a group for a simple commit whose partitions were all refused', async () => {
    const groups = await setup()
    const errors = await groups.commitOffsets('simple', -1, '', null, [{ topic: 'missing', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }])
    expect(errors).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    expect(groupIds(groups)).toEqual([])
  })

  it('forgets a group once OffsetDelete removed the last offset of an empty group', async () => {
    const groups = await setup()
    await groups.commitOffsets('simple', -1, '', null, [{ topic: 'orders', partition: 1, offset: 7, leaderEpoch: -1, metadata: null }])
    expect(groupIds(groups)).toEqual(['simple'])
    expect(await groups.deleteOffsets('simple', [{ topic: 'orders', partition: 1 }])).toEqual([ErrorCode.NONE])
    expect(groupIds(groups)).toEqual([])
  })
})
