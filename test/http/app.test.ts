import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import { buildHttpApp } from '../../src/http/app.ts'
import { GroupCoordinator } from '../../src/kafka/groups/coordinator.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import { decodeBatch } from '../../src/protocol/records.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

let app: FastifyInstance
let log: BrokerLog
let groups: GroupCoordinator
let healthy = true
const flushed: string[] = []

async function build(env: Record<string, string> = {}, store: MemoryHotStore = new MemoryHotStore()): Promise<void> {
  await store.open()
  log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 1 << 20 })
  await log.open()
  groups = new GroupCoordinator(log, silentLogger)
  await groups.load()
  const keys = new IdempotencyKeys(store)
  const config = loadConfig({ ZOMBI_DEFAULT_PARTITIONS: '3', ...env })
  app = await buildHttpApp({
    log, groups, keys, metrics: new Metrics(), config,
    components: () => ({ hot_storage: { ok: healthy } }),
    stats: () => ({ kafka_connections: 0 }),
    iceberg: {
      flush: async (table) => {
        flushed.push(table)
        return { rows: 3, files: 1, bytes: 100, snapshots: 1, flushedOffsets: { 0: 3 } }
      },
      describe: async () => null,
    },
  })
}

beforeEach(async () => {
  healthy = true
  await build()
})

afterEach(async () => {
  groups.close()
  await app.close()
})

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> })

describe('writes', () => {
  it('writes one record through the log and answers 202 with its offset and partition', async () => {
    const response = await post('/tables/orders', { payload: 'hello', key: 'customer-7', headers: { source: 'test' }, timestamp_ms: 1_700_000_000_000 })
    expect(response.statusCode).toBe(202)
    const body = response.json<{ offset: number; partition: number; table: string }>()
    expect(body).toMatchObject({ offset: 0, table: 'orders' })
    const partition = log.topicByName('orders')!.partitions[body.partition]!
    const record = decodeBatch(log.readBatch(partition, 0)).records[0]!
    expect([record.key!.toString(), record.value!.toString(), record.timestamp]).toEqual(['customer-7', 'hello', 1_700_000_000_000])
    expect(record.headers).toEqual([{ key: 'source', value: Buffer.from('test') }])
  })

  it('places keyed records by Kafka murmur2, the same key always on the same partition', async () => {
    const partitions = new Set<number>()
    for (let i = 0; i < 5; i++) partitions.add((await post('/tables/keyed', { payload: `v${i}`, key: 'same-key' })).json<{ partition: number }>().partition)
    expect(partitions.size).toBe(1)
  })

  it('decodes base64 payloads and keys byte-exact', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255])
    const response = await post('/tables/binary', { payload: bytes.toString('base64'), key: Buffer.from([9]).toString('base64'), encoding: 'base64', partition: 0 })
    expect(response.statusCode).toBe(202)
    const record = decodeBatch(log.readBatch(log.topicByName('binary')!.partitions[0]!, 0)).records[0]!
    expect(record.value!.equals(bytes)).toBe(true)
    expect(record.key!.equals(Buffer.from([9]))).toBe(true)
  })

  it('writes a bulk request with dense offsets per partition', async () => {
    const response = await post('/tables/bulk/bulk', { records: [{ payload: 'a', partition: 1 }, { payload: 'b', partition: 1 }, { payload: 'c', partition: 0 }] })
    expect(response.statusCode).toBe(202)
    expect(response.json()).toEqual({ offsets: [{ partition: 1, offset: 0 }, { partition: 1, offset: 1 }, { partition: 0, offset: 0 }], count: 3 })
  })

  it('returns the first write for a repeated idempotency key and writes nothing', async () => {
    const first = (await post('/tables/idem', { payload: 'one', idempotency_key: 'abc', partition: 2 })).json()
    const again = await post('/tables/idem', { payload: 'one (retry)', idempotency_key: 'abc', partition: 2 })
    expect(again.statusCode).toBe(202)
    expect(again.json()).toEqual(first)
    expect(log.topicByName('idem')!.partitions[2]!.highWatermark).toBe(1)
    const bulk = (await post('/tables/idem/bulk', { records: [{ payload: 'x', idempotency_key: 'k', partition: 0 }, { payload: 'y', idempotency_key: 'k', partition: 0 }] })).json<{ offsets: unknown[] }>()
    expect(bulk.offsets).toEqual([{ partition: 0, offset: 0 }, { partition: 0, offset: 0 }])
    expect(log.topicByName('idem')!.partitions[0]!.highWatermark).toBe(1)
  })
})

describe('full disk', () => {
  class SwitchableStore extends MemoryHotStore {
    full = false
    override hasSpaceFor(bytes: number): boolean {
      return !this.full && super.hasSpaceFor(bytes)
    }
  }

  it('answers writes with 507 and Retry-After while the disk is full, writes nothing, and takes the same write once space returns', async () => {
    const store = new SwitchableStore()
    await app.close()
    await build({}, store)
    expect((await post('/tables/orders', { payload: 'first', partition: 0 })).statusCode).toBe(202)
    store.full = true
    const refused = await post('/tables/orders/bulk', { records: [{ payload: 'a', partition: 0, idempotency_key: 'k1' }, { payload: 'b', partition: 0 }] })
    expect(refused.statusCode).toBe(507)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.json()).toMatchObject({ error: 'insufficient_storage', message: expect.stringContaining('disk is full') })
    expect(log.topicByName('orders')!.partitions[0]!.highWatermark).toBe(1)
    store.full = false
    const accepted = await post('/tables/orders/bulk', { records: [{ payload: 'a', partition: 0, idempotency_key: 'k1' }, { payload: 'b', partition: 0 }] })
    expect(accepted.statusCode).toBe(202)
    expect(accepted.json()).toMatchObject({ offsets: [{ partition: 0, offset: 1 }, { partition: 0, offset: 2 }] })
  })
})

describe('bad input gets a 4xx naming the field, and nothing is written', () => {
  it.each([
    ['malformed JSON', '{"payload": ', 400, /JSON/],
    ['a wrong type', { payload: 1 }, 400, /payload must be string/],
    ['a missing payload', { key: 'k' }, 400, /must have required property 'payload'/],
    ['an unknown field', { payload: 'x', extra: true }, 400, /additional properties/],
    ['invalid base64', { payload: '***', encoding: 'base64' }, 400, /payload is not valid base64/],
    ['a partition out of range', { payload: 'x', partition: 99 }, 404, /partition 99 does not exist/],
    ['a partition beyond int32', { payload: 'x', partition: 2 ** 31 }, 400, /partition must be <= 2147483647/],
    ['a timestamp past year 9999', { payload: 'x', timestamp_ms: 2 ** 55 - 1 }, 400, /timestamp_ms must be <= 253402300799999/],
    ['a negative timestamp', { payload: 'x', timestamp_ms: -5 }, 400, /timestamp_ms must be >= 0/],
    ['a header named like the idempotency key', { payload: 'x', headers: { idempotency_key: 'k' } }, 400, /headers\.idempotency_key is reserved/],
  ])('%s', async (_label, body, status, message) => {
    await post('/tables/strict', { payload: 'seed', partition: 0 })
    const before = log.topicByName('strict')!.partitions.reduce((sum, p) => sum + p.highWatermark, 0)
    const response = typeof body === 'string'
      ? await app.inject({ method: 'POST', url: '/tables/strict', payload: body, headers: { 'content-type': 'application/json' } })
      : await post('/tables/strict', body)
    expect(response.statusCode).toBe(status)
    expect(response.json<{ error: string; message: string }>().message).toMatch(message)
    expect(log.topicByName('strict')!.partitions.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(before)
  })

  it('writes nothing of a bulk request with one bad record', async () => {
    const response = await post('/tables/allornothing/bulk', { records: [{ payload: 'fine' }, { payload: '%%', encoding: 'base64' }] })
    expect(response.statusCode).toBe(400)
    expect(response.json<{ message: string }>().message).toMatch(/records\[1\]\.payload is not valid base64/)
    expect(log.topicByName('allornothing')?.partitions.every((p) => p.highWatermark === 0) ?? true).toBe(true)
  })

  it('answers 404 for unknown tables on reads, and for writes when auto-create is off', async () => {
    expect((await app.inject('/tables/missing/stream')).statusCode).toBe(404)
    await app.close()
    await build({ ZOMBI_AUTO_CREATE_TOPICS: 'false' })
    const response = await post('/tables/missing', { payload: 'x' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toMatchObject({ error: 'not_found' })
  })

  it('refuses negative offsets, limits out of range, unknown partitions and undeclared methods', async () => {
    await post('/tables/reads', { payload: 'x', partition: 0 })
    expect((await app.inject('/tables/reads/stream?offset=-1')).json()).toMatchObject({ error: 'invalid_request' })
    expect((await app.inject('/tables/reads/stream?limit=0')).statusCode).toBe(400)
    expect((await app.inject('/tables/reads/stream?limit=100000')).statusCode).toBe(400)
    expect((await app.inject('/tables/reads/stream?partition=7')).statusCode).toBe(404)
    const badUrl = await app.inject('/tables/%ZZ/stream')
    expect([badUrl.statusCode, badUrl.json()]).toEqual([400, { error: 'invalid_request', message: "'/tables/%ZZ/stream' is not a valid url component" }])
    const wrongMethod = await app.inject({ method: 'DELETE', url: '/tables/reads' })
    expect(wrongMethod.statusCode).toBe(405)
    expect(String(wrongMethod.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST'])
  })
})

describe('reads', () => {
  it('streams a partition from an offset with next_offset and has_more', async () => {
    await post('/tables/stream/bulk', { records: Array.from({ length: 5 }, (_, i) => ({ payload: `r${i}`, partition: 0, headers: { n: String(i) } })) })
    const page = (await app.inject('/tables/stream/stream?partition=0&offset=1&limit=3')).json<{ events: Array<{ offset: number; payload: string; headers: Record<string, string> }>; next_offset: number; has_more: boolean }>()
    expect(page.events.map((e) => [e.offset, e.payload, e.headers.n])).toEqual([[1, 'r1', '1'], [2, 'r2', '2'], [3, 'r3', '3']])
    expect([page.next_offset, page.has_more]).toEqual([4, true])
    const rest = (await app.inject(`/tables/stream/stream?partition=0&offset=${page.next_offset}&limit=10`)).json<{ events: unknown[]; next_offset: number; has_more: boolean }>()
    expect([rest.events.length, rest.next_offset, rest.has_more]).toEqual([1, 5, false])
  })

  it('long-polls with wait_ms until a record arrives', async () => {
    await post('/tables/poll', { payload: 'first', partition: 0 })
    const pending = app.inject('/tables/poll/stream?partition=0&offset=1&wait_ms=30000')
    setTimeout(() => void post('/tables/poll', { payload: 'second', partition: 0 }), 100)
    const page = (await pending).json<{ events: Array<{ payload: string }> }>()
    expect(page.events.map((e) => e.payload)).toEqual(['second'])
  })

  it('reads records since a timestamp across partitions', async () => {
    await post('/tables/timed/bulk', { records: [{ payload: 'old', timestamp_ms: 1000, partition: 0 }, { payload: 'new', timestamp_ms: 5000, partition: 1 }, { payload: 'newer', timestamp_ms: 6000, partition: 0 }] })
    const response = (await app.inject('/tables/timed?since=4000')).json<{ records: Array<{ payload: string }>; count: number }>()
    expect(response.records.map((r) => r.payload).sort()).toEqual(['new', 'newer'])
    expect(response.count).toBe(2)
  })

  it('lists tables', async () => {
    await post('/tables/listed', { payload: 'x', partition: 0 })
    expect((await app.inject('/tables')).json<{ tables: Array<{ name: string; partitions: number; records: number }> }>().tables).toContainEqual(expect.objectContaining({ name: 'listed', partitions: 3, records: 1 }))
  })
})

describe('consumer offsets and operations', () => {
  it('commits and reads consumer offsets in the store Kafka groups use', async () => {
    await post('/tables/offsets', { payload: 'x', partition: 0 })
    expect((await post('/consumers/readers/commit', { topic: 'offsets', partition: 0, offset: 1 })).statusCode).toBe(200)
    expect(groups.fetchOffset('readers', 'offsets', 0)?.offset).toBe(1)
    expect((await app.inject('/consumers/readers/offset?topic=offsets&partition=0')).json()).toMatchObject({ offset: 1 })
    expect((await app.inject('/consumers/nobody/offset?topic=offsets&partition=0')).json()).toMatchObject({ offset: -1 })
    expect((await post('/consumers/readers/commit', { topic: 'nope', partition: 0, offset: 1 })).statusCode).toBe(404)
    // Offsets are exact JavaScript numbers in the log; a larger one would be stored rounded.
    const tooLarge = await post('/consumers/readers/commit', { topic: 'offsets', partition: 0, offset: 2 ** 53 })
    expect([tooLarge.statusCode, tooLarge.json<{ message: string }>().message]).toEqual([400, 'body/offset must be <= 9007199254740991'])
  })

  it('is not ready while backpressure holds every write slot, and ready again once they are free', async () => {
    /** A store whose appends wait for the test to open the gate: writes stay in flight. */
    class GatedStore extends MemoryHotStore {
      readonly gate = Promise.withResolvers<undefined>()
      override async append(request: Parameters<MemoryHotStore['append']>[0]): ReturnType<MemoryHotStore['append']> {
        await this.gate.promise
        return super.append(request)
      }
    }
    groups.close()
    await app.close()
    const store = new GatedStore()
    await build({ ZOMBI_MAX_INFLIGHT_WRITES: '2' }, store)
    const writes = [0, 1].map((i) => post('/tables/gated', { payload: `w${i}`, partition: 0 }))
    let ready = await app.inject('/health/ready')
    for (let i = 0; i < 100 && ready.statusCode === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      ready = await app.inject('/health/ready')
    }
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ status: 'unavailable', components: { backpressure: { ok: false, detail: expect.stringMatching(/^2\/2 writes/) }, hot_storage: { ok: true } } })
    store.gate.resolve(undefined)
    expect((await Promise.all(writes)).map((response) => response.statusCode)).toEqual([202, 202])
    expect((await app.inject('/health/ready')).json()).toMatchObject({ status: 'ok', components: { backpressure: { ok: true } } })
  })

  it('reports readiness per component, 503 naming the failing one', async () => {
    expect((await app.inject('/health/ready')).statusCode).toBe(200)
    healthy = false
    const response = await app.inject('/health/ready')
    expect(response.statusCode).toBe(503)
    expect(response.json()).toMatchObject({ status: 'unavailable', components: { hot_storage: { ok: false } } })
    expect((await app.inject('/health/live')).statusCode).toBe(200)
  })

  it('flushes a table on request and describes its Iceberg side, and says compaction is not there yet', async () => {
    await post('/tables/iceberg', { payload: 'x', partition: 0 })
    const flush = await post('/tables/iceberg/flush', {})
    expect(flush.statusCode).toBe(200)
    expect(flush.json()).toMatchObject({ table: 'iceberg', rows: 3, flushed_offsets: { 0: 3 } })
    expect(flushed).toContain('iceberg')
    const metadata = (await app.inject('/tables/iceberg/metadata')).json()
    expect(metadata).toMatchObject({ table: 'iceberg', metadata_location: null, snapshots: 0, high_watermarks: { 0: 1 } })
    const compact = await post('/tables/iceberg/compact', {})
    expect(compact.statusCode).toBe(202)
    expect(compact.json()).toMatchObject({ status: 'not_implemented' })
    expect((await post('/tables/missing/flush', {})).statusCode).toBe(404)
  })

  it('serves Prometheus metrics with the zombi_ families', async () => {
    await post('/tables/metered', { payload: 'x' })
    const text = (await app.inject('/metrics')).body
    for (const name of ['zombi_uptime_seconds', 'zombi_writes_total{door="http"} 1', 'zombi_write_latency_seconds_bucket', 'zombi_inflight_bytes', 'zombi_write_permits_available']) expect(text).toContain(name)
  })

  it('serves the OpenAPI document, and docs/openapi.yaml is the same (npm run docs:openapi)', async () => {
    const served = (await app.inject('/openapi.yaml')).body
    expect(served).toMatch(/^openapi: 3\.1\.0/)
    for (const path of ['/tables/{table}', '/tables/{table}/bulk', '/tables/{table}/stream', '/consumers/{group}/commit', '/consumers/{group}/offset', '/health/ready', '/metrics']) expect(served).toContain(`${path}:`)
    expect(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')).toBe(served)
  })
})
