// DescribeAcls: the ACL bindings a filter selects, grouped by resource (kafka-acls --list); needs DESCRIBE on the cluster.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readDescribeAclsRequest, writeDescribeAclsResponse, type DescribeAclsRequest, type DescribeAclsResponse, type DescribeAclsResponseDescribeAclsResource } from '../../protocol/generated/describe-acls.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { invalidFilter } from '../../security/acl.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const describeAcls = defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
  apiKey: ApiKey.DescribeAcls,
  name: 'DescribeAcls',
  minVersion: 0,
  maxVersion: 3,
  read: readDescribeAclsRequest,
  write: writeDescribeAclsResponse,
  handle(request, context) {
    if (!allowedOnCluster(context, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', resources: [] }
    }
    const filter = {
      resourceType: request.resourceTypeFilter, resourceName: request.resourceNameFilter, patternType: request.patternTypeFilter,
      principal: request.principalFilter, host: request.hostFilter, operation: request.operation, permission: request.permissionType,
    }
    const why = invalidFilter(filter)
    if (why !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why, resources: [] }
    const resources = new Map<string, DescribeAclsResponseDescribeAclsResource>()
    for (const binding of context.authorizer.describe(filter)) {
      const key = JSON.stringify([binding.resourceType, binding.resourceName, binding.patternType])
      let resource = resources.get(key)
      if (resource === undefined) {
        resource = { resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType, acls: [] }
        resources.set(key, resource)
      }
      resource.acls.push({ principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permission })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...resources.values()] }
  },
})
