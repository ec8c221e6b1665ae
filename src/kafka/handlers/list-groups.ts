// ListGroups: every group, optionally filtered by state (v4+) and type (v5+; all are classic).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readListGroupsRequest, writeListGroupsResponse, type ListGroupsRequest, type ListGroupsResponse } from '../../protocol/generated/list-groups.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnCluster, allowedOnGroup } from '../authorize.ts'

export const listGroups = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  read: readListGroupsRequest,
  write: writeListGroupsResponse,
  handle(request, context) {
    const states = new Set(request.statesFilter.map((s) => s.toLowerCase()))
    const types = new Set(request.typesFilter.map((t) => t.toLowerCase()))
    const groups = []
    // As Kafka: DESCRIBE on the cluster lists every group, otherwise only the groups the client may describe.
    const all = allowedOnCluster(context, AclOperation.DESCRIBE)
    for (const group of context.groups.groups()) {
      if (!all && !allowedOnGroup(context, AclOperation.DESCRIBE, group.groupId)) continue
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue
      if (types.size > 0 && !types.has('classic')) continue
      groups.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state, groupType: 'classic' })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups }
  },
})
