// DeleteGroups: empty groups only, with their committed offsets.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readDeleteGroupsRequest, writeDeleteGroupsResponse, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/delete-groups.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup } from '../authorize.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'

export const deleteGroups = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  read: readDeleteGroupsRequest,
  write: writeDeleteGroupsResponse,
  async handle(request, context) {
    const permitted = request.groupsNames.filter((groupId) => allowedOnGroup(context, AclOperation.DELETE, groupId))
    const errors = await context.groups.deleteGroups(permitted)
    let i = 0
    return {
      throttleTimeMs: 0,
      results: request.groupsNames.map((groupId) => ({ groupId, errorCode: permitted.includes(groupId) ? errors[i++]! : ErrorCode.GROUP_AUTHORIZATION_FAILED })),
    }
  },
})
