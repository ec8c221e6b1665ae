// Consumer-protocol groups (KIP-848) through the coordinator: epochs, server-side assignment,
// incremental reconciliation (revoke before assign), fencing, static members, leaving, sessions,
// subscriptions by regex, topic changes, offsets with member epochs, the line between classic and
// consumer groups, and restarts.
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { TopicPartitions } from '../../src/groups/assignors.ts'
import type { ConsumerHeartbeat, ConsumerHeartbeatResult } from '../../src/groups/consumer-heartbeat.ts'
import type { GroupCoordinator } from '../../src/groups/coordinator.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { joinNew, startCoordinator } from './fixtures/coordinator.ts'

afterEach(() => {
  vi.useRealTimers()
})

function heartbeat(overrides: Partial<ConsumerHeartbeat> & { memberId: string }): ConsumerHeartbeat {
  return {
    groupId: 'cg', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['orders'],
    subscribedTopicRegex: null, serverAssignor: null, ownedPartitions: null, serverGeneratesMemberId: false, clientId: 'c', clientHost: '/127.0.0.1',
    ...overrides,
  }
}

/** A later heartbeat of a member: nothing changed but its owned partitions (when given). */
function beat(memberId: string, memberEpoch: number, owned: TopicPartitions | null = null): ConsumerHeartbeat {
  return heartbeat({ memberId, memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, ownedPartitions: owned })
}

function partitions(result: ConsumerHeartbeatResult): number[] | undefined {
  return result.assignment === null ? undefined : [...(result.assignment.get('orders') ?? [])]
}

/** Heartbeats every member, each reporting what it was last given, until nobody's assignment moves. */
async function settle(groups: GroupCoordinator, members: Map<string, { epoch: number; owned: number[] }>): Promise<void> {
  for (let round = 0; round < 10; round++) {
    let moved = false
    for (const [memberId, state] of members) {
      const result = await groups.consumerHeartbeat(beat(memberId, state.epoch, new Map([['orders', state.owned]])))
      expect(result.errorCode).toBe(ErrorCode.NONE)
      if (result.memberEpoch !== state.epoch) moved = true
      state.epoch = result.memberEpoch
      if (result.assignment !== null) {
        const owned = partitions(result) ?? []
        if (owned.join() !== state.owned.join()) moved = true
        state.owned = owned
      }
    }
    if (!moved) return
  }
  throw new Error('the group did not settle')
}

describe('consumer-protocol groups', () => {
  it('a first member joins at epoch 1 with every partition of its topic', async () => {
    const { groups } = await startCoordinator({ partitions: 6 })
    const joined = await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'm1', memberEpoch: 1 })
    expect(partitions(joined)).toEqual([0, 1, 2, 3, 4, 5])
    expect(joined.heartbeatIntervalMs).toBe(5000)
    const group = groups.consumerGroup('cg')!
    expect(group.state).toBe('Stable')
    expect(group.groupEpoch).toBe(1)
  })

  it('v0 gets a member id from the coordinator; v1 must bring its own', async () => {
    const { groups } = await startCoordinator()
    const v0 = await groups.consumerHeartbeat(heartbeat({ memberId: '', serverGeneratesMemberId: true }))
    expect(v0.errorCode).toBe(ErrorCode.NONE)
    expect(v0.memberId).toMatch(/^[0-9a-f-]{36}$/)
    const v1 = await groups.consumerHeartbeat(heartbeat({ memberId: '' }))
    expect(v1.errorCode).toBe(ErrorCode.INVALID_REQUEST)
  })

  it('moves a partition to a new member only after its old owner revoked it', async () => {
    const { groups } = await startCoordinator({ partitions: 6 })
    const first = await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    const second = await groups.consumerHeartbeat(heartbeat({ memberId: 'm2' }))
    // m2 has the new epoch but its partitions are still m1's: it gets none yet.
    expect(second.memberEpoch).toBe(2)
    expect(partitions(second)).toEqual([])
    expect(groups.consumerGroup('cg')!.state).toBe('Reconciling')
    // m1 is told to keep half: it stays at epoch 1 until it says it let the rest go.
    const revoking = await groups.consumerHeartbeat(beat('m1', 1, new Map([['orders', partitions(first)!]])))
    expect(revoking.memberEpoch).toBe(1)
    const kept = partitions(revoking)!
    expect(kept).toHaveLength(3)
    const stillUnassigned = await groups.consumerHeartbeat(beat('m2', 2, new Map()))
    expect(stillUnassigned.assignment).toBeNull()
    const revoked = await groups.consumerHeartbeat(beat('m1', 1, new Map([['orders', kept]])))
    expect(revoked.memberEpoch).toBe(2)
    const assigned = await groups.consumerHeartbeat(beat('m2', 2, new Map()))
    expect(partitions(assigned)!.sort()).toEqual([0, 1, 2, 3, 4, 5].filter((p) => !kept.includes(p)))
    expect(groups.consumerGroup('cg')!.state).toBe('Stable')
  })

  it('fences epochs the coordinator did not give and members it does not know', async () => {
    const { groups } = await startCoordinator()
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    expect((await groups.consumerHeartbeat(beat('m1', 5))).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH)
    expect((await groups.consumerHeartbeat(beat('nobody', 1))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    // Behind its epoch without saying what it holds: fenced too.
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm2' }))
    await groups.consumerHeartbeat(beat('m1', 1, new Map([['orders', [0, 1]]])))
    await groups.consumerHeartbeat(beat('m1', 1, new Map([['orders', [0]]])))
    expect(groups.consumerGroup('cg')!.members.get('m1')!.memberEpoch).toBe(2)
    expect((await groups.consumerHeartbeat(beat('m1', 1))).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH)
    expect((await groups.consumerHeartbeat(beat('m1', 2))).errorCode).toBe(ErrorCode.NONE)
  })

  it('accepts the previous epoch from a member whose answer was lost, if it holds nothing new', async () => {
    const { groups } = await startCoordinator({ partitions: 2 })
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm2' }))
    const owned = new Map([['orders', [0]]])
    // m1 held [0, 1], is asked to revoke 1, revokes it and moves to epoch 2...
    await groups.consumerHeartbeat(beat('m1', 1, new Map([['orders', [0, 1]]])))
    expect((await groups.consumerHeartbeat(beat('m1', 1, owned))).memberEpoch).toBe(2)
    // ...but that answer never arrived: it comes back with epoch 1.
    const retried = await groups.consumerHeartbeat(beat('m1', 1, owned))
    expect(retried).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 2 })
  })

  it('a member that leaves (epoch -1) is gone and its partitions go to the others', async () => {
    const { groups } = await startCoordinator({ partitions: 4 })
    const members = new Map<string, { epoch: number; owned: number[] }>()
    for (const id of ['m1', 'm2']) {
      const joined = await groups.consumerHeartbeat(heartbeat({ memberId: id }))
      members.set(id, { epoch: joined.memberEpoch, owned: partitions(joined) ?? [] })
    }
    await settle(groups, members)
    expect(members.get('m1')!.owned).toHaveLength(2)
    const left = await groups.consumerHeartbeat(heartbeat({ memberId: 'm2', memberEpoch: -1 }))
    expect(left).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: -1 })
    members.delete('m2')
    await settle(groups, members)
    expect(members.get('m1')!.owned).toEqual([0, 1, 2, 3])
    expect(groups.consumerGroup('cg')!.members.size).toBe(1)
  })

  it('removes a member whose session ran out', async () => {
    const { groups } = await startCoordinator({ settings: { ZOMBI_GROUP_CONSUMER_SESSION_TIMEOUT_MS: '1000', ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: '100' } })
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm2' }))
    vi.advanceTimersByTime(900)
    await groups.consumerHeartbeat(beat('m1', 1))
    vi.advanceTimersByTime(200)
    const group = groups.consumerGroup('cg')!
    expect([...group.members.keys()]).toEqual(['m1'])
    expect(group.groupEpoch).toBe(3)
  })

  it('removes a member that does not revoke within its rebalance timeout', async () => {
    const { groups } = await startCoordinator()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const first = await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', rebalanceTimeoutMs: 500 }))
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm2' }))
    await groups.consumerHeartbeat(beat('m1', 1, new Map([['orders', partitions(first)!]])))
    expect(groups.consumerGroup('cg')!.members.get('m1')!.state).toBe('unrevoked')
    vi.advanceTimersByTime(600)
    expect(groups.consumerGroup('cg')!.members.has('m1')).toBe(false)
  })

  it('a static member may leave for a while (epoch -2) and come back under a new id with its partitions', async () => {
    const { groups } = await startCoordinator({ partitions: 4 })
    const members = new Map<string, { epoch: number; owned: number[] }>()
    for (const [id, instance] of [['m1', 'i1'], ['m2', 'i2']] as const) {
      const joined = await groups.consumerHeartbeat(heartbeat({ memberId: id, instanceId: instance }))
      members.set(id, { epoch: joined.memberEpoch, owned: partitions(joined) ?? [] })
    }
    await settle(groups, members)
    const epochBefore = groups.consumerGroup('cg')!.groupEpoch
    const owned = members.get('m2')!.owned
    const away = await groups.consumerHeartbeat(heartbeat({ memberId: 'm2', memberEpoch: -2, instanceId: 'i2' }))
    expect(away.memberEpoch).toBe(-2)
    // Another process cannot take the instance id while it is held...
    const taken = await groups.consumerHeartbeat(heartbeat({ memberId: 'm3', instanceId: 'i1' }))
    expect(taken.errorCode).toBe(ErrorCode.UNRELEASED_INSTANCE_ID)
    // ...but the same instance, restarted, takes its place without a rebalance.
    const back = await groups.consumerHeartbeat(heartbeat({ memberId: 'm2-new', instanceId: 'i2' }))
    expect(back.errorCode).toBe(ErrorCode.NONE)
    expect(partitions(back)).toEqual(owned)
    expect(groups.consumerGroup('cg')!.groupEpoch).toBe(epochBefore)
    expect(groups.consumerGroup('cg')!.members.has('m2')).toBe(false)
  })

  it('subscribes by regular expression and refuses what RE2 would not accept', async () => {
    const { groups, log } = await startCoordinator({ partitions: 2 })
    await log.createTopic('orders-eu', 1, {})
    await log.createTopic('payments', 1, {})
    const joined = await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', subscribedTopicNames: null, subscribedTopicRegex: 'orders.*' }))
    expect([...joined.assignment!.keys()].sort()).toEqual(['orders', 'orders-eu'])
    const lookahead = await groups.consumerHeartbeat(heartbeat({ memberId: 'm2', subscribedTopicNames: null, subscribedTopicRegex: '(?=orders).*' }))
    expect(lookahead.errorCode).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION)
    // A topic created later that matches moves the group epoch and joins the assignment.
    await log.createTopic('orders-us', 1, {})
    const next = await groups.consumerHeartbeat(beat('m1', 1))
    expect(next.memberEpoch).toBe(2)
    expect([...next.assignment!.keys()].sort()).toEqual(['orders', 'orders-eu', 'orders-us'])
  })

  it('matches a regex only against topics the member may describe', async () => {
    const { groups, log } = await startCoordinator({ partitions: 1 })
    await log.createTopic('orders-secret', 1, {})
    const joined = await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', subscribedTopicNames: null, subscribedTopicRegex: 'orders.*', mayDescribe: (topic) => topic !== 'orders-secret' }))
    expect([...joined.assignment!.keys()]).toEqual(['orders'])
  })

  it('new partitions of a subscribed topic move the group epoch', async () => {
    const { groups, log } = await startCoordinator({ partitions: 2 })
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    expect(await log.createPartitions(log.topicByName('orders')!, 3, false)).toBeNull()
    const next = await groups.consumerHeartbeat(beat('m1', 1))
    expect(next.memberEpoch).toBe(2)
    expect(partitions(next)).toEqual([0, 1, 2])
  })

  it('refuses members past ZOMBI_GROUP_MAX_SIZE', async () => {
    const { groups } = await startCoordinator({ settings: { ZOMBI_GROUP_MAX_SIZE: '1' } })
    expect((await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))).errorCode).toBe(ErrorCode.NONE)
    const second = await groups.consumerHeartbeat(heartbeat({ memberId: 'm2' }))
    expect(second.errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED)
    expect(second.errorMessage).toMatch(/maximum size \(1\)/)
  })

  it('uses the assignor the members name and refuses unknown ones', async () => {
    const { groups, log } = await startCoordinator({ partitions: 3 })
    await log.createTopic('other', 3, {})
    const unknown = await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', serverAssignor: 'sticky' }))
    expect(unknown.errorCode).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR)
    for (const id of ['m1', 'm2']) await groups.consumerHeartbeat(heartbeat({ memberId: id, serverAssignor: 'range', subscribedTopicNames: ['orders', 'other'] }))
    const group = groups.consumerGroup('cg')!
    expect(group.assignorName('uniform')).toBe('range')
    expect(Object.fromEntries(group.targetAssignment.get('m1')!)).toEqual({ orders: [0, 1], other: [0, 1] })
    expect(Object.fromEntries(group.targetAssignment.get('m2')!)).toEqual({ orders: [2], other: [2] })
  })

  it('checks the member epoch of offset commits (STALE_MEMBER_EPOCH, v9+)', async () => {
    const { groups } = await startCoordinator()
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    const entry = [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }]
    expect(await groups.commitOffsets('cg', 1, 'm1', null, entry, 9)).toEqual([ErrorCode.NONE])
    expect(await groups.commitOffsets('cg', 0, 'm1', null, entry, 9)).toEqual([ErrorCode.STALE_MEMBER_EPOCH])
    expect(await groups.commitOffsets('cg', 1, 'm1', null, entry, 8)).toEqual([ErrorCode.UNSUPPORTED_VERSION])
    expect(await groups.commitOffsets('cg', -1, '', null, entry, 9)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID])
    expect(groups.validateOffsetFetch('cg', 'm1', 0)).toBe(ErrorCode.STALE_MEMBER_EPOCH)
    expect(groups.validateOffsetFetch('cg', null, -1)).toBe(ErrorCode.NONE)
    expect(groups.fetchOffset('cg', 'orders', 0)?.offset).toBe(5)
  })

  it('keeps a group id to one protocol while it has members; an empty group may switch', async () => {
    const { groups } = await startCoordinator()
    await joinNew(groups, { groupId: 'classic' })
    const refused = await groups.consumerHeartbeat(heartbeat({ groupId: 'classic', memberId: 'm1' }))
    expect(refused.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    const classicJoin = await joinNew(groups, { groupId: 'cg' }).catch((error: unknown) => error)
    expect(classicJoin).toBeInstanceOf(Error)
    expect((await groups.join({ groupId: 'cg', memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, requireKnownMemberId: true, clientId: 'c', clientHost: '/h' })).errorCode)
      .toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    // Empty (offsets kept), the consumer group becomes a classic one.
    await groups.commitOffsets('cg', 1, 'm1', null, [{ topic: 'orders', partition: 0, offset: 3, leaderEpoch: -1, metadata: null }], 9)
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', memberEpoch: -1 }))
    expect(groups.consumerGroup('cg')!.state).toBe('Empty')
    const joined = await joinNew(groups, { groupId: 'cg' })
    expect(joined.errorCode).toBe(ErrorCode.NONE)
    expect(groups.consumerGroup('cg')).toBeUndefined()
    expect(groups.fetchOffset('cg', 'orders', 0)?.offset).toBe(3)
  })

  it('deletes only empty consumer groups, with their offsets', async () => {
    const { groups } = await startCoordinator()
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    await groups.commitOffsets('cg', 1, 'm1', null, [{ topic: 'orders', partition: 0, offset: 3, leaderEpoch: -1, metadata: null }], 9)
    expect(await groups.deleteGroups(['cg'])).toEqual([ErrorCode.NON_EMPTY_GROUP])
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', memberEpoch: -1 }))
    expect(await groups.deleteGroups(['cg'])).toEqual([ErrorCode.NONE])
    expect(groups.consumerGroup('cg')).toBeUndefined()
    expect(groups.fetchOffset('cg', 'orders', 0)).toBeUndefined()
  })

  it('deletes offsets of topics the group does not subscribe to, and expires an empty group with its offsets', async () => {
    const { groups, log } = await startCoordinator()
    await log.createTopic('old', 1, {})
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1' }))
    const commit = (topic: string) => groups.commitOffsets('cg', 1, 'm1', null, [{ topic, partition: 0, offset: 4, leaderEpoch: -1, metadata: null }], 9)
    await commit('orders')
    await commit('old')
    expect(await groups.deleteOffsets('cg', [{ topic: 'orders', partition: 0 }, { topic: 'old', partition: 0 }])).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE])
    expect(groups.fetchOffset('cg', 'old', 0)).toBeUndefined()
    expect(groups.fetchOffset('cg', 'orders', 0)?.offset).toBe(4)
    // Members keep a group alive; once empty past the retention, it goes with its offsets.
    expect(await groups.expireOffsets(Date.now() + 30 * 24 * 3_600_000)).toEqual([])
    await groups.consumerHeartbeat(heartbeat({ memberId: 'm1', memberEpoch: -1 }))
    expect(await groups.expireOffsets(Date.now() + 30 * 24 * 3_600_000)).toEqual(['cg'])
    expect(groups.consumerGroup('cg')).toBeUndefined()
    expect(groups.fetchOffset('cg', 'orders', 0)).toBeUndefined()
  })

  it('keeps groups, members, epochs, assignments and offsets across a restart', async () => {
    const { groups, reload } = await startCoordinator({ partitions: 4 })
    const members = new Map<string, { epoch: number; owned: number[] }>()
    for (const id of ['m1', 'm2']) {
      const joined = await groups.consumerHeartbeat(heartbeat({ memberId: id }))
      members.set(id, { epoch: joined.memberEpoch, owned: partitions(joined) ?? [] })
    }
    await settle(groups, members)
    await groups.commitOffsets('cg', members.get('m1')!.epoch, 'm1', null, [{ topic: 'orders', partition: 0, offset: 7, leaderEpoch: -1, metadata: null }], 9)
    groups.close()
    const restarted = await reload()
    const group = restarted.consumerGroup('cg')!
    expect(group.groupEpoch).toBe(2)
    expect([...group.members.keys()].sort()).toEqual(['m1', 'm2'])
    expect(restarted.group('cg')).toBeUndefined()
    expect(restarted.fetchOffset('cg', 'orders', 0)?.offset).toBe(7)
    const again = await restarted.consumerHeartbeat(beat('m1', members.get('m1')!.epoch, new Map([['orders', members.get('m1')!.owned]])))
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 2 })
  })
})

describe('consumer-protocol groups under random membership changes', () => {
  /** One client's view: what the coordinator last told it to hold, at which epoch. */
  interface Client { epoch: number; owned: number[] }

  it('never lets two members hold a partition at once, and settles with every partition held once, balanced', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        fc.record({ kind: fc.constant('join' as const) }),
        fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }),
        fc.record({ kind: fc.constant('beat' as const), pick: fc.nat() }),
        fc.record({ kind: fc.constant('grow' as const) }),
      ), { minLength: 1, maxLength: 40 }),
      async (steps) => {
        const { groups, log } = await startCoordinator({ partitions: 6 })
        const clients = new Map<string, Client>()
        let next = 0
        const check = (): void => {
          const holders = new Map<number, string>()
          for (const [id, client] of clients) {
            for (const p of client.owned) {
              expect(holders.get(p), `partition ${p} held by ${holders.get(p)} and ${id}`).toBeUndefined()
              holders.set(p, id)
            }
          }
        }
        const heartbeatOf = async (id: string): Promise<void> => {
          const client = clients.get(id)!
          const result = await groups.consumerHeartbeat(beat(id, client.epoch, new Map([['orders', client.owned]])))
          expect(result.errorCode).toBe(ErrorCode.NONE)
          client.epoch = result.memberEpoch
          if (result.assignment !== null) client.owned = [...(result.assignment.get('orders') ?? [])]
          check()
        }
        for (const step of steps) {
          const ids = [...clients.keys()]
          if (step.kind === 'join') {
            const id = `m${next++}`
            const result = await groups.consumerHeartbeat(heartbeat({ memberId: id }))
            clients.set(id, { epoch: result.memberEpoch, owned: partitions(result) ?? [] })
            check()
          } else if (step.kind === 'grow') {
            const topic = log.topicByName('orders')!
            if (topic.partitions.length < 12) expect(await log.createPartitions(topic, topic.partitions.length + 1, false)).toBeNull()
          } else if (ids.length > 0) {
            const id = ids[step.pick % ids.length]!
            if (step.kind === 'leave') {
              await groups.consumerHeartbeat(heartbeat({ memberId: id, memberEpoch: -1 }))
              clients.delete(id)
            } else {
              await heartbeatOf(id)
            }
          }
        }
        // Then everyone heartbeats until nothing moves: all partitions held once, counts within one.
        const count = log.topicByName('orders')!.partitions.length
        for (let round = 0; round < 20; round++) for (const id of clients.keys()) await heartbeatOf(id)
        if (clients.size > 0) {
          expect([...clients.values()].flatMap((c) => c.owned).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i))
          const sizes = [...clients.values()].map((c) => c.owned.length)
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
          expect(groups.consumerGroup('cg')!.state).toBe('Stable')
        }
        groups.close()
      },
    ), { numRuns: 40 })
  })
})
