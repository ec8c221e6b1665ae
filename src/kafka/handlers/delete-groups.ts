// DeleteGroups: empty groups only, with their committed offsets.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readDeleteGroupsRequest, writeDeleteGroupsResponse, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/delete-groups.ts'
import { defineHandler } from '../handler.ts'

export const deleteGroups = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  read: readDeleteGroupsRequest,
  write: writeDeleteGroupsResponse,
  async handle(request, context) {
    const errors = await context.groups.deleteGroups(request.groupsNames)
    return { throttleTimeMs: 0, results: request.groupsNames.map((groupId, i) => ({ groupId, errorCode: errors[i]! })) }
  },
})
