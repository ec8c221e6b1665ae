// DescribeGroups: state, protocol and members; an unknown group is reported Dead, as Kafka does.
// Like Kafka, the protocol and the members' metadata and assignments are shown only once the
// group is stable: before that they belong to a generation that is being replaced.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeGroupsRequest, writeDescribeGroupsResponse, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../../protocol/generated/describe-groups.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup, authorizedOperations, OPERATIONS_NOT_REQUESTED, ResourceType } from '../authorize.ts'

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
        if (!allowedOnGroup(context, AclOperation.DESCRIBE, groupId)) {
          return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED }
        }
        // v3+ asks for them; every group described without error gets them, a Dead (unknown) one too, as in Kafka.
        const operations = request.includeAuthorizedOperations ? authorizedOperations(context, ResourceType.GROUP, groupId) : OPERATIONS_NOT_REQUESTED
        const group = context.groups.group(groupId)
        if (group === undefined) {
          return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: operations }
        }
        const stable = group.state === 'Stable'
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: group.state,
          protocolType: group.protocolType ?? '',
          protocolData: stable ? group.protocolName ?? '' : '',
          members: [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: stable && group.protocolName !== null ? m.metadataFor(group.protocolName) : Buffer.alloc(0),
            memberAssignment: stable ? m.assignment : Buffer.alloc(0),
          })),
          authorizedOperations: operations,
        }
      }),
    }
  },
})
