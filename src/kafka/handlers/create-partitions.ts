// CreatePartitions: grows a topic's partition count (never shrinks).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readCreatePartitionsRequest, writeCreatePartitionsResponse, type CreatePartitionsRequest, type CreatePartitionsResponse } from '../../protocol/generated/create-partitions.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'

type Result = CreatePartitionsResponse['results'][number]

export const createPartitions = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  read: readCreatePartitionsRequest,
  write: writeCreatePartitionsResponse,
  async handle(request, context) {
    const results: Result[] = []
    const { nodeId } = context.broker
    for (const wanted of request.topics) {
      if (!allowedOnTopic(context, AclOperation.ALTER, wanted.name)) {
        results.push({ name: wanted.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' })
        continue
      }
      const topic = context.log.topicByName(wanted.name)
      if (topic === undefined) {
        results.push({ name: wanted.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${wanted.name} does not exist` })
        continue
      }
      const added = wanted.count - topic.partitions.length
      if (wanted.assignments !== null && ((added > 0 && wanted.assignments.length !== added) || wanted.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId))) {
        results.push({ name: wanted.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `give one assignment per new partition (${added}), each on broker ${nodeId} alone` })
        continue
      }
      const problem = await context.log.createPartitions(topic, wanted.count, request.validateOnly)
      results.push(problem === null
        ? { name: wanted.name, errorCode: ErrorCode.NONE, errorMessage: null }
        : { name: wanted.name, errorCode: problem.errorCode, errorMessage: problem.message })
    }
    return { throttleTimeMs: 0, results }
  },
})
