// ListGroups: every group, classic and consumer-protocol (KIP-848), optionally filtered by state (v4+)
// and type (v5+: classic, consumer).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readListGroupsRequest, writeListGroupsResponse, type ListGroupsRequest, type ListGroupsResponse } from '../../protocol/generated/list-groups.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnCluster, allowedOnGroup } from '../authorize.ts'
import { CONSUMER_GROUP_PROTOCOL_TYPE } from '../../groups/consumer-group.ts'

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
    const listed = [
      ...[...context.groups.groups()].map((group) => ({ groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state as string, groupType: 'classic' })),
      ...[...context.groups.consumerGroups.groups()].map((group) => ({ groupId: group.groupId, protocolType: CONSUMER_GROUP_PROTOCOL_TYPE, groupState: group.state as string, groupType: 'consumer' })),
    ]
    for (const group of listed) {
      if (!all && !allowedOnGroup(context, AclOperation.DESCRIBE, group.groupId)) continue
      if (states.size > 0 && !states.has(group.groupState.toLowerCase())) continue
      if (types.size > 0 && !types.has(group.groupType)) continue
      groups.push(group)
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups }
  },
})
