// ConsumerGroupHeartbeat (KIP-848): joining, staying in and leaving a consumer-protocol group, with
// the assignment computed by the coordinator. Topics travel by id on the wire and by name inside.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readConsumerGroupHeartbeatRequest, writeConsumerGroupHeartbeatResponse, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat.ts'
import type { TopicPartitions } from '../../groups/assignors.ts'
import { AclOperation, allowedOnGroup, allowedOnTopic } from '../authorize.ts'
import { defineHandler, type RequestContext } from '../handler.ts'

function refusal(errorCode: ErrorCode, errorMessage: string): ConsumerGroupHeartbeatResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null }
}

/** The owned partitions by topic name; partitions of topics that no longer exist are dropped. */
function ownedByName(context: RequestContext, owned: ConsumerGroupHeartbeatRequest['topicPartitions']): TopicPartitions | null {
  if (owned === null) return null
  const byName: TopicPartitions = new Map()
  for (const entry of owned) {
    const topic = context.log.topicById(entry.topicId)
    if (topic !== undefined) byName.set(topic.name, [...(byName.get(topic.name) ?? []), ...entry.partitions])
  }
  return byName
}

export const consumerGroupHeartbeat = defineHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>({
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 1,
  read: readConsumerGroupHeartbeatRequest,
  write: writeConsumerGroupHeartbeatResponse,
  async handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) return refusal(ErrorCode.GROUP_AUTHORIZATION_FAILED, `not authorized to read group ${request.groupId}`)
    // As Kafka: subscribing by name needs DESCRIBE on every topic named.
    const denied = (request.subscribedTopicNames ?? []).filter((topic) => !allowedOnTopic(context, AclOperation.DESCRIBE, topic))
    if (denied.length > 0) return refusal(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `not authorized to describe topics ${denied.join(', ')}`)
    const result = await context.groups.consumerHeartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: request.subscribedTopicRegex,
      serverAssignor: request.serverAssignor,
      ownedPartitions: ownedByName(context, request.topicPartitions),
      serverGeneratesMemberId: context.apiVersion === 0,
      mayDescribe: (topic) => allowedOnTopic(context, AclOperation.DESCRIBE, topic),
      clientId: context.clientId ?? '',
      clientHost: `/${context.clientHost}`,
    })
    const assignment = result.assignment === null ? null : {
      topicPartitions: [...result.assignment].flatMap(([name, partitions]) => {
        const topic = context.log.topicByName(name)
        return topic === undefined ? [] : [{ topicId: topic.id, partitions }]
      }),
    }
    return {
      throttleTimeMs: 0, errorCode: result.errorCode, errorMessage: result.errorMessage, memberId: result.memberId,
      memberEpoch: result.memberEpoch, heartbeatIntervalMs: result.heartbeatIntervalMs, assignment,
    }
  },
})
