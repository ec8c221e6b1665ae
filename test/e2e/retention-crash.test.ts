// SIGKILL between topic retention's delete commit and the cleanup of the files it removed: the broker
// commits through the reference REST catalog behind a proxy that, once retention's delete snapshot and
// then snapshot expiry's commit (the one dropping the snapshots that still reached those files) have
// landed, kills the broker before it hears the answer, so it never deletes the files. After the restart
// no deleted row comes back, every retained record is in the table exactly once, Kafka's log start is the
// first retained offset; the orphaned files stay while younger than ZOMBI_ORPHAN_GRACE_SECS and the
// start-up orphan cleanup removes them once past it.
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { CatalogProxy } from '../catalog/rest-proxy.ts'
import { dataFiles, readRows, tableDir, type RestCatalog } from '../iceberg/readers.ts'
import { startRestCatalogServer, type RestCatalogServer } from '../support/rest-catalog-server.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRows, produceRecords, type Produced } from './fixtures/produced.ts'
import { fetchAt, listOffset } from './fixtures/log-probes.ts'

const OLD = 1000
const NEW = 2000
const MORE = 50
const DAY = 86_400_000

let server: RestCatalogServer
let proxy: CatalogProxy
let serverRoot: string
const brokers: Broker[] = []

const settings = {
  ZOMBI_CATALOG_TYPE: 'rest',
  ZOMBI_SEGMENT_BYTES: String(1024 * 1024),
  ZOMBI_HOT_RETENTION_MS: '0',
  ZOMBI_HOT_RETENTION_CHECK_SECS: '1',
  ZOMBI_FLUSH_INTERVAL_SECS: '0',
  ZOMBI_COMPACTION_INTERVAL_SECS: '0',
  // Retention and expiry every second, keeping only main's head: expiry's commit follows retention's at once.
  ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '1',
  ZOMBI_SNAPSHOT_RETENTION_HOURS: '0',
  ZOMBI_SNAPSHOT_MIN_KEEP: '1',
}

beforeAll(async () => {
  serverRoot = await mkdtemp(join(tmpdir(), 'zombi-retention-crash-'))
  server = await startRestCatalogServer({ warehouse: `file://${serverRoot}` })
  proxy = await CatalogProxy.start(server.url)
}, 120_000)

afterAll(async () => {
  for (const broker of brokers) await broker.cleanup()
  await proxy?.stop()
  await server?.stop()
  if (serverRoot !== undefined) await rm(serverRoot, { recursive: true, force: true })
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits (bounded) until `check` holds. */
async function until(broker: Broker, what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return
    await sleep(100)
  }
  throw new Error(`${what}: not within 30 s; broker log:\n${broker.logs().slice(-4000)}`)
}

/** Update actions of a commit request body, an added snapshot as `add-snapshot:<operation>`. */
function actions(body: string): string[] {
  const { updates } = JSON.parse(body) as { updates: Array<{ action: string; snapshot?: { summary: { operation: string } } }> }
  return updates.map((update) => update.action === 'add-snapshot' ? `add-snapshot:${update.snapshot!.summary.operation}` : update.action)
}

test('SIGKILL after retention\'s delete commit, before its files are cleaned up: no row comes back, each retained one is there once, orphans go after the grace period', async () => {
  const first = await startBroker({ ...settings, ZOMBI_CATALOG_URL: proxy.url, ZOMBI_ORPHAN_GRACE_SECS: '3600' })
  brokers.push(first)
  const topic = uniqueTopic('retention-crash')
  const catalog: RestCatalog = { uri: server.url }
  const admin = new Kafka({ clientId: 'retention-crash', brokers: [first.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(DAY) }] }] })
  } finally {
    await admin.disconnect()
  }

  // Retention's delete lands, then expiry's commit: that one lands too, and the broker dies before its answer.
  const commitPath = `/v1/namespaces/zombi/tables/${topic}`
  let deleteCommitted = false
  let killed: Promise<void> | null = null
  proxy.handler = async (request, forward) => {
    if (killed !== null || request.method !== 'POST' || request.path.split('?')[0] !== commitPath) return forward(request)
    const sent = actions(request.body)
    const response = await forward(request)
    if (response.status !== 200) return response
    if (sent.includes('add-snapshot:delete')) deleteCommitted = true
    else if (deleteCommitted && sent.includes('remove-snapshots')) {
      killed = first.kill9()
      await killed
    }
    return response
  }

  const now = Date.now()
  const value = (i: number): string => b64(`${String(i).padStart(6, '0')}${'v'.repeat(900)}`)
  // Three days old, then current: different hour partitions, so retention removes whole files.
  const records = Array.from({ length: OLD + NEW }, (_, i) => ({ partition: 0, key: i % 3 === 0 ? null : b64(`key-${i}`), value: value(i), headers: [], timestamp: i < OLD ? now - 3 * DAY + i : now + i }))
  const produced: Produced[] = await produceRecords(first, topic, records)
  expect(produced.map((p) => p.offset)).toEqual(records.map((_, i) => i))
  const parquetOnDisk = (): string[] => readdirSync(join(tableDir(first.dataDir, topic), 'data'), { recursive: true }).map(String).filter((name) => name.endsWith('.parquet')).sort()
  expect((await fetch(`${first.httpUrl}/tables/${topic}/flush`, { method: 'POST' })).status).toBe(200)
  const flushedFiles = parquetOnDisk()
  await until(first, 'the proxy killed the broker after expiry\'s commit', async () => killed !== null)
  await killed
  proxy.handler = (request, forward) => forward(request)
  expect(first.logs()).toContain('removed data files past the topic\'s retention')
  expect(first.logs()).not.toContain('expired old snapshots')

  // The kill left the removed files in the warehouse, referenced by no snapshot of the catalog's table.
  const live = (await dataFiles(topic, { catalog })).map((path) => path.slice(path.lastIndexOf('/data/') + '/data/'.length)).sort()
  const orphans = flushedFiles.filter((name) => !live.includes(name))
  expect(orphans.length).toBeGreaterThan(0)
  expect(parquetOnDisk()).toEqual(flushedFiles)

  // Restart within the grace period: the orphans stay (another writer could still commit them), the table is right.
  await first.restart()
  const expected = expectedRows(topic, produced.slice(OLD))
  expect(await readRows(topic, 'pyiceberg', { catalog })).toEqual(expected)
  await until(first, 'hot retention dropped the flushed segments', async () => (await listOffset(first, topic, -4)) > OLD)
  expect(await listOffset(first, topic, -2)).toBe(OLD)
  expect(await fetchAt(first, topic, 0)).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: OLD })
  expect(await fetchAt(first, topic, OLD)).toMatchObject({ errorCode: ErrorCode.NONE, logStartOffset: OLD })
  expect(parquetOnDisk()).toEqual(flushedFiles)

  // Exactly once after the restart: more records, one flush, each row once.
  const more = await produceRecords(first, topic, Array.from({ length: MORE }, (_, i) => ({ partition: 0, key: b64(`more-${i}`), value: value(OLD + NEW + i), headers: [], timestamp: now + NEW + i })))
  expect(more.map((p) => p.offset)).toEqual(Array.from({ length: MORE }, (_, i) => OLD + NEW + i))
  expect((await fetch(`${first.httpUrl}/tables/${topic}/flush`, { method: 'POST' })).status).toBe(200)
  produced.push(...more)
  expect(await readRows(topic, 'pyiceberg', { catalog })).toEqual(expectedRows(topic, produced.slice(OLD)))
  await first.stop()

  // Past the grace period (0 here): the start-up cleanup removes exactly the orphans: the data files and the
  // manifest list (and manifests) only the expired snapshot reached.
  const avroOnDisk = (): string[] => readdirSync(join(tableDir(first.dataDir, topic), 'metadata')).filter((name) => name.endsWith('.avro')).sort()
  const avroBefore = avroOnDisk()
  // Expiry off in this run, so whatever leaves the warehouse is the cleanup's doing.
  const second = await startBroker({ ...settings, ZOMBI_CATALOG_URL: server.url, ZOMBI_ORPHAN_GRACE_SECS: '0', ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '0', ZOMBI_DATA_DIR: first.dataDir })
  brokers.push(second)
  const cleanup = second.logs().split('\n').find((line) => line.includes('removed files left in the warehouse by interrupted writes'))
  expect(cleanup).toBeDefined()
  const avroRemoved = avroBefore.filter((name) => !avroOnDisk().includes(name))
  expect(avroRemoved.length).toBeGreaterThan(0)
  expect(JSON.parse(cleanup!)).toMatchObject({ orphanFiles: orphans.length + avroRemoved.length })
  expect(parquetOnDisk().filter((name) => orphans.includes(name))).toEqual([])
  const referenced = (await dataFiles(topic, { catalog })).map((path) => path.slice(path.lastIndexOf('/data/') + '/data/'.length)).sort()
  expect(parquetOnDisk()).toEqual(referenced)
  expect(await readRows(topic, 'pyiceberg', { catalog })).toEqual(expectedRows(topic, produced.slice(OLD)))
  expect(await listOffset(second, topic, -2)).toBe(OLD)
  await second.stop()
}, 180_000)
