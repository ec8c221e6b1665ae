// FindCoordinator: this single broker coordinates every group and every transactional id.
// Also what makes librdkafka enable LZ4.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readFindCoordinatorRequest, writeFindCoordinatorResponse, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.ts'
import { AclOperation, allowed, ResourceType } from '../authorize.ts'
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
    // v4+ batches keys; older versions carry one key in the top-level fields.
    const keys = context.apiVersion >= 4 ? request.coordinatorKeys : [request.key]
    const coordinators = keys.map((key) => {
      let errorCode: ErrorCode = ErrorCode.NONE
      let errorMessage: string | null = null
      if (!supported) {
        errorCode = ErrorCode.INVALID_REQUEST
        errorMessage = `coordinator key type ${request.keyType} is not supported (0 = group, 1 = transaction)`
      } else if (request.keyType === KEY_TYPE_GROUP && !allowed(context, AclOperation.DESCRIBE, ResourceType.GROUP, key)) {
        errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED
        errorMessage = 'Group authorization failed.'
      } else if (request.keyType === KEY_TYPE_TRANSACTION && !allowed(context, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key)) {
        errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        errorMessage = 'Transactional Id authorization failed.'
      }
      const found = errorCode === ErrorCode.NONE
      return { key, nodeId: found ? broker.nodeId : -1, host: found ? broker.host : '', port: found ? broker.port : -1, errorCode, errorMessage }
    })
    const first = coordinators[0]!
    return { throttleTimeMs: 0, errorCode: first.errorCode, errorMessage: first.errorMessage, nodeId: first.nodeId, host: first.host, port: first.port, coordinators }
  },
})
