// DeleteAcls: removes the bindings each filter selects and lists them (kafka-acls --remove); needs ALTER on the cluster.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readDeleteAclsRequest, writeDeleteAclsResponse, type DeleteAclsRequest, type DeleteAclsResponse } from '../../protocol/generated/delete-acls.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { invalidFilter, type AclFilter } from '../../security/acl.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const deleteAcls = defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
  apiKey: ApiKey.DeleteAcls,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 3,
  read: readDeleteAclsRequest,
  write: writeDeleteAclsResponse,
  async handle(request, context) {
    if (!allowedOnCluster(context, AclOperation.ALTER)) {
      return { throttleTimeMs: 0, filterResults: request.filters.map(() => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', matchingAcls: [] })) }
    }
    const filters: AclFilter[] = request.filters.map((f) => ({
      resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter, patternType: f.patternTypeFilter,
      principal: f.principalFilter, host: f.hostFilter, operation: f.operation, permission: f.permissionType,
    }))
    const problems = filters.map(invalidFilter)
    const deleted = await context.authorizer.delete(filters.filter((_, i) => problems[i] === null))
    let next = 0
    return {
      throttleTimeMs: 0,
      filterResults: problems.map((why) => {
        if (why !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why, matchingAcls: [] }
        return {
          errorCode: ErrorCode.NONE, errorMessage: null,
          matchingAcls: deleted[next++]!.map((binding) => ({
            errorCode: ErrorCode.NONE, errorMessage: null, resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType,
            principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permission,
          })),
        }
      }),
    }
  },
})
