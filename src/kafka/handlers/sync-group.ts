// SyncGroup: the leader's assignment reaches every member of the generation.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readSyncGroupRequest, writeSyncGroupResponse, type SyncGroupRequest, type SyncGroupResponse } from '../../protocol/generated/sync-group.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup } from '../authorize.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'

export const syncGroup = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  read: readSyncGroupRequest,
  write: writeSyncGroupResponse,
  async handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }
    }
    const result = await context.groups.sync(request.groupId, request.generationId, request.memberId, request.groupInstanceId, request.protocolType, request.protocolName, request.assignments)
    return { throttleTimeMs: 0, ...result }
  },
})
