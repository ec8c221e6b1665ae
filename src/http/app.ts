// The Zombi HTTP API on fastify: the instance with what every route shares (JSON parsing, validation, the
// error shape, 405s, the OpenAPI document), then one plugin per route family, as fastify's own lib/ is
// split by concern: tables (writes, reads, Iceberg), consumers (offsets shared with Kafka groups),
// health (readiness, stats, metrics), the embedded Iceberg REST catalog (/iceberg), the schema registry with
// Confluent's REST API (/registry); and backpressure on the writes.
import swagger from '@fastify/swagger'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Server as TlsServer } from 'node:tls'
import type { Config } from '../config/index.ts'
import type { GroupCoordinator } from '../groups/coordinator.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import type { IdempotencyKeys } from '../log/idempotency-keys.ts'
import { RecordReader, type ColdRead } from '../log/record-reader.ts'
import { RecordWriter } from '../log/record-writer.ts'
import type { Metrics } from '../observability/metrics.ts'
import { silentLogger, type Logger } from '../observability/logger.ts'
import type { SchemaRegistry } from '../schema/registry.ts'
import type { TlsCredentials } from '../security/tls.ts'
import { accessResponses, controlAccess, type HttpAccess } from './plugins/access.ts'
import { answerBackpressure, isBackpressure, limitWrites, WriteBudget } from './plugins/backpressure.ts'
import { parseJsonStrictly } from './plugins/json-body.ts'
import { ERRORS, HttpProblem } from '../errors.ts'
import { consumerRoutes } from './routes/consumers.ts'
import { healthRoutes } from './routes/health.ts'
import { icebergCatalogRoutes, type IcebergCatalogView } from './routes/iceberg-catalog.ts'
import { schemaRegistryRoutes } from './routes/schema-registry.ts'
import { tableRoutes, WRITE_ROUTES, type IcebergTables } from './routes/tables.ts'
import * as schemas from './schemas.ts'
import { validatorCompiler } from './validators.ts'

export type { IcebergTables } from './routes/tables.ts'
export type { IcebergCatalogView } from './routes/iceberg-catalog.ts'

export interface HttpDependencies {
  log: BrokerLog
  groups: GroupCoordinator
  keys: IdempotencyKeys
  metrics: Metrics
  iceberg: IcebergTables
  /** The tables served read-only as an Iceberg REST catalog under /iceberg; absent, nothing is served there. */
  icebergCatalog?: IcebergCatalogView
  /** The schema registry served with Confluent's REST API under /registry; absent, nothing is served there. */
  schemaRegistry?: SchemaRegistry
  /** Reads records that left the hot log (below its log start offset) back from the table; without it they are out of range. */
  readCold?: ColdRead
  config: Config
  /** Component name -> healthy? with a detail. */
  components: () => Record<string, { ok: boolean; detail?: string }>
  /** Stats from outside the HTTP layer (connections, ...). */
  stats: () => Record<string, number>
  /** Where unexpected errors (500s) are logged; fastify's own logger is off (pino lines come from here). */
  logger?: Logger
  /** Authentication and ACLs of the HTTP door (ZOMBI_HTTP_AUTH); absent, every request is served. */
  access?: HttpAccess
  /** Serve HTTPS with these credentials (ZOMBI_HTTP_TLS), reloaded when their files change. */
  https?: TlsCredentials
}

/** Node's default limit on the request line and headers, which bounds any path parameter anyway. */
const MAX_PARAM_LENGTH = 16 * 1024

/**
 * Body limit of the routes that are not writes (a commit is a few hundred bytes): they are outside the write
 * budget, so a large body sent to them would otherwise be buffered whole, up to ZOMBI_HTTP_MAX_BODY_MB each.
 */
const CONTROL_BODY_LIMIT = 64 * 1024

/** Requests Node's HTTP parser refuses (oversized headers, timeouts, garbage) never reach fastify: answered here in the API's error shape. */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, body] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', { error: ERRORS.HTTP_HEADERS_TOO_LARGE.problem, message: 'the request line and headers are over the 16 KiB limit (a very long table or group name?)' }]
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', { error: ERRORS.HTTP_REQUEST_TIMEOUT.problem, message: 'the request was not received in time' }]
      : [400, 'Bad Request', { error: ERRORS.HTTP_INVALID_REQUEST.problem, message: `malformed HTTP request (${error.code ?? error.message})` }]
  const text = JSON.stringify(body)
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`)
  socket.destroy(error)
}

/** frameworkErrors gets a reply whose generic types fit nothing outside fastify, so the answer goes to the raw response. */
function answerFrameworkError(error: FastifyError, response: ServerResponse, metrics: Metrics): void {
  metrics.errors.inc({ door: 'http', code: 'invalid_request' })
  const text = JSON.stringify({ error: ERRORS.HTTP_INVALID_REQUEST.problem, message: error.message })
  response.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text)
}

export async function buildHttpApp(deps: HttpDependencies): Promise<FastifyInstance> {
  const { log, metrics, config } = deps
  const app = Fastify({
    ...(deps.https === undefined ? {} : { https: deps.https.httpsOptions() }),
    logger: false,
    // A body over the in-flight byte budget could never be admitted: 413, not a 429 retried in vain.
    bodyLimit: Math.min(config.httpMaxBodyBytes, config.maxInflightBytes),
    // Names are bounded by their schemas (a table name by Kafka's 249) and the request line by the 16 KiB header
    // limit, not by the router: its default of 100 answered valid table names of 101-249 characters with 400.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors fastify answers before routing (a malformed percent-encoding in the URL) get the API's error shape too.
    frameworkErrors: (error, _request, reply) => answerFrameworkError(error, reply.raw, metrics),
    clientErrorHandler: answerClientError,
  })
  parseJsonStrictly(app)
  app.setValidatorCompiler(validatorCompiler([schemas.errorSchema, schemas.recordInputSchema, schemas.eventSchema]))
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Zombi HTTP API', version: '2.0.0', description: 'Write and read the same topics as the Kafka door; consumer offsets shared with Kafka groups. The same port serves the topic tables read-only as an Iceberg REST catalog under /iceberg (for DuckDB, pyiceberg, Spark, Trino); those routes follow Apache Iceberg\'s REST catalog specification (open-api/rest-catalog-open-api.yaml in apache/iceberg) and are not part of this document. The schema registry under /registry follows Confluent Schema Registry\'s REST API (its routes are listed here, tagged schema registry).' },
    },
  })
  app.addSchema(schemas.errorSchema)
  app.addSchema(schemas.recordInputSchema)
  app.addSchema(schemas.eventSchema)

  if (deps.access !== undefined) controlAccess(app, deps.access)
  const budget = new WriteBudget(config.maxInflightWrites, config.maxInflightBytes, metrics)
  limitWrites(app, budget, WRITE_ROUTES)

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    if (isBackpressure(error)) return answerBackpressure(reply, error)
    if (error instanceof HttpProblem) {
      metrics.errors.inc({ door: 'http', code: error.problem })
      if (error.retryAfterSecs !== null) reply.header('retry-after', String(error.retryAfterSecs))
      return reply.code(error.status).send({ error: error.problem, message: error.message })
    }
    const status = error.statusCode ?? 500
    if (error.validation !== undefined) {
      metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_INVALID_REQUEST.problem })
      return reply.code(400).send({ error: ERRORS.HTTP_INVALID_REQUEST.problem, message: `${error.validationContext ?? 'request'}${error.validation[0]?.instancePath ?? ''} ${error.validation[0]?.message ?? error.message}` })
    }
    if (status < 500) {
      const code = (status === 413 ? ERRORS.HTTP_PAYLOAD_TOO_LARGE : status === 415 ? ERRORS.HTTP_UNSUPPORTED_MEDIA_TYPE : status === 404 ? ERRORS.HTTP_NOT_FOUND : ERRORS.HTTP_INVALID_REQUEST).problem
      metrics.errors.inc({ door: 'http', code })
      return reply.code(status).send({ error: code, message: error.message })
    }
    (deps.logger ?? silentLogger).error({ err: error, method: request.method, url: request.url }, 'HTTP request failed with an internal error')
    metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_INTERNAL.problem })
    return reply.code(500).send({ error: ERRORS.HTTP_INTERNAL.problem, message: 'internal error; see the broker log' })
  })
  // Every route ZOMBI_HTTP_AUTH guards documents its 401 and 403, whether or not this instance has authentication on.
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide === true) return
    const method = Array.isArray(route.method) ? route.method[0]! : route.method
    const guarded = accessResponses(method, route.url, { $ref: 'Error#' })
    route.schema = { ...route.schema, response: { ...(route.schema?.response as Record<string, object> | undefined ?? { 200: {} }), ...guarded } }
  })
  // A known path with another method is 405 with Allow, not 404.
  const routes: Array<{ pattern: RegExp; method: string }> = []
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}$`)
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ pattern, method })
  })
  const allowedMethods = (url: string): string[] => {
    const path = url.split('?')[0]!
    return [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))]
  }
  // Decided in onRequest, before fastify looks at a body (a QUERY without Content-Type is still 405).
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return
    const allowed = allowedMethods(request.url)
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ error: ERRORS.HTTP_METHOD_NOT_ALLOWED.problem, message: `${request.method} is not allowed here; use ${allowed.join(' or ')}` })
    }
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: ERRORS.HTTP_NOT_FOUND.problem, message: `no route ${request.method} ${request.url.split('?')[0]}` }))

  await app.register(tableRoutes, {
    log, metrics, iceberg: deps.iceberg, controlBodyLimit: CONTROL_BODY_LIMIT,
    writer: new RecordWriter(log, deps.keys), reader: new RecordReader(deps.readCold ?? null),
  })
  await app.register(consumerRoutes, { groups: deps.groups, controlBodyLimit: CONTROL_BODY_LIMIT })
  await app.register(healthRoutes, { log, groups: deps.groups, metrics, budget, components: deps.components, stats: deps.stats })
  if (deps.icebergCatalog !== undefined) await app.register(icebergCatalogRoutes, { prefix: '/iceberg', view: deps.icebergCatalog, metrics })
  if (deps.schemaRegistry !== undefined) await app.register(schemaRegistryRoutes, { prefix: '/registry', registry: deps.schemaRegistry, metrics })
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_request, reply) => reply.type('application/yaml').send(app.swagger({ yaml: true })))
  if (deps.https !== undefined) {
    const credentials = deps.https
    const server = app.server as unknown as TlsServer
    const unsubscribe = credentials.subscribe(() => server.setSecureContext(credentials.httpsOptions()))
    app.addHook('onClose', async () => unsubscribe())
  }
  await app.ready()
  return app
}
