// The reconciliation step of one consumer-group member (KIP-848's incremental protocol), alone:
// revoke first, assign only free partitions, move the epoch only once nothing is left to revoke.
import { describe, expect, it } from 'vitest'
import type { TopicPartitions } from '../../src/groups/assignors.ts'
import { ConsumerGroup, ConsumerMember, reconcile, type MemberState } from '../../src/groups/consumer-group.ts'

function tp(entries: Record<string, number[]>): TopicPartitions {
  return new Map(Object.entries(entries))
}

function member(state: MemberState, epoch: number, assigned: Record<string, number[]>, pending: Record<string, number[]> = {}) {
  return { memberId: 'm', memberEpoch: epoch, state, assigned: tp(assigned), pendingRevocation: tp(pending) }
}

const nobody = (): undefined => undefined

describe('reconcile', () => {
  it('leaves a stable member at the target epoch alone', () => {
    expect(reconcile(member('stable', 3, { t: [0] }), tp({ t: [0] }), 3, nobody, null)).toBeNull()
  })

  it('hands free partitions over with the new epoch', () => {
    expect(reconcile(member('stable', 1, { t: [0] }), tp({ t: [0, 1] }), 2, nobody, null)).toEqual({ state: 'stable', memberEpoch: 2, assigned: tp({ t: [0, 1] }), pendingRevocation: tp({}) })
  })

  it('asks for revocation first and keeps the epoch until then', () => {
    const next = reconcile(member('stable', 1, { t: [0, 1, 2] }), tp({ t: [0], u: [4] }), 2, nobody, tp({ t: [0, 1, 2] }))
    expect(next).toEqual({ state: 'unrevoked', memberEpoch: 1, assigned: tp({ t: [0] }), pendingRevocation: tp({ t: [1, 2] }) })
  })

  it('does not wait for a revocation the member already reports done', () => {
    const next = reconcile(member('stable', 1, { t: [0, 1] }), tp({ t: [0] }), 2, nobody, tp({ t: [0] }))
    expect(next).toMatchObject({ state: 'stable', memberEpoch: 2, assigned: tp({ t: [0] }) })
  })

  it('stays unrevoked while the member still holds a revoked partition, then moves on', () => {
    const waiting = member('unrevoked', 1, { t: [0] }, { t: [1] })
    expect(reconcile(waiting, tp({ t: [0] }), 2, nobody, tp({ t: [0, 1] }))).toBeNull()
    expect(reconcile(waiting, tp({ t: [0] }), 2, nobody, null)).toBeNull()
    expect(reconcile(waiting, tp({ t: [0] }), 2, nobody, tp({ t: [0] }))).toMatchObject({ state: 'stable', memberEpoch: 2 })
  })

  it('takes the new epoch but not the partitions another member still holds', () => {
    const owner = (_topic: string, partition: number) => (partition === 1 ? 'other' : undefined)
    const next = reconcile(member('stable', 1, { t: [0] }), tp({ t: [0, 1, 2] }), 2, owner, null)
    expect(next).toEqual({ state: 'unreleased', memberEpoch: 2, assigned: tp({ t: [0, 2] }), pendingRevocation: tp({}) })
    expect(reconcile(member('unreleased', 2, { t: [0, 2] }), tp({ t: [0, 1, 2] }), 2, nobody, null)).toMatchObject({ state: 'stable', assigned: tp({ t: [0, 1, 2] }) })
  })
})

describe('consumer group state', () => {
  it('is Empty, Assigning, Reconciling or Stable from its epochs', () => {
    const group = new ConsumerGroup('g')
    expect(group.state).toBe('Empty')
    const m = new ConsumerMember('m', null, 'c', '/h', 1000)
    group.members.set('m', m)
    group.groupEpoch = 1
    expect(group.state).toBe('Assigning')
    group.assignmentEpoch = 1
    expect(group.state).toBe('Reconciling')
    m.memberEpoch = 1
    expect(group.state).toBe('Stable')
  })

  it('tracks which member holds each partition', () => {
    const group = new ConsumerGroup('g')
    const m = new ConsumerMember('m', null, 'c', '/h', 1000)
    group.setOwnership(m, tp({ t: [0] }), tp({ t: [1] }))
    expect(group.ownerOf('t', 1)).toBe('m')
    group.setOwnership(m, tp({ t: [0] }), tp({}))
    expect(group.ownerOf('t', 1)).toBeUndefined()
    group.releaseOwnership(m)
    expect(group.ownerOf('t', 0)).toBeUndefined()
  })
})
