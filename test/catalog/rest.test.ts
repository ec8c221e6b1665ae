// The REST catalog client against the Iceberg project's reference REST catalog server (one JVM for
// this file), with Zombi's files in a local warehouse; a recording proxy in front of the server
// loses answers, asks for a new token or lets another client commit first where a test needs it.
import { randomUUID } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { connectRestCatalog, type RestCatalog, type RestCatalogOptions } from '../../src/catalog/rest.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { encodeInMemory } from '../iceberg/encode-in-memory.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { currentSnapshot, newSnapshotId, newTableMetadata, withAppendedSnapshot, type TableMetadata } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { icebergSchemaJson, partitionSpecJson, sortOrdersJson } from '../../src/iceberg/schema.ts'
import { TableWriter, type WrittenDataFile } from '../../src/iceberg/table-writer.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { freePort } from '../support/ports.ts'
import { startRestCatalogServer, type RestCatalogServer } from '../support/rest-catalog-server.ts'
import { dataFiles, readTable } from '../iceberg/table-reader.ts'
import { TestLog, base as baseTimestamp } from '../iceberg/test-log.ts'
import { catalogContract } from './contract.ts'
import { CatalogProxy, type ProxiedResponse } from './rest-proxy.ts'

let server: RestCatalogServer
let root: string
let store: LocalObjectStore
const proxies: CatalogProxy[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zombi-rest-catalog-'))
  store = new LocalObjectStore(join(root, 'warehouse'), { fsync: false })
  server = await startRestCatalogServer({ warehouse: `file://${root}/server-default` })
}, 180_000)

afterAll(async () => {
  await server?.stop()
})

afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.stop()
})

async function proxy(): Promise<CatalogProxy> {
  const started = await CatalogProxy.start(server.url)
  proxies.push(started)
  return started
}

function connect(options: Partial<RestCatalogOptions> = {}): Promise<RestCatalog> {
  return connectRestCatalog({ url: server.url, warehouse: null, token: null, credential: null, oauth2Uri: null, scope: 'catalog', store, namespace: 'zombi', ...options })
}

/** Drops every table and namespace, straight through the server's REST API. */
async function purge(): Promise<void> {
  const namespaces = await (await fetch(`${server.url}/v1/namespaces`)).json() as { namespaces: string[][] }
  for (const [namespace] of namespaces.namespaces) {
    const tables = await (await fetch(`${server.url}/v1/namespaces/${namespace}/tables`)).json() as { identifiers: Array<{ name: string }> }
    for (const { name } of tables.identifiers) await fetch(`${server.url}/v1/namespaces/${namespace}/tables/${encodeURIComponent(name)}`, { method: 'DELETE' })
    await fetch(`${server.url}/v1/namespaces/${namespace}`, { method: 'DELETE' })
  }
}

catalogContract('rest (Iceberg reference server, local files)', async () => {
  await purge()
  return connect()
})

const json = (status: number, body: unknown): ProxiedResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const isCommit = (method: string, path: string, table: string): boolean => method === 'POST' && path.split('?')[0] === `/v1/namespaces/zombi/tables/${table}`

/** A new table's metadata with one snapshot (its manifest list need not exist for the catalog). */
function withSnapshot(metadata: TableMetadata, name: string): { metadata: TableMetadata; snapshotId: bigint } {
  const snapshotId = newSnapshotId()
  const summary = { operation: 'append', 'zombi.topic-id': 't' }
  const manifestList = store.location(`zombi/${name}/metadata/snap-${snapshotId}.avro`)
  return { metadata: withAppendedSnapshot(metadata, { snapshotId, sequenceNumber: metadata['last-sequence-number'] + 1n, manifestList, summary, timestampMs: Date.now() }, null), snapshotId }
}

describe('RestCatalog against the reference server', () => {
  test('creates a table with its first snapshot in one commit: a staged create, then assert-create; Zombi\'s ids survive', async () => {
    await purge()
    const recording = await proxy()
    const catalog = await connect({ url: recording.url })
    const other = await connect()
    let existedBeforeCommit: boolean | null = null
    recording.handler = async (request, forward) => {
      if (isCommit(request.method, request.path, 'created')) existedBeforeCommit = (await other.loadTable({ namespace: 'zombi', name: 'created' })) !== null
      return forward(request)
    }
    const id = { namespace: 'zombi', name: 'created' }
    const { metadata, snapshotId } = withSnapshot(newTableMetadata(store.location('zombi/created'), { 'zombi.topic-id': 't' }, 1), 'created')
    const committed = await catalog.commit(id, null, metadata)

    const staged = recording.matching('POST', /^\/v1\/namespaces\/zombi\/tables$/)
    expect(staged.map((request) => JSON.parse(request.body)['stage-create'])).toEqual([true])
    const commits = recording.requests.filter((request) => isCommit(request.method, request.path, 'created'))
    expect(commits.map((request) => JSON.parse(request.body).requirements)).toEqual([[{ type: 'assert-create' }]])
    // The staged create made nothing visible; the commit made the table and its snapshot at once.
    expect(existedBeforeCommit).toBe(false)
    const loaded = (await other.loadTable(id))!
    expect(loaded.metadataLocation).toBe(committed.metadataLocation)
    expect(loaded.metadata['table-uuid']).toBe(metadata['table-uuid'])
    expect(loaded.metadata.location).toBe(store.location('zombi/created'))
    expect(currentSnapshot(loaded.metadata)?.['snapshot-id']).toBe(snapshotId)
    expect(loaded.metadata.snapshots).toHaveLength(1)
    expect(loaded.metadata.schemas).toEqual([icebergSchemaJson()])
    expect([loaded.metadata['current-schema-id'], loaded.metadata['last-column-id']]).toEqual([metadata['current-schema-id'], metadata['last-column-id']])
    expect(loaded.metadata['partition-specs']).toEqual([partitionSpecJson()])
    expect(loaded.metadata['sort-orders']).toEqual(sortOrdersJson())
    expect(loaded.metadata['default-sort-order-id']).toBe(metadata['default-sort-order-id'])
    expect(store.keyOf(loaded.metadataLocation)).toMatch(/^zombi\/created\/metadata\/.*\.metadata\.json$/)
  })

  test('of two clients creating the same table at once, one wins and the other gets CATALOG_COMMIT_CONFLICT', async () => {
    await purge()
    const [first, second] = await Promise.all([connect(), connect()])
    const id = { namespace: 'zombi', name: 'raced' }
    const attempts = [0, 1].map(() => withSnapshot(newTableMetadata(store.location('zombi/raced'), {}, 1), 'raced'))
    const results = await Promise.allSettled([first.commit(id, null, attempts[0]!.metadata), second.commit(id, null, attempts[1]!.metadata)])
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected'])
    const lost = results.findIndex((result) => result.status === 'rejected')
    expect((results[lost] as PromiseRejectedResult).reason).toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
    const loaded = (await first.loadTable(id))!
    expect(loaded.metadata['table-uuid']).toBe(attempts[1 - lost]!.metadata['table-uuid'])
    expect(loaded.metadata.snapshots.map((snapshot) => snapshot['snapshot-id'])).toEqual([attempts[1 - lost]!.snapshotId])
  })

  test('a commit after another client\'s append conflicts (assert-ref-snapshot-id on main) and changes nothing', async () => {
    await purge()
    const [first, second] = await Promise.all([connect(), connect()])
    const id = { namespace: 'zombi', name: 'appended' }
    const created = await first.commit(id, null, withSnapshot(newTableMetadata(store.location('zombi/appended'), {}, 1), 'appended').metadata)
    const theirs = withSnapshot(created.metadata, 'appended')
    await second.commit(id, (await second.loadTable(id))!, theirs.metadata)
    await expect(first.commit(id, created, withSnapshot(created.metadata, 'appended').metadata)).rejects.toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
    const loaded = (await first.loadTable(id))!
    expect(currentSnapshot(loaded.metadata)?.['snapshot-id']).toBe(theirs.snapshotId)
    expect(loaded.metadata.snapshots).toHaveLength(2)
  })

  test('the flusher over RestCatalog commits every record exactly once when other writers commit in between', async () => {
    await purge()
    const recording = await proxy()
    const catalog = await connect({ url: recording.url })
    const otherCatalog = await connect()
    const log = await TestLog.open()
    const topic = await log.addTopic('events', 2)
    const id = { namespace: 'zombi', name: 'events' }
    const flusher = new Flusher({
      source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
      targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
    })
    const other = new TableWriter(otherCatalog, id, topic.id, 'replace')
    /** What a second writer of the same topic commits: `values` at `from` of `partition`. */
    const otherCommits = async (partition: number, from: number, values: string[]): Promise<void> => {
      const batches = encodeBatch(values.map((value, i) => ({ key: null, value: Buffer.from(value), timestamp: baseTimestamp + i })), { baseOffset: from })
      const result = await encodeInMemory({ topic: 'events', partition, fromOffset: from, batches, maxRowBytes: 1 << 20, targetFileBytes: 1 << 20 })
      const files: WrittenDataFile[] = []
      for (const file of result.files) {
        const key = `zombi/events/data/other-${randomUUID()}.parquet`
        await store.put(key, file.bytes)
        files.push({ key, sizeBytes: file.bytes.length, recordCount: file.recordCount, eventDate: file.eventDate, eventHour: file.eventHour, metrics: file.metrics })
      }
      await other.commit(files, [{ partition, from, end: from + values.length }])
    }
    /** Holds the flusher's next commit until `first` has run. */
    const beforeNextCommit = (first: () => Promise<void>): void => {
      let done = false
      recording.handler = async (request, forward) => {
        if (!done && isCommit(request.method, request.path, 'events')) {
          done = true
          await first()
        }
        return forward(request)
      }
    }
    try {
      await flusher.start()
      await log.add(topic, 0, ['a', 'b', 'c'])
      // 1. Another writer appends partition 1 first: the flusher's commit conflicts, it reloads,
      //    finds its range still free and commits again on top.
      beforeNextCommit(() => otherCommits(1, 0, ['x', 'y']))
      expect(await flusher.flush('events')).toMatchObject({ rows: 3, snapshots: 1, flushedOffsets: { 0: 3 } })
      // 2. Another writer commits the very range the flusher is committing: after the conflict the
      //    flusher finds it in the table, drops its files and records the offset as flushed.
      await log.add(topic, 0, ['d', 'e'])
      beforeNextCommit(() => otherCommits(0, 3, ['d', 'e']))
      expect(await flusher.flush('events')).toMatchObject({ rows: 0, snapshots: 0, flushedOffsets: { 0: 5 } })
      await log.add(topic, 0, ['f'])
      expect(await flusher.flush('events')).toMatchObject({ rows: 1, snapshots: 1, flushedOffsets: { 0: 6 } })

      const commits = recording.requests.filter((request) => isCommit(request.method, request.path, 'events'))
      expect(commits.length).toBeGreaterThanOrEqual(4) // create, conflict + retry, conflict, append
      const rows = await readTable(catalog, id)
      expect(rows.map((row) => [row.partition, row.sequence, row.payload])).toEqual([
        [0, 0, 'a'], [0, 1, 'b'], [0, 2, 'c'], [0, 3, 'd'], [0, 4, 'e'], [0, 5, 'f'], [1, 0, 'x'], [1, 1, 'y'],
      ])
      // The dropped attempt left no data file behind: every Parquet file is one the table references.
      const referenced = (await dataFiles(catalog, (await catalog.loadTable(id))!.metadata)).map((entry) => store.keyOf(entry.data_file.file_path)).sort()
      expect((await store.list('zombi/events/data/')).filter((key) => key.endsWith('.parquet'))).toEqual(referenced)
    } finally {
      await flusher.close()
    }
  })

  test('a recreated topic replaces the table\'s main branch (topic id property, snapshot without parent) and keeps the old snapshots', async () => {
    await purge()
    const catalog = await connect()
    const id = { namespace: 'zombi', name: 'recreated' }
    const file = async (value: string): Promise<WrittenDataFile[]> => {
      const batches = encodeBatch([{ key: null, value: Buffer.from(value), timestamp: baseTimestamp }], { baseOffset: 0 })
      const result = await encodeInMemory({ topic: 'recreated', partition: 0, fromOffset: 0, batches, maxRowBytes: 1 << 20, targetFileBytes: 1 << 20 })
      const key = `zombi/recreated/data/${randomUUID()}.parquet`
      await store.put(key, result.files[0]!.bytes)
      const encoded = result.files[0]!
      return [{ key, sizeBytes: encoded.bytes.length, recordCount: encoded.recordCount, eventDate: encoded.eventDate, eventHour: encoded.eventHour, metrics: encoded.metrics }]
    }
    const old = await new TableWriter(catalog, id, 'topic-1', 'replace').commit(await file('old'), [{ partition: 0, from: 0, end: 1 }])
    const writer = new TableWriter(catalog, id, 'topic-2', 'replace')
    expect(await writer.committedOffsets()).toEqual(new Map())
    const replaced = await writer.commit(await file('new'), [{ partition: 0, from: 0, end: 1 }])
    const loaded = (await catalog.loadTable(id))!
    expect(loaded.metadata.properties['zombi.topic-id']).toBe('topic-2')
    expect(currentSnapshot(loaded.metadata)).toMatchObject({ 'snapshot-id': replaced.snapshotId })
    expect(currentSnapshot(loaded.metadata)!['parent-snapshot-id']).toBeUndefined()
    expect(loaded.metadata.snapshots.map((snapshot) => snapshot['snapshot-id'])).toEqual([old.snapshotId, replaced.snapshotId])
    expect((await readTable(catalog, id)).map((row) => row.payload)).toEqual(['new'])
  })

  describe('a commit whose answer is lost', () => {
    async function tableAndProxy(name: string): Promise<{ catalog: RestCatalog; recording: CatalogProxy; created: Awaited<ReturnType<RestCatalog['commit']>> }> {
      await purge()
      const recording = await proxy()
      const catalog = await connect({ url: recording.url })
      const created = await catalog.commit({ namespace: 'zombi', name }, null, newTableMetadata(store.location(`zombi/${name}`), {}, 1))
      return { catalog, recording, created }
    }

    test('that landed is found by reading the table back, and succeeds', async () => {
      const { catalog, recording, created } = await tableAndProxy('landed')
      recording.handler = async (request, forward) => {
        const response = await forward(request)
        return isCommit(request.method, request.path, 'landed') ? json(502, { error: { message: 'bad gateway', type: 'Gateway', code: 502 } }) : response
      }
      const { metadata, snapshotId } = withSnapshot(created.metadata, 'landed')
      const committed = await catalog.commit({ namespace: 'zombi', name: 'landed' }, created, metadata)
      expect(currentSnapshot(committed.metadata)?.['snapshot-id']).toBe(snapshotId)
      expect(recording.matching('GET', /\/tables\/landed$/).length).toBeGreaterThan(0)
    })

    test('that did not land after a 500 is a CATALOG_COMMIT_CONFLICT (the writer reloads and retries)', async () => {
      const { catalog, recording, created } = await tableAndProxy('failed')
      recording.handler = async (request, forward) => isCommit(request.method, request.path, 'failed') ? json(500, { error: { message: 'boom', type: 'RuntimeException', code: 500 } }) : forward(request)
      await expect(catalog.commit({ namespace: 'zombi', name: 'failed' }, created, withSnapshot(created.metadata, 'failed').metadata)).rejects.toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
      await expect((await connect()).loadTable({ namespace: 'zombi', name: 'failed' })).resolves.toMatchObject({ metadataLocation: created.metadataLocation })
    })

    test('that did not land after a gateway timeout is CATALOG_COMMIT_UNKNOWN (it may still land; files stay)', async () => {
      const { catalog, recording, created } = await tableAndProxy('pending')
      recording.handler = async (request, forward) => isCommit(request.method, request.path, 'pending') ? json(504, {}) : forward(request)
      await expect(catalog.commit({ namespace: 'zombi', name: 'pending' }, created, withSnapshot(created.metadata, 'pending').metadata)).rejects.toMatchObject({ code: 'CATALOG_COMMIT_UNKNOWN' })
    })
  })

  test('OAuth2 client credentials: a token from the token route on every request, renewed once on a 401', async () => {
    await purge()
    const recording = await proxy()
    let refuseOnce = false
    recording.handler = async (request, forward) => {
      if (refuseOnce && request.path.startsWith('/v1/namespaces/zombi/tables/')) {
        refuseOnce = false
        return json(401, { error: { message: 'token expired', type: 'NotAuthorizedException', code: 401 } })
      }
      return forward(request)
    }
    const catalog = await connect({ url: recording.url, credential: 'zombi:s3cret', scope: 'catalog' })
    const tokenRequests = (): URLSearchParams[] => recording.matching('POST', /^\/v1\/oauth\/tokens$/).map((request) => new URLSearchParams(request.body))
    expect(tokenRequests().map((form) => Object.fromEntries(form))).toEqual([{ grant_type: 'client_credentials', client_id: 'zombi', client_secret: 's3cret', scope: 'catalog' }])
    const id = { namespace: 'zombi', name: 'secured' }
    await catalog.commit(id, null, newTableMetadata(store.location('zombi/secured'), {}, 1))
    refuseOnce = true
    expect(await catalog.loadTable(id)).not.toBeNull()
    expect(tokenRequests()).toHaveLength(2)
    const catalogRequests = recording.requests.filter((request) => !request.path.startsWith('/v1/oauth/'))
    // The reference server's token for client zombi.
    expect(new Set(catalogRequests.map((request) => request.headers.authorization))).toEqual(new Set(['Bearer client-credentials-token:sub=zombi']))
  })

  test('a bearer token goes on every request, and the warehouse to /v1/config', async () => {
    const recording = await proxy()
    await connect({ url: recording.url, token: 'zombi-token', warehouse: 'lake one' })
    expect(recording.requests.length).toBeGreaterThanOrEqual(2)
    expect(recording.requests.map((request) => request.headers.authorization)).toEqual(recording.requests.map(() => 'Bearer zombi-token'))
    expect(recording.requests[0]!.path).toBe('/v1/config?warehouse=lake%20one')
  })

  test('a prefix from /v1/config goes into every path', async () => {
    await purge()
    const recording = await proxy()
    recording.handler = async (request, forward) => {
      if (request.path.startsWith('/v1/config')) {
        const response = await forward(request)
        return json(200, { ...JSON.parse(response.body), defaults: { prefix: 'ignored' }, overrides: { prefix: 'lake-1' } })
      }
      // The reference server serves no prefix: strip it, and refuse paths without it.
      if (!request.path.startsWith('/v1/lake-1/')) return json(404, { error: { message: 'no prefix', type: 'NotFound', code: 404 } })
      return forward({ ...request, path: request.path.replace('/v1/lake-1/', '/v1/') })
    }
    const catalog = await connect({ url: recording.url })
    const id = { namespace: 'zombi', name: 'prefixed' }
    await catalog.commit(id, null, newTableMetadata(store.location('zombi/prefixed'), {}, 1))
    expect(await catalog.listTables('zombi')).toEqual(['prefixed'])
    expect(recording.requests.filter((request) => !request.path.startsWith('/v1/config') && !request.path.startsWith('/v1/lake-1/'))).toEqual([])
  })

  test('lists tables across pages', async () => {
    await purge()
    const recording = await proxy()
    // Ask the server for pages of two, as a catalog with a page limit of its own would answer.
    recording.handler = async (request, forward) => {
      if (request.method !== 'GET' || !/\/namespaces\/zombi\/tables(\?|$)/.test(request.path)) return forward(request)
      return forward({ ...request, path: `${request.path}${request.path.includes('?') ? '&' : '?'}pageSize=2` })
    }
    const catalog = await connect({ url: recording.url })
    const names = ['e', 'a', 'd', 'c', 'b']
    for (const name of names) await catalog.commit({ namespace: 'zombi', name }, null, newTableMetadata(store.location(`zombi/${name}`), {}, 1))
    expect(await catalog.listTables('zombi')).toEqual(['a', 'b', 'c', 'd', 'e'])
    const pages = recording.matching('GET', /\/namespaces\/zombi\/tables$/)
    expect(pages.length).toBe(3)
    expect(pages.slice(1).every((request) => request.path.includes('pageToken='))).toBe(true)
  })

  test('loads are retried after 429 and 503 answers', async () => {
    await purge()
    const recording = await proxy()
    const catalog = await connect({ url: recording.url })
    const id = { namespace: 'zombi', name: 'busy' }
    await catalog.commit(id, null, newTableMetadata(store.location('zombi/busy'), {}, 1))
    const refusals = [json(429, {}), json(503, {})]
    recording.handler = async (request, forward) => request.method === 'GET' && refusals.length > 0 ? { ...refusals.shift()!, headers: { 'retry-after': '0' } } : forward(request)
    expect(await catalog.loadTable(id)).not.toBeNull()
    expect(recording.matching('GET', /\/tables\/busy$/)).toHaveLength(3)
  })

  test('a catalog that does not offer table commits is refused at connect, naming what is missing', async () => {
    const recording = await proxy()
    recording.handler = async (request, forward) => {
      const response = await forward(request)
      if (!request.path.startsWith('/v1/config')) return response
      const config = JSON.parse(response.body) as { endpoints: string[] }
      return json(200, { ...config, endpoints: config.endpoints.filter((endpoint) => endpoint !== 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}') })
    }
    await expect(connect({ url: recording.url })).rejects.toMatchObject({ code: 'CATALOG_REQUEST_FAILED', message: expect.stringContaining('POST /v1/{prefix}/namespaces/{namespace}/tables/{table}') })
  })

  test('an unreachable catalog is a CATALOG_UNAVAILABLE at connect that names the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    await expect(connect({ url })).rejects.toMatchObject({ code: 'CATALOG_UNAVAILABLE', message: expect.stringContaining(url) })
  })
})
