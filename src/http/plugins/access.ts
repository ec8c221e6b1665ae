// Who may use the HTTP door: a request authenticates with a bearer JWT (the OAUTHBEARER validator) or
// HTTP basic auth against the SCRAM users, before its body is read; then, once its parameters and body
// are parsed, the route's rule asks the broker's ACLs (the same principals as on the Kafka door).
// Liveness and readiness stay open, /metrics too when ZOMBI_HTTP_METRICS_OPEN says so.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { setTimeout as delay } from 'node:timers/promises'
import { HttpProblem, ZombiError } from '../../errors.ts'
import type { Logger } from '../../observability/logger.ts'
import { AclOperation, CLUSTER_NAME, ResourceType, type Resource } from '../../security/acl.ts'
import type { Authorizer } from '../../security/authorizer.ts'
import type { CredentialStore } from '../../security/credentials.ts'
import type { JwtValidator } from '../../security/jwt.ts'

export interface HttpAccess {
  /** Accepted schemes; empty: no authentication (every request is User:ANONYMOUS). */
  basic: CredentialStore | null
  bearer: JwtValidator | null
  authorizer: Authorizer
  /** /metrics answers without authentication. */
  metricsOpen: boolean
  /** Whether a topic exists: writing to one that does not also needs CREATE (it is auto-created). */
  topicExists: (name: string) => boolean
  /** How long a failed login waits for its 401 (as ZOMBI_SASL_FAILED_AUTH_DELAY_MS on the Kafka door). */
  failedAuthenticationDelayMs: number
  logger: Logger
}

const ANONYMOUS = 'User:ANONYMOUS'
const ALWAYS_OPEN: ReadonlySet<string> = new Set(['/health/live', '/health/ready'])

interface Check {
  operation: number
  type: Resource
  name: string
}

/** Each entry must be allowed; an entry that is a list is allowed when any of its checks is. */
type Rule = (request: FastifyRequest, access: HttpAccess) => Array<Check | Check[]>

const cluster = (operation: number): Check => ({ operation, type: ResourceType.CLUSTER, name: CLUSTER_NAME })
const topic = (operation: number, name: string): Check => ({ operation, type: ResourceType.TOPIC, name })
const group = (operation: number, name: string): Check => ({ operation, type: ResourceType.GROUP, name })
const param = (request: FastifyRequest, name: string): string => (request.params as Record<string, string>)[name] ?? ''

/** WRITE on the topic, and for a topic that does not exist yet, CREATE on the cluster or the topic (as Kafka's auto-creation). */
function write(name: string, access: HttpAccess): Array<Check | Check[]> {
  const checks: Array<Check | Check[]> = [topic(AclOperation.WRITE, name)]
  if (!access.topicExists(name)) checks.push([cluster(AclOperation.CREATE), topic(AclOperation.CREATE, name)])
  return checks
}

interface RouteRule {
  /** The rule in words, for the route's 403 in the OpenAPI document. */
  needs: string
  checks: Rule
}

const WRITE_NEEDS = 'WRITE on the topic, and for a topic that does not exist yet (auto-created) CREATE on the cluster or the topic'
const rule = (needs: string, checks: Rule): RouteRule => ({ needs, checks })

/** What each route needs, as the Kafka API doing the same needs it. Keys: `METHOD url-pattern`. */
const RULES: Readonly<Record<string, RouteRule>> = {
  'POST /tables/:table': rule(WRITE_NEEDS, (r, access) => write(param(r, 'table'), access)),
  'POST /tables/:table/bulk': rule(WRITE_NEEDS, (r, access) => write(param(r, 'table'), access)),
  'GET /tables/:table/stream': rule('READ on the topic', (r) => [topic(AclOperation.READ, param(r, 'table'))]),
  'GET /tables/:table': rule('READ on the topic', (r) => [topic(AclOperation.READ, param(r, 'table'))]),
  'GET /tables/:table/metadata': rule('DESCRIBE on the topic', (r) => [topic(AclOperation.DESCRIBE, param(r, 'table'))]),
  'POST /tables/:table/flush': rule('ALTER on the topic', (r) => [topic(AclOperation.ALTER, param(r, 'table'))]),
  'POST /tables/:table/compact': rule('ALTER on the topic', (r) => [topic(AclOperation.ALTER, param(r, 'table'))]),
  // As CreateTopics, DescribeConfigs and IncrementalAlterConfigs on the Kafka door.
  'PUT /tables/:table': rule('CREATE on the cluster or the topic', (r) => [[cluster(AclOperation.CREATE), topic(AclOperation.CREATE, param(r, 'table'))]]),
  'GET /tables/:table/config': rule('DESCRIBE_CONFIGS on the topic', (r) => [topic(AclOperation.DESCRIBE_CONFIGS, param(r, 'table'))]),
  'PATCH /tables/:table/config': rule('ALTER_CONFIGS on the topic', (r) => [topic(AclOperation.ALTER_CONFIGS, param(r, 'table'))]),
  // Lists every topic: DESCRIBE on the cluster (Kafka's Metadata filters instead; a list here is all or nothing).
  'GET /tables': rule('DESCRIBE on the cluster', () => [cluster(AclOperation.DESCRIBE)]),
  'POST /consumers/:group/commit': rule('READ on the group and on the topic', (r) => [group(AclOperation.READ, param(r, 'group')), topic(AclOperation.READ, String((r.body as { topic?: unknown } | undefined)?.topic ?? ''))]),
  'GET /consumers/:group/offset': rule('DESCRIBE on the group and on the topic', (r) => [group(AclOperation.DESCRIBE, param(r, 'group')), topic(AclOperation.DESCRIBE, String((r.query as { topic?: unknown }).topic ?? ''))]),
  'GET /health': rule('DESCRIBE on the cluster', () => [cluster(AclOperation.DESCRIBE)]),
  'GET /stats': rule('DESCRIBE on the cluster', () => [cluster(AclOperation.DESCRIBE)]),
  'GET /metrics': rule('DESCRIBE on the cluster', () => [cluster(AclOperation.DESCRIBE)]),
  'GET /openapi.yaml': rule('nothing beyond authentication', () => []),
  // The embedded Iceberg REST catalog: reading a table's metadata is reading the topic.
  'GET /iceberg/v1/namespaces/:namespace/tables/:table': rule('READ on the topic', (r) => [topic(AclOperation.READ, param(r, 'table'))]),
  'HEAD /iceberg/v1/namespaces/:namespace/tables/:table': rule('DESCRIBE on the topic', (r) => [topic(AclOperation.DESCRIBE, param(r, 'table'))]),
  'GET /iceberg/v1/namespaces/:namespace/tables': rule('DESCRIBE on the cluster', () => [cluster(AclOperation.DESCRIBE)]),
}

/**
 * Routes without a rule (the catalog's namespaces and config, routes added later such as a schema
 * registry): reads need DESCRIBE on the cluster, anything else ALTER, so nothing is open by omission.
 */
function defaultRule(method: string): RouteRule {
  return method === 'GET' || method === 'HEAD'
    ? rule('DESCRIBE on the cluster', () => [cluster(AclOperation.DESCRIBE)])
    : rule('ALTER on the cluster', () => [cluster(AclOperation.ALTER)])
}

const ruleOf = (method: string, pattern: string): RouteRule => RULES[`${method} ${pattern}`] ?? defaultRule(method)

/**
 * The 401 and 403 answers of a route behind ZOMBI_HTTP_AUTH, for its schema (docs/openapi.yaml is generated from the
 * route schemas), with `body` as the error body's schema; none for the paths that are always open.
 */
export function accessResponses(method: string, pattern: string, body: object): Record<number, object> {
  if (ALWAYS_OPEN.has(pattern)) return {}
  const metrics = pattern === '/metrics' ? ' (unless ZOMBI_HTTP_METRICS_OPEN=true, which opens /metrics to everyone)' : ''
  return {
    401: {
      ...body,
      description: `With ZOMBI_HTTP_AUTH: no, malformed or wrong credentials, or an invalid or expired bearer token${metrics}`,
      headers: { 'www-authenticate': { type: 'string', description: 'The accepted schemes: Basic realm="zombi" (the SCRAM users) and/or Bearer realm="zombi" (OAUTHBEARER JWTs), as ZOMBI_HTTP_AUTH lists them' } },
    },
    403: { ...body, description: `With ZOMBI_HTTP_AUTH: the ACLs do not give the principal ${ruleOf(method, pattern).needs}` },
  }
}

function unauthorized(message: string): HttpProblem {
  return new HttpProblem('HTTP_UNAUTHORIZED', message)
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request: User:<name> once authenticated, User:ANONYMOUS without HTTP authentication. */
    principal: string
  }
}

export function controlAccess(app: FastifyInstance, access: HttpAccess): void {
  const schemes = [access.basic === null ? null : 'Basic realm="zombi"', access.bearer === null ? null : 'Bearer realm="zombi"'].filter((s) => s !== null)
  const required = schemes.length > 0
  app.decorateRequest('principal', ANONYMOUS)

  const failed = async (request: FastifyRequest, reason: string, user: string | null): Promise<never> => {
    access.logger.warn({ remote: request.ip, user, reason }, 'HTTP authentication failed')
    await delay(access.failedAuthenticationDelayMs)
    throw unauthorized('authentication failed')
  }

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!
    if (ALWAYS_OPEN.has(path) || (access.metricsOpen && path === '/metrics') || !required) return
    reply.header('www-authenticate', schemes.join(', '))
    const header = request.headers.authorization
    if (header === undefined) throw unauthorized(`authenticate with ${schemes.map((s) => s.split(' ')[0]).join(' or ')} (Authorization header)`)
    const space = header.indexOf(' ')
    const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase()
    const value = space < 0 ? '' : header.slice(space + 1).trim()
    if (scheme === 'basic' && access.basic !== null) {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon <= 0) return failed(request, 'malformed basic credentials', null)
      const user = decoded.slice(0, colon)
      if (!await access.basic.verifyPassword(user, decoded.slice(colon + 1))) return failed(request, 'invalid username or password', user)
      request.principal = `User:${user}`
      return
    }
    if (scheme === 'bearer' && access.bearer !== null) {
      try {
        request.principal = `User:${(await access.bearer.validate(value)).subject}`
      } catch (error) {
        if (!(error instanceof ZombiError) || error.code !== 'SASL_AUTHENTICATION_FAILED') throw error
        return failed(request, error.message, null)
      }
      return
    }
    throw unauthorized(`the ${scheme} scheme is not accepted here; use ${schemes.map((s) => s.split(' ')[0]).join(' or ')}`)
  })

  // After parsing: a rule may look at the body (a commit names its topic there).
  app.addHook('preHandler', async (request) => {
    const path = request.url.split('?')[0]!
    if (ALWAYS_OPEN.has(path) || (access.metricsOpen && path === '/metrics')) return
    const pattern = request.routeOptions.url
    if (pattern === undefined) return
    const checks = ruleOf(request.method, pattern).checks(request, access)
    for (const entry of checks) {
      const alternatives = Array.isArray(entry) ? entry : [entry]
      if (alternatives.some((check) => access.authorizer.authorize(request.principal, request.ip, check.operation, check.type, check.name))) continue
      const check = alternatives[alternatives.length - 1]!
      const what = check.type === ResourceType.TOPIC ? `topic ${check.name}` : check.type === ResourceType.GROUP ? `group ${check.name}` : 'the cluster'
      throw new HttpProblem('HTTP_FORBIDDEN', `${request.principal} may not ${operationName(check.operation)} ${what}`)
    }
  })
}

function operationName(operation: number): string {
  return Object.entries(AclOperation).find(([, value]) => value === operation)?.[0] ?? String(operation)
}
