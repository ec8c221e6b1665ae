// The rebalance state machine through the coordinator: generations, leaders and followers, errors,
// session expiry, static members, bounded pending ids, and leaving.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { joinNew, joinRequest, startCoordinator, startJoin } from './fixtures/coordinator.ts'

async function setup(settings: Record<string, string> = {}) {
  return startCoordinator({ partitions: 6, settings })
}

describe('group membership', () => {
  it('asks a v4+ member for a member id first, then forms a generation with it as leader', async () => {
    const { groups } = await setup()
    const joined = await joinNew(groups)
    expect(joined.errorCode).toBe(0)
    expect(joined.generationId).toBe(1)
    expect(joined.leader).toBe(joined.memberId)
    expect(joined.protocolName).toBe('range')
    expect(joined.members.map((m) => m.memberId)).toEqual([joined.memberId])
    const synced = await groups.sync('g', 1, joined.memberId, null, 'consumer', 'range', [{ memberId: joined.memberId, assignment: Buffer.from('all') }])
    expect(synced.assignment.toString()).toBe('all')
    expect(groups.group('g')!.state).toBe('Stable')
  })

  it('rebalances when a second member joins; followers get their assignment from the leader', async () => {
    const { groups } = await setup()
    const first = await joinNew(groups)
    await groups.sync('g', 1, first.memberId, null, null, null, [{ memberId: first.memberId, assignment: Buffer.from('a') }])
    const secondPending = (await startJoin(groups)).completed
    // The first member learns of the rebalance from its heartbeat and rejoins.
    expect(groups.heartbeat('g', 1, first.memberId, null)).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
    const [rejoined, second] = await Promise.all([groups.join(joinRequest(first.memberId)), secondPending])
    expect(rejoined.generationId).toBe(2)
    expect(second.generationId).toBe(2)
    const leader = rejoined.leader === rejoined.memberId ? rejoined : second
    const follower = leader === rejoined ? second : rejoined
    expect(leader.members).toHaveLength(2)
    expect(follower.members).toHaveLength(0)
    const followerSync = groups.sync('g', 2, follower.memberId, null, null, null, [])
    const leaderSync = await groups.sync('g', 2, leader.memberId, null, null, null, [
      { memberId: leader.memberId, assignment: Buffer.from('L') }, { memberId: follower.memberId, assignment: Buffer.from('F') },
    ])
    expect(leaderSync.assignment.toString()).toBe('L')
    expect((await followerSync).assignment.toString()).toBe('F')
  })

  it('answers stale generations, unknown members and mismatched protocols with the right errors', async () => {
    const { groups } = await setup()
    const joined = await joinNew(groups)
    expect(groups.heartbeat('g', 99, joined.memberId, null)).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect(groups.heartbeat('g', 1, 'nobody', null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(groups.heartbeat('nogroup', 1, 'nobody', null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect((await groups.sync('g', 7, joined.memberId, null, null, null, [])).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION)
    const other = await groups.join(joinRequest('', { protocolType: 'connect' }))
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    expect((await groups.join(joinRequest('', { sessionTimeoutMs: 1 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT)
    expect((await groups.join(joinRequest('', { groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID)
  })

  it('evicts a member whose session expires and rebalances the rest', async () => {
    const { groups } = await setup()
    const a = await joinNew(groups, { sessionTimeoutMs: 60_000 })
    await groups.sync('g', 1, a.memberId, null, null, null, [])
    const bPending = (await startJoin(groups, { sessionTimeoutMs: 150 })).completed
    const [a2, b] = await Promise.all([groups.join(joinRequest(a.memberId, { sessionTimeoutMs: 60_000 })), bPending])
    const leader = a2.leader
    await Promise.all([groups.sync('g', 2, b.memberId, null, null, null, []), groups.sync('g', 2, a2.memberId, null, null, null, [])])
    expect(leader).toBeTruthy()
    // b goes silent; only a heartbeats.
    for (let i = 0; i < 100 && groups.group('g')!.members.size > 1; i++) {
      groups.heartbeat('g', groups.group('g')!.generationId, a.memberId, null)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect([...groups.group('g')!.members.keys()]).toEqual([a.memberId])
    expect(groups.heartbeat('g', 2, a.memberId, null)).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
    const a3 = await groups.join(joinRequest(a.memberId, { sessionTimeoutMs: 60_000 }))
    expect(a3.generationId).toBe(3)
  })

  it('fences an old member id when a static member comes back, and keeps its assignment', async () => {
    const { groups } = await setup()
    const first = await groups.join(joinRequest('', { groupInstanceId: 'instance-1' }))
    expect(first.errorCode).toBe(0)
    await groups.sync('g', 1, first.memberId, 'instance-1', null, null, [{ memberId: first.memberId, assignment: Buffer.from('mine') }])
    const again = await groups.join(joinRequest('', { groupInstanceId: 'instance-1' }))
    expect(again.errorCode).toBe(0)
    expect(again.memberId).not.toBe(first.memberId)
    expect(again.generationId).toBe(1)
    expect((await groups.sync('g', 1, again.memberId, 'instance-1', null, null, [])).assignment.toString()).toBe('mine')
    expect(groups.heartbeat('g', 1, first.memberId, 'instance-1')).toBe(ErrorCode.FENCED_INSTANCE_ID)
  })

  it('bounds pending member ids: a flood of empty joins cannot grow the group without limit', async () => {
    const { groups } = await setup({ ZOMBI_GROUP_MAX_SIZE: '50' })
    const results = []
    for (let i = 0; i < 2000; i++) results.push((await groups.join(joinRequest(''))).errorCode)
    expect(results.filter((e) => e === ErrorCode.MEMBER_ID_REQUIRED)).toHaveLength(50)
    expect(results.filter((e) => e === ErrorCode.GROUP_MAX_SIZE_REACHED)).toHaveLength(1950)
    expect(groups.group('g')!.pendingMembers.size).toBe(50)
  })

  it('leaving empties the group, which can then be deleted with its offsets', async () => {
    const { groups } = await setup()
    const joined = await joinNew(groups)
    await groups.sync('g', 1, joined.memberId, null, null, null, [])
    expect(await groups.commitOffsets('g', 1, joined.memberId, null, [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: 'm' }])).toEqual([0])
    expect(await groups.deleteGroups(['g'])).toEqual([ErrorCode.NON_EMPTY_GROUP])
    expect(groups.leave('g', [{ memberId: joined.memberId, groupInstanceId: null }])).toEqual([0])
    expect(groups.group('g')!.state).toBe('Empty')
    expect(await groups.deleteGroups(['g', 'missing'])).toEqual([0, ErrorCode.GROUP_ID_NOT_FOUND])
    expect(groups.fetchOffset('g', 'orders', 0)).toBeUndefined()
  })
})
