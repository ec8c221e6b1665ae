import { describe, expect, it } from 'vitest'
import { describeClientQuotas } from '../../../src/kafka/handlers/describe-client-quotas.ts'
import type { DescribeClientQuotasRequestComponent, DescribeClientQuotasResponse } from '../../../src/protocol/generated/describe-client-quotas.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { AclOperation, CLUSTER_NAME, PatternType, Permission, ResourceType } from '../../../src/security/acl.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const ask = async (components: DescribeClientQuotasRequestComponent[], version = 1, strict = false) => {
  const { context } = await makeHandlerContext()
  return exchange<DescribeClientQuotasResponse>(describeClientQuotas, version, { components, strict }, context)
}

describe('DescribeClientQuotas', () => {
  it('answers an empty list for every valid filter: Zombi has no client quotas', async () => {
    for (const version of [0, 1]) {
      expect(await ask([{ entityType: 'user', matchType: 2, match: null }], version)).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries: [] })
    }
    expect((await ask([{ entityType: 'user', matchType: 0, match: 'alice' }, { entityType: 'client-id', matchType: 1, match: null }], 1, true)).entries).toEqual([])
    expect((await ask([])).entries).toEqual([])
  })

  it('refuses a filter Kafka refuses with INVALID_REQUEST and a message', async () => {
    const cases: Array<[DescribeClientQuotasRequestComponent[], RegExp]> = [
      [[{ entityType: 'tenant', matchType: 2, match: null }], /unknown quota entity type "tenant"/],
      [[{ entityType: 'user', matchType: 0, match: null }], /exact match on user needs a name/],
      [[{ entityType: 'user', matchType: 1, match: 'alice' }], /takes no name/],
      [[{ entityType: 'user', matchType: 7, match: null }], /unknown match type 7/],
      [[{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 1, match: null }], /more than once/],
      [[{ entityType: 'ip', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }], /ip filter cannot be combined/],
    ]
    for (const [components, message] of cases) {
      const response = await ask(components)
      expect(response.errorCode, JSON.stringify(components)).toBe(ErrorCode.INVALID_REQUEST)
      expect(response.errorMessage).toMatch(message)
      expect(response.entries).toBeNull()
    }
  })

  it('needs DESCRIBE_CONFIGS on the cluster, as in Kafka', async () => {
    const { context, authorizer } = await makeHandlerContext({ settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
    context.principal = 'User:alice'
    const request = { components: [{ entityType: 'user', matchType: 2, match: null }], strict: false }
    expect((await exchange<DescribeClientQuotasResponse>(describeClientQuotas, 1, request, context)).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    await authorizer.create([{ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME, patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.ALTER_CONFIGS, permission: Permission.ALLOW }])
    // ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    expect((await exchange<DescribeClientQuotasResponse>(describeClientQuotas, 1, request, context)).errorCode).toBe(ErrorCode.NONE)
  })
})
