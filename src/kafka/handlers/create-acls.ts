// CreateAcls: stores ACL bindings (kafka-acls --add); needs ALTER on the cluster.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readCreateAclsRequest, writeCreateAclsResponse, type CreateAclsRequest, type CreateAclsResponse } from '../../protocol/generated/create-acls.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const createAcls = defineHandler<CreateAclsRequest, CreateAclsResponse>({
  apiKey: ApiKey.CreateAcls,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 3,
  read: readCreateAclsRequest,
  write: writeCreateAclsResponse,
  async handle(request, context) {
    if (!allowedOnCluster(context, AclOperation.ALTER)) {
      return { throttleTimeMs: 0, results: request.creations.map(() => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' })) }
    }
    const outcomes = await context.authorizer.create(request.creations.map((creation) => ({
      resourceType: creation.resourceType, resourceName: creation.resourceName, patternType: creation.resourcePatternType,
      principal: creation.principal, host: creation.host, operation: creation.operation, permission: creation.permissionType,
    })))
    return {
      throttleTimeMs: 0,
      results: outcomes.map((why) => (why === null ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why })),
    }
  },
})
