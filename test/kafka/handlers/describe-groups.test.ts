import { describe, expect, it } from 'vitest'
import { describeGroups } from '../../../src/kafka/handlers/describe-groups.ts'
import type { DescribeGroupsResponse } from '../../../src/protocol/generated/describe-groups.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { joinNew, joinStable } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const request = (...groups: string[]) => ({ groups, includeAuthorizedOperations: false })

describe('DescribeGroups', () => {
  it('describes a stable group with its protocol and each member\'s metadata and assignment', async () => {
    const { context, groups } = await makeHandlerContext()
    const member = await joinStable(groups, {}, Buffer.from('p0'))
    const [group] = (await exchange<DescribeGroupsResponse>(describeGroups, 5, request('g'), context)).groups
    expect(group).toMatchObject({ errorCode: ErrorCode.NONE, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' })
    expect(group!.members).toEqual([{ memberId: member.memberId, groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', memberMetadata: Buffer.from('r'), memberAssignment: Buffer.from('p0') }])
  })

  it('hides the protocol, metadata and assignments of a generation still being formed', async () => {
    const { context, groups } = await makeHandlerContext()
    await joinNew(groups)
    const [group] = (await call<DescribeGroupsResponse>(describeGroups, 5, request('g'), context)).groups
    expect(group).toMatchObject({ groupState: 'CompletingRebalance', protocolType: 'consumer', protocolData: '' })
    expect(group!.members.map((m) => [m.memberMetadata.length, m.memberAssignment.length])).toEqual([[0, 0]])
  })

  it('reports an unknown group as Dead without an error', async () => {
    const { context } = await makeHandlerContext()
    const [group] = (await exchange<DescribeGroupsResponse>(describeGroups, 0, request('no-such-group'), context)).groups
    expect(group).toMatchObject({ errorCode: ErrorCode.NONE, groupId: 'no-such-group', groupState: 'Dead', protocolType: '', members: [] })
  })
})
