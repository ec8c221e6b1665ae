// Typed tables fed by Confluent's own serializers (confluent-kafka[avro,json,protobuf,schemaregistry] from
// PyPI, compat-tests/confluent-kafka-python/typed_serializers.py) pointed at the broker's registry: for Avro,
// JSON Schema and Protobuf, a zombi.iceberg.mode=value_schema_id_prefix topic gets two compatible schema
// versions (auto-registered) and undecodable records, an incompatible third version is refused; after
// POST /tables/{t}/flush, DuckDB and pyiceberg read typed columns equal to the serialized values, the new
// field has a new id and is null for older rows, a nested filter prunes files, the dead-letter table holds
// exactly the bad records, and the deserializers read every record back unchanged over Kafka. Then a
// value_schema_latest topic (plain Avro bytes) and a json topic (plain JSON text).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { plannedFiles, readInfo, tableDir, type TableInfo } from '../iceberg/readers.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { python } from './fixtures/python.ts'

const script = 'compat-tests/confluent-kafka-python/typed_serializers.py'
const readers = 'compat-tests/iceberg-readers/read_table.py'
const formats = ['avro', 'json', 'protobuf'] as const
type Format = (typeof formats)[number]
type Line = Record<string, unknown>

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_FLUSH_INTERVAL_SECS: '0' })
})

afterAll(async () => {
  await broker?.cleanup()
})

/** JSON lines with integers past 2^53 kept exact as BigInt (the values under test go up to 2^53 + 1). */
function exactLines(text: string): Line[] {
  const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line, reviver as (key: string, value: unknown) => unknown) as Line)
}

async function run(scriptPath: string, args: string[]): Promise<Line[]> {
  return exactLines((await python(scriptPath, args, { timeoutMs: 90_000 })).stdout.toString('utf8'))
}

const client = (command: string, topic: string, format: string, extra: string[] = []): Promise<Line[]> =>
  run(script, [command, '--bootstrap', broker.bootstrap, '--registry', `${broker.httpUrl}/registry`, '--topic', topic, '--format', format, ...extra])

/** The named columns of every row of a table, ordered by offset, as the reader returns them. */
const columns = (table: string, names: string, reader: 'duckdb' | 'pyiceberg'): Promise<Line[]> =>
  run(readers, ['columns', tableDir(broker.dataDir, table), names, '--reader', reader])

async function createTopic(topic: string, mode: string): Promise<void> {
  const response = await fetch(`${broker.httpUrl}/tables/${topic}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ configs: { 'zombi.iceberg.mode': mode } }),
  })
  expect(response.status).toBeLessThan(300)
}

async function flush(topic: string): Promise<void> {
  const response = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
  expect(response.status).toBe(200)
}

const map = (entries: Record<string, number | bigint>): Array<{ key: string; value: number | bigint }> => Object.entries(entries).map(([key, value]) => ({ key, value }))

// The typed column as the readers return it (decimals as text, dates ISO, timestamps in µs since the epoch, maps as key/value lists).
const AVRO = [
  { id: 'a1', customer: { name: 'ada', age: 31 }, amount: '12.34', day: '2026-01-02', at: 1_767_323_045_678_901, items: ['pen', 'ink'], attrs: map({ qty: 2 }), note: 'first', score: 1.5, coupon: null },
  { id: 'a2', customer: { name: 'bob', age: 42 }, amount: '-0.05', day: '1969-12-31', at: 946_684_799_000_000, items: [], attrs: [], note: null, score: -2.25, coupon: null },
  {
    id: 'a3', customer: { name: 'cy', age: 5_000_000_000 }, amount: '9999999.99', day: '2026-12-06', at: 1_796_515_200_000_001, items: ['x'],
    attrs: map({ big: 9007199254740993n, neg: -7 }), note: null, score: 0.1, coupon: 'SAVE10',
  },
  { id: 'a4', customer: { name: 'di', age: 77 }, amount: '0.00', day: '2000-02-29', at: 951_825_600_000_000, items: ['y', 'z'], attrs: map({ w: 1 }), note: 'last', score: 3, coupon: null },
]
const JSON_VALUES = [
  { id: 'j1', customer: { name: 'ada', age: 31 }, amount: 12.5, day: '2026-01-02', at: 1_767_323_045_678_901, items: ['pen', 'ink'], attrs: map({ qty: 2 }), note: 'first', coupon: null },
  { id: 'j2', customer: { name: 'bob', age: 42 }, amount: -0.25, day: '1969-12-31', at: 946_684_799_000_000, items: [], attrs: [], note: null, coupon: null },
  // "2026-12-06T01:00:00+01:00": the instant, in UTC.
  { id: 'j3', customer: { name: 'cy', age: 65 }, amount: 0.001, day: '2026-12-06', at: 1_796_515_200_000_000, items: ['x'], attrs: map({ big: 9007199254740993n }), note: null, coupon: 'SAVE10' },
  { id: 'j4', customer: { name: 'di', age: 77 }, amount: 3, day: '2000-02-29', at: 951_825_600_500_000, items: ['y', 'z'], attrs: map({ w: 1 }), note: 'last', coupon: null },
]
const PROTOBUF = [
  { id: 'p1', customer: { name: 'ada', age: 31 }, cents: 1234, at: 1_767_323_045_678_901, items: ['pen', 'ink'], attrs: map({ qty: 2 }), coupon: null },
  { id: 'p2', customer: { name: 'bob', age: 42 }, cents: -5, at: 946_684_799_000_000, items: [], attrs: [], coupon: null },
  { id: 'p3', customer: { name: 'cy', age: 65 }, cents: 9007199254740993n, at: 1_796_515_200_000_001, items: ['x'], attrs: map({ big: -1_099_511_627_776 }), coupon: 'SAVE10' },
  // proto3 has no presence for a plain string: an unset coupon reads as "" (as every Protobuf reader sees it).
  { id: 'p4', customer: { name: 'di', age: 77 }, cents: 0, at: 951_825_600_000_000, items: ['y', 'z'], attrs: map({ w: 1 }), coupon: '' },
]
const TYPED: Record<Format, Line[]> = { avro: AVRO, json: JSON_VALUES, protobuf: PROTOBUF }
// Where the truncated body fails in each decoder.
const TRUNCATED: Record<Format, RegExp> = { avro: /truncated Avro value/, json: /not JSON/, protobuf: /index out of range/ }

/** Every field id inside a schema field, its own first. */
function ids(field: { id: number; fields?: unknown[]; element?: unknown }): number[] {
  const nested = [...(field.fields ?? []), ...(field.element === undefined ? [] : [field.element])] as Array<{ id: number }>
  return [field.id, ...nested.flatMap(ids)]
}

function valueField(info: TableInfo): { id: number; fields: Array<{ id: number; name: string; required: boolean; type: string }> } {
  return info.schema.find((field) => field.name === 'value') as unknown as { id: number; fields: Array<{ id: number; name: string; required: boolean; type: string }> }
}

describe.concurrent('Confluent serializers into typed tables', () => {
  test.each(formats)('%s: two versions become typed columns, bad records go to the dead-letter table, a third version is refused', async (format) => {
    const topic = uniqueTopic(`typed-${format}`)
    await createTopic(topic, 'value_schema_id_prefix')
    const first = await client('produce', topic, format, ['--phase', '1'])
    await flush(topic)
    const second = await client('produce', topic, format, ['--phase', '2'])
    await flush(topic)

    const produced = [...first, ...second].filter((line) => line.type === 'produced')
    const bad = first.filter((line) => line.type === 'bad')
    expect(produced.map((line) => [line.offset, line.version])).toEqual([[0, 1], [1, 1], [5, 2], [6, 2]])
    const [id1, , id2] = produced.map((line) => line.id as number)
    // Ids are global (the value_schema_latest topic registers the same Avro schemas concurrently): distinct is what holds.
    expect(id2).not.toBe(id1)
    expect(bad.map((line) => [line.kind, line.offset])).toEqual([['raw', 2], ['unknown-id', 3], ['truncated', 4]])
    expect(second.at(-1)).toMatchObject({ type: 'refused', version: 3, exception: 'SchemaRegistryError', http_status: 409 })
    expect(second.at(-1)!.message).toMatch(/incompatible with an earlier schema/)

    const expected = [
      { sequence: 0, value: TYPED[format][0] }, { sequence: 1, value: TYPED[format][1] },
      { sequence: 2, value: null }, { sequence: 3, value: null }, { sequence: 4, value: null },
      { sequence: 5, value: TYPED[format][2] }, { sequence: 6, value: TYPED[format][3] },
    ]
    const letters = [
      { sequence: 2, payload: bad[0]!.data, schema_id: null, error: expect.stringMatching(/wrong magic byte/) },
      { sequence: 3, payload: bad[1]!.data, schema_id: id1! + 1000, error: `no schema has id ${id1! + 1000}` },
      { sequence: 4, payload: bad[2]!.data, schema_id: id1, error: expect.stringMatching(TRUNCATED[format]) },
    ]
    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      expect(await columns(topic, 'partition, sequence, value', reader)).toEqual(expected.map((row) => ({ partition: 0, ...row })))
      // The v3 record never reached the table or the dead-letter table: exactly the three bad ones are there.
      expect(await columns(`${topic}~dlq`, 'partition, sequence, payload, schema_id, error', reader)).toEqual(letters.map((row) => ({ partition: 0, ...row })))
    }

    // v2's field came with an id after every other one of the table; it is optional.
    const value = valueField(await readInfo(tableDir(broker.dataDir, topic)))
    const coupon = value.fields.find((field) => field.name === 'coupon')!
    expect(coupon).toMatchObject({ type: 'string', required: false })
    expect(coupon.id).toBe(Math.max(...ids(value as Parameters<typeof ids>[0])))
    if (format === 'avro') {
      // Widened by v2: customer.age int -> long, score float -> double.
      expect(value.fields.find((field) => field.name === 'score')!.type).toBe('double')
      expect(JSON.stringify(value.fields.find((field) => field.name === 'customer'))).toContain('"name":"age","required":true,"type":"long"')
    }
    // First flush: ages 31-42; second: 65 and up. A filter on the nested field plans one file of two.
    expect(await plannedFiles(tableDir(broker.dataDir, topic), 'value.customer.age >= 60')).toEqual({ planned: 1, data_files: 2 })

    // The deserializers read every record back over Kafka unchanged; the bad ones fail there too.
    const consumed = await client('consume', topic, format, ['--count', '7'])
    expect(consumed.filter((line) => line.type === 'undecodable').map((line) => [line.offset, line.data])).toEqual(bad.map((line) => [line.offset, line.data]))
    const records = consumed.filter((line) => line.type === 'record')
    expect(records.map((line) => [line.offset, line.schema_id, line.data])).toEqual(produced.map((line) => [line.offset, line.id, line.data]))
    // The Protobuf deserializer reads with the v2 class: v1 records show its unset coupon as "".
    expect(records.map((line) => line.value)).toEqual(produced.map((line) => (format === 'protobuf' && line.version === 1 ? { ...(line.value as Line), coupon: '' } : line.value)))
  })

  test('value_schema_latest: plain Avro bytes decode with the latest schema of <topic>-value', async () => {
    const topic = uniqueTopic('typed-latest')
    await createTopic(topic, 'value_schema_latest')
    const lines = await client('plain', topic, 'avro-latest')
    await flush(topic)
    const latest = (lines[0]!.ids as number[]).at(-1)
    const truncated = lines.find((line) => line.type === 'bad')!
    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      expect(await columns(topic, 'partition, sequence, value', reader)).toEqual([...AVRO.map((value, sequence) => ({ partition: 0, sequence, value })), { partition: 0, sequence: 4, value: null }])
      expect(await columns(`${topic}~dlq`, 'partition, sequence, payload, schema_id, error', reader)).toEqual([{ partition: 0, sequence: 4, payload: truncated.data, schema_id: latest, error: 'truncated Avro value' }])
    }
  })

  test('json: plain JSON values map to columns by the registered JSON Schema', async () => {
    const topic = uniqueTopic('typed-json-mode')
    await createTopic(topic, 'json')
    const lines = await client('plain', topic, 'json')
    await flush(topic)
    const [id] = lines[0]!.ids as number[]
    const notJson = lines.find((line) => line.type === 'bad')!
    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      expect(await columns(topic, 'partition, sequence, value', reader)).toEqual([...JSON_VALUES.map((value, sequence) => ({ partition: 0, sequence, value })), { partition: 0, sequence: 4, value: null }])
      expect(await columns(`${topic}~dlq`, 'partition, sequence, payload, schema_id, error', reader)).toEqual([{ partition: 0, sequence: 4, payload: notJson.data, schema_id: id, error: expect.stringMatching(/^not JSON/) }])
    }
  })
})
