// Table maintenance committed through the Iceberg project's reference REST catalog (ZOMBI_CATALOG_TYPE=rest):
// topic retention's delete snapshot, compaction's replace snapshot and snapshot expiry's remove-snapshots
// (with the committed offsets moved into the zombi.committed-offsets property) are updates the reference
// server accepts; pyiceberg and DuckDB reading through that catalog see exactly the retained rows in fewer
// files, the expired snapshots are gone from the catalog's metadata and their files from the warehouse, and
// flushing more afterwards adds every new row exactly once. One reference server for the file, reached
// through a recording proxy so the test sees the update actions Zombi sent.
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { CatalogProxy } from '../catalog/rest-proxy.ts'
import { dataFiles, readRows, tableDir, type RestCatalog } from '../iceberg/readers.ts'
import { startRestCatalogServer, type RestCatalogServer } from '../support/rest-catalog-server.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRows, produceRecords, type Produced, type ToProduce } from './fixtures/produced.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const OLD = 40
const PER_ROUND = 12
const ROUNDS = 4

interface RestTable {
  'metadata-location': string
  metadata: {
    'current-snapshot-id'?: string
    properties: Record<string, string>
    snapshots?: Array<{ 'snapshot-id': string; summary: Record<string, string> }>
  }
}

/** 64-bit snapshot ids as their decimal text: a JS number would round them. */
function parseKeepingIds(text: string): unknown {
  const reviver = (key: string, value: unknown, context?: { source?: string }): unknown =>
    key.endsWith('snapshot-id') && typeof value === 'number' && context?.source !== undefined ? context.source : value
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('maintenance committed through the reference REST catalog', () => {
  let server: RestCatalogServer
  let proxy: CatalogProxy
  let serverRoot: string
  let broker: Broker
  let topic: string
  let catalog: RestCatalog
  const produced: Produced[] = []
  // Start of the previous hour: each round's records cross into the current hour, so a flush writes two files.
  const base = Math.floor(Date.now() / HOUR) * HOUR - HOUR

  function currentRecords(round: number): ToProduce[] {
    return Array.from({ length: PER_ROUND }, (_, i) => ({
      partition: i % 2,
      timestamp: base + (i * 7 + round) * 60_000,
      key: i % 5 === 4 ? null : b64(`key-${round}-${i}`),
      value: i % 6 === 5 ? null : b64(`value ${round}-${i} ${'x'.repeat(i * 10)}`),
      headers: i % 3 === 0 ? [] : [['round', b64(String(round))], ['maybe', i % 2 === 0 ? null : b64(String(i))]],
    }))
  }

  const flush = async (): Promise<void> => {
    const response = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
    expect(response.status).toBe(200)
  }

  const table = async (): Promise<RestTable> => {
    const response = await fetch(`${server.url}/v1/namespaces/zombi/tables/${encodeURIComponent(topic)}`)
    expect(response.status).toBe(200)
    return parseKeepingIds(await response.text()) as RestTable
  }

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `))
    if (line === undefined) throw new Error(`${name} is not in /metrics`)
    return Number(line.slice(name.length + 1))
  }

  /** Waits (bounded) until `check` holds; the expiry pass runs every second. */
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (await check()) return
      await sleep(100)
    }
    throw new Error(`${what}: not within 30 s; broker log:\n${broker.logs().slice(-4000)}`)
  }

  /** The update actions of every commit Zombi sent for the topic's table, with the operation of each added snapshot. */
  function updatesSent(): string[] {
    const actions: string[] = []
    for (const request of proxy.matching('POST', new RegExp(`/v1/namespaces/zombi/tables/${topic.replaceAll('.', '\\.')}$`))) {
      const { updates } = JSON.parse(request.body) as { updates: Array<{ action: string; snapshot?: { summary: { operation: string } }; updates?: Record<string, string> }> }
      for (const update of updates) {
        if (update.action === 'add-snapshot') actions.push(`add-snapshot:${update.snapshot!.summary.operation}`)
        else if (update.action === 'set-properties') actions.push(...Object.keys(update.updates!).map((key) => `set-properties:${key}`))
        else actions.push(update.action)
      }
    }
    return actions
  }

  beforeAll(async () => {
    serverRoot = await mkdtemp(join(tmpdir(), 'zombi-rest-maintenance-'))
    server = await startRestCatalogServer({ warehouse: `file://${serverRoot}` })
    proxy = await CatalogProxy.start(server.url)
    broker = await startBroker({
      ZOMBI_CATALOG_TYPE: 'rest',
      ZOMBI_CATALOG_URL: proxy.url,
      ZOMBI_DEFAULT_PARTITIONS: '2',
      // The test decides when files are made and compacted; retention and expiry run every second and keep only main's head.
      ZOMBI_FLUSH_INTERVAL_SECS: '0',
      ZOMBI_COMPACTION_INTERVAL_SECS: '0',
      ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '1',
      ZOMBI_SNAPSHOT_RETENTION_HOURS: '0',
      ZOMBI_SNAPSHOT_MIN_KEEP: '1',
    })
    catalog = { uri: server.url }
    topic = uniqueTopic('rest.maintenance')
    const admin = new Kafka({ clientId: 'rest-maintenance', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: String(DAY) }] }] })
    } finally {
      await admin.disconnect()
    }
    // Three days old: past retention.ms, so retention's delete snapshot removes their file.
    const now = Date.now()
    const old = await produceRecords(broker, topic, Array.from({ length: OLD }, (_, i) => ({ partition: i % 2, key: null, value: b64(`old ${i}`), headers: [], timestamp: now - 3 * DAY + i })))
    await flush()
    await until('retention removed the old rows', async () => (await metric('zombi_iceberg_retention_rows_deleted_total')) === OLD)
    expect(old).toHaveLength(OLD)
    for (let round = 0; round < ROUNDS; round++) {
      produced.push(...(await produceRecords(broker, topic, currentRecords(round))))
      await flush()
    }
  }, 120_000)

  afterAll(async () => {
    await broker?.cleanup()
    await proxy?.stop()
    await server?.stop()
    if (serverRoot !== undefined) await rm(serverRoot, { recursive: true, force: true })
  })

  test('retention, compaction and expiry land in the catalog; readers see exactly the retained rows, in fewer files; flushing more adds each row once', async () => {
    const expected = expectedRows(topic, produced)
    const filesBefore = await dataFiles(topic, { catalog })
    // A file per hour partition per flush.
    expect(filesBefore).toHaveLength(2 * ROUNDS)
    expect(await readRows(topic, 'pyiceberg', { catalog })).toEqual(expected)

    const compact = await fetch(`${broker.httpUrl}/tables/${topic}/compact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(compact.status).toBe(200)
    const compacted = await compact.json() as { files_in: number; files_out: number; rows: number; snapshot_id: string }
    expect(compacted).toMatchObject({ files_in: 2 * ROUNDS, files_out: 2, rows: PER_ROUND * ROUNDS })

    // Expiry drops every snapshot before the compaction's and deletes what only they reached.
    await until('expiry kept only the compaction snapshot', async () => {
      const { metadata } = await table()
      return metadata.snapshots?.length === 1 && metadata['current-snapshot-id'] === compacted.snapshot_id
    })
    const { metadata } = await table()
    expect(metadata.snapshots![0]!.summary).toMatchObject({ operation: 'replace', 'total-data-files': '2', 'total-records': String(PER_ROUND * ROUNDS) })
    // The offsets committed by the expired snapshots live on in the property: every offset of both partitions, old records included.
    const perPartition = (partition: number): number => OLD / 2 + produced.filter((record) => record.partition === partition).length
    expect(JSON.parse(metadata.properties['zombi.committed-offsets']!)).toMatchObject({ ends: { 0: perPartition(0), 1: perPartition(1) } })
    const parquetOnDisk = (): string[] => readdirSync(join(tableDir(broker.dataDir, topic), 'data'), { recursive: true }).map(String).filter((name) => name.endsWith('.parquet'))
    // The retention-removed file and the compacted-away files go from the warehouse (deleted after the expiry's commit).
    await until('expiry deleted the files only expired snapshots reached', async () => parquetOnDisk().length === 2)
    expect(await dataFiles(topic, { catalog })).toHaveLength(2)
    expect(await readRows(topic, 'pyiceberg', { catalog })).toEqual(expected)
    expect(await readRows(topic, 'duckdb', { catalog })).toEqual(expected)

    // The REST updates each maintenance step was sent as, in the order Zombi committed them.
    const sent = updatesSent()
    expect(sent).toEqual(expect.arrayContaining(['add-snapshot:append', 'add-snapshot:delete', 'add-snapshot:replace', 'remove-snapshots', 'set-properties:zombi.committed-offsets']))
    expect(sent.indexOf('add-snapshot:delete')).toBeLessThan(sent.indexOf('add-snapshot:replace'))

    // Zombi keeps committing exactly once: the next round adds its rows once, after the compacted ones.
    produced.push(...(await produceRecords(broker, topic, currentRecords(ROUNDS))))
    await flush()
    const all = expectedRows(topic, produced)
    expect(await readRows(topic, 'pyiceberg', { catalog })).toEqual(all)
    const after = await table()
    const head = after.metadata.snapshots!.find((snapshot) => snapshot['snapshot-id'] === after.metadata['current-snapshot-id'])!
    expect(head.summary).toMatchObject({ operation: 'append', 'added-records': String(PER_ROUND), 'total-records': String(all.length) })
    expect(await metric('zombi_iceberg_expiry_failures_total')).toBe(0)
    expect(await metric('zombi_iceberg_compaction_failures_total')).toBe(0)
  }, 120_000)
})
