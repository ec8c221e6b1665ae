// ConsumerGroupDescribe (KIP-848): a consumer-protocol group with its epochs, assignor and members,
// each with its current and target assignment. A group id that is not a consumer group answers
// GROUP_ID_NOT_FOUND, as in Kafka (kafka-consumer-groups then falls back to DescribeGroups).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readConsumerGroupDescribeRequest, writeConsumerGroupDescribeResponse, type ConsumerGroupDescribeRequest, type ConsumerGroupDescribeResponse, type ConsumerGroupDescribeResponseDescribedGroup } from '../../protocol/generated/consumer-group-describe.ts'
import type { TopicPartitions } from '../../groups/assignors.ts'
import { AclOperation, allowedOnGroup, authorizedOperations, OPERATIONS_NOT_REQUESTED, ResourceType } from '../authorize.ts'
import { defineHandler, type RequestContext } from '../handler.ts'

/** KIP-1099 member type (v1+): the member speaks the consumer protocol. */
const CONSUMER_MEMBER_TYPE = 1

function withIds(context: RequestContext, partitions: TopicPartitions): Array<{ topicId: string; topicName: string; partitions: number[] }> {
  return [...partitions].flatMap(([name, list]) => {
    const topic = context.log.topicByName(name)
    return topic === undefined ? [] : [{ topicId: topic.id, topicName: name, partitions: list }]
  })
}

function failed(groupId: string, errorCode: ErrorCode, errorMessage: string): ConsumerGroupDescribeResponseDescribedGroup {
  return { errorCode, errorMessage, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED }
}

export const consumerGroupDescribe = defineHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>({
  apiKey: ApiKey.ConsumerGroupDescribe,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 1,
  read: readConsumerGroupDescribeRequest,
  write: writeConsumerGroupDescribeResponse,
  handle(request, context) {
    const consumerGroups = context.groups.consumerGroups
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => {
        if (!allowedOnGroup(context, AclOperation.DESCRIBE, groupId)) return failed(groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED, `not authorized to describe group ${groupId}`)
        if (groupId === '') return failed(groupId, ErrorCode.INVALID_GROUP_ID, 'the group id is empty')
        const group = consumerGroups.group(groupId)
        if (group === undefined) {
          const message = context.groups.group(groupId) === undefined ? `group ${groupId} not found` : `group ${groupId} is not a consumer group`
          return failed(groupId, ErrorCode.GROUP_ID_NOT_FOUND, message)
        }
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: group.state,
          groupEpoch: group.groupEpoch,
          assignmentEpoch: group.assignmentEpoch,
          assignorName: group.assignorName(consumerGroups.defaultAssignor),
          members: [...group.members.values()].map((member) => ({
            memberId: member.memberId,
            instanceId: member.instanceId,
            rackId: member.rackId,
            memberEpoch: member.memberEpoch,
            clientId: member.clientId,
            clientHost: member.clientHost,
            subscribedTopicNames: member.subscribedTopicNames,
            subscribedTopicRegex: member.subscribedTopicRegex,
            assignment: { topicPartitions: withIds(context, member.assigned) },
            targetAssignment: { topicPartitions: withIds(context, group.targetAssignment.get(member.memberId) ?? new Map()) },
            memberType: CONSUMER_MEMBER_TYPE,
          })),
          authorizedOperations: request.includeAuthorizedOperations ? authorizedOperations(context, ResourceType.GROUP, groupId) : OPERATIONS_NOT_REQUESTED,
        }
      }),
    }
  },
})
