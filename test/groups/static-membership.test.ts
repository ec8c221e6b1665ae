// Static membership (group.instance.id, KIP-345) and the waits around SyncGroup: a static member
// keeps its place while it restarts, a returning static leader does not reassign, a duplicate
// instance is fenced, and members blocked in SyncGroup are not expired while the leader assigns.
import { describe, expect, it } from 'vitest'
import type { GroupCoordinator } from '../../src/groups/coordinator.ts'
import type { JoinRequest } from '../../src/groups/join.ts'
import type { JoinResult } from '../../src/groups/group.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { startCoordinator } from './fixtures/coordinator.ts'

async function setup(): Promise<GroupCoordinator> {
  return (await startCoordinator()).groups
}

function request(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g', memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('r') }],
    sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, requireKnownMemberId: true, clientId: 'c', clientHost: '/127.0.0.1',
    ...overrides,
  }
}

/** A static member's first join (static members get their id at once, without MEMBER_ID_REQUIRED). */
async function joinStatic(groups: GroupCoordinator, instance: string, overrides: Partial<JoinRequest> = {}): Promise<JoinResult> {
  const joined = await groups.join(request({ groupInstanceId: instance, ...overrides }))
  expect(joined.errorCode).toBe(ErrorCode.NONE)
  return joined
}

async function stableWithLeader(groups: GroupCoordinator, instance: string, overrides: Partial<JoinRequest> = {}): Promise<JoinResult> {
  const leader = await joinStatic(groups, instance, overrides)
  const synced = await groups.sync('g', leader.generationId, leader.memberId, instance, null, null, [{ memberId: leader.memberId, assignment: Buffer.from('p0,p1') }])
  expect(synced.errorCode).toBe(ErrorCode.NONE)
  return leader
}

describe('static membership', () => {
  it('a returning static leader of a stable group is told not to assign (v9: skip_assignment; older: the previous leader id)', async () => {
    const groups = await setup()
    const first = await stableWithLeader(groups, 'i-1')

    const older = await groups.join(request({ groupInstanceId: 'i-1', supportsSkipAssignment: false }))
    expect(older).toMatchObject({ errorCode: ErrorCode.NONE, generationId: first.generationId, leader: first.memberId, members: [] })
    expect(older.memberId).not.toBe(first.memberId)
    expect(older.skipAssignment ?? false).toBe(false)

    const v9 = await groups.join(request({ groupInstanceId: 'i-1', supportsSkipAssignment: true }))
    expect(v9).toMatchObject({ errorCode: ErrorCode.NONE, generationId: first.generationId, skipAssignment: true })
    expect(v9.leader).toBe(v9.memberId)
    expect(v9.members.map((m) => m.groupInstanceId)).toEqual(['i-1'])
    // Either way it gets its assignment back from the stable group, without a rebalance.
    const synced = await groups.sync('g', v9.generationId, v9.memberId, 'i-1', null, null, [])
    expect(synced.assignment.toString()).toBe('p0,p1')
    expect(groups.group('g')!.state).toBe('Stable')
  })

  it('a duplicate instance fences the member id it replaced', async () => {
    const groups = await setup()
    const first = await stableWithLeader(groups, 'i-1')
    const second = await groups.join(request({ groupInstanceId: 'i-1' }))
    expect(second.errorCode).toBe(ErrorCode.NONE)
    expect(groups.heartbeat('g', first.generationId, first.memberId, 'i-1')).toBe(ErrorCode.FENCED_INSTANCE_ID)
    expect(await groups.commitOffsets('g', first.generationId, first.memberId, 'i-1', [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }]))
      .toEqual([ErrorCode.FENCED_INSTANCE_ID])
    expect((await groups.sync('g', first.generationId, first.memberId, 'i-1', null, null, [])).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)
    expect(groups.heartbeat('g', second.generationId, second.memberId, 'i-1')).toBe(ErrorCode.NONE)
  })

  it('a static member that does not rejoin keeps its place in the next generation until its session ends', async () => {
    const groups = await setup()
    // Long session (still a member while away), short rebalance timeout (the join phase does not wait long for it).
    const away = await stableWithLeader(groups, 'away', { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 100 })
    // A dynamic member joins; the static member is restarting and does not rejoin within the rebalance timeout.
    const newcomerId = (await groups.join(request({ rebalanceTimeoutMs: 100 }))).memberId
    const newcomer = await groups.join(request({ memberId: newcomerId, rebalanceTimeoutMs: 100 }))
    expect(newcomer.errorCode).toBe(ErrorCode.NONE)
    expect(newcomer.generationId).toBe(away.generationId + 1)
    // The newcomer leads (it rejoined) and assigns to both, the absent static member included.
    expect(newcomer.leader).toBe(newcomer.memberId)
    expect(newcomer.members.map((m) => m.groupInstanceId).sort()).toEqual(['away', null].sort())
    await groups.sync('g', newcomer.generationId, newcomer.memberId, null, null, null, [
      { memberId: newcomer.memberId, assignment: Buffer.from('p1') }, { memberId: away.memberId, assignment: Buffer.from('p0') },
    ])
    // The static member comes back under its instance id and finds its partition waiting.
    const back = await groups.join(request({ groupInstanceId: 'away' }))
    expect(back).toMatchObject({ errorCode: ErrorCode.NONE, generationId: newcomer.generationId })
    expect((await groups.sync('g', back.generationId, back.memberId, 'away', null, null, [])).assignment.toString()).toBe('p0')
  })
})

describe('SyncGroup waits', () => {
  it('does not expire a member blocked in SyncGroup while the leader takes longer than its session timeout', async () => {
    const groups = await setup()
    const leaderFirst = await groups.join(request({ sessionTimeoutMs: 10_000 }))
    const leader = await groups.join(request({ memberId: leaderFirst.memberId, sessionTimeoutMs: 10_000 }))
    await groups.sync('g', leader.generationId, leader.memberId, null, null, null, [])
    const followerFirst = await groups.join(request({ sessionTimeoutMs: 50 }))
    const followerJoin = groups.join(request({ memberId: followerFirst.memberId, sessionTimeoutMs: 50 }))
    const leaderJoin = await groups.join(request({ memberId: leader.memberId, sessionTimeoutMs: 10_000 }))
    const follower = await followerJoin
    expect(follower.generationId).toBe(leaderJoin.generationId)
    const followerSync = groups.sync('g', follower.generationId, follower.memberId, null, null, null, [])
    // Four follower session timeouts pass before the leader sends the assignment.
    await new Promise((resolve) => setTimeout(resolve, 200))
    await groups.sync('g', leaderJoin.generationId, leaderJoin.memberId, null, null, null, [{ memberId: follower.memberId, assignment: Buffer.from('mine') }])
    expect(await followerSync).toMatchObject({ errorCode: ErrorCode.NONE })
    expect((await followerSync).assignment.toString()).toBe('mine')
  })
})
