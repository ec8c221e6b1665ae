// The HTTP door's authentication (basic against the SCRAM users, bearer JWTs) and its ACL checks per route.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/index.ts'
import { GroupCoordinator } from '../../../src/groups/coordinator.ts'
import { buildHttpApp } from '../../../src/http/app.ts'
import { BrokerLog } from '../../../src/log/broker-log.ts'
import { IdempotencyKeys } from '../../../src/log/idempotency-keys.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Metrics } from '../../../src/observability/metrics.ts'
import { AclOperation, PatternType, Permission, ResourceType } from '../../../src/security/acl.ts'
import { Authorizer } from '../../../src/security/authorizer.ts'
import { CredentialStore } from '../../../src/security/credentials.ts'
import { JwtValidator } from '../../../src/security/jwt.ts'
import { makeCredential } from '../../../src/security/scram.ts'
import { MemoryHotStore } from '../../../src/storage/memory-store.ts'
import { claims, jwks, signingKey, signToken } from '../../security/jwt-fixtures.ts'

const dir = mkdtempSync(join(tmpdir(), 'zombi-http-access-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const key = signingKey('ES256', 'http')

let app: FastifyInstance
let authorizer: Authorizer
let groups: GroupCoordinator

async function build(metricsOpen = false): Promise<void> {
  const store = new MemoryHotStore()
  const recovery = await store.open()
  const config = loadConfig({ ZOMBI_HTTP_AUTH: 'basic,bearer', ZOMBI_SASL_OAUTHBEARER_JWKS_FILE: join(dir, 'jwks.json'), ZOMBI_SUPER_USERS: 'User:root' })
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 1 << 20, autoCreateTopics: true, defaultPartitions: 1 })
  await log.open(recovery)
  groups = new GroupCoordinator(log, silentLogger, config)
  const keys = new IdempotencyKeys(store)
  const credentials = new CredentialStore(store)
  await credentials.change([{ mechanism: 'SCRAM-SHA-256', user: 'alice', credential: await makeCredential('SCRAM-SHA-256', 'alice-secret', 4096) }], [])
  authorizer = new Authorizer(store, { superUsers: config.superUserList, allowIfNoAcl: config.allowIfNoAcl })
  writeFileSync(join(dir, 'jwks.json'), jwks(key))
  const jwt = new JwtValidator({ jwksFile: join(dir, 'jwks.json'), jwksUrl: null, issuer: null, audience: null, clockSkewMs: 0 })
  await jwt.load()
  app = await buildHttpApp({
    log, groups, keys, metrics: new Metrics(), config,
    components: () => ({ hot_storage: { ok: true } }), stats: () => ({ kafka_connections: 0 }),
    iceberg: { flush: async () => ({ rows: 0, files: 0, bytes: 0, snapshots: 0, flushedOffsets: {} }), describe: async () => null, compact: async () => { throw new Error('unused') } },
    access: { basic: credentials, bearer: jwt, authorizer, metricsOpen, topicExists: (name) => log.topicByName(name) !== undefined, failedAuthenticationDelayMs: 0, logger: silentLogger },
  })
}

beforeEach(() => build())
afterEach(async () => {
  await app?.close()
  groups?.close()
})

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
const allow = (resourceType: number, resourceName: string, operation: number, principal = 'User:alice', patternType: number = PatternType.LITERAL): Promise<unknown> =>
  authorizer.create([{ resourceType, resourceName, patternType, principal, host: '*', operation, permission: Permission.ALLOW }])

describe('HTTP authentication', () => {
  it('keeps liveness and readiness open and asks everything else to authenticate, naming the schemes', async () => {
    expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/health/ready' })).statusCode).toBe(200)
    for (const url of ['/health', '/stats', '/metrics', '/tables', '/tables/orders?since=0']) {
      const response = await app.inject({ url })
      expect(response.statusCode, url).toBe(401)
      expect(response.headers['www-authenticate']).toBe('Basic realm="zombi", Bearer realm="zombi"')
      expect(response.json()).toMatchObject({ error: 'unauthorized' })
    }
  })

  it('refuses wrong passwords, unknown users, bad tokens and other schemes with 401', async () => {
    for (const headers of [basic('alice', 'wrong'), basic('nobody', 'x'), { authorization: 'Basic !!!' }, bearer('not.a.token'),
      bearer(signToken(key, claims({ exp: Math.floor(Date.now() / 1000) - 10 }))), bearer(signToken(signingKey('ES256', 'http'), claims())), { authorization: 'Digest x' }]) {
      expect((await app.inject({ url: '/stats', headers })).statusCode, JSON.stringify(headers)).toBe(401)
    }
  })

  it('documents 401 with WWW-Authenticate and 403 naming the needed ACL on every guarded route, none on liveness and readiness', async () => {
    type Answer = { description: string; headers?: Record<string, unknown> }
    const document = (app as unknown as { swagger(): { paths: Record<string, Record<string, { responses: Record<string, Answer> }>> } }).swagger()
    let guarded = 0
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const { responses } = operation
        if (path === '/health/live' || path === '/health/ready') {
          expect(Object.keys(responses), path).not.toContain('401')
          continue
        }
        guarded++
        expect(responses['401']?.headers, `${method} ${path}`).toHaveProperty('www-authenticate')
        expect(responses['403']?.description, `${method} ${path}`).toMatch(/^With ZOMBI_HTTP_AUTH: the ACLs do not give the principal \S/)
      }
    }
    expect(guarded).toBeGreaterThan(10)
    expect(document.paths['/tables/{table}']!.post!.responses['403']!.description).toContain('WRITE on the topic')
    expect(document.paths['/metrics']!.get!.responses['401']!.description).toContain('ZOMBI_HTTP_METRICS_OPEN')
  })

  it('opens /metrics without credentials only with ZOMBI_HTTP_METRICS_OPEN', async () => {
    await app.close()
    groups.close()
    await build(true)
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/stats' })).statusCode).toBe(401)
  })
})

describe('HTTP ACLs', () => {
  it('checks the authenticated principal against the ACLs, as the Kafka API doing the same would be', async () => {
    const write = (headers: Record<string, string>, table = 'orders'): Promise<number> => app.inject({ method: 'POST', url: `/tables/${table}`, headers, payload: { payload: 'x' } }).then((r) => r.statusCode)
    // No ACL: authentication is on, so allow.everyone.if.no.acl.found is off.
    expect(await write(basic('alice', 'alice-secret'))).toBe(403)
    expect(await write(basic('alice', 'alice-secret'), 'other')).toBe(403)
    await allow(ResourceType.TOPIC, 'orders', AclOperation.WRITE)
    // The topic does not exist yet: writing would create it, which needs CREATE too.
    const refused = await app.inject({ method: 'POST', url: '/tables/orders', headers: basic('alice', 'alice-secret'), payload: { payload: 'x' } })
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ error: 'forbidden', message: 'User:alice may not CREATE topic orders' })
    await allow(ResourceType.TOPIC, 'ord', AclOperation.CREATE, 'User:alice', PatternType.PREFIXED)
    expect(await write(basic('alice', 'alice-secret'))).toBe(202)
    const read = await app.inject({ url: '/tables/orders?since=0', headers: basic('alice', 'alice-secret') })
    expect(read.statusCode).toBe(403)
    await allow(ResourceType.TOPIC, 'orders', AclOperation.READ, 'User:carol')
    const asCarol = await app.inject({ url: '/tables/orders?since=0', headers: bearer(signToken(key, claims({ sub: 'carol' }))) })
    expect(asCarol.statusCode).toBe(200)
    expect(asCarol.json()).toMatchObject({ count: 1 })
    // A super user needs no ACL.
    expect((await app.inject({ url: '/tables', headers: bearer(signToken(key, claims({ sub: 'root' }))) })).statusCode).toBe(200)
    expect((await app.inject({ url: '/tables', headers: basic('alice', 'alice-secret') })).statusCode).toBe(403)
  })

  it('creates a table with CREATE, reads its configs with DESCRIBE_CONFIGS and changes them with ALTER_CONFIGS', async () => {
    const as = { headers: basic('alice', 'alice-secret') }
    const create = (): Promise<number> => app.inject({ method: 'PUT', url: '/tables/metrics', ...as, payload: { partitions: 1 } }).then((r) => r.statusCode)
    const describe = (): Promise<number> => app.inject({ url: '/tables/metrics/config', ...as }).then((r) => r.statusCode)
    const alter = (): Promise<number> => app.inject({ method: 'PATCH', url: '/tables/metrics/config', ...as, payload: { configs: { 'retention.ms': '60000' } } }).then((r) => r.statusCode)
    expect(await create()).toBe(403)
    await allow(ResourceType.TOPIC, 'metrics', AclOperation.CREATE)
    expect(await create()).not.toBe(403)
    expect(await describe()).toBe(403)
    expect(await alter()).toBe(403)
    await allow(ResourceType.TOPIC, 'metrics', AclOperation.DESCRIBE_CONFIGS)
    expect(await describe()).toBe(200)
    expect(await alter()).toBe(403)
    await allow(ResourceType.TOPIC, 'metrics', AclOperation.ALTER_CONFIGS)
    expect(await alter()).toBe(200)
  })

  it('needs READ on the group and on the topic named in the body to commit', async () => {
    const commit = (): Promise<number> => app.inject({ method: 'POST', url: '/consumers/app/commit', headers: basic('alice', 'alice-secret'), payload: { topic: 'orders', partition: 0, offset: 0 } }).then((r) => r.statusCode)
    await allow(ResourceType.GROUP, 'app', AclOperation.READ)
    expect(await commit()).toBe(403)
    await allow(ResourceType.TOPIC, 'orders', AclOperation.READ)
    expect(await commit()).not.toBe(403)
  })
})
