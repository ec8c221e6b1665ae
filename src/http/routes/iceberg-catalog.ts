// The read side of the Iceberg REST catalog API over the broker's own tables, under /iceberg: DuckDB
// (ATTACH ... TYPE ICEBERG), pyiceberg, Spark or Trino point a REST catalog at http://<host>:<port>/iceberg
// and query topics as tables by name. It follows Iceberg's OpenAPI document (apache/iceberg,
// open-api/rest-catalog-open-api.yaml), not Zombi's: its routes are hidden from docs/openapi.yaml, and its
// errors have Iceberg's shape, {"error": {"message", "type", "code"}}. Writes are refused: the tables
// are written only by the broker, from the Kafka topics.
import { createHash } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, HttpProblem } from '../../errors.ts'
import type { Metrics } from '../../observability/metrics.ts'

/** What the catalog routes need of the broker's Iceberg catalog (wired in broker.ts). */
export interface IcebergCatalogView {
  /** The one namespace the topic tables live in (ZOMBI_CATALOG_NAMESPACE). */
  readonly namespace: string
  /** Names of the tables of the namespace, sorted. */
  listTables(): Promise<string[]>
  /**
   * The table's current metadata file and its JSON text (written by the catalog, never through JSON.parse:
   * snapshot ids use 64 bits), or null when there is no such table. `refs` keeps only the snapshots a branch
   * or tag points at.
   */
  loadTable(name: string, snapshots: 'all' | 'refs'): Promise<{ metadataLocation: string; metadataJson: string } | null>
  /** FileIO properties a reader needs for the table files (S3 endpoint, region, path style; keys only if vended). */
  storageConfig(): Promise<Record<string, string>>
}

export interface IcebergCatalogOptions {
  view: IcebergCatalogView
  metrics: Metrics
}

/** Iceberg's separator of namespace levels in a path or `parent` (the unit separator, %1F). */
const NAMESPACE_SEPARATOR = '\u001f'

/** Exactly what is served, in Iceberg's notation: clients (pyiceberg, Java 1.7+) check this list before calling. */
export const SERVED_ENDPOINTS = [
  'GET /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'HEAD /v1/{prefix}/namespaces/{namespace}',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'GET /v1/{prefix}/namespaces/{namespace}/views',
] as const

/** Iceberg's write operations (tables, namespaces, views, transactions), answered with UnsupportedOperationException. */
const WRITE_ROUTES: ReadonlyArray<readonly ['POST' | 'DELETE', string]> = [
  ['POST', '/v1/namespaces'],
  ['DELETE', '/v1/namespaces/:namespace'],
  ['POST', '/v1/namespaces/:namespace/properties'],
  ['POST', '/v1/namespaces/:namespace/tables'],
  ['POST', '/v1/namespaces/:namespace/register'],
  ['POST', '/v1/namespaces/:namespace/tables/:table'],
  ['DELETE', '/v1/namespaces/:namespace/tables/:table'],
  ['POST', '/v1/tables/rename'],
  ['POST', '/v1/transactions/commit'],
  ['POST', '/v1/namespaces/:namespace/views'],
  ['POST', '/v1/namespaces/:namespace/register-view'],
  ['POST', '/v1/namespaces/:namespace/views/:view'],
  ['DELETE', '/v1/namespaces/:namespace/views/:view'],
  ['POST', '/v1/views/rename'],
]

type NamespaceParams = { namespace: string }
type TableParams = { namespace: string; table: string }
type PageQuery = { pageToken?: string; pageSize?: string }

/** Iceberg's error body; `type` is the catalogue's problem (NoSuchTableException, ...). */
function sendIcebergError(reply: FastifyReply, status: number, type: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: { message, type, code: status } })
}

/** The pageSize query parameter: a positive integer, or null when absent (everything in one page). */
function pageSizeOf(query: PageQuery): number | null {
  if (query.pageSize === undefined || query.pageSize === '') return null
  const size = Number(query.pageSize)
  if (!/^\d+$/.test(query.pageSize) || !Number.isSafeInteger(size) || size < 1) {
    throw new HttpProblem('ICEBERG_REST_BAD_REQUEST', `pageSize ${JSON.stringify(query.pageSize)} is not a positive integer`)
  }
  return size
}

// A page token is the last name of the previous page (base64url, opaque to clients): a table created or dropped
// between two pages neither repeats nor hides another one, as an index would.
const pageTokenOf = (lastName: string): string => Buffer.from(lastName, 'utf8').toString('base64url')

function afterToken(query: PageQuery): string | null {
  if (query.pageToken === undefined || query.pageToken === '') return null
  const name = Buffer.from(query.pageToken, 'base64url').toString('utf8')
  if (name === '' || pageTokenOf(name) !== query.pageToken) throw new HttpProblem('ICEBERG_REST_BAD_REQUEST', `pageToken ${JSON.stringify(query.pageToken)} is not one this catalog gave out`)
  return name
}

/** Whether an If-None-Match header (a list of entity tags, or *) matches `etag`; weak comparison, as RFC 9110 asks. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((tag) => {
    const trimmed = tag.trim()
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag
  })
}

export async function icebergCatalogRoutes(app: FastifyInstance, options: IcebergCatalogOptions): Promise<void> {
  const { view, metrics } = options

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    if (error instanceof HttpProblem) {
      metrics.errors.inc({ door: 'http', code: error.problem })
      return sendIcebergError(reply, error.status, error.problem, error.message)
    }
    const status = error.statusCode ?? 500
    if (status < 500) {
      const { status: code, problem } = status === 400 ? ERRORS.ICEBERG_REST_BAD_REQUEST : { status, problem: ERRORS.HTTP_INVALID_REQUEST.problem }
      metrics.errors.inc({ door: 'http', code: problem })
      return sendIcebergError(reply, code, problem, error.message)
    }
    request.log.error(error)
    metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_INTERNAL.problem })
    return sendIcebergError(reply, 500, ERRORS.HTTP_INTERNAL.problem, 'internal error; see the broker log')
  })
  app.setNotFoundHandler((request, reply) => {
    metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_NOT_FOUND.problem })
    return sendIcebergError(reply, 404, ERRORS.HTTP_NOT_FOUND.problem, `no route ${request.method} ${request.url.split('?')[0]}: the Iceberg REST catalog serves ${SERVED_ENDPOINTS.join(', ')} (prefix empty)`)
  })

  /** The namespace levels of a path parameter or `parent`, checked against the one namespace served. */
  const requireNamespace = (raw: string): void => {
    const levels = raw.split(NAMESPACE_SEPARATOR)
    if (levels.length !== 1 || levels[0] !== view.namespace) {
      throw new HttpProblem('ICEBERG_REST_NO_SUCH_NAMESPACE', `namespace ${levels.join('.')} does not exist; this catalog serves one namespace, ${view.namespace}`)
    }
  }

  const loadTable = async (request: FastifyRequest<{ Params: TableParams; Querystring: { snapshots?: string } }>) => {
    const levels = request.params.namespace.split(NAMESPACE_SEPARATOR)
    if (levels.length !== 1 || levels[0] !== view.namespace) {
      // NoSuchTableException, not NoSuchNamespaceException, as Iceberg's own catalogs answer: Java's REST client
      // (Spark) loads `db.topic.files` as table `files` of namespace `db.topic` first and only on
      // NoSuchTableException falls back to the metadata table `files` of table `db.topic`.
      throw new HttpProblem('ICEBERG_REST_NO_SUCH_TABLE', `table ${[...levels, request.params.table].join('.')} does not exist: this catalog serves one namespace, ${view.namespace}`)
    }
    const snapshots = request.query.snapshots ?? 'all'
    if (snapshots !== 'all' && snapshots !== 'refs') throw new HttpProblem('ICEBERG_REST_BAD_REQUEST', `snapshots ${JSON.stringify(snapshots)} is not all or refs`)
    const table = await view.loadTable(request.params.table, snapshots)
    if (table === null) {
      throw new HttpProblem('ICEBERG_REST_NO_SUCH_TABLE', `table ${view.namespace}.${request.params.table} does not exist: no such topic, or none of its records were flushed to Iceberg yet`)
    }
    return table
  }

  const hide = { schema: { hide: true } }

  app.get<{ Querystring: { warehouse?: string } }>('/v1/config', hide, async () => ({
    // The warehouse a client names (DuckDB's ATTACH '<warehouse>') changes nothing: there is one.
    defaults: {},
    overrides: {},
    endpoints: SERVED_ENDPOINTS,
  }))

  app.get<{ Querystring: PageQuery & { parent?: string } }>('/v1/namespaces', hide, async (request) => {
    pageSizeOf(request.query)
    const parent = request.query.parent
    // Empty parent is the top level, as the spec asks for older clients; the one namespace has no children.
    if (parent === undefined || parent === '') return { namespaces: [[view.namespace]] }
    requireNamespace(parent)
    return { namespaces: [] }
  })

  // HEAD before GET: fastify would otherwise make the GET's own HEAD, which answers 200 with a body length.
  app.head<{ Params: NamespaceParams }>('/v1/namespaces/:namespace', hide, async (request, reply) => {
    requireNamespace(request.params.namespace)
    return reply.code(204).send()
  })

  app.get<{ Params: NamespaceParams }>('/v1/namespaces/:namespace', hide, async (request) => {
    requireNamespace(request.params.namespace)
    return { namespace: [view.namespace], properties: {} }
  })

  app.get<{ Params: NamespaceParams; Querystring: PageQuery }>('/v1/namespaces/:namespace/tables', hide, async (request) => {
    requireNamespace(request.params.namespace)
    const size = pageSizeOf(request.query)
    const after = afterToken(request.query)
    let names = await view.listTables()
    if (after !== null) names = names.filter((name) => name > after)
    const page = size === null ? names : names.slice(0, size)
    const identifiers = page.map((name) => ({ namespace: [view.namespace], name }))
    return page.length < names.length ? { identifiers, 'next-page-token': pageTokenOf(page.at(-1)!) } : { identifiers }
  })

  app.head<{ Params: TableParams; Querystring: { snapshots?: string } }>('/v1/namespaces/:namespace/tables/:table', hide, async (request, reply) => {
    await loadTable(request)
    return reply.code(204).send()
  })

  app.get<{ Params: TableParams; Querystring: { snapshots?: string } }>('/v1/namespaces/:namespace/tables/:table', hide, async (request, reply) => {
    const table = await loadTable(request)
    const config = await view.storageConfig()
    const configJson = JSON.stringify(config)
    // A metadata file never changes once written, so its location (with what else is in the body) names the answer.
    const etag = `"${createHash('sha256').update(`${table.metadataLocation}\n${request.query.snapshots ?? 'all'}\n${configJson}`).digest('base64url')}"`
    reply.header('etag', etag)
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send()
    // The metadata goes in as the catalog wrote it: parsing it here would round its 64-bit ids.
    const body = `{"metadata-location":${JSON.stringify(table.metadataLocation)},"metadata":${table.metadataJson},"config":${configJson}}`
    return reply.type('application/json').send(body)
  })

  app.get<{ Params: NamespaceParams; Querystring: PageQuery }>('/v1/namespaces/:namespace/views', hide, async (request) => {
    requireNamespace(request.params.namespace)
    pageSizeOf(request.query)
    return { identifiers: [] }
  })

  // Refused in onRequest, before any body is read or parsed.
  const refuse = async (request: FastifyRequest): Promise<void> => {
    throw new HttpProblem('ICEBERG_REST_READ_ONLY', `${request.method} ${request.url.split('?')[0]} is not supported: this catalog is read-only, its tables are written only by Zombi from the Kafka topics of the same names (produce to the topic instead)`)
  }
  for (const [method, url] of WRITE_ROUTES) app.route({ method, url, onRequest: refuse, ...hide, handler: async () => undefined })
}
