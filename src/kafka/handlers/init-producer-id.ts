// InitProducerId: a fresh producer id with epoch 0 for idempotent producers; for a transactional id,
// the transaction coordinator's id and a bumped epoch (an open transaction of an older producer is
// aborted first, and that producer is fenced).
import { storageRefusal } from '../../log/broker-log.ts'
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readInitProducerIdRequest, writeInitProducerIdResponse, type InitProducerIdRequest, type InitProducerIdResponse } from '../../protocol/generated/init-producer-id.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowed, mayWriteIdempotently, ResourceType } from '../authorize.ts'

export const initProducerId = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  read: readInitProducerIdRequest,
  write: writeInitProducerIdResponse,
  async handle(request, context) {
    if (request.transactionalId !== null) {
      if (!allowed(context, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 }
      }
      if (request.transactionalId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 }
      // PRODUCER_FENCED exists for clients from v4 on.
      const result = await context.groups.transactions.initProducerId(request.transactionalId, request.transactionTimeoutMs, request.producerId, request.producerEpoch, context.apiVersion >= 4)
      return { throttleTimeMs: 0, ...result }
    }
    if (!mayWriteIdempotently(context)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 }
    // As in Kafka, a non-transactional producer always gets a new id, even when it asks to bump an epoch.
    let producerId: number
    try {
      producerId = await context.log.allocateProducerId()
    } catch (error) {
      if (storageRefusal(error) === null) throw error
      // The id could not be stored (disk full). Clients retry COORDINATOR_NOT_AVAILABLE after
      // looking the coordinator up again; KAFKA_STORAGE_ERROR is not an answer they expect here.
      context.logger.warn({ err: error }, 'InitProducerId: the producer id could not be stored')
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 }
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 }
  },
})
