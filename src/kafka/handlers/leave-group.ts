// LeaveGroup: one member (v0-2) or a batch of members, possibly static (v3+).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readLeaveGroupRequest, writeLeaveGroupResponse, type LeaveGroupRequest, type LeaveGroupResponse } from '../../protocol/generated/leave-group.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup } from '../authorize.ts'

export const leaveGroup = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  read: readLeaveGroupRequest,
  write: writeLeaveGroupResponse,
  handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] }
    if (context.apiVersion < 3) {
      const [errorCode] = context.groups.leave(request.groupId, [{ memberId: request.memberId, groupInstanceId: null }])
      return { throttleTimeMs: 0, errorCode: errorCode!, members: [] }
    }
    const errors = context.groups.leave(request.groupId, request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })))
    return {
      throttleTimeMs: 0,
      // As in Kafka, even an unknown group answers NONE at the top level, with UNKNOWN_MEMBER_ID per member
      // (the last member leaving may also have made the group disappear).
      errorCode: ErrorCode.NONE,
      members: request.members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: errors[i]! })),
    }
  },
})
