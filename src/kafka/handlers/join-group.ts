// JoinGroup: held until the rebalance completes; the coordinator owns the protocol.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readJoinGroupRequest, writeJoinGroupResponse, type JoinGroupRequest, type JoinGroupResponse } from '../../protocol/generated/join-group.ts'
import type { JoinResult } from '../../groups/group.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup } from '../authorize.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'

function response(result: JoinResult): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    protocolName: result.protocolName,
    leader: result.leader,
    skipAssignment: result.skipAssignment ?? false,
    memberId: result.memberId,
    members: result.members,
  }
}

export const joinGroup = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  read: readJoinGroupRequest,
  write: writeJoinGroupResponse,
  async handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: request.memberId, members: [] }
    }
    const result = await context.groups.join({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      protocolType: request.protocolType,
      protocols: request.protocols,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: context.apiVersion >= 1 ? request.rebalanceTimeoutMs : -1,
      requireKnownMemberId: context.apiVersion >= 4,
      supportsSkipAssignment: context.apiVersion >= 9,
      clientId: context.clientId ?? '',
      clientHost: `/${context.remoteAddress.slice(0, context.remoteAddress.lastIndexOf(':'))}`,
    })
    return response(result)
  },
})
