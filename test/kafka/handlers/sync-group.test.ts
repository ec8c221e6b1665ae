import { describe, expect, it } from 'vitest'
import { syncGroup } from '../../../src/kafka/handlers/sync-group.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { SyncGroupRequest, SyncGroupResponse } from '../../../src/protocol/generated/sync-group.ts'
import { joinNew } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function request(generationId: number, memberId: string, assignments: SyncGroupRequest['assignments'] = []): SyncGroupRequest {
  return { groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments }
}

describe('SyncGroup', () => {
  it('hands the leader its own part of the assignment it sent, with the protocol (v5)', async () => {
    const { context, groups } = await makeHandlerContext()
    const joined = await joinNew(groups)
    const response = await exchange<SyncGroupResponse>(syncGroup, 5, request(joined.generationId, joined.memberId, [{ memberId: joined.memberId, assignment: Buffer.from('p0') }]), context)
    expect(response).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('p0') })
    expect(groups.group('g')!.state).toBe('Stable')
  })

  it('answers ILLEGAL_GENERATION for a stale generation and UNKNOWN_MEMBER_ID for a stranger', async () => {
    const { context, groups } = await makeHandlerContext()
    const joined = await joinNew(groups)
    expect((await call<SyncGroupResponse>(syncGroup, 3, request(joined.generationId + 1, joined.memberId), context)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect((await call<SyncGroupResponse>(syncGroup, 3, request(joined.generationId, 'stranger'), context)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('answers a v0 client, whose response has no protocol fields, with its assignment', async () => {
    const { context, groups } = await makeHandlerContext()
    const joined = await joinNew(groups)
    const response = await exchange<SyncGroupResponse>(syncGroup, 0, request(joined.generationId, joined.memberId, [{ memberId: joined.memberId, assignment: Buffer.from('all') }]), context)
    expect(response).toMatchObject({ errorCode: ErrorCode.NONE, assignment: Buffer.from('all') })
  })
})
