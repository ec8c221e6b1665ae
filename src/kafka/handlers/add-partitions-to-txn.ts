// AddPartitionsToTxn: partitions join the producer's open transaction (v0-3, what clients send), or,
// in the batched form of v4+ (broker to broker, KIP-890), several transactions are added to or
// verified at once. All or nothing per transaction: with one partition refused, the others answer
// OPERATION_NOT_ATTEMPTED.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readAddPartitionsToTxnRequest, writeAddPartitionsToTxnResponse, type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from '../../protocol/generated/add-partitions-to-txn.ts'
import { AclOperation, allowed, allowedOnCluster, allowedOnTopic, ResourceType } from '../authorize.ts'
import { defineHandler, type RequestContext } from '../handler.ts'

interface TopicResult {
  name: string
  resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: ErrorCode }>
}

async function addOne(context: RequestContext, transactionalId: string, producerId: number, producerEpoch: number, topics: ReadonlyArray<{ name: string; partitions: number[] }>, verifyOnly: boolean): Promise<TopicResult[]> {
  const answer = (code: (topic: string, partition: number) => ErrorCode): TopicResult[] =>
    topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })) }))
  if (!allowed(context, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
  const refused = new Map<string, ErrorCode>()
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      if (!allowedOnTopic(context, AclOperation.WRITE, topic.name)) refused.set(`${topic.name}/${partition}`, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
      else if (context.log.partition(topic.name, partition) === undefined) refused.set(`${topic.name}/${partition}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    }
  }
  if (refused.size > 0) return answer((topic, partition) => refused.get(`${topic}/${partition}`) ?? ErrorCode.OPERATION_NOT_ATTEMPTED)
  const partitions = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))
  const code = await context.groups.transactions.addPartitions(transactionalId, producerId, producerEpoch, partitions, context.apiVersion >= 2, verifyOnly)
  return answer(() => code)
}

export const addPartitionsToTxn = defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  apiKey: ApiKey.AddPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 5,
  read: readAddPartitionsToTxnRequest,
  write: writeAddPartitionsToTxnResponse,
  async handle(request, context) {
    if (context.apiVersion <= 3) {
      const results = await addOne(context, request.v3AndBelowTransactionalId, request.v3AndBelowProducerId, request.v3AndBelowProducerEpoch, request.v3AndBelowTopics, false)
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results }
    }
    // The batched form is for brokers verifying transactions: Kafka asks CLUSTER_ACTION.
    if (!allowedOnCluster(context, AclOperation.CLUSTER_ACTION)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [], resultsByTopicV3AndBelow: [] }
    }
    const resultsByTransaction = []
    for (const transaction of request.transactions) {
      const topicResults = await addOne(context, transaction.transactionalId, transaction.producerId, transaction.producerEpoch, transaction.topics, transaction.verifyOnly)
      resultsByTransaction.push({ transactionalId: transaction.transactionalId, topicResults })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] }
  },
})
