// DescribeCluster: one broker, which is also the controller.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeClusterRequest, writeDescribeClusterResponse, type DescribeClusterRequest, type DescribeClusterResponse } from '../../protocol/generated/describe-cluster.ts'
import { CLUSTER_NAME } from '../../security/acl.ts'
import { authorizedOperations, OPERATIONS_NOT_REQUESTED, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

const BROKERS_ENDPOINT = 1

export const describeCluster = defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  read: readDescribeClusterRequest,
  write: writeDescribeClusterResponse,
  handle(request, context) {
    const { broker } = context
    const clusterAuthorizedOperations = request.includeClusterAuthorizedOperations ? authorizedOperations(context, ResourceType.CLUSTER, CLUSTER_NAME) : OPERATIONS_NOT_REQUESTED
    const base = { throttleTimeMs: 0, endpointType: request.endpointType, clusterId: broker.clusterId, clusterAuthorizedOperations }
    if (request.endpointType !== BROKERS_ENDPOINT) {
      return { ...base, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `endpoint type ${request.endpointType} is not served; use 1 (brokers)`, controllerId: -1, brokers: [] }
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      controllerId: broker.nodeId,
      brokers: [{ brokerId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack }],
    }
  },
})
