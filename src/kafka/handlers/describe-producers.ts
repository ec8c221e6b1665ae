// DescribeProducers: the producers with state on each partition (epoch, last sequence and timestamp,
// the first offset of an open transaction), what `kafka-transactions describe-producers` shows.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeProducersRequest, writeDescribeProducersResponse, type DescribeProducersRequest, type DescribeProducersResponse } from '../../protocol/generated/describe-producers.ts'
import { COORDINATOR_EPOCH } from '../../groups/transactions/coordinator.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const describeProducers = defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  apiKey: ApiKey.DescribeProducers,
  name: 'DescribeProducers',
  minVersion: 0,
  maxVersion: 0,
  read: readDescribeProducersRequest,
  write: writeDescribeProducersResponse,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => {
        const denied = !allowedOnTopic(context, AclOperation.READ, t.name)
        const topic = context.log.topicByName(t.name)
        return {
          name: t.name,
          partitions: t.partitionIndexes.map((index) => {
            const partition = topic?.partitions[index]
            if (denied) return { partitionIndex: index, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] }
            if (partition === undefined) return { partitionIndex: index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] }
            const activeProducers = [...partition.producers.entries()].map(([producerId, entry]) => ({
              producerId,
              producerEpoch: entry.epoch,
              lastSequence: entry.batches.at(-1)?.lastSequence ?? -1,
              lastTimestamp: entry.lastTimestampMs,
              coordinatorEpoch: COORDINATOR_EPOCH,
              currentTxnStartOffset: partition.transactions.openFirstOffset(producerId),
            }))
            return { partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers }
          }),
        }
      }),
    }
  },
})
