// The Iceberg REST catalog client: the server owns each table's metadata and its atomic swap, Zombi
// still writes data files and manifests into its own store under the table's location (created
// explicitly there, so data, manifests and the server's metadata files sit together as full URIs).
import { ZombiError, hasCode } from '../errors.ts'
import type { ObjectStore } from '../objectstore/object-store.ts'
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.ts'
import { RestHttp, errorText, isObject, type RestResponse } from './rest-http.ts'
import { commitLanded, tableRequirements, tableUpdates } from './rest-updates.ts'
import { tableMetadataFromJson, type TableMetadata } from './table-metadata.ts'

export interface RestCatalogOptions {
  /** Base URL before /v1. */
  url: string
  /** Sent as ?warehouse= to GET /v1/config. */
  warehouse: string | null
  /** Bearer token. */
  token: string | null
  /** "client_id:client_secret" for OAuth2 client credentials. */
  credential: string | null
  /** Token endpoint; default <url>/v1/oauth/tokens. */
  oauth2Uri: string | null
  /** Default 'catalog'. */
  scope: string
  /** Where Zombi writes data files and manifests. */
  store: ObjectStore
  /** Created if missing at connect. */
  namespace: string
  /** How long one HTTP request may take (default 30 s); a commit past it has an unknown outcome. */
  requestTimeoutMs?: number
}

/** What Zombi calls; a catalog that lists endpoints without them cannot hold its tables. */
const REQUIRED_ENDPOINTS = [
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
]

/** Connects: asks /v1/config (with auth), checks the endpoints Zombi needs and makes the namespace. */
export async function connectRestCatalog(options: RestCatalogOptions): Promise<RestCatalog> {
  const url = options.url.replace(/\/+$/, '')
  const http = new RestHttp({
    token: options.token,
    credential: options.credential,
    oauth2Uri: options.oauth2Uri ?? `${url}/v1/oauth/tokens`,
    scope: options.scope,
  }, options.requestTimeoutMs ?? 30_000)
  const query = options.warehouse === null ? '' : `?warehouse=${encodeURIComponent(options.warehouse)}`
  let response: RestResponse
  try {
    response = await http.request('GET', `${url}/v1/config${query}`, { retry: 'all' })
  } catch (error) {
    if (hasCode(error, 'CATALOG_UNAVAILABLE')) throw new ZombiError('CATALOG_UNAVAILABLE', `cannot connect to the Iceberg REST catalog at ${url} (ZOMBI_CATALOG_URL): ${error.message}`, { cause: error })
    throw error
  }
  if (response.status !== 200 || !isObject(response.body)) {
    throw new ZombiError('CATALOG_REQUEST_FAILED', `the Iceberg REST catalog at ${url} refused GET /v1/config: ${errorText(response)}`)
  }
  const config = response.body
  // Overrides win over what the client asked for, defaults only fill in.
  const settings: Record<string, unknown> = { ...(isObject(config.defaults) ? config.defaults : {}), ...(isObject(config.overrides) ? config.overrides : {}) }
  const prefix = typeof settings.prefix === 'string' ? settings.prefix.replace(/^\/+|\/+$/g, '') : ''
  if (Array.isArray(config.endpoints)) {
    const offered = new Set(config.endpoints.map((endpoint) => String(endpoint).replace(/\s+/g, ' ').trim()))
    const missing = REQUIRED_ENDPOINTS.filter((endpoint) => !offered.has(endpoint))
    if (missing.length > 0) {
      throw new ZombiError('CATALOG_REQUEST_FAILED', `the Iceberg REST catalog at ${url} does not offer ${missing.join(', ')} (loading, creating and committing tables), so Zombi cannot keep its tables there`)
    }
  }
  const root = prefix === '' ? `${url}/v1` : `${url}/v1/${prefix.split('/').map(encodeURIComponent).join('/')}`
  const catalog = new RestCatalog(http, root, options.store)
  await catalog.ensureNamespace(options.namespace)
  return catalog
}

export class RestCatalog implements Catalog {
  readonly store: ObjectStore
  readonly #http: RestHttp
  readonly #root: string
  readonly #namespaces = new Set<string>()
  /** The ETag each loaded state came with, for If-None-Match (keyed by the object handed out). */
  readonly #etags = new WeakMap<LoadedTable, string>()

  constructor(http: RestHttp, root: string, store: ObjectStore) {
    this.#http = http
    this.#root = root
    this.store = store
  }

  tableKey(id: TableIdentifier): string {
    return `${id.namespace}/${id.name}`
  }

  #namespaceUrl(namespace: string): string {
    return `${this.#root}/namespaces/${encodeURIComponent(namespace)}`
  }

  #tableUrl(id: TableIdentifier): string {
    return `${this.#namespaceUrl(id.namespace)}/tables/${encodeURIComponent(id.name)}`
  }

  /** Creates the namespace unless it exists (409 is someone else having made it). */
  async ensureNamespace(namespace: string): Promise<void> {
    if (this.#namespaces.has(namespace)) return
    const response = await this.#http.request('POST', `${this.#root}/namespaces`, { body: { namespace: [namespace], properties: {} }, retry: 'all' })
    if (response.status !== 200 && response.status !== 409) {
      throw new ZombiError('CATALOG_REQUEST_FAILED', `REST catalog: creating namespace ${namespace} failed: ${errorText(response)}`)
    }
    this.#namespaces.add(namespace)
  }

  async loadTable(id: TableIdentifier, known?: LoadedTable): Promise<LoadedTable | null> {
    const etag = known === undefined ? undefined : this.#etags.get(known)
    const response = await this.#http.request('GET', this.#tableUrl(id), { headers: etag === undefined ? {} : { 'if-none-match': etag }, retry: 'all' })
    if (response.status === 304 && known !== undefined) return known
    if (response.status === 404) return null
    if (response.status !== 200) throw this.#failure(id, 'loading', response)
    const loaded = this.#loaded(id, response)
    // Same metadata file: hand back the object the caller holds, as the filesystem catalog does.
    if (known !== undefined && loaded.metadataLocation === known.metadataLocation) return known
    return loaded
  }

  async commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable> {
    if (base === null) await this.#stageCreate(id, metadata)
    const updates = tableUpdates(base?.metadata ?? null, metadata)
    const body = { identifier: { namespace: [id.namespace], name: id.name }, requirements: tableRequirements(base?.metadata ?? null, updates), updates }
    let response: RestResponse
    try {
      response = await this.#http.request('POST', this.#tableUrl(id), { body, retry: 'rejected' })
    } catch (error) {
      if (!hasCode(error, 'CATALOG_UNAVAILABLE')) throw error
      return this.#afterLostAnswer(id, base, metadata, error.message, false)
    }
    if (response.status === 200) return this.#loaded(id, response)
    // 409: a requirement failed (someone else committed, or created the table first). 404: the table
    // was dropped under us; either way reload and decide again.
    if (response.status === 409 || (response.status === 404 && base !== null)) {
      throw new ZombiError('CATALOG_COMMIT_CONFLICT', `table ${id.namespace}.${id.name}: the REST catalog refused the commit (${errorText(response)}); another writer committed first`)
    }
    // A 500 comes after the server finished with the commit; a gateway's 502/504 or a 503 may come while it still runs.
    if (response.status >= 500) return this.#afterLostAnswer(id, base, metadata, errorText(response), response.status === 500)
    throw this.#failure(id, 'committing', response)
  }

  /**
   * The first half of Java's create transaction: the server checks the name is free and the table
   * valid, and creates nothing yet; the commit with assert-create that follows creates the table
   * together with its first snapshot, so a crash in between leaves no table behind.
   */
  async #stageCreate(id: TableIdentifier, metadata: TableMetadata): Promise<void> {
    await this.ensureNamespace(id.namespace)
    const schema = metadata.schemas.find((candidate) => isObject(candidate) && Number(candidate['schema-id']) === metadata['current-schema-id'])
    const spec = metadata['partition-specs'].find((candidate) => isObject(candidate) && Number(candidate['spec-id']) === metadata['default-spec-id'])
    const order = metadata['sort-orders'].find((candidate) => isObject(candidate) && Number(candidate['order-id']) === metadata['default-sort-order-id'])
    if (schema === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', `table ${id.namespace}.${id.name}: current schema ${metadata['current-schema-id']} is not in its metadata`)
    const body: Record<string, unknown> = { name: id.name, location: metadata.location, schema, properties: metadata.properties, 'stage-create': true }
    if (spec !== undefined) body['partition-spec'] = spec
    if (order !== undefined) body['write-order'] = order
    const response = await this.#http.request('POST', `${this.#namespaceUrl(id.namespace)}/tables`, { body, retry: 'all' })
    if (response.status === 409) throw new ZombiError('CATALOG_COMMIT_CONFLICT', `table ${id.namespace}.${id.name} already exists in the REST catalog`)
    if (response.status !== 200) throw this.#failure(id, 'creating', response)
  }

  /**
   * A commit without a definite answer: reads the table back and reports success if the commit is
   * in it. If it is not: a conflict when the server had finished (a 500), so the writer retries at
   * once; otherwise CATALOG_COMMIT_UNKNOWN, as the commit may still land and its files must stay.
   */
  async #afterLostAnswer(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata, what: string, serverFinished: boolean): Promise<LoadedTable> {
    let current: LoadedTable | null
    try {
      current = await this.loadTable(id)
    } catch (error) {
      throw new ZombiError('CATALOG_COMMIT_UNKNOWN', `table ${id.namespace}.${id.name}: the commit got no definite answer (${what}) and the table could not be read back`, { cause: error })
    }
    if (current !== null && commitLanded(current.metadata, base?.metadata ?? null, metadata)) return current
    if (serverFinished) throw new ZombiError('CATALOG_COMMIT_CONFLICT', `table ${id.namespace}.${id.name}: the commit failed (${what}) and is not in the table`)
    throw new ZombiError('CATALOG_COMMIT_UNKNOWN', `table ${id.namespace}.${id.name}: the commit got no definite answer (${what}) and is not in the table yet`)
  }

  async listTables(namespace: string): Promise<string[]> {
    const names: string[] = []
    let pageToken: string | null = null
    do {
      const query: string = pageToken === null ? '' : `?pageToken=${encodeURIComponent(pageToken)}`
      const response = await this.#http.request('GET', `${this.#namespaceUrl(namespace)}/tables${query}`, { retry: 'all' })
      if (response.status === 404) return []
      const body = response.body
      if (response.status !== 200 || !isObject(body)) {
        throw new ZombiError('CATALOG_REQUEST_FAILED', `REST catalog: listing the tables of ${namespace} failed: ${errorText(response)}`)
      }
      for (const identifier of Array.isArray(body.identifiers) ? body.identifiers : []) {
        if (isObject(identifier) && typeof identifier.name === 'string') names.push(identifier.name)
      }
      const next = body['next-page-token']
      pageToken = typeof next === 'string' && next !== '' ? next : null
    } while (pageToken !== null)
    return names.sort()
  }

  #loaded(id: TableIdentifier, response: RestResponse): LoadedTable {
    const body = response.body
    if (!isObject(body) || typeof body['metadata-location'] !== 'string') {
      throw new ZombiError('CATALOG_REQUEST_FAILED', `table ${id.namespace}.${id.name}: the REST catalog's answer has no metadata-location`)
    }
    const metadataLocation = body['metadata-location']
    const loaded: LoadedTable = { metadata: tableMetadataFromJson(body.metadata), metadataLocation, version: metadataLocation }
    const etag = response.headers.get('etag')
    if (etag !== null) this.#etags.set(loaded, etag)
    return loaded
  }

  #failure(id: TableIdentifier, doing: string, response: RestResponse): ZombiError {
    const code = response.status >= 500 || response.status === 429 ? 'CATALOG_UNAVAILABLE' : 'CATALOG_REQUEST_FAILED'
    return new ZombiError(code, `table ${id.namespace}.${id.name}: ${doing} through the REST catalog failed: ${errorText(response)}`)
  }
}
