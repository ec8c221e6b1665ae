// AddOffsetsToTxn: the producer's open transaction will commit offsets of this consumer group.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readAddOffsetsToTxnRequest, writeAddOffsetsToTxnResponse, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn.ts'
import { AclOperation, allowed, allowedOnGroup, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const addOffsetsToTxn = defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  apiKey: ApiKey.AddOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 4,
  read: readAddOffsetsToTxnRequest,
  write: writeAddOffsetsToTxnResponse,
  async handle(request, context) {
    if (!allowed(context, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
    if (request.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID }
    const errorCode = await context.groups.transactions.addOffsets(request.transactionalId, request.producerId, request.producerEpoch, request.groupId, context.apiVersion >= 2)
    return { throttleTimeMs: 0, errorCode }
  },
})
