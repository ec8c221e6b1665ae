// ListTransactions: the transactional ids the client may describe, filtered by state, producer id
// and (v1) how long their transaction has been open.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readListTransactionsRequest, writeListTransactionsResponse, type ListTransactionsRequest, type ListTransactionsResponse } from '../../protocol/generated/list-transactions.ts'
import { TRANSACTION_STATES } from '../../groups/transactions/transaction.ts'
import { AclOperation, allowed, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const listTransactions = defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  apiKey: ApiKey.ListTransactions,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 1,
  read: readListTransactionsRequest,
  write: writeListTransactionsResponse,
  handle(request, context) {
    const known = new Set<string>(TRANSACTION_STATES)
    const unknownStateFilters = request.stateFilters.filter((state) => !known.has(state))
    const states = new Set(request.stateFilters)
    const producerIds = new Set(request.producerIdFilters)
    const now = Date.now()
    const transactionStates = []
    for (const transaction of context.groups.transactions.all()) {
      if (states.size > 0 && !states.has(transaction.state)) continue
      if (producerIds.size > 0 && !producerIds.has(transaction.producerId)) continue
      if (request.durationFilter >= 0 && (transaction.startMs < 0 || now - transaction.startMs < request.durationFilter)) continue
      if (!allowed(context, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transaction.transactionalId)) continue
      transactionStates.push({ transactionalId: transaction.transactionalId, producerId: transaction.producerId, transactionState: transaction.state })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates }
  },
})
