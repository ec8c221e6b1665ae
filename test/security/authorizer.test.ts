import { describe, expect, it } from 'vitest'
import { AclOperation, PatternType, Permission, ResourceType, type AclBinding, type AclFilter } from '../../src/security/acl.ts'
import { Authorizer } from '../../src/security/authorizer.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

const { TOPIC, GROUP, CLUSTER } = ResourceType
const { READ, WRITE, DESCRIBE, ALL, CREATE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE } = AclOperation

function acl(overrides: Partial<AclBinding>): AclBinding {
  return { resourceType: TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: READ, permission: Permission.ALLOW, ...overrides }
}

const ANY: AclFilter = { resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permission: Permission.ANY }

async function authorizer(bindings: AclBinding[], settings: { superUsers?: string[]; allowIfNoAcl?: boolean } = {}): Promise<{ authorizer: Authorizer; store: MemoryHotStore }> {
  const store = new MemoryHotStore()
  await store.open()
  const instance = new Authorizer(store, { superUsers: settings.superUsers ?? [], allowIfNoAcl: settings.allowIfNoAcl ?? false })
  await instance.load()
  expect(await instance.create(bindings)).toEqual(bindings.map(() => null))
  return { authorizer: instance, store }
}

describe('ACL decisions', () => {
  it('matches literal names, the * wildcard and prefixes', async () => {
    const { authorizer: a } = await authorizer([
      acl({}), acl({ resourceName: 'logs-', patternType: PatternType.PREFIXED, operation: WRITE }), acl({ resourceType: GROUP, resourceName: '*' }),
    ])
    expect(a.authorize('User:alice', '10.0.0.1', READ, TOPIC, 'orders')).toBe(true)
    expect(a.authorize('User:alice', '10.0.0.1', READ, TOPIC, 'orders2')).toBe(false)
    expect(a.authorize('User:alice', '10.0.0.1', WRITE, TOPIC, 'logs-app')).toBe(true)
    expect(a.authorize('User:alice', '10.0.0.1', WRITE, TOPIC, 'logs')).toBe(false)
    expect(a.authorize('User:alice', '10.0.0.1', READ, GROUP, 'any-group')).toBe(true)
    expect(a.authorize('User:bob', '10.0.0.1', READ, TOPIC, 'orders')).toBe(false)
  })

  it('lets DENY win over ALLOW, and ALL stand for every operation', async () => {
    const { authorizer: a } = await authorizer([
      acl({ principal: 'User:*', operation: ALL }), acl({ principal: 'User:mallory', permission: Permission.DENY, operation: WRITE }),
      acl({ resourceName: 'secret', patternType: PatternType.PREFIXED, principal: 'User:*', operation: ALL, permission: Permission.DENY }),
    ])
    expect(a.authorize('User:bob', 'h', WRITE, TOPIC, 'orders')).toBe(true)
    expect(a.authorize('User:mallory', 'h', WRITE, TOPIC, 'orders')).toBe(false)
    expect(a.authorize('User:mallory', 'h', READ, TOPIC, 'orders')).toBe(true)
    expect(a.authorize('User:bob', 'h', DESCRIBE, TOPIC, 'secrets')).toBe(false)
  })

  it('implies DESCRIBE from READ, WRITE, DELETE and ALTER, and DESCRIBE_CONFIGS from ALTER_CONFIGS; a denied READ leaves DESCRIBE alone', async () => {
    const { authorizer: a } = await authorizer([
      acl({ operation: WRITE }), acl({ resourceName: 'cfg', operation: ALTER_CONFIGS }),
      acl({ resourceName: 'mixed', operation: DESCRIBE }), acl({ resourceName: 'mixed', operation: READ, permission: Permission.DENY }),
    ])
    expect(a.authorize('User:alice', 'h', DESCRIBE, TOPIC, 'orders')).toBe(true)
    expect(a.authorize('User:alice', 'h', READ, TOPIC, 'orders')).toBe(false)
    expect(a.authorize('User:alice', 'h', DESCRIBE_CONFIGS, TOPIC, 'cfg')).toBe(true)
    expect(a.authorize('User:alice', 'h', DESCRIBE, TOPIC, 'cfg')).toBe(false)
    expect(a.authorize('User:alice', 'h', DESCRIBE, TOPIC, 'mixed')).toBe(true)
    expect(a.authorize('User:alice', 'h', READ, TOPIC, 'mixed')).toBe(false)
  })

  it('matches hosts exactly or by *', async () => {
    const { authorizer: a } = await authorizer([acl({ host: '10.0.0.1' })])
    expect(a.authorize('User:alice', '10.0.0.1', READ, TOPIC, 'orders')).toBe(true)
    expect(a.authorize('User:alice', '10.0.0.2', READ, TOPIC, 'orders')).toBe(false)
  })

  it('allows super users everything and, with allow.everyone.if.no.acl.found, resources no ACL names', async () => {
    const { authorizer: strict } = await authorizer([acl({})], { superUsers: ['User:root'] })
    expect(strict.authorize('User:root', 'h', ALL, CLUSTER, 'kafka-cluster')).toBe(true)
    expect(strict.authorize('User:bob', 'h', READ, TOPIC, 'unnamed')).toBe(false)
    const { authorizer: open } = await authorizer([acl({})], { allowIfNoAcl: true })
    expect(open.authorize('User:bob', 'h', READ, TOPIC, 'unnamed')).toBe(true)
    // A resource some ACL names follows its ACLs even then.
    expect(open.authorize('User:bob', 'h', READ, TOPIC, 'orders')).toBe(false)
    const { authorizer: empty } = await authorizer([], { allowIfNoAcl: false })
    expect(empty.authorize('User:bob', 'h', READ, TOPIC, 'orders')).toBe(false)
  })

  it('answers "some topic" questions for idempotent producers (WRITE on any topic)', async () => {
    const { authorizer: a } = await authorizer([acl({ resourceName: 'app-', patternType: PatternType.PREFIXED, operation: WRITE })])
    expect(a.authorizeAny('User:alice', 'h', WRITE, TOPIC)).toBe(true)
    expect(a.authorizeAny('User:bob', 'h', WRITE, TOPIC)).toBe(false)
    const { authorizer: denied } = await authorizer([acl({ operation: WRITE }), acl({ resourceName: '*', operation: WRITE, permission: Permission.DENY })])
    expect(denied.authorizeAny('User:alice', 'h', WRITE, TOPIC)).toBe(false)
    const { authorizer: idempotent } = await authorizer([acl({ resourceType: CLUSTER, resourceName: 'kafka-cluster', operation: IDEMPOTENT_WRITE })])
    expect(idempotent.authorize('User:alice', 'h', IDEMPOTENT_WRITE, CLUSTER, 'kafka-cluster')).toBe(true)
  })
})

describe('ACL storage', () => {
  it('keeps ACLs across a reload, stores duplicates once, and refuses what Kafka refuses', async () => {
    const { authorizer: a, store } = await authorizer([acl({}), acl({ operation: CREATE, resourceType: CLUSTER, resourceName: 'kafka-cluster' })])
    expect(await a.create([acl({})])).toEqual([null])
    expect(a.aclCount).toBe(2)
    const outcomes = await a.create([
      acl({ resourceType: 9 }), acl({ patternType: PatternType.MATCH }), acl({ resourceType: GROUP, operation: WRITE }), acl({ principal: 'alice' }),
      acl({ resourceType: CLUSTER, resourceName: 'other' }), acl({ permission: Permission.ANY }), acl({ host: '' }), acl({ resourceName: '' }),
    ])
    expect(outcomes.every((why) => typeof why === 'string')).toBe(true)
    const reloaded = new Authorizer(store, { superUsers: [], allowIfNoAcl: false })
    await reloaded.load()
    expect(reloaded.aclCount).toBe(2)
    expect(reloaded.authorize('User:alice', 'h', READ, TOPIC, 'orders')).toBe(true)
  })

  it('describes and deletes by filter, MATCH selecting every binding that applies to a name', async () => {
    const { authorizer: a, store } = await authorizer([
      acl({}), acl({ resourceName: 'ord', patternType: PatternType.PREFIXED }), acl({ resourceName: '*' }), acl({ resourceName: 'other' }), acl({ resourceType: GROUP, resourceName: 'orders' }),
    ])
    expect(a.describe(ANY)).toHaveLength(5)
    expect(a.describe({ ...ANY, resourceType: TOPIC, resourceName: 'orders', patternType: PatternType.MATCH })).toHaveLength(3)
    expect(a.describe({ ...ANY, resourceType: TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL })).toHaveLength(1)
    expect(a.describe({ ...ANY, principal: 'User:bob' })).toHaveLength(0)
    const [deleted] = await a.delete([{ ...ANY, resourceType: TOPIC, patternType: PatternType.PREFIXED }])
    expect(deleted).toHaveLength(1)
    expect(a.authorize('User:alice', 'h', READ, TOPIC, 'ordinary')).toBe(true) // still the * ACL
    await a.delete([{ ...ANY, resourceType: TOPIC }])
    expect(a.authorize('User:alice', 'h', READ, TOPIC, 'orders')).toBe(false)
    const reloaded = new Authorizer(store, { superUsers: [], allowIfNoAcl: false })
    await reloaded.load()
    expect(reloaded.describe(ANY).map((b) => b.resourceType)).toEqual([GROUP])
  })
})
