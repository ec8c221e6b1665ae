// CreateTopics: partitions (or the broker default), configs, validate_only; replication is 1 on one node.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readCreateTopicsRequest, writeCreateTopicsResponse, type CreateTopicsRequest, type CreateTopicsResponse } from '../../protocol/generated/create-topics.ts'
import { ZERO_UUID } from '../../protocol/reader.ts'
import { Topic } from '../../log/topic.ts'
import { describeTopicConfigs } from './describe-configs.ts'
import { defineHandler, type RequestContext } from '../handler.ts'
import { mayCreateTopic } from '../authorize.ts'

type CreatableTopic = CreateTopicsRequest['topics'][number]
type TopicResult = CreateTopicsResponse['topics'][number]

function failure(name: string, errorCode: ErrorCode, errorMessage: string): TopicResult {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, topicConfigErrorCode: ErrorCode.NONE, numPartitions: -1, replicationFactor: -1, configs: null }
}

async function createOne(wanted: CreatableTopic, validateOnly: boolean, context: RequestContext, seen: Set<string>): Promise<TopicResult> {
  const { name } = wanted
  if (seen.has(name)) return failure(name, ErrorCode.INVALID_REQUEST, `topic ${name} appears more than once in the request`)
  seen.add(name)
  if (!mayCreateTopic(context, name)) return failure(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.')
  const { nodeId } = context.broker
  let partitions = wanted.numPartitions
  if (wanted.assignments.length > 0) {
    if (wanted.numPartitions !== -1 || wanted.replicationFactor !== -1) {
      return failure(name, ErrorCode.INVALID_REQUEST, 'give either replica assignments or partitions and replication factor, not both')
    }
    const indexes = wanted.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b)
    if (indexes.some((p, i) => p !== i) || wanted.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId)) {
      return failure(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `this single-node broker (id ${nodeId}) needs partitions 0..n-1, each on broker ${nodeId} alone`)
    }
    partitions = wanted.assignments.length
  } else {
    if (wanted.replicationFactor !== -1 && wanted.replicationFactor !== 1) {
      return failure(name, ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${wanted.replicationFactor} is larger than the 1 available broker`)
    }
    if (partitions === -1) partitions = context.config.defaultPartitions
  }
  const configs: Record<string, string> = {}
  for (const entry of wanted.configs) {
    if (entry.value === null) return failure(name, ErrorCode.INVALID_CONFIG, `config ${entry.name} has a null value`)
    configs[entry.name] = entry.value
  }
  const created = await context.log.createTopic(name, partitions, configs, validateOnly)
  if (!(created instanceof Topic)) return failure(name, created.errorCode, created.message)
  return {
    name,
    topicId: validateOnly ? ZERO_UUID : created.id,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: created.partitions.length,
    replicationFactor: 1,
    configs: describeTopicConfigs(created, context, null, false).map((c) => ({
      name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.configSource, isSensitive: c.isSensitive,
    })),
  }
}

export const createTopics = defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  read: readCreateTopicsRequest,
  write: writeCreateTopicsResponse,
  async handle(request, context) {
    const seen = new Set<string>()
    const topics: TopicResult[] = []
    // One at a time: creations are rare and this keeps duplicate detection simple.
    for (const wanted of request.topics) topics.push(await createOne(wanted, request.validateOnly, context, seen))
    return { throttleTimeMs: 0, topics }
  },
})
