import { describe, expect, it } from 'vitest'
import { heartbeat } from '../../../src/kafka/handlers/heartbeat.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { HeartbeatResponse } from '../../../src/protocol/generated/heartbeat.ts'
import { joinStable, startJoin } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const request = (generationId: number, memberId: string, groupId = 'g') => ({ groupId, generationId, memberId, groupInstanceId: null })

describe('Heartbeat', () => {
  it('answers NONE to a member of the current generation of a stable group', async () => {
    const { context, groups } = await makeHandlerContext()
    const member = await joinStable(groups)
    expect(await exchange<HeartbeatResponse>(heartbeat, 4, request(member.generationId, member.memberId), context)).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE })
    expect((await exchange<HeartbeatResponse>(heartbeat, 0, request(member.generationId, member.memberId), context)).errorCode).toBe(ErrorCode.NONE)
  })

  it('tells a member to rejoin once another member\'s join starts a rebalance', async () => {
    const { context, groups } = await makeHandlerContext()
    const member = await joinStable(groups)
    await startJoin(groups)
    expect((await call<HeartbeatResponse>(heartbeat, 4, request(member.generationId, member.memberId), context)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
  })

  it('answers ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and an unknown group with their errors', async () => {
    const { context, groups } = await makeHandlerContext()
    const member = await joinStable(groups)
    const codes = await Promise.all([
      call<HeartbeatResponse>(heartbeat, 4, request(member.generationId + 1, member.memberId), context),
      call<HeartbeatResponse>(heartbeat, 4, request(member.generationId, 'stranger'), context),
      call<HeartbeatResponse>(heartbeat, 4, request(1, 'stranger', 'no-such-group'), context),
    ])
    expect(codes.map((r) => r.errorCode)).toEqual([ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID])
  })
})
