import { describe, expect, it } from 'vitest'
import { leaveGroup } from '../../../src/kafka/handlers/leave-group.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../../src/protocol/generated/leave-group.ts'
import { joinStable } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const single = (memberId: string): LeaveGroupRequest => ({ groupId: 'g', memberId, members: [] })
const batch = (groupId: string, ...memberIds: string[]): LeaveGroupRequest => ({ groupId, memberId: '', members: memberIds.map((memberId) => ({ memberId, groupInstanceId: null, reason: null })) })

describe('LeaveGroup', () => {
  it('takes one member out with a top-level answer (v0-2)', async () => {
    const { context, groups } = await makeHandlerContext()
    const member = await joinStable(groups)
    expect(await exchange<LeaveGroupResponse>(leaveGroup, 2, single(member.memberId), context)).toMatchObject({ errorCode: ErrorCode.NONE, members: [] })
    expect(groups.group('g')?.members.has(member.memberId) ?? false).toBe(false)
    expect((await call<LeaveGroupResponse>(leaveGroup, 1, single(member.memberId), context)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('takes a batch of members out with an answer per member (v3+)', async () => {
    const { context, groups } = await makeHandlerContext()
    const member = await joinStable(groups)
    const response = await exchange<LeaveGroupResponse>(leaveGroup, 5, batch('g', member.memberId, 'stranger'), context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    expect(response.members.map((m) => [m.memberId, m.errorCode])).toEqual([[member.memberId, ErrorCode.NONE], ['stranger', ErrorCode.UNKNOWN_MEMBER_ID]])
  })

  it('answers NONE at the top for an unknown group, with UNKNOWN_MEMBER_ID per member, as Kafka does', async () => {
    const { context } = await makeHandlerContext()
    const response = await call<LeaveGroupResponse>(leaveGroup, 3, batch('no-such-group', 'm'), context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    expect(response.members.map((m) => m.errorCode)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID])
  })
})
