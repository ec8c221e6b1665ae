import { describe, expect, it } from 'vitest'
import { describeCluster } from '../../../src/kafka/handlers/describe-cluster.ts'
import type { DescribeClusterResponse } from '../../../src/protocol/generated/describe-cluster.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

describe('DescribeCluster', () => {
  it('describes this one broker as the whole cluster and its controller', async () => {
    const { context, broker } = await makeHandlerContext()
    const response = await exchange<DescribeClusterResponse>(describeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 }, context)
    expect(response).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, clusterId: broker.clusterId, controllerId: broker.nodeId, endpointType: 1 })
    expect(response.brokers).toEqual([{ brokerId: broker.nodeId, host: broker.host, port: broker.port, rack: null }])
  })

  it('refuses endpoint types other than brokers with UNSUPPORTED_ENDPOINT_TYPE and no brokers', async () => {
    const { context } = await makeHandlerContext()
    const response = await exchange<DescribeClusterResponse>(describeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 }, context)
    expect(response).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, controllerId: -1, brokers: [] })
    expect(response.errorMessage).toMatch(/endpoint type 2/)
  })

  it('treats a v0 request, which cannot name an endpoint type, as asking for brokers', async () => {
    const { context } = await makeHandlerContext()
    const response = await exchange<DescribeClusterResponse>(describeCluster, 0, { includeClusterAuthorizedOperations: false, endpointType: 2 }, context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    expect(response.brokers).toHaveLength(1)
  })
})
