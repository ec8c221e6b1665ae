// Stable groups survive a restart with their generation, leader, members and assignments; empty
// and deleted groups leave nothing behind.
import { describe, expect, it } from 'vitest'
import { Group, Member } from '../../src/groups/group.ts'
import { GroupStore } from '../../src/groups/group-store.ts'
import { openMemoryStore } from '../support/log.ts'

function stableGroup(groupId: string): Group {
  const group = new Group(groupId)
  group.state = 'Stable'
  group.generationId = 7
  group.protocolType = 'consumer'
  group.protocolName = 'range'
  const leader = new Member('leader-1', null, 'client-a', '/10.0.0.1', 10_000, 30_000, 'consumer', [{ name: 'range', metadata: Buffer.from([0, 1, 2]) }])
  leader.assignment = Buffer.from([9, 8])
  const follower = new Member('follower-1', 'instance-b', 'client-b', '/10.0.0.2', 12_000, 40_000, 'consumer', [{ name: 'range', metadata: Buffer.from('b') }])
  for (const member of [leader, follower]) group.members.set(member.memberId, member)
  group.staticMembers.set('instance-b', 'follower-1')
  group.leaderId = 'leader-1'
  return group
}

describe('group store', () => {
  it('loads a stored stable group as it was: generation, protocol, leader, members, static ids and assignments', async () => {
    const store = await openMemoryStore()
    await new GroupStore(store).save(stableGroup('orders/readers'))
    const [loaded, ...others] = await new GroupStore(store).load()
    expect(others).toEqual([])
    expect(loaded).toMatchObject({ groupId: 'orders/readers', state: 'Stable', generationId: 7, protocolType: 'consumer', protocolName: 'range', leaderId: 'leader-1' })
    expect([...loaded!.staticMembers]).toEqual([['instance-b', 'follower-1']])
    const leader = loaded!.members.get('leader-1')!
    expect(leader).toMatchObject({ clientId: 'client-a', clientHost: '/10.0.0.1', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer' })
    expect(leader.protocols).toEqual([{ name: 'range', metadata: Buffer.from([0, 1, 2]) }])
    expect(leader.assignment).toEqual(Buffer.from([9, 8]))
    expect(loaded!.members.get('follower-1')!.groupInstanceId).toBe('instance-b')
  })

  it('removes the stored form of a group that became empty or was deleted', async () => {
    const store = await openMemoryStore()
    const groups = new GroupStore(store)
    const emptied = stableGroup('emptied')
    const deleted = stableGroup('deleted')
    await groups.save(emptied)
    await groups.save(deleted)
    emptied.members.clear()
    emptied.state = 'Empty'
    deleted.state = 'Dead'
    await groups.save(emptied)
    await groups.save(deleted)
    expect(await groups.load()).toEqual([])
  })
})
