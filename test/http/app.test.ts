import { pino } from 'pino'
import { readFileSync } from 'node:fs'
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeLog } from '../support/log.ts'
import { loadConfig } from '../../src/config/index.ts'
import { buildHttpApp } from '../../src/http/app.ts'
import { GroupCoordinator } from '../../src/groups/coordinator.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import { decodeBatch } from '../../src/protocol/records.ts'
import { SchemaRegistry } from '../../src/schema/registry.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { storedBatches } from '../log/stored.ts'

let app: FastifyInstance
let log: BrokerLog
let groups: GroupCoordinator
let healthy = true
const flushed: string[] = []
const compacted: string[] = []
const clientRequests: ClientRequest[] = []
/** Set by a test: the next flush fails with it (an unexpected error, not a problem the API knows). */
let flushFailure: Error | null = null
const logLines: string[] = []
const capturingLogger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) })

async function build(env: Record<string, string> = {}, store: MemoryHotStore = new MemoryHotStore()): Promise<void> {
  log = (await makeLog({ store })).log
  const config = loadConfig({ ZOMBI_DEFAULT_PARTITIONS: '3', ...env })
  log = new BrokerLog({
    store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 1 << 20,
    autoCreateTopics: config.autoCreateTopics, defaultPartitions: config.defaultPartitions,
  })
  await log.open()
  groups = new GroupCoordinator(log, silentLogger, config)
  await groups.load()
  const keys = new IdempotencyKeys(store)
  // Served so /openapi.yaml lists the registry's routes too, as docs/openapi.yaml does.
  const schemaRegistry = await SchemaRegistry.open(store, { maxVersions: config.schemaRegistryMaxVersions, maxBytes: config.schemaRegistryMaxBytes }, silentLogger)
  app = await buildHttpApp({
    log, groups, keys, metrics: new Metrics(), config, schemaRegistry, logger: capturingLogger,
    components: () => ({ hot_storage: { ok: healthy } }),
    stats: () => ({ kafka_connections: 0 }),
    iceberg: {
      flush: async (table) => {
        if (flushFailure !== null) throw flushFailure
        flushed.push(table)
        return { rows: 3, files: 1, bytes: 100, snapshots: 1, flushedOffsets: { 0: 3 } }
      },
      describe: async () => null,
      compact: async (table) => {
        compacted.push(table)
        return { filesIn: 12, filesOut: 2, bytesIn: 12_000, bytesOut: 3_000, rows: 60, seconds: 0.25, snapshotId: '9007199254740993', commitAttempts: 1 }
      },
    },
  })
}

beforeEach(async () => {
  healthy = true
  flushFailure = null
  logLines.length = 0
  await build()
})

afterEach(async () => {
  // A failed test may leave a chunked request open, which app.close() would wait for.
  for (const request of clientRequests.splice(0)) request.destroy()
  groups.close()
  await app.close()
})

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> })

describe('internal errors', () => {
  it('answers 500 without details and logs the error with the request', async () => {
    expect((await post('/tables/orders', { payload: 'hello' })).statusCode).toBe(202)
    flushFailure = new Error('the disk caught fire')
    const response = await post('/tables/orders/flush', {})
    expect(response.statusCode).toBe(500)
    expect(response.json()).toEqual({ error: 'internal', message: 'internal error; see the broker log' })
    expect(response.body).not.toContain('fire')
    const lines = logLines.map((line) => JSON.parse(line) as { msg: string; url: string; err: { message: string } })
    expect(lines).toEqual([expect.objectContaining({ msg: 'HTTP request failed with an internal error', url: '/tables/orders/flush', err: expect.objectContaining({ message: 'the disk caught fire' }) })])
  })
})

describe('writes', () => {
  it('writes one record through the log and answers 202 with its offset and partition', async () => {
    const response = await post('/tables/orders', { payload: 'hello', key: 'customer-7', headers: { source: 'test' }, timestamp_ms: 1_700_000_000_000 })
    expect(response.statusCode).toBe(202)
    const body = response.json<{ offset: number; partition: number; table: string }>()
    expect(body).toMatchObject({ offset: 0, table: 'orders' })
    const partition = log.topicByName('orders')!.partitions[body.partition]!
    const record = decodeBatch(storedBatches(partition)[0]!).records[0]!
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
    const record = decodeBatch(storedBatches(log.topicByName('binary')!.partitions[0]!)[0]!).records[0]!
    expect(record.value!.equals(bytes)).toBe(true)
    expect(record.key!.equals(Buffer.from([9]))).toBe(true)
  })

  it('writes a bulk request with dense offsets per partition', async () => {
    const response = await post('/tables/bulk/bulk', { records: [{ payload: 'a', partition: 1 }, { payload: 'b', partition: 1 }, { payload: 'c', partition: 0 }] })
    expect(response.statusCode).toBe(202)
    expect(response.json()).toEqual({ offsets: [0, 1, 0], partitions: [1, 1, 0], count: 3 })
  })

  it('writes a bulk of 100,000 records, the schema\'s maximum, as several batches within max.message.bytes', async () => {
    const records = Array.from({ length: 100_000 }, (_, i) => ({ payload: `record-${i}`, partition: 0 }))
    const response = await post('/tables/largest/bulk', { records })
    expect(response.statusCode).toBe(202)
    const body = response.json<{ offsets: number[]; partitions: number[]; count: number }>()
    expect(body.count).toBe(100_000)
    expect(body.offsets.every((offset, i) => offset === i && body.partitions[i] === 0)).toBe(true)
    const partition = log.topicByName('largest')!.partitions[0]!
    expect(partition.highWatermark).toBe(100_000)
    const batches = storedBatches(partition)
    expect(batches.length).toBeGreaterThan(1)
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(1_048_588)
    const page = (await app.inject('/tables/largest/stream?partition=0&offset=99998')).json<{ events: Array<{ offset: number; payload: string }> }>()
    expect(page.events.map((e) => [e.offset, e.payload])).toEqual([[99_998, 'record-99998'], [99_999, 'record-99999']])
  })

  it('refuses a record too large for a batch of its own with 413 naming it, and writes none of its bulk', async () => {
    const bulk = await post('/tables/oversized/bulk', { records: [{ payload: 'small', partition: 1 }, { payload: 'x'.repeat(1_048_588), partition: 0 }] })
    expect([bulk.statusCode, bulk.json()]).toEqual([413, { error: 'record_too_large', message: expect.stringMatching(/^records\[1\] takes 1048\d{3} bytes as a record batch, over max\.message\.bytes 1048588 of table oversized$/) }])
    expect(log.topicByName('oversized')!.partitions.every((p) => p.highWatermark === 0)).toBe(true)
    const single = await post('/tables/oversized', { payload: 'x'.repeat(1_048_588) })
    expect([single.statusCode, single.json<{ message: string }>().message]).toEqual([413, expect.stringMatching(/^the record takes/)])
  })

  it('returns the first write for a repeated idempotency key and writes nothing', async () => {
    const first = (await post('/tables/idem', { payload: 'one', idempotency_key: 'abc', partition: 2 })).json()
    const again = await post('/tables/idem', { payload: 'one (retry)', idempotency_key: 'abc', partition: 2 })
    expect(again.statusCode).toBe(202)
    expect(again.json()).toEqual(first)
    expect(log.topicByName('idem')!.partitions[2]!.highWatermark).toBe(1)
    const bulk = (await post('/tables/idem/bulk', { records: [{ payload: 'x', idempotency_key: 'k', partition: 0 }, { payload: 'y', idempotency_key: 'k', partition: 0 }] })).json()
    expect(bulk).toEqual({ offsets: [0, 0], partitions: [0, 0], count: 2 })
    expect(log.topicByName('idem')!.partitions[0]!.highWatermark).toBe(1)
  })

  it('keeps an idempotency key unique per table: retries with no key or partition land once, wherever round robin would put them', async () => {
    const total = () => log.topicByName('unique')!.partitions.reduce((sum, p) => sum + p.highWatermark, 0)
    const answers = []
    for (let i = 0; i < 6; i++) answers.push((await post('/tables/unique', { payload: 'order', idempotency_key: 'order-1' })).json())
    answers.push(...(await Promise.all([0, 1, 2].map(() => post('/tables/unique', { payload: 'order', idempotency_key: 'order-1' })))).map((r) => r.json()))
    // Naming another partition does not make it a new write either.
    const first = answers[0] as { partition: number; offset: number }
    answers.push((await post('/tables/unique', { payload: 'order', idempotency_key: 'order-1', partition: (first.partition + 1) % 3 })).json())
    expect(answers).toEqual(answers.map(() => first))
    expect(total()).toBe(1)
    const bulk = (await post('/tables/unique/bulk', { records: [{ payload: 'a', idempotency_key: 'twice' }, { payload: 'b' }, { payload: 'a', idempotency_key: 'twice' }, { payload: 'c', idempotency_key: 'order-1' }] })).json<{ offsets: number[]; partitions: number[] }>()
    expect([bulk.partitions[2], bulk.offsets[2]]).toEqual([bulk.partitions[0], bulk.offsets[0]])
    expect([bulk.partitions[3], bulk.offsets[3]]).toEqual([first.partition, first.offset])
    expect(total()).toBe(3)
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
    expect(accepted.json()).toMatchObject({ offsets: [1, 2], partitions: [0, 0] })
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

  it('refuses a body that is not valid UTF-8 instead of storing U+FFFD in place of the bytes', async () => {
    await post('/tables/bytes', { payload: 'seed', partition: 0 })
    const body = Buffer.concat([Buffer.from('{"payload":"caf'), Buffer.from([0xe9]), Buffer.from('","partition":0}')])
    const response = await app.inject({ method: 'POST', url: '/tables/bytes', payload: body, headers: { 'content-type': 'application/json' } })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({ error: 'invalid_encoding', message: 'the request body is not valid UTF-8; JSON must be UTF-8 text: send bytes as base64 with "encoding":"base64"' })
    expect(log.topicByName('bytes')!.partitions[0]!.highWatermark).toBe(1)
  })

  it.each([
    ['a payload', { payload: 'a\ud800b' }, 'body/payload'],
    ['a key', { payload: 'x', key: '\udfff' }, 'body/key'],
    ['a header value', { payload: 'x', headers: { h: '\udbff' } }, 'body/headers/h'],
    ['a header name', { payload: 'x', headers: { '\ud800': 'v' } }, 'body/headers/\ufffd'],
    ['an idempotency key', { payload: 'x', idempotency_key: 'k\ud800' }, 'body/idempotency_key'],
  ])('refuses a lone surrogate escaped in %s, which has no UTF-8 form', async (_label, body, path) => {
    const response = await post('/tables/surrogates', body)
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({ error: 'invalid_encoding', message: `${path} holds a lone UTF-16 surrogate (such as \\ud800), which has no UTF-8 form: send bytes as base64 with "encoding":"base64"` })
    expect(log.topicByName('surrogates')).toBeUndefined()
  })

  it('refuses a lone surrogate inside a bulk record and in a commit\'s metadata, naming where', async () => {
    const bulk = await post('/tables/surrogates/bulk', { records: [{ payload: 'fine' }, { payload: '\ud800' }] })
    expect([bulk.statusCode, bulk.json<{ message: string }>().message]).toEqual([400, expect.stringMatching(/^body\/records\/1\/payload holds a lone UTF-16 surrogate/)])
    expect(log.topicByName('surrogates')).toBeUndefined()
    await post('/tables/committed', { payload: 'x', partition: 0 })
    const commit = await post('/consumers/readers/commit', { topic: 'committed', partition: 0, offset: 1, metadata: '\udc00' })
    expect([commit.statusCode, commit.json<{ message: string }>().message]).toEqual([400, expect.stringMatching(/^body\/metadata holds a lone UTF-16 surrogate/)])
  })

  it('keeps escaped surrogate pairs and an escaped backslash before "ud800" byte-exact', async () => {
    const text = '{"payload":"\\ud83d\\ude00 \\\\ud800","partition":0}'
    const response = await app.inject({ method: 'POST', url: '/tables/escapes', payload: text, headers: { 'content-type': 'application/json; charset=utf-8' } })
    expect(response.statusCode).toBe(202)
    const record = decodeBatch(storedBatches(log.topicByName('escapes')!.partitions[0]!)[0]!).records[0]!
    expect(record.value!.equals(Buffer.from('\u{1f600} \\ud800', 'utf8'))).toBe(true)
  })

  it('writes nothing of a bulk request with one bad record', async () => {
    const response = await post('/tables/allornothing/bulk', { records: [{ payload: 'fine' }, { payload: '%%', encoding: 'base64' }] })
    expect(response.statusCode).toBe(400)
    expect(response.json<{ message: string }>().message).toMatch(/records\[1\]\.payload is not valid base64/)
    expect(log.topicByName('allornothing')?.partitions.every((p) => p.highWatermark === 0) ?? true).toBe(true)
  })

  it('writes and reads a table with a 249-character name (Kafka\'s longest), and refuses 250 characters with a 400 naming the limit', async () => {
    const longest = 't'.repeat(249)
    const written = await post(`/tables/${longest}`, { payload: 'long name', partition: 0 })
    expect([written.statusCode, written.json()]).toEqual([202, { offset: 0, partition: 0, table: longest }])
    const page = (await app.inject(`/tables/${longest}/stream?partition=0`)).json<{ events: Array<{ payload: string }> }>()
    expect(page.events.map((e) => e.payload)).toEqual(['long name'])
    expect((await app.inject(`/tables/${longest}`)).json()).toMatchObject({ count: 1 })
    const tooLong = 't'.repeat(250)
    for (const response of [await post(`/tables/${tooLong}`, { payload: 'x' }), await app.inject(`/tables/${tooLong}/stream`)]) {
      expect([response.statusCode, response.json()]).toEqual([400, { error: 'invalid_request', message: 'params/table must NOT have more than 249 characters' }])
    }
    expect(log.topicByName(tooLong)).toBeUndefined()
    // Group names are not capped at the router's old 100 characters either.
    const group = 'g'.repeat(300)
    expect((await post(`/consumers/${group}/commit`, { topic: longest, partition: 0, offset: 1 })).statusCode).toBe(200)
    expect((await app.inject(`/consumers/${group}/offset?topic=${longest}`)).json()).toMatchObject({ offset: 1 })
  })

  it('answers 404 for unknown tables on reads, and for writes when auto-create is off', async () => {
    expect((await app.inject('/tables/missing/stream')).statusCode).toBe(404)
    await app.close()
    await build({ ZOMBI_AUTO_CREATE_TOPICS: 'false' })
    const response = await post('/tables/missing', { payload: 'x' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toMatchObject({ error: 'not_found' })
  })

  // ajv alone coerces "0x1" to 1, "1e3" to 1000 and "" to 0: a typo must not read another offset.
  it.each([
    ['/tables/reads/stream?partition=', 'partition'],
    ['/tables/reads/stream?offset=0x1', 'offset'],
    ['/tables/reads/stream?offset=1e3', 'offset'],
    ['/tables/reads/stream?offset=%201', 'offset'],
    ['/tables/reads/stream?offset=1.0', 'offset'],
    ['/tables/reads/stream?offset=', 'offset'],
    ['/tables/reads/stream?offset=+1', 'offset'],
    ['/tables/reads/stream?limit=0b11', 'limit'],
    ['/tables/reads/stream?wait_ms=Infinity', 'wait_ms'],
    ['/tables/reads?since=1e12', 'since'],
    ['/tables/reads?limit=0x10', 'limit'],
    ['/consumers/readers/offset?topic=reads&partition=0x0', 'partition'],
  ])('refuses %s: integer query parameters are decimal digits only', async (url, parameter) => {
    await post('/tables/reads', { payload: 'x', partition: 0 })
    const response = await app.inject(url)
    expect([response.statusCode, response.json()]).toEqual([400, { error: 'invalid_request', message: `querystring/${parameter} must be an integer in decimal digits (such as 42)` }])
  })

  it('still reads decimal query integers, and refuses a negative one by its bound', async () => {
    await post('/tables/reads/bulk', { records: [{ payload: 'a', partition: 0 }, { payload: 'b', partition: 0 }] })
    expect((await app.inject('/tables/reads/stream?partition=0&offset=01&limit=5&wait_ms=0')).json()).toMatchObject({ events: [{ offset: 1, payload: 'b' }] })
    expect((await app.inject('/tables/reads/stream?offset=-1')).json()).toEqual({ error: 'invalid_request', message: 'querystring/offset must be >= 0' })
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
    expect(String(wrongMethod.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST', 'PUT'])
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
    expect(ready.json()).toMatchObject({
      status: 'not_ready',
      backpressure: { status: 'saturated', inflight_writes: 2, max_inflight_writes: 2 },
      components: { backpressure: { ok: false, detail: expect.stringMatching(/^2\/2 writes/) }, hot_storage: { ok: true } },
    })
    store.gate.resolve(undefined)
    expect((await Promise.all(writes)).map((response) => response.statusCode)).toEqual([202, 202])
    expect((await app.inject('/health/ready')).json()).toMatchObject({ status: 'ready', backpressure: { status: 'ok', inflight_writes: 0 }, components: { backpressure: { ok: true } } })
  })

  /** A bulk write whose body goes chunked (no Content-Length): `first` is sent at once, the end of the body when asked. */
  function chunkedWrite(port: number, table: string, first: string) {
    const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `/tables/${table}/bulk`, headers: { 'content-type': 'application/json' } })
    clientRequests.push(request)
    const state = { answered: false }
    const answer = new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      request.on('response', (response) => {
        state.answered = true
        let body = ''
        response.on('data', (chunk: Buffer) => { body += chunk.toString() })
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }))
      })
      request.on('error', reject)
    })
    request.write(first)
    return { answer, state, finish: () => request.end('"}]}'), abort: () => request.destroy() }
  }

  const inflight = async () => (await app.inject('/stats')).json<{ inflight_writes: number; inflight_bytes: number }>()

  /** Polls /stats (no timing is asserted: the loop only bounds the wait) until `done` holds. */
  async function untilStats(done: (stats: { inflight_writes: number; inflight_bytes: number }) => boolean) {
    let stats = await inflight()
    for (let i = 0; i < 1000 && !done(stats); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      stats = await inflight()
    }
    return stats
  }

  async function listenWithBudget(): Promise<number> {
    groups.close()
    await app.close()
    await build({ ZOMBI_MAX_INFLIGHT_BYTES_MB: '1' })
    await app.listen({ host: '127.0.0.1', port: 0 })
    return (app.server.address() as { port: number }).port
  }

  const bodyStart = '{"records":[{"partition":0,"payload":"'

  it('counts a chunked body against the byte budget as it streams: past it 429 with Retry-After, and every byte is released', async () => {
    const port = await listenWithBudget()
    const first = bodyStart + 'a'.repeat(600_000)
    const holding = chunkedWrite(port, 'chunked', first)
    expect(await untilStats((stats) => stats.inflight_bytes === first.length)).toMatchObject({ inflight_writes: 1, inflight_bytes: first.length })
    // 2 x 600 KB would pass the 1 MiB budget: the second is refused while its body is still streaming.
    const refused = chunkedWrite(port, 'chunked', bodyStart + 'b'.repeat(600_000))
    const answer = await refused.answer
    expect([answer.status, answer.headers['retry-after'], JSON.parse(answer.body).error]).toEqual([429, '1', 'backpressure'])
    holding.finish()
    expect((await holding.answer).status).toBe(202)
    expect(await untilStats((stats) => stats.inflight_writes === 0)).toMatchObject({ inflight_writes: 0, inflight_bytes: 0 })
    expect((await app.inject('/metrics')).body).toMatch(/^zombi_inflight_bytes 0$/m)
    expect((await post('/tables/chunked', { payload: 'after', partition: 0 })).json()).toMatchObject({ offset: 1 })
    // A body that alone is over the budget could never be admitted: 413, not a 429 to retry forever.
    expect((await post('/tables/chunked', { payload: 'c'.repeat(1_100_000), partition: 0 })).statusCode).toBe(413)
    expect((await chunkedWrite(port, 'chunked', bodyStart + 'c'.repeat(1_100_000)).answer).status).toBe(413)
    expect(await untilStats((stats) => stats.inflight_writes === 0)).toMatchObject({ inflight_writes: 0, inflight_bytes: 0 })
  })

  it('refuses most of many concurrent chunked writes over a small budget, and leaks none of it', async () => {
    const port = await listenWithBudget()
    const first = bodyStart + 'x'.repeat(300_000)
    const writers = Array.from({ length: 20 }, () => chunkedWrite(port, 'flood', first))
    // Each body's first part is now either refused or wholly counted; at most 3 fit in 1 MiB.
    await untilStats((stats) => writers.filter((w) => w.state.answered).length + stats.inflight_bytes / first.length === writers.length)
    for (const writer of writers) if (!writer.state.answered) writer.finish()
    const answers = await Promise.all(writers.map((w) => w.answer))
    const accepted = answers.filter((a) => a.status === 202).length
    const refused = answers.filter((a) => a.status === 429 && a.headers['retry-after'] === '1')
    expect(accepted).toBeGreaterThanOrEqual(1)
    expect(accepted).toBeLessThanOrEqual(3)
    expect(refused.length).toBe(writers.length - accepted)
    expect(await untilStats((stats) => stats.inflight_writes === 0)).toMatchObject({ inflight_writes: 0, inflight_bytes: 0 })
    expect(log.topicByName('flood')!.partitions[0]!.highWatermark).toBe(accepted)
    expect((await post('/tables/flood', { payload: 'after', partition: 0 })).statusCode).toBe(202)
  })

  it('releases the budget of a chunked write whose client goes away mid-body', async () => {
    const port = await listenWithBudget()
    const first = bodyStart + 'z'.repeat(300_000)
    const aborted = chunkedWrite(port, 'aborted', first)
    aborted.answer.catch(() => undefined)
    expect(await untilStats((stats) => stats.inflight_bytes === first.length)).toMatchObject({ inflight_writes: 1, inflight_bytes: first.length })
    aborted.abort()
    expect(await untilStats((stats) => stats.inflight_writes === 0)).toMatchObject({ inflight_writes: 0, inflight_bytes: 0 })
    expect(log.topicByName('aborted')?.partitions.every((p) => p.highWatermark === 0) ?? true).toBe(true)
  })

  it('limits the bodies of commits, flushes and compactions, which are outside the write budget', async () => {
    await post('/tables/control', { payload: 'x', partition: 0 })
    const big = await post('/consumers/readers/commit', { topic: 'control', partition: 0, offset: 1, metadata: 'm'.repeat(100_000) })
    expect([big.statusCode, big.json()]).toMatchObject([413, { error: 'payload_too_large' }])
    expect((await post('/tables/control/flush', { padding: 'p'.repeat(100_000) })).statusCode).toBe(413)
    expect((await post('/tables/control/compact', { padding: 'p'.repeat(100_000) })).statusCode).toBe(413)
  })

  it('reports readiness per component, 503 naming the failing one', async () => {
    expect((await app.inject('/health/ready')).statusCode).toBe(200)
    healthy = false
    const response = await app.inject('/health/ready')
    expect(response.statusCode).toBe(503)
    expect(response.json()).toMatchObject({ status: 'not_ready', hot_storage: { status: 'unavailable' }, components: { hot_storage: { ok: false } } })
    expect((await app.inject('/health')).json()).toMatchObject({ status: 'unavailable', components: { hot_storage: { ok: false } } })
    expect((await app.inject('/health/live')).statusCode).toBe(200)
  })

  it('flushes and compacts a table on request and describes its Iceberg side', async () => {
    await post('/tables/iceberg', { payload: 'x', partition: 0 })
    const flush = await post('/tables/iceberg/flush', {})
    expect(flush.statusCode).toBe(200)
    expect(flush.json()).toMatchObject({ table: 'iceberg', rows: 3, flushed_offsets: { 0: 3 } })
    expect(flushed).toContain('iceberg')
    const metadata = (await app.inject('/tables/iceberg/metadata')).json()
    expect(metadata).toMatchObject({ table: 'iceberg', metadata_location: null, snapshots: 0, high_watermarks: { 0: 1 } })
    const compact = await post('/tables/iceberg/compact', {})
    expect(compact.statusCode).toBe(200)
    expect(compact.json()).toEqual({
      table: 'iceberg', files_in: 12, files_out: 2, bytes_in: 12_000, bytes_out: 3_000, rows: 60, seconds: 0.25, snapshot_id: '9007199254740993', commit_attempts: 1,
    })
    expect(compacted).toEqual(['iceberg'])
    expect((await post('/tables/missing/compact', {})).statusCode).toBe(404)
    expect((await post('/tables/missing/flush', {})).statusCode).toBe(404)
  })

  it('serves Prometheus metrics with the zombi_ families', async () => {
    await post('/tables/metered', { payload: 'x' })
    const text = (await app.inject('/metrics')).body
    for (const name of ['zombi_uptime_seconds', 'zombi_writes_total{door="http"} 1', 'zombi_write_latency_seconds_bucket', 'zombi_inflight_bytes', 'zombi_write_permits_available']) expect(text).toContain(name)
  })

  it('counts the payload bytes of single and bulk writes as stored (base64 decoded, text as UTF-8)', async () => {
    const before = /zombi_write_bytes_total\{door="http"\} (\d+)/.exec((await app.inject('/metrics')).body)
    await post('/tables/bytes', { payload: 'héllo' })
    await post('/tables/bytes/bulk', { records: [{ payload: 'abc' }, { payload: 'aGk=', encoding: 'base64' }] })
    const after = /zombi_write_bytes_total\{door="http"\} (\d+)/.exec((await app.inject('/metrics')).body)
    expect(Number(after![1]) - Number(before?.[1] ?? 0)).toBe(6 + 3 + 2)
  })

  it('serves the OpenAPI document, and docs/openapi.yaml is the same (npm run docs:openapi)', async () => {
    const served = (await app.inject('/openapi.yaml')).body
    expect(served).toMatch(/^openapi: 3\.1\.0/)
    for (const path of ['/tables/{table}', '/tables/{table}/bulk', '/tables/{table}/stream', '/consumers/{group}/commit', '/consumers/{group}/offset', '/health/ready', '/metrics']) expect(served).toContain(`${path}:`)
    expect(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')).toBe(served)
  })
})

describe('table configs', () => {
  it('PUT /tables/{t} creates the topic with partitions and configs; a second PUT is 409; bad configs are 400 and create nothing', async () => {
    const created = await app.inject({ method: 'PUT', url: '/tables/typed', payload: { partitions: 2, configs: { 'zombi.iceberg.mode': 'value_schema_id_prefix' } } })
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({ table: 'typed', partitions: 2, configs: { 'zombi.iceberg.mode': 'value_schema_id_prefix' }, effective: { 'zombi.iceberg.mode': 'value_schema_id_prefix', 'retention.ms': '-1' } })
    expect(log.topicByName('typed')?.configs).toEqual({ 'zombi.iceberg.mode': 'value_schema_id_prefix' })
    const again = await app.inject({ method: 'PUT', url: '/tables/typed', payload: {} })
    expect([again.statusCode, again.json().error]).toEqual([409, 'table_exists'])
    const bad = await app.inject({ method: 'PUT', url: '/tables/other', payload: { configs: { 'zombi.iceberg.mode': 'avro' } } })
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid_request'])
    expect(bad.json().message).toMatch(/zombi.iceberg.mode=avro must be one of/)
    expect(log.topicByName('other')).toBeUndefined()
    const defaults = await app.inject({ method: 'PUT', url: '/tables/plain' })
    expect([defaults.statusCode, defaults.json().partitions, defaults.json().configs]).toEqual([201, 3, {}])
  })

  it('GET and PATCH /tables/{t}/config read and change the configs (null back to the default), all or nothing', async () => {
    await app.inject({ method: 'PUT', url: '/tables/typed', payload: { configs: { 'retention.ms': '1000' } } })
    const changed = await app.inject({ method: 'PATCH', url: '/tables/typed/config', payload: { configs: { 'zombi.iceberg.mode': 'json', 'retention.ms': null } } })
    expect(changed.statusCode).toBe(200)
    expect(changed.json().configs).toEqual({ 'zombi.iceberg.mode': 'json' })
    const refused = await app.inject({ method: 'PATCH', url: '/tables/typed/config', payload: { configs: { 'retention.ms': '5', 'no.such': '1' } } })
    expect(refused.statusCode).toBe(400)
    const read = await app.inject('/tables/typed/config')
    expect(read.json()).toMatchObject({ configs: { 'zombi.iceberg.mode': 'json' }, effective: { 'retention.ms': '-1', 'zombi.iceberg.mode': 'json' } })
    expect((await app.inject('/tables/missing/config')).statusCode).toBe(404)
  })
})
