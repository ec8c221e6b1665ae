// FindCoordinator: this single broker coordinates every group (and answers transaction
// lookups too, so a transactional producer reaches InitProducerId and gets a clear error
// there instead of retrying a lookup forever). Also what makes librdkafka enable LZ4.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readFindCoordinatorRequest, writeFindCoordinatorResponse, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.ts'
import { defineHandler } from '../handler.ts'

const KEY_TYPE_GROUP = 0
const KEY_TYPE_TRANSACTION = 1

export const findCoordinator = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 6,
  read: readFindCoordinatorRequest,
  write: writeFindCoordinatorResponse,
  handle(request, context) {
    const { broker } = context
    const supported = request.keyType === KEY_TYPE_GROUP || request.keyType === KEY_TYPE_TRANSACTION
    const errorCode = supported ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST
    const errorMessage = supported ? null : `coordinator key type ${request.keyType} is not supported (0 = group, 1 = transaction)`
    const nodeId = supported ? broker.nodeId : -1
    const host = supported ? broker.host : ''
    const port = supported ? broker.port : -1
    // v4+ batches keys; older versions carry one key in the top-level fields.
    const keys = context.apiVersion >= 4 ? request.coordinatorKeys : [request.key]
    return {
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      nodeId,
      host,
      port,
      coordinators: keys.map((key) => ({ key, nodeId, host, port, errorCode, errorMessage })),
    }
  },
})
