// EndTxn: commits or aborts the producer's open transaction. Answered once the markers are on every
// partition of the transaction and, for a commit, its group offsets are visible.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readEndTxnRequest, writeEndTxnResponse, type EndTxnRequest, type EndTxnResponse } from '../../protocol/generated/end-txn.ts'
import { AclOperation, allowed, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const endTxn = defineHandler<EndTxnRequest, EndTxnResponse>({
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 4,
  read: readEndTxnRequest,
  write: writeEndTxnResponse,
  async handle(request, context) {
    if (!allowed(context, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
    const errorCode = await context.groups.transactions.endTransaction(request.transactionalId, request.producerId, request.producerEpoch, request.committed, context.apiVersion >= 2)
    return { throttleTimeMs: 0, errorCode }
  },
})
