// ConsumerGroupHeartbeat and ConsumerGroupDescribe through their wire codecs: topic ids on the
// wire, names inside; the assignment only when it changed; errors with messages; ACLs.
import { describe, expect, it } from 'vitest'
import { consumerGroupDescribe } from '../../../src/kafka/handlers/consumer-group-describe.ts'
import { consumerGroupHeartbeat } from '../../../src/kafka/handlers/consumer-group-heartbeat.ts'
import { describeGroups } from '../../../src/kafka/handlers/describe-groups.ts'
import type { ConsumerGroupDescribeResponse } from '../../../src/protocol/generated/consumer-group-describe.ts'
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../../src/protocol/generated/consumer-group-heartbeat.ts'
import type { DescribeGroupsResponse } from '../../../src/protocol/generated/describe-groups.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function join(memberId: string, overrides: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
  return {
    groupId: 'cg', memberId, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['orders'],
    subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [], ...overrides,
  }
}

describe('ConsumerGroupHeartbeat', () => {
  it('answers a join with the member epoch and the assignment by topic id', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 2 } })
    const ordersId = log.topicByName('orders')!.id
    const joined = await exchange<ConsumerGroupHeartbeatResponse>(consumerGroupHeartbeat, 1, join('m1'), context)
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 5000 })
    expect(joined.assignment).toEqual({ topicPartitions: [{ topicId: ordersId, partitions: [0, 1] }] })
    // Nothing changed: no assignment in the answer.
    const again = await exchange<ConsumerGroupHeartbeatResponse>(consumerGroupHeartbeat, 1, join('m1', { memberEpoch: 1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null }), context)
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1, assignment: null })
  })

  it('hands out member ids at v0 and refuses an empty one at v1', async () => {
    const { context } = await makeHandlerContext()
    const v0 = await exchange<ConsumerGroupHeartbeatResponse>(consumerGroupHeartbeat, 0, join(''), context)
    expect(v0.errorCode).toBe(ErrorCode.NONE)
    expect(v0.memberId).not.toBe('')
    const v1 = await exchange<ConsumerGroupHeartbeatResponse>(consumerGroupHeartbeat, 1, join(''), context)
    expect(v1.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect(v1.errorMessage).toMatch(/MemberId/)
  })

  it('refuses a group the client may not read', async () => {
    const { context } = await makeHandlerContext({ settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
    const refused = await exchange<ConsumerGroupHeartbeatResponse>(consumerGroupHeartbeat, 1, join('m1'), context)
    expect(refused.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED)
  })
})

describe('ConsumerGroupDescribe', () => {
  it('describes members with current and target assignments; GROUP_ID_NOT_FOUND otherwise', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 2 } })
    await exchange(consumerGroupHeartbeat, 1, join('m1', { instanceId: 'i1', rackId: 'r1' }), context)
    const described = await exchange<ConsumerGroupDescribeResponse>(consumerGroupDescribe, 1, { groupIds: ['cg', 'nope'], includeAuthorizedOperations: false }, context)
    const ordersId = log.topicByName('orders')!.id
    expect(described.groups[0]).toMatchObject({ errorCode: ErrorCode.NONE, groupId: 'cg', groupState: 'Stable', groupEpoch: 1, assignmentEpoch: 1, assignorName: 'uniform' })
    expect(described.groups[0]!.members).toEqual([{
      memberId: 'm1', instanceId: 'i1', rackId: 'r1', memberEpoch: 1, clientId: context.clientId ?? '', clientHost: expect.stringMatching(/^\//) as unknown as string,
      subscribedTopicNames: ['orders'], subscribedTopicRegex: null,
      assignment: { topicPartitions: [{ topicId: ordersId, topicName: 'orders', partitions: [0, 1] }] },
      targetAssignment: { topicPartitions: [{ topicId: ordersId, topicName: 'orders', partitions: [0, 1] }] },
      memberType: 1,
    }])
    expect(described.groups[1]).toMatchObject({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, groupId: 'nope' })
    // Asked for, the operations the client may perform on the group: READ (3), DELETE (6), DESCRIBE (8).
    const withOperations = await exchange<ConsumerGroupDescribeResponse>(consumerGroupDescribe, 1, { groupIds: ['cg'], includeAuthorizedOperations: true }, context)
    expect(withOperations.groups[0]!.authorizedOperations).toBe((1 << 3) | (1 << 6) | (1 << 8))
    // DescribeGroups (v0-5) does not know consumer groups: Dead, as Kafka answers below v6.
    const classic = await exchange<DescribeGroupsResponse>(describeGroups, 5, { groups: ['cg'], includeAuthorizedOperations: false }, context)
    expect(classic.groups[0]).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Dead', members: [] })
  })
})
