// Heartbeat: keeps a member's session alive and tells it when to rejoin.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readHeartbeatRequest, writeHeartbeatResponse, type HeartbeatRequest, type HeartbeatResponse } from '../../protocol/generated/heartbeat.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup } from '../authorize.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'

export const heartbeat = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  read: readHeartbeatRequest,
  write: writeHeartbeatResponse,
  handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
    return { throttleTimeMs: 0, errorCode: context.groups.heartbeat(request.groupId, request.generationId, request.memberId, request.groupInstanceId) }
  },
})
