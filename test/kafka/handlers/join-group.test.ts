import { describe, expect, it } from 'vitest'
import { joinGroup } from '../../../src/kafka/handlers/join-group.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { JoinGroupRequest, JoinGroupResponse } from '../../../src/protocol/generated/join-group.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function request(memberId = '', overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('subscription') }], reason: null, ...overrides,
  }
}

describe('JoinGroup', () => {
  it('asks a new v4+ member to rejoin with the id it hands out, then makes it the leader of generation 1', async () => {
    const { context } = await makeHandlerContext()
    const first = await exchange<JoinGroupResponse>(joinGroup, 7, request(), context)
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED)
    expect(first.memberId).not.toBe('')
    const joined = await exchange<JoinGroupResponse>(joinGroup, 7, request(first.memberId), context)
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: first.memberId, memberId: first.memberId })
    expect(joined.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: Buffer.from('subscription') }])
  })

  it('lets a v0-3 member join at once, as those clients cannot rejoin with an id', async () => {
    const { context } = await makeHandlerContext()
    const joined = await exchange<JoinGroupResponse>(joinGroup, 3, request(), context)
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1 })
    expect(joined.leader).toBe(joined.memberId)
  })

  it('records the client id and the address of the connection (without its port) on the member', async () => {
    const { context, groups } = await makeHandlerContext()
    const joined = await call<JoinGroupResponse>(joinGroup, 1, request(), context)
    const member = groups.group('g')!.members.get(joined.memberId)!
    expect([member.clientId, member.clientHost]).toEqual(['test-client', '/127.0.0.1'])
  })

  it('refuses a member whose session timeout is below the broker minimum', async () => {
    const { context } = await makeHandlerContext()
    expect((await call<JoinGroupResponse>(joinGroup, 5, request('', { sessionTimeoutMs: 1 }), context)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT)
  })

  it('answers a v9 client with skip_assignment false for a fresh group', async () => {
    const { context } = await makeHandlerContext()
    const first = await exchange<JoinGroupResponse>(joinGroup, 9, request(), context)
    expect((await exchange<JoinGroupResponse>(joinGroup, 9, request(first.memberId), context)).skipAssignment).toBe(false)
  })
})
