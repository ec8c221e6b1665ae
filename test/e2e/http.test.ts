// The HTTP door against the real server: cross-protocol with kcat both ways, idempotency keys
// (unique per table) across a kill -9, and backpressure under a flood of concurrent writes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { runKcat } from './fixtures/kcat.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_MAX_INFLIGHT_WRITES: '4', ZOMBI_DEFAULT_PARTITIONS: '4' })
})

afterAll(async () => {
  await broker?.cleanup()
})

async function postJson(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${broker.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

describe('HTTP API end to end', () => {
  test('a record written over HTTP is consumed by kcat with key, value and headers', async () => {
    const table = uniqueTopic('http-to-kcat')
    const written = await postJson(`/tables/${table}`, { payload: 'from http', key: 'k1', headers: { origin: 'http' }, partition: 0 })
    expect(written.status).toBe(202)
    const read = await runKcat(['-b', broker.bootstrap, '-C', '-t', table, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k|%s|%h\n'])
    expect(read.stdout.toString().trim()).toBe('k1|from http|origin=http')
  })

  test('a record produced by kcat is read over HTTP', async () => {
    const table = uniqueTopic('kcat-to-http')
    const produced = await runKcat(['-b', broker.bootstrap, '-P', '-t', table, '-p', '0', '-K', ':', '-H', 'via=kcat'], { input: 'key-9:from kcat\n' })
    expect(produced.code).toBe(0)
    const response = await fetch(`${broker.httpUrl}/tables/${table}/stream?partition=0&offset=0`)
    const page = await response.json() as { events: Array<{ key: string; payload: string; headers: Record<string, string> }> }
    expect(page.events.map((e) => [e.key, e.payload, e.headers.via])).toEqual([['key-9', 'from kcat', 'kcat']])
  })

  test('an idempotency key still deduplicates after a kill -9 and restart', async () => {
    const table = uniqueTopic('http-idem')
    const first = await postJson(`/tables/${table}`, { payload: 'once', idempotency_key: 'order-1', partition: 0 })
    await broker.kill9()
    await broker.restart()
    const retry = await postJson(`/tables/${table}`, { payload: 'once', idempotency_key: 'order-1', partition: 0 })
    expect(retry.body).toEqual(first.body)
    const page = await (await fetch(`${broker.httpUrl}/tables/${table}/stream?partition=0&offset=0`)).json() as { events: unknown[] }
    expect(page.events).toHaveLength(1)
  })

  test('an idempotency key is unique per table: retries with no key or partition land once on a 4-partition table, also after a kill -9 and restart', async () => {
    const table = uniqueTopic('http-idem-table')
    const send = () => postJson(`/tables/${table}`, { payload: 'once', idempotency_key: 'order-2' })
    const answers = [await send(), await send(), ...await Promise.all([send(), send(), send()])]
    await broker.kill9()
    await broker.restart()
    answers.push(await send(), await send(), await send(), await send())
    const first = answers[0]!.body
    expect(first).toMatchObject({ table, offset: 0 })
    expect(answers.map((a) => [a.status, a.body])).toEqual(answers.map(() => [202, first]))
    const tables = await (await fetch(`${broker.httpUrl}/tables`)).json() as { tables: Array<{ name: string; partitions: number; records: number }> }
    expect(tables.tables.find((t) => t.name === table)).toMatchObject({ partitions: 4, records: 1 })
  })

  test('the specification\'s examples work unchanged: bulk events, offsets, sequence, readiness, and compaction of a table with nothing to compact', async () => {
    const table = uniqueTopic('spec-examples')
    const single = await postJson(`/tables/${table}`, { payload: '{"user_id": 123, "action": "click"}', partition: 0 })
    expect(single).toEqual({ status: 202, body: { offset: 0, partition: 0, table } })
    const bulk = await postJson(`/tables/${table}/bulk`, { events: [{ payload: '{"user_id": 1}', partition: 0 }, { payload: '{"user_id": 2}', partition: 0 }] })
    expect(bulk).toEqual({ status: 202, body: { offsets: [1, 2], partitions: [0, 0], count: 2 } })
    const page = await (await fetch(`${broker.httpUrl}/tables/${table}/stream?partition=0&offset=0&limit=10`)).json() as { events: Array<{ sequence: number; offset: number; payload: string }>; next_offset: number; has_more: boolean }
    expect(page.events.map((e) => [e.sequence, e.offset, e.payload])).toEqual([[0, 0, '{"user_id": 123, "action": "click"}'], [1, 1, '{"user_id": 1}'], [2, 2, '{"user_id": 2}']])
    expect([page.next_offset, page.has_more]).toEqual([3, false])
    const ready = await fetch(`${broker.httpUrl}/health/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({
      status: 'ready', hot_storage: { status: 'ok' }, cold_storage: { status: 'ok' },
      backpressure: { status: 'ok', inflight_writes: expect.any(Number), inflight_bytes: expect.any(Number), max_inflight_bytes: expect.any(Number) },
    })
    const compact = await postJson(`/tables/${table}/compact`, {})
    expect(compact).toMatchObject({ status: 200, body: { table, files_in: 0, files_out: 0, snapshot_id: null } })
  })

  test('a request whose headers are over the limit gets 431 with the API error shape, not a bare socket error', async () => {
    const response = await fetch(`${broker.httpUrl}/consumers/${'g'.repeat(20_000)}/offset?topic=t`)
    expect(response.status).toBe(431)
    expect(await response.json()).toMatchObject({ error: 'headers_too_large' })
  })

  test('a flood of concurrent writes gets 429s with Retry-After, and every accepted write is readable', async () => {
    const table = uniqueTopic('http-flood')
    await postJson(`/tables/${table}`, { payload: 'warm-up', partition: 0 })
    const responses = await Promise.all(Array.from({ length: 300 }, (_, i) => fetch(`${broker.httpUrl}/tables/${table}/bulk`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records: Array.from({ length: 50 }, (_, j) => ({ payload: `w${i}-${j}`, partition: 0 })) }),
    })))
    const statuses = responses.map((r) => r.status)
    expect(statuses.every((s) => s === 202 || s === 429)).toBe(true)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0)
    expect(responses.find((r) => r.status === 429)!.headers.get('retry-after')).toBe('1')
    const accepted = statuses.filter((s) => s === 202).length
    await Promise.all(responses.map((r) => r.arrayBuffer()))
    const health = await fetch(`${broker.httpUrl}/health/live`)
    expect(health.status).toBe(200)
    const stats = await (await fetch(`${broker.httpUrl}/tables`)).json() as { tables: Array<{ name: string; records: number }> }
    expect(stats.tables.find((t) => t.name === table)!.records).toBe(1 + accepted * 50)
  })
})
