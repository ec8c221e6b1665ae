// The embedded Iceberg REST catalog (/iceberg) over a real filesystem catalog on a temp dir: Iceberg's
// answer shapes, errors, pagination, ETag/304, snapshots=refs, and the storage properties (and vended
// credentials) of S3 storage. The readers themselves are driven in test/e2e/iceberg-rest-catalog.test.ts.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { parse } from 'lossless-json'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { servedTables, type ReaderStorage } from '../../src/catalog/served-tables.ts'
import { loadConfig } from '../../src/config/index.ts'
import { GroupCoordinator } from '../../src/groups/coordinator.ts'
import { buildHttpApp } from '../../src/http/app.ts'
import { newTableMetadata, withAppendedSnapshot } from '../../src/iceberg/metadata.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

const LOCAL: ReaderStorage = { storage: 'local', endpoint: null, region: '', pathStyle: false, credentials: null }
/** Larger than 2^53: JSON.parse anywhere on the way would change it. */
const BIG_ID = 9_007_199_254_740_993n

let dir: string
let catalog: FilesystemCatalog
let app: FastifyInstance
let groups: GroupCoordinator

async function build(storage: ReaderStorage = LOCAL): Promise<void> {
  if (app !== undefined) {
    groups.close()
    await app.close()
  }
  const store = new MemoryHotStore()
  const config = loadConfig({})
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
  await log.open()
  groups = new GroupCoordinator(log, silentLogger, config)
  app = await buildHttpApp({
    log, groups, keys: new IdempotencyKeys(store), metrics: new Metrics(), config,
    components: () => ({}), stats: () => ({}),
    iceberg: { flush: async () => ({ rows: 0, files: 0, bytes: 0, snapshots: 0, flushedOffsets: {} }), describe: async () => null, compact: () => Promise.reject(new Error('not compacted here')) },
    icebergCatalog: servedTables(catalog, 'zombi', storage),
  })
}

/** Commits a table with `snapshots` appends (the first with BIG_ID) and returns its metadata location. */
async function createTable(name: string, snapshots = 1): Promise<string> {
  const id = { namespace: 'zombi', name }
  let loaded = await catalog.commit(id, null, newTableMetadata(catalog.store.location(catalog.tableKey(id)), {}, 1_700_000_000_000))
  for (let i = 0; i < snapshots; i++) {
    const snapshot = { snapshotId: i === 0 ? BIG_ID : BIG_ID + BigInt(i), sequenceNumber: BigInt(i + 1), manifestList: `${loaded.metadata.location}/metadata/snap-${i}.avro`, summary: { operation: 'append' }, timestampMs: 1_700_000_000_000 + i }
    loaded = await catalog.commit(id, loaded, withAppendedSnapshot(loaded.metadata, snapshot, loaded.metadataLocation))
  }
  return loaded.metadataLocation
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zombi-iceberg-rest-'))
  catalog = new FilesystemCatalog(new LocalObjectStore(dir))
  await build()
})

afterEach(async () => {
  groups.close()
  await app.close()
  await rm(dir, { recursive: true, force: true })
})

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })

describe('catalog, namespaces and tables', () => {
  it('lists exactly the endpoints it serves in /v1/config, with no prefix', async () => {
    const response = await get('/iceberg/v1/config?warehouse=anything')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      defaults: {}, overrides: {},
      endpoints: [
        'GET /v1/{prefix}/namespaces', 'GET /v1/{prefix}/namespaces/{namespace}', 'HEAD /v1/{prefix}/namespaces/{namespace}',
        'GET /v1/{prefix}/namespaces/{namespace}/tables', 'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
        'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}', 'GET /v1/{prefix}/namespaces/{namespace}/views',
      ],
    })
  })

  it('serves the one namespace, with nothing under it, and 404 in Iceberg\'s shape for any other', async () => {
    expect((await get('/iceberg/v1/namespaces')).json()).toEqual({ namespaces: [['zombi']] })
    expect((await get('/iceberg/v1/namespaces?parent=')).json()).toEqual({ namespaces: [['zombi']] })
    expect((await get('/iceberg/v1/namespaces?parent=zombi')).json()).toEqual({ namespaces: [] })
    expect((await get('/iceberg/v1/namespaces/zombi')).json()).toEqual({ namespace: ['zombi'], properties: {} })
    expect((await app.inject({ method: 'HEAD', url: '/iceberg/v1/namespaces/zombi' })).statusCode).toBe(204)
    for (const url of ['/iceberg/v1/namespaces/other', '/iceberg/v1/namespaces/zombi%1Fsub', '/iceberg/v1/namespaces?parent=zombi%1Fsub', '/iceberg/v1/namespaces/other/tables']) {
      const response = await get(url)
      expect(response.statusCode).toBe(404)
      expect(response.json()).toEqual({ error: { message: expect.stringMatching(/^namespace (other|zombi\.sub) does not exist; this catalog serves one namespace, zombi$/), type: 'NoSuchNamespaceException', code: 404 } })
    }
    const head = await app.inject({ method: 'HEAD', url: '/iceberg/v1/namespaces/other' })
    expect([head.statusCode, head.body]).toEqual([404, ''])
  })

  it('lists tables by topic name, in pages that neither repeat nor skip a table', async () => {
    const names = ['a-topic', 'b.topic', 'c_topic', 'd', 'e']
    for (const name of names) await createTable(name)
    expect((await get('/iceberg/v1/namespaces/zombi/tables')).json()).toEqual({ identifiers: names.map((name) => ({ namespace: ['zombi'], name })) })
    const seen: string[] = []
    let token: string | undefined
    for (let page = 0; page < 3; page++) {
      const body = (await get(`/iceberg/v1/namespaces/zombi/tables?pageSize=2${token === undefined ? '' : `&pageToken=${token}`}`)).json<{ identifiers: Array<{ name: string }>; 'next-page-token'?: string }>()
      seen.push(...body.identifiers.map((identifier) => identifier.name))
      token = body['next-page-token']
      if (page < 2) expect(token).toEqual(expect.any(String))
    }
    expect([seen, token]).toEqual([names, undefined])
    for (const query of ['pageSize=0', 'pageSize=two', 'pageToken=nonsense!']) {
      const response = await get(`/iceberg/v1/namespaces/zombi/tables?${query}`)
      expect([response.statusCode, response.json<{ error: { type: string } }>().error.type]).toEqual([400, 'BadRequestException'])
    }
  })

  it('serves an empty list of views', async () => {
    expect((await get('/iceberg/v1/namespaces/zombi/views')).json()).toEqual({ identifiers: [] })
  })
})

describe('loading a table', () => {
  it('returns the metadata file\'s location and its metadata with 64-bit snapshot ids exact', async () => {
    const location = await createTable('orders.v1')
    const response = await get('/iceberg/v1/namespaces/zombi/tables/orders.v1')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const body = parse(response.body) as { 'metadata-location': string; metadata: { 'current-snapshot-id': { value: string }; snapshots: unknown[] }; config: Record<string, string> }
    expect(body['metadata-location']).toBe(location)
    expect(body.metadata['current-snapshot-id'].value).toBe(BIG_ID.toString())
    expect(body.config).toEqual({})
    expect((await app.inject({ method: 'HEAD', url: '/iceberg/v1/namespaces/zombi/tables/orders.v1' })).statusCode).toBe(204)
  })

  it('answers a missing table with NoSuchTableException, for GET and HEAD, also in a namespace that does not exist', async () => {
    const response = await get('/iceberg/v1/namespaces/zombi/tables/missing')
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ error: { message: expect.stringContaining('table zombi.missing does not exist'), type: 'NoSuchTableException', code: 404 } })
    expect((await app.inject({ method: 'HEAD', url: '/iceberg/v1/namespaces/zombi/tables/missing' })).statusCode).toBe(404)
    // As Iceberg's catalogs answer: Spark's metadata tables (zombi.orders.files) depend on it.
    expect((await get('/iceberg/v1/namespaces/zombi%1Forders/tables/files')).json<{ error: { type: string } }>().error.type).toBe('NoSuchTableException')
    expect((await get('/iceberg/v1/namespaces/other/tables/missing')).json<{ error: { type: string } }>().error.type).toBe('NoSuchTableException')
  })

  it('answers 304 to a matching If-None-Match, and 200 with a new ETag once the table moved on', async () => {
    await createTable('orders')
    const first = await get('/iceberg/v1/namespaces/zombi/tables/orders')
    const etag = first.headers.etag as string
    expect(etag).toMatch(/^"[\w-]+"$/)
    const unchanged = await get('/iceberg/v1/namespaces/zombi/tables/orders', { 'if-none-match': `"other", W/${etag}` })
    expect([unchanged.statusCode, unchanged.body, unchanged.headers.etag]).toEqual([304, '', etag])
    const id = { namespace: 'zombi', name: 'orders' }
    const loaded = (await catalog.loadTable(id))!
    await catalog.commit(id, loaded, withAppendedSnapshot(loaded.metadata, { snapshotId: 5n, sequenceNumber: 2n, manifestList: 'm', summary: { operation: 'append' }, timestampMs: 1 }, loaded.metadataLocation))
    const changed = await get('/iceberg/v1/namespaces/zombi/tables/orders', { 'if-none-match': etag })
    expect(changed.statusCode).toBe(200)
    expect(changed.headers.etag).not.toBe(etag)
  })

  it('keeps only the snapshots a ref points at with snapshots=refs, and refuses other modes', async () => {
    await createTable('history', 3)
    const snapshotIds = async (query: string): Promise<string[]> => {
      const body = parse((await get(`/iceberg/v1/namespaces/zombi/tables/history${query}`)).body) as { metadata: { snapshots: Array<{ 'snapshot-id': { value: string } }> } }
      return body.metadata.snapshots.map((snapshot) => snapshot['snapshot-id'].value)
    }
    expect(await snapshotIds('')).toEqual([BIG_ID, BIG_ID + 1n, BIG_ID + 2n].map(String))
    expect(await snapshotIds('?snapshots=all')).toHaveLength(3)
    expect(await snapshotIds('?snapshots=refs')).toEqual([String(BIG_ID + 2n)])
    const refs = await get('/iceberg/v1/namespaces/zombi/tables/history?snapshots=refs')
    const all = await get('/iceberg/v1/namespaces/zombi/tables/history')
    expect(refs.headers.etag).not.toBe(all.headers.etag)
    expect((await get('/iceberg/v1/namespaces/zombi/tables/history?snapshots=some')).json<{ error: { type: string } }>().error.type).toBe('BadRequestException')
  })

  it('gives S3 readers the endpoint, region and path style, and the broker\'s keys only when vending is on', async () => {
    await createTable('orders')
    const keys = { accessKeyId: 'AKIAZOMBI', secretAccessKey: 'secret', sessionToken: 'session' }
    const s3 = { storage: 's3', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', pathStyle: true } as const
    await build({ ...s3, credentials: null })
    const withoutKeys = (await get('/iceberg/v1/namespaces/zombi/tables/orders')).json<{ config: Record<string, string> }>().config
    expect(withoutKeys).toEqual({ 's3.endpoint': 'http://127.0.0.1:9000', 's3.region': 'eu-west-3', 'client.region': 'eu-west-3', 's3.path-style-access': 'true', 's3.force-virtual-addressing': 'false' })
    await build({ ...s3, credentials: async () => keys })
    const vended = (await get('/iceberg/v1/namespaces/zombi/tables/orders')).json<{ config: Record<string, string> }>().config
    expect(vended).toEqual({ ...withoutKeys, 's3.access-key-id': 'AKIAZOMBI', 's3.secret-access-key': 'secret', 's3.session-token': 'session' })
  })
})

describe('writes and unknown routes', () => {
  it.each([
    ['POST', '/iceberg/v1/namespaces'], ['DELETE', '/iceberg/v1/namespaces/zombi'], ['POST', '/iceberg/v1/namespaces/zombi/properties'],
    ['POST', '/iceberg/v1/namespaces/zombi/tables'], ['POST', '/iceberg/v1/namespaces/zombi/register'], ['POST', '/iceberg/v1/namespaces/zombi/tables/orders'],
    ['DELETE', '/iceberg/v1/namespaces/zombi/tables/orders'], ['POST', '/iceberg/v1/tables/rename'], ['POST', '/iceberg/v1/transactions/commit'],
    ['POST', '/iceberg/v1/namespaces/zombi/views'], ['DELETE', '/iceberg/v1/namespaces/zombi/views/v'], ['POST', '/iceberg/v1/views/rename'],
  ] as const)('refuses %s %s as read-only, whatever the body', async (method, url) => {
    const response = await app.inject({ method, url, headers: { 'content-type': 'text/plain' }, payload: 'not json' })
    expect(response.statusCode).toBe(406)
    expect(response.json()).toEqual({ error: { message: expect.stringContaining('its tables are written only by Zombi from the Kafka topics'), type: 'UnsupportedOperationException', code: 406 } })
  })

  it('answers an unknown route under /iceberg in Iceberg\'s error shape, naming what is served', async () => {
    const response = await get('/iceberg/v1/namespaces/zombi/tables/orders/credentials')
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ error: { message: expect.stringContaining('GET /v1/{prefix}/namespaces/{namespace}/tables/{table}'), type: 'not_found', code: 404 } })
  })
})
