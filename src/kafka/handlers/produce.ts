// Produce: batches stay the client's bytes; offsets are assigned synchronously in request
// order, the response waits for the group commit (acks 1 and -1 mean the same on one node).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readProduceRequest, writeProduceResponse, type ProduceRequest, type ProduceResponse } from '../../protocol/generated/produce.ts'
import type { AppendResult } from '../../log/broker-log.ts'
import { topicNameProblem } from '../../log/topic-config.ts'
import { AclOperation, allowed, allowedOnTopic, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import type { KafkaTraffic } from '../metrics.ts'
import { autoCreateTopics, needsAutoCreate } from './auto-create.ts'

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number]

function partitionResponse(index: number, result: AppendResult, logStartOffset: number): PartitionResponse {
  return {
    index,
    errorCode: result.errorCode,
    baseOffset: result.baseOffset,
    logAppendTimeMs: result.logAppendTime,
    logStartOffset,
    recordErrors: [],
    errorMessage: result.errorMessage,
    currentLeader: null,
  }
}

function failed(index: number, errorCode: ErrorCode, errorMessage: string, traffic: KafkaTraffic | undefined): PartitionResponse {
  traffic?.error(errorCode)
  return partitionResponse(index, { errorCode, errorMessage, baseOffset: -1, logAppendTime: -1 }, -1)
}

export const produce = defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: ApiKey.Produce,
  name: 'Produce',
  minVersion: 0,
  maxVersion: 11,
  read: readProduceRequest,
  write: writeProduceResponse,
  prepare(request, context) {
    const names = request.topicData.map((t) => t.name).filter((name) => allowedOnTopic(context, AclOperation.WRITE, name))
    if (needsAutoCreate(names, context)) return autoCreateTopics(names, context)
  },
  handle(request, context) {
    const { log, traffic } = context
    const validAcks = request.acks === 0 || request.acks === 1 || request.acks === -1
    const transactionDenied = request.transactionalId !== null && !allowed(context, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)
    // Every append starts here, synchronously, so offsets follow request order.
    const pending: Array<Array<PartitionResponse | Promise<PartitionResponse>>> = request.topicData.map((topicData) => {
      const topic = log.topicByName(topicData.name)
      // Checked before existence, so a client learns nothing of topics it may not write.
      const topicDenied = !allowedOnTopic(context, AclOperation.WRITE, topicData.name)
      return topicData.partitionData.map((data): PartitionResponse | Promise<PartitionResponse> => {
        if (transactionDenied) return failed(data.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactional Id authorization failed.', traffic)
        if (topicDenied) return failed(data.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Topic authorization failed.', traffic)
        if (!validAcks) return failed(data.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${request.acks}`, traffic)
        if (topic === undefined) {
          const problem = topicNameProblem(topicData.name)
          if (problem !== null) return failed(data.index, ErrorCode.INVALID_TOPIC_EXCEPTION, problem, traffic)
          return failed(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topicData.name} does not exist`, traffic)
        }
        const partition = topic.partitions[data.index]
        if (partition === undefined) return failed(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic.name} has no partition ${data.index}`, traffic)
        // One replica is all the in-sync set there is: acks=all cannot meet a min.insync.replicas above 1 (as Kafka answers).
        if (request.acks === -1 && topic.minInsyncReplicas > 1) {
          return failed(data.index, ErrorCode.NOT_ENOUGH_REPLICAS, `the in-sync replicas of ${topic.name}-${data.index} are 1, fewer than its min.insync.replicas ${topic.minInsyncReplicas}`, traffic)
        }
        return log.append(topic, partition, data.records).then((result) => {
          traffic?.produced(result.errorCode, data.records)
          return partitionResponse(data.index, result, Math.max(partition.logStartOffset, partition.deletedBefore))
        })
      })
    })
    if (request.acks === 0) {
      // No response at all; a failed append is the client's loss by its own choice, but logged.
      // The request still counts (produce budget, pending requests) until its appends are done,
      // so an acks=0 flood is paced like any other instead of queueing without bound.
      const appends = pending.flat().map((p) => (p instanceof Promise ? p.catch((error: unknown) => context.logger.error({ err: error }, 'acks=0 append failed')) : p))
      return Promise.all(appends).then(() => null)
    }
    return Promise.all(pending.map((partitions) => Promise.all(partitions))).then((results) => ({
      responses: request.topicData.map((topicData, t) => ({ name: topicData.name, partitionResponses: results[t]! })),
      // Counted while this request's own bytes are still in flight: one request over the budget is throttled too.
      throttleTimeMs: context.produceBudget?.throttleMs() ?? 0,
      nodeEndpoints: [],
    }))
  },
})
