// The authorized-operations fields of Metadata (topics and cluster), DescribeCluster and DescribeGroups:
// the bit field of what the client may do when it asks (Admin's includeAuthorizedOperations), Kafka's
// INT32_MIN when it does not.
import { describe, expect, it } from 'vitest'
import { describeCluster } from '../../src/kafka/handlers/describe-cluster.ts'
import { describeGroups } from '../../src/kafka/handlers/describe-groups.ts'
import { metadata } from '../../src/kafka/handlers/metadata.ts'
import type { DescribeClusterResponse } from '../../src/protocol/generated/describe-cluster.ts'
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.ts'
import type { MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { AclOperation, PatternType, Permission, ResourceType } from '../../src/security/acl.ts'
import { call, exchange, makeHandlerContext } from './fixtures/broker-parts.ts'

const bits = (...operations: number[]): number => operations.reduce((field, operation) => field | (1 << operation), 0)
const { READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, CLUSTER_ACTION, IDEMPOTENT_WRITE } = AclOperation
const OMITTED = -2147483648

function metadataRequest(asked: boolean) {
  return { topics: [{ topicId: ZERO_UUID, name: 'orders' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: asked, includeTopicAuthorizedOperations: asked }
}

describe('authorized operations', () => {
  it('reports every operation to a client the ACLs let do everything, and nothing when not asked', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    const asked = await exchange<MetadataResponse>(metadata, 10, metadataRequest(true), context)
    expect(asked.topics[0]!.topicAuthorizedOperations).toBe(bits(READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS))
    expect(asked.clusterAuthorizedOperations).toBe(bits(CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE))
    const notAsked = await exchange<MetadataResponse>(metadata, 12, metadataRequest(false), context)
    expect(notAsked.topics[0]!.topicAuthorizedOperations).toBe(OMITTED)
    const cluster = await exchange<DescribeClusterResponse>(describeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 }, context)
    expect(cluster.clusterAuthorizedOperations).toBe(bits(CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE))
    const groups = await exchange<DescribeGroupsResponse>(describeGroups, 5, { groups: ['g'], includeAuthorizedOperations: true }, context)
    expect(groups.groups[0]!.authorizedOperations).toBe(bits(READ, DELETE, DESCRIBE))
  })

  it('reports what the ACLs grant, with the operations they imply', async () => {
    const { context, authorizer } = await makeHandlerContext({ topics: { orders: 1 }, settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
    context.principal = 'User:alice'
    await authorizer.create([
      { resourceType: ResourceType.TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: READ, permission: Permission.ALLOW },
      { resourceType: ResourceType.TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: ALTER_CONFIGS, permission: Permission.ALLOW },
    ])
    const response = await call<MetadataResponse>(metadata, 12, metadataRequest(true), context)
    expect(response.topics[0]!.topicAuthorizedOperations).toBe(bits(READ, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS))
    const cluster = await call<DescribeClusterResponse>(describeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 }, context)
    expect(cluster.clusterAuthorizedOperations).toBe(0)
  })
})
