// Metadata: this single broker leads every partition; unknown topics are auto-created when allowed.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readMetadataRequest, writeMetadataResponse, type MetadataRequest, type MetadataRequestTopic, type MetadataResponse } from '../../protocol/generated/metadata.ts'
import { ZERO_UUID } from '../../protocol/reader.ts'
import type { Topic } from '../../log/topic.ts'
import { topicNameProblem } from '../../log/topic-config.ts'
import { AclOperation, allowedOnTopic, authorizedOperations, OPERATIONS_NOT_REQUESTED, ResourceType } from '../authorize.ts'
import { CLUSTER_NAME } from '../../security/acl.ts'
import { defineHandler, type RequestContext } from '../handler.ts'
import { autoCreateTopics, needsAutoCreate } from './auto-create.ts'

type TopicResponse = MetadataResponse['topics'][number]

/**
 * The name a requested topic is looked up by, or null when it is looked up by id. As in Kafka, a
 * non-zero id wins over the name: the Java client's Admin.describeTopics(TopicCollection.ofTopicIds(...))
 * sends the name as "" (its default), not null.
 */
function nameUnlessById(wanted: MetadataRequestTopic): string | null {
  return wanted.topicId === ZERO_UUID ? wanted.name : null
}

function requestedNames(request: MetadataRequest): Array<string | null> {
  return request.topics === null ? [] : request.topics.map(nameUnlessById)
}

function allowsAutoCreate(request: MetadataRequest): boolean {
  return request.allowAutoTopicCreation
}

function describeTopic(topic: Topic, context: RequestContext, withOperations: boolean): TopicResponse {
  const { nodeId } = context.broker
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: false,
    partitions: topic.partitions.map((p) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: p.id,
      leaderId: nodeId,
      leaderEpoch: -1,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: withOperations ? authorizedOperations(context, ResourceType.TOPIC, topic.name) : OPERATIONS_NOT_REQUESTED,
  }
}

function topicError(errorCode: ErrorCode, name: string | null, topicId: string): TopicResponse {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED }
}

export const metadata = defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  read: readMetadataRequest,
  write: writeMetadataResponse,
  prepare(request, context) {
    if (!allowsAutoCreate(request)) return
    const names = requestedNames(request)
    if (needsAutoCreate(names, context)) return autoCreateTopics(names, context)
  },
  handle(request, context) {
    const { log, broker } = context
    let topics: TopicResponse[]
    // v8+ asks per request; the cluster's set is in Metadata up to v10 (DescribeCluster from then on).
    const withOperations = request.includeTopicAuthorizedOperations
    // v0: an empty list means every topic; v1+: null means every topic, empty means none.
    const all = request.topics === null || (context.apiVersion === 0 && request.topics.length === 0)
    if (all) {
      topics = []
      // Only the topics the client may describe, as Kafka lists them.
      for (const topic of log.topics()) if (allowedOnTopic(context, AclOperation.DESCRIBE, topic.name)) topics.push(describeTopic(topic, context, withOperations))
    } else {
      topics = request.topics!.map((wanted) => {
        const name = nameUnlessById(wanted)
        if (name === null) {
          const byId = log.topicById(wanted.topicId)
          if (byId !== undefined && !allowedOnTopic(context, AclOperation.DESCRIBE, byId.name)) return topicError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null, wanted.topicId)
          return byId === undefined ? topicError(ErrorCode.UNKNOWN_TOPIC_ID, null, wanted.topicId) : describeTopic(byId, context, withOperations)
        }
        if (!allowedOnTopic(context, AclOperation.DESCRIBE, name)) return topicError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, ZERO_UUID)
        const topic = log.topicByName(name)
        if (topic !== undefined) return describeTopic(topic, context, withOperations)
        if (topicNameProblem(name) !== null) return topicError(ErrorCode.INVALID_TOPIC_EXCEPTION, name, ZERO_UUID)
        return topicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, ZERO_UUID)
      })
    }
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack }],
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? authorizedOperations(context, ResourceType.CLUSTER, CLUSTER_NAME)
        : OPERATIONS_NOT_REQUESTED,
    }
  },
})
