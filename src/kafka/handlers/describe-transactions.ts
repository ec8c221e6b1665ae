// DescribeTransactions: a transactional id's producer, state, timeout, start and partitions.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeTransactionsRequest, writeDescribeTransactionsResponse, type DescribeTransactionsRequest, type DescribeTransactionsResponse } from '../../protocol/generated/describe-transactions.ts'
import { AclOperation, allowed, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const describeTransactions = defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  apiKey: ApiKey.DescribeTransactions,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  read: readDescribeTransactionsRequest,
  write: writeDescribeTransactionsResponse,
  handle(request, context) {
    const transactionStates = request.transactionalIds.map((transactionalId) => {
      const empty = { transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] }
      if (!allowed(context, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ...empty }
      const transaction = context.groups.transactions.get(transactionalId)
      if (transaction === undefined) return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, ...empty }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId,
        transactionState: transaction.state,
        transactionTimeoutMs: transaction.timeoutMs,
        transactionStartTimeMs: transaction.startMs,
        producerId: transaction.producerId,
        producerEpoch: transaction.producerEpoch,
        topics: [...transaction.partitionsByTopic()].map(([topic, partitions]) => ({ topic, partitions })),
      }
    })
    return { throttleTimeMs: 0, transactionStates }
  },
})
