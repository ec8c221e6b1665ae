// DescribeGroups: state, protocol and members; an unknown group is reported Dead, as Kafka does.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeGroupsRequest, writeDescribeGroupsResponse, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../../protocol/generated/describe-groups.ts'
import { defineHandler } from '../handler.ts'

export const describeGroups = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  read: readDescribeGroupsRequest,
  write: writeDescribeGroupsResponse,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        const group = context.groups.group(groupId)
        if (group === undefined) {
          return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 }
        }
        const showAssignments = group.state === 'Stable'
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: group.state,
          protocolType: group.protocolType ?? '',
          protocolData: group.protocolName ?? '',
          members: [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: group.protocolName === null ? Buffer.alloc(0) : m.metadataFor(group.protocolName),
            memberAssignment: showAssignments ? m.assignment : Buffer.alloc(0),
          })),
          authorizedOperations: -2147483648,
        }
      }),
    }
  },
})
