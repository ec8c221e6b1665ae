// The real broker with its tables on S3 (moto) behind a fault-injecting proxy: 500s and 503
// SlowDown, connections reset mid-upload, answers lost after the store did the work (around the
// metadata commit too), and a slow store. Throughout, Kafka producers keep being acknowledged and
// consumers read every record from the hot log; /health names the failing cold storage while it
// fails; once the faults stop, the table read by DuckDB through the broker's own Iceberg REST
// catalog holds every acknowledged record exactly once, the same records kcat reads from the topic.
// One broker for the file; each case has its own topic and matches its faults on that topic's keys.
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcatConsume } from './fixtures/kcat.ts'
import { pythonJsonLines } from './fixtures/python.ts'
import { readRows, type RestCatalog } from '../iceberg/readers.ts'
import { FaultProxy, serverError, slowDown, type Fault, type Match } from '../support/fault-proxy.ts'
import { MOTO_CREDENTIALS, MOTO_REGION, createBucket, startMoto, type Moto } from '../support/moto.ts'

const BUCKET = 'zombi-faults'
const PREFIX = 'warehouse'

let moto: Moto
let proxy: FaultProxy
let broker: Broker
let catalog: RestCatalog

beforeAll(async () => {
  moto = await startMoto()
  await createBucket(moto.endpoint, BUCKET)
  proxy = await FaultProxy.start(moto.endpoint)
  broker = await startBroker({
    ZOMBI_STORAGE: 's3',
    ZOMBI_S3_BUCKET: BUCKET,
    ZOMBI_S3_PREFIX: PREFIX,
    ZOMBI_S3_ENDPOINT: proxy.endpoint,
    ZOMBI_S3_FORCE_PATH_STYLE: 'true',
    ZOMBI_S3_REGION: MOTO_REGION,
    // Three attempts per request (backoff 100 ms doubling): an outage fails a flush within a second.
    ZOMBI_S3_MAX_RETRIES: '2',
    // Readers go to moto directly: what they read is what the broker stored, not what the proxy lets through.
    ZOMBI_ICEBERG_S3_ENDPOINT: moto.endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    // DuckDB 1.4.4 reads with the S3 settings a table load carries and, without keys among them,
    // ignores its own secret (403 from moto); pyiceberg uses its own keys. The test keys are harmless.
    ZOMBI_ICEBERG_VEND_CREDENTIALS: 'true',
    ZOMBI_DEFAULT_PARTITIONS: '2',
    ZOMBI_FLUSH_INTERVAL_SECS: '1',
  })
  catalog = {
    uri: `${broker.httpUrl}/iceberg`,
    s3: { endpoint: moto.endpoint, region: MOTO_REGION, accessKeyId: MOTO_CREDENTIALS.accessKeyId, secretAccessKey: MOTO_CREDENTIALS.secretAccessKey },
  }
}, 90_000)

afterAll(async () => {
  await broker?.cleanup()
  await proxy?.close()
  await moto?.stop()
})

interface Acknowledged {
  partition: number
  offset: number
  value: string
}

/** Produces `count` records with confluent-kafka (acks=all); every one must be acknowledged. */
async function produce(topic: string, label: string, count: number): Promise<Acknowledged[]> {
  const values = Array.from({ length: count }, (_, i) => Buffer.from(`${label}-${i}`).toString('base64'))
  const lines = values.map((value, i) => JSON.stringify({ key: Buffer.from(`k${i}`).toString('base64'), value, partition: i % 2 }))
  const reports = (await pythonJsonLines('compat-tests/confluent-kafka-python/produce.py', ['--bootstrap', broker.bootstrap, '--topic', topic, '--timeout', '20'],
    { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 })) as Array<{ partition: number; offset: number }>
  expect(reports).toHaveLength(count)
  return reports.map((report, i) => ({ partition: report.partition, offset: report.offset, value: values[i]! }))
}

/** Every record of both partitions, read with kcat (Kafka Fetch, served from the hot log). */
async function hotLog(topic: string): Promise<string[]> {
  const records = [...(await kcatConsume(broker.bootstrap, topic, { partition: 0 })), ...(await kcatConsume(broker.bootstrap, topic, { partition: 1 }))]
  return records.map((record) => `${record.partition}/${record.offset}/${record.value?.toString('base64') ?? ''}`).sort()
}

const keyOf = (record: Acknowledged): string => `${record.partition}/${record.offset}/${record.value}`

interface ColdStorage {
  ok: boolean
  detail?: string
}

async function coldStorage(): Promise<ColdStorage> {
  const body = await (await fetch(`${broker.httpUrl}/health`)).json() as { components: { cold_storage: ColdStorage } }
  return body.components.cold_storage
}

async function waitFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T
  for (;;) {
    last = await probe()
    if (done(last)) return last
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`)
    await sleep(250)
  }
}

/** total-records of the table's current snapshot, through the broker (only while the store answers). */
async function committedRecords(topic: string): Promise<number> {
  const response = await fetch(`${broker.httpUrl}/tables/${topic}/metadata`)
  if (response.status !== 200) return -1
  const body = await response.json() as { summary?: Record<string, string> }
  return Number(body.summary?.['total-records'] ?? 0)
}

/** Waits until the table caught up with `acknowledged` and health is ok, then checks the table is exactly the topic, once each. */
async function expectTableIsTheTopic(topic: string, acknowledged: readonly Acknowledged[]): Promise<void> {
  await waitFor(`${topic}: rows committed`, () => committedRecords(topic), (records) => records >= acknowledged.length)
  await waitFor('cold storage health', coldStorage, (health) => health.ok)
  const rows = await readRows(topic, 'duckdb', { catalog })
  const table = rows.map((row) => `${row.partition}/${row.sequence}/${row.payload}`).sort()
  expect(new Set(table).size).toBe(table.length)
  expect(table).toEqual(await hotLog(topic))
  expect(table).toEqual(acknowledged.map(keyOf).sort())
}

/** Faults on this topic's keys only (keys and list prefixes name the table). */
function injectFor(topic: string, fault: Fault, times: number, match: Match = {}): void {
  const url = match.url === undefined ? new RegExp(`/${topic}/`) : new RegExp(`/${topic}/.*${match.url.source}`)
  proxy.inject(fault, times, { ...match, url })
}

describe('the broker with its tables on S3 behind faults', () => {
  test('500s and 503 SlowDown during flushes: produce and fetch go on, health names the failure, then the table catches up exactly once', async () => {
    const topic = uniqueTopic('s3-errors')
    const acknowledged = await produce(topic, 'before', 20)
    await waitFor('first flush', () => committedRecords(topic), (records) => records === 20)

    // Every request for this table is throttled; then every one fails with 500.
    injectFor(topic, slowDown, Number.POSITIVE_INFINITY)
    // The list of a table's keys carries its name in the query (prefix=…%2F<topic>%2F…): fail it too.
    proxy.inject(slowDown, Number.POSITIVE_INFINITY, { url: new RegExp(`prefix=[^&]*${topic}`) })
    acknowledged.push(...await produce(topic, 'throttled', 30))
    expect(await hotLog(topic)).toEqual(acknowledged.map(keyOf).sort())
    const throttled = await waitFor('cold storage failing with SlowDown', coldStorage, (health) => !health.ok)
    expect(throttled.detail).toContain(topic)
    expect(throttled.detail).toContain('SlowDown')

    proxy.clear()
    injectFor(topic, serverError, Number.POSITIVE_INFINITY)
    proxy.inject(serverError, Number.POSITIVE_INFINITY, { url: new RegExp(`prefix=[^&]*${topic}`) })
    acknowledged.push(...await produce(topic, 'failing', 30))
    expect(await hotLog(topic)).toEqual(acknowledged.map(keyOf).sort())
    const failing = await waitFor('cold storage failing with 500', coldStorage, (health) => !health.ok && (health.detail ?? '').includes('HTTP 500'))
    expect(failing.detail).toContain('InternalError')
    expect(proxy.seen.filter((request) => request.fault === 'status').length).toBeGreaterThan(0)

    proxy.clear()
    acknowledged.push(...await produce(topic, 'after', 20))
    await expectTableIsTheTopic(topic, acknowledged)
  }, 120_000)

  test('connections reset mid-upload and answers lost after the store did the work, around the commit too: afterwards every record once', async () => {
    const topic = uniqueTopic('s3-resets')
    const acknowledged = await produce(topic, 'before', 20)
    await waitFor('first flush', () => committedRecords(topic), (records) => records === 20)

    // Within one request's retries: the store retries and each upload ends whole.
    injectFor(topic, { kind: 'reset-mid-body', afterBytes: 64 }, 1, { method: 'PUT', url: /\.parquet(?:\?|$)/ })
    injectFor(topic, { kind: 'reset-after-forward' }, 1, { method: 'PUT', url: /\.parquet(?:\?|$)/ })
    injectFor(topic, { kind: 'reset-after-forward' }, 1, { method: 'PUT', url: /-m0\.avro(?:\?|$)/ })
    injectFor(topic, { kind: 'reset-after-forward' }, 1, { method: 'PUT', url: /\/snap-[^/]*\.avro(?:\?|$)/ })
    // The commit's conditional PUT lands but its answer is lost: the retry's 412 must read as "ours".
    injectFor(topic, { kind: 'reset-after-forward' }, 1, { method: 'PUT', url: /\/v\d+\.metadata\.json(?:\?|$)/ })
    acknowledged.push(...await produce(topic, 'within-retries', 30))
    await waitFor('faults met', async () => proxy.seen.filter((request) => request.fault !== null).length, (count) => count === 5)
    await expectTableIsTheTopic(topic, acknowledged)

    // Past one request's retries (3 attempts): the commit lands and every answer about it is lost,
    // so the store cannot tell whether it did; the table can (and its files must not be deleted).
    proxy.clear()
    injectFor(topic, { kind: 'reset-after-forward' }, 3, { method: 'PUT', url: /\/v\d+\.metadata\.json(?:\?|$)/ })
    acknowledged.push(...await produce(topic, 'commit-answer-lost', 30))
    await waitFor('commit faults met', async () => proxy.seen.filter((request) => request.fault !== null).length, (count) => count === 3)
    acknowledged.push(...await produce(topic, 'after-lost-commit', 10))
    await expectTableIsTheTopic(topic, acknowledged)

    // The commit lands, then the version hint cannot be written through every retry.
    proxy.clear()
    injectFor(topic, serverError, 3, { method: 'PUT', url: /\/version-hint\.text(?:\?|$)/ })
    acknowledged.push(...await produce(topic, 'hint-failing', 30))
    await waitFor('hint faults met', async () => proxy.seen.filter((request) => request.fault !== null).length, (count) => count === 3)
    acknowledged.push(...await produce(topic, 'after-hint', 10))
    await expectTableIsTheTopic(topic, acknowledged)
  }, 120_000)

  test('a slow store: every request delayed, flushes take longer, produce keeps being acknowledged and nothing is lost', async () => {
    const topic = uniqueTopic('s3-slow')
    proxy.clear()
    injectFor(topic, { kind: 'delay', ms: 300 }, Number.POSITIVE_INFINITY)
    const acknowledged: Acknowledged[] = []
    for (let round = 0; round < 4; round++) acknowledged.push(...await produce(topic, `slow-${round}`, 25))
    // Caught up while every request of this table is still slow.
    await expectTableIsTheTopic(topic, acknowledged)
    expect(proxy.seen.filter((request) => request.fault === 'delay').length).toBeGreaterThan(10)
    proxy.clear()
  }, 120_000)

  test('the whole store down: consumers read every record from the hot log meanwhile, and the table catches up after', async () => {
    const topic = uniqueTopic('s3-down')
    proxy.clear()
    proxy.inject(slowDown, Number.POSITIVE_INFINITY)
    const acknowledged: Acknowledged[] = []
    for (let round = 0; round < 3; round++) {
      acknowledged.push(...await produce(topic, `down-${round}`, 20))
      expect(await hotLog(topic)).toEqual(acknowledged.map(keyOf).sort())
    }
    const down = await waitFor('cold storage failing', coldStorage, (health) => !health.ok)
    expect(down.detail).toContain(topic)
    expect(await committedRecords(topic)).toBe(-1)
    proxy.clear()
    await expectTableIsTheTopic(topic, acknowledged)
  }, 120_000)
})
