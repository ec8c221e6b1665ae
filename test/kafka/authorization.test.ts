// Every handler asks the ACLs: with no ACL and allow.everyone.if.no.acl.found off, each API's
// request (the byte fixtures' own, at the newest version) is refused with Kafka's authorization
// error, except the few Kafka leaves open. A new handler must be classified here.
import { describe, expect, it } from 'vitest'
import { allHandlers } from '../../src/kafka/handlers/index.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { AclOperation, CLUSTER_NAME, PatternType, Permission, ResourceType } from '../../src/security/acl.ts'
import { fromJson, loadFixtures } from '../protocol/fixture-io.ts'
import { call, makeHandlerContext } from './fixtures/broker-parts.ts'

/** How each API answers a client without any permission. */
const EXPECTED: Record<string, 'open' | 'empty' | readonly number[]> = {
  // Kafka serves these to anyone (before and after authentication).
  ApiVersions: 'open', SaslHandshake: 'open', SaslAuthenticate: 'open', DescribeCluster: 'open',
  Produce: [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  Fetch: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  ListOffsets: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  Metadata: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  OffsetForLeaderEpoch: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  CreateTopics: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  DeleteTopics: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  DeleteRecords: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  DescribeLogDirs: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  ElectLeaders: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  CreatePartitions: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  DescribeConfigs: [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  AlterConfigs: [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  IncrementalAlterConfigs: [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  FindCoordinator: [ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  InitProducerId: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  JoinGroup: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  SyncGroup: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  Heartbeat: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  LeaveGroup: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  OffsetCommit: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  OffsetFetch: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  DescribeGroups: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  // Lists only the groups the client may describe.
  ListGroups: 'empty',
  DeleteGroups: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  OffsetDelete: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  ConsumerGroupHeartbeat: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  ConsumerGroupDescribe: [ErrorCode.GROUP_AUTHORIZATION_FAILED],
  DescribeUserScramCredentials: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  DescribeClientQuotas: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  AlterUserScramCredentials: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  CreateAcls: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  DescribeAcls: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  DeleteAcls: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  // v0-3 ask WRITE on the transactional id; the batched v4+ (broker to broker) CLUSTER_ACTION.
  AddPartitionsToTxn: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  AddOffsetsToTxn: [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  EndTxn: [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  TxnOffsetCommit: [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  DescribeProducers: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  DescribeTransactions: [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  // Lists only the transactional ids the client may describe.
  ListTransactions: 'empty',
}

const AUTHORIZATION_CODES = new Set<number>([ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED])

/** Every errorCode in a response, however deep. */
function errorCodes(value: unknown, out: number[] = []): number[] {
  if (Array.isArray(value)) for (const item of value) errorCodes(item, out)
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [key, field] of Object.entries(value)) {
      if (key === 'errorCode' && typeof field === 'number') out.push(field)
      else errorCodes(field, out)
    }
  }
  return out
}

const fixtures = loadFixtures()

function newestRequest(api: string): { version: number; value: unknown } {
  const cases = fixtures.find((file) => file.api === api)!.cases.filter((c) => c.side === 'request')
  const newest = cases.reduce((a, b) => (b.version > a.version ? b : a))
  return { version: newest.version, value: fromJson(newest.value) }
}

describe('authorization in every handler', () => {
  it('classifies every handler', () => {
    expect(allHandlers.map((h) => h.name).sort()).toEqual(Object.keys(EXPECTED).sort())
  })

  for (const handler of allHandlers) {
    const expected = EXPECTED[handler.name]
    if (expected === undefined || expected === 'open') continue
    it(`${handler.name} refuses a client without permission`, async () => {
      const { context } = await makeHandlerContext({ settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
      context.principal = 'User:nobody'
      const { version, value } = newestRequest(handler.name)
      if (handler.name === 'Fetch') {
        // Fetch v13+ names topics by id: give the fixture's topics the id of a real topic (an unknown id names nothing to authorize).
        const topic = await context.log.ensureTopic('orders')
        if (!('id' in topic)) throw new Error('could not create the topic')
        for (const requested of (value as { topics: Array<{ topicId: string }> }).topics) requested.topicId = topic.id
      }
      const response = await call<Record<string, unknown>>(handler, version, structuredClone(value), context)
      if (handler.name === 'ListTransactions') {
        // Someone else's transactional id exists, so an empty list means it was filtered out.
        await context.groups.transactions.initProducerId('someone-elses', 60_000, -1, -1, true)
      }
      if (expected === 'empty') {
        const again = handler.name === 'ListTransactions' ? await call<Record<string, unknown>>(handler, version, structuredClone(value), context) : response
        expect(again.groups ?? again.transactionStates).toEqual([])
        return
      }
      // Top-level NONE beside per-partition or per-group errors is how Fetch and OffsetFetch v8+ answer.
      const codes = errorCodes(response).filter((code) => code !== ErrorCode.NONE)
      expect(codes.length).toBeGreaterThan(0)
      // Every answer is an authorization error, and one of the kinds Kafka uses for this API.
      for (const code of codes) expect(expected, `${handler.name} answered ${code}`).toContain(code)
      expect(codes.every((code) => AUTHORIZATION_CODES.has(code))).toBe(true)
    })
  }

  it('lets a super user do what nobody else may, and the topic\'s ACLs decide for others', async () => {
    const { context, authorizer } = await makeHandlerContext({ settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false', ZOMBI_SUPER_USERS: 'User:root' } })
    context.principal = 'User:root'
    const metadata = allHandlers.find((h) => h.name === 'Metadata')!
    const asRoot = await call<{ topics: Array<{ errorCode: number }> }>(metadata, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false }, context)
    expect(asRoot.topics[0]!.errorCode).toBe(ErrorCode.NONE)
    context.principal = 'User:alice'
    await authorizer.create([{ resourceType: ResourceType.TOPIC, resourceName: 'ord', patternType: PatternType.PREFIXED, principal: 'User:alice', host: '*', operation: AclOperation.READ, permission: Permission.ALLOW }])
    const all = await call<{ topics: Array<{ name: string }> }>(metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, context)
    expect(all.topics.map((t) => t.name)).toEqual(['orders'])
    context.principal = 'User:bob'
    const none = await call<{ topics: Array<{ name: string }> }>(metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, context)
    expect(none.topics).toEqual([])
    expect(CLUSTER_NAME).toBe('kafka-cluster')
  })
})

describe('authorized operations (KIP-430)', () => {
  const bits = (...operations: number[]): number => operations.reduce((set, operation) => set | (1 << operation), 0)
  const ALL_TOPIC = bits(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS)
  const ALL_CLUSTER = bits(AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER, AclOperation.DESCRIBE)
  const ALL_GROUP = bits(AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE)
  const handler = (name: string) => allHandlers.find((h) => h.name === name)!
  const orders = [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }]

  async function ask(context: Awaited<ReturnType<typeof makeHandlerContext>>['context'], include: boolean): Promise<number[]> {
    const metadata = await call<{ topics: Array<{ topicAuthorizedOperations: number }>; clusterAuthorizedOperations: number }>(handler('Metadata'), 10,
      { topics: orders, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: include, includeTopicAuthorizedOperations: include }, context)
    const cluster = await call<{ clusterAuthorizedOperations: number }>(handler('DescribeCluster'), 1, { includeClusterAuthorizedOperations: include, endpointType: 1 }, context)
    const groups = await call<{ groups: Array<{ authorizedOperations: number }> }>(handler('DescribeGroups'), 5, { groups: ['billing'], includeAuthorizedOperations: include }, context)
    return [metadata.topics[0]!.topicAuthorizedOperations, metadata.clusterAuthorizedOperations, cluster.clusterAuthorizedOperations, groups.groups[0]!.authorizedOperations]
  }

  it('gives each principal the operations its ACLs allow, implied ones included, and every operation to a super user', async () => {
    const { context, authorizer, log } = await makeHandlerContext({ settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false', ZOMBI_SUPER_USERS: 'User:root' } })
    await log.ensureTopic('orders')
    const allow = (resourceType: number, resourceName: string, operation: number, permission: number = Permission.ALLOW) =>
      ({ resourceType, resourceName, patternType: resourceType === ResourceType.TOPIC ? PatternType.PREFIXED : PatternType.LITERAL, principal: 'User:alice', host: '*', operation, permission })
    await authorizer.create([
      allow(ResourceType.TOPIC, 'ord', AclOperation.READ), allow(ResourceType.TOPIC, 'ord', AclOperation.ALTER_CONFIGS),
      allow(ResourceType.TOPIC, 'ord', AclOperation.WRITE), allow(ResourceType.TOPIC, 'ord', AclOperation.WRITE, Permission.DENY),
      allow(ResourceType.CLUSTER, CLUSTER_NAME, AclOperation.IDEMPOTENT_WRITE), allow(ResourceType.GROUP, 'billing', AclOperation.READ),
    ])
    context.principal = 'User:alice'
    const clusterOfAlice = bits(AclOperation.IDEMPOTENT_WRITE)
    // READ implies DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS; the DENY on WRITE wins over its ALLOW.
    expect(await ask(context, true)).toEqual([
      bits(AclOperation.READ, AclOperation.DESCRIBE, AclOperation.ALTER_CONFIGS, AclOperation.DESCRIBE_CONFIGS), clusterOfAlice, clusterOfAlice,
      bits(AclOperation.READ, AclOperation.DESCRIBE),
    ])
    context.principal = 'User:root'
    expect(await ask(context, true)).toEqual([ALL_TOPIC, ALL_CLUSTER, ALL_CLUSTER, ALL_GROUP])
    expect(await ask(context, false)).toEqual([-2147483648, -2147483648, -2147483648, -2147483648])
  })

  it('gives every operation of the resource type when no ACL applies and everyone is allowed (authorization not in use)', async () => {
    const { context, log } = await makeHandlerContext({ settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true' } })
    await log.ensureTopic('orders')
    expect(await ask(context, true)).toEqual([ALL_TOPIC, ALL_CLUSTER, ALL_CLUSTER, ALL_GROUP])
  })
})
