// InitProducerId: a fresh producer id with epoch 0 for idempotent producers. Transactions
// are not implemented, so a transactional id gets a clear, non-retriable refusal.
import { storageRefusal } from '../../log/broker-log.ts'
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readInitProducerIdRequest, writeInitProducerIdResponse, type InitProducerIdRequest, type InitProducerIdResponse } from '../../protocol/generated/init-producer-id.ts'
import { defineHandler } from '../handler.ts'
import { mayWriteIdempotently } from '../authorize.ts'

export const initProducerId = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  read: readInitProducerIdRequest,
  write: writeInitProducerIdResponse,
  async handle(request, context) {
    if (request.transactionalId !== null) {
      context.logger.warn({ remote: context.remoteAddress, transactionalId: request.transactionalId }, 'refused InitProducerId: transactions are not supported')
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 }
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
