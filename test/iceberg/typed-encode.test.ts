// A typed encode job end to end on this thread: Avro values in Confluent's wire format decoded into
// the `value` column (nested fields with their field ids and metrics), undecodable ones into
// dead-letter files with the reason, read back from the Parquet bytes.
import { tableFromIPC } from 'apache-arrow'
import avro from 'avsc'
import protobuf from 'protobufjs'
import * as parquet from 'parquet-wasm/node'
import { expect, test } from 'vitest'
import type { EncodedFile } from '../../src/iceberg/data-file.ts'
import { runEncodeJob, type EncodeJob, type EncodeOutput } from '../../src/iceberg/encode.ts'
import { TableTypes } from '../../src/iceberg/typed-resolver.ts'
import { DeadLetterFieldId } from '../../src/iceberg/typed-rows.ts'
import { LAST_COLUMN_ID } from '../../src/iceberg/schema.ts'
import { decodeIntBound, decodeLongBound } from '../../src/iceberg/bounds.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { MemorySchemaLookup, framed } from '../support/memory-schema-lookup.ts'
import { base, order, orderV1 } from './typed-fixtures.ts'


class MemoryOutput implements EncodeOutput {
  readonly files: Array<EncodedFile & { bytes: Buffer }> = []
  #chunks: Uint8Array[] = []
  readonly typed: TableTypes

  constructor(typed: TableTypes) {
    this.typed = typed
  }

  beginFile(): void {
    this.#chunks = []
  }

  write(chunk: Uint8Array): void {
    this.#chunks.push(chunk)
  }

  endFile(file: EncodedFile): void {
    this.files.push({ ...file, bytes: Buffer.concat(this.#chunks) })
  }
}

function rowsOf(bytes: Uint8Array): Array<Record<string, unknown>> {
  return [...tableFromIPC(parquet.readParquet(bytes).intoIPCStream())].map((row) => row.toJSON() as Record<string, unknown>)
}

test('Avro values in the wire format become the value column; undecodable ones become dead letters with the reason', async () => {
  const lookup = new MemorySchemaLookup()
  const v1 = lookup.register('orders-value', orderV1)
  const type = avro.Type.forSchema(orderV1 as avro.Schema)
  const values = [
    framed(v1.id, type.toBuffer(order(1, 30, 'first'))),
    framed(v1.id, type.toBuffer(order(2, 40, null))),
    Buffer.from('not framed'),
    framed(99, type.toBuffer(order(3, 50, null))),
    framed(v1.id, Buffer.from([1, 2, 3])),
    null,
  ]
  const batch = encodeBatch(values.map((value, i) => ({ key: Buffer.from(`k${i}`), value, timestamp: base })), { baseOffset: 0 })
  const job: EncodeJob = {
    topic: 'orders', parts: [{ partition: 0, fromOffset: 0, batchBytes: batch.length }], batches: batch, maxRowBytes: 1 << 30, targetFileBytes: 1 << 27,
    typed: { mode: 'value_schema_id_prefix', deadLetterFrom: [0] },
  }
  const types = new TableTypes(lookup, 'orders', null, LAST_COLUMN_ID)
  const output = new MemoryOutput(types)
  const result = await runEncodeJob(job, output)
  expect(result.deadLetterRows).toBe(3)
  const [table, deadLetters] = output.files
  expect(table!.deadLetter).toBeUndefined()
  expect(deadLetters!.deadLetter).toBe(true)

  // Every record stays in the table (cold Kafka reads rebuild batches from payload); the typed column is null where it did not decode.
  const rows = rowsOf(table!.bytes)
  expect(rows).toHaveLength(6)
  const value = (row: Record<string, unknown>): Record<string, unknown> | null => (row.value === null ? null : (row.value as { toJSON(): Record<string, unknown> }).toJSON())
  const first = value(rows[0]!)!
  expect(first.id).toBe(1n)
  expect((first.customer as { toJSON(): unknown }).toJSON()).toEqual({ name: 'c1', age: 30 })
  expect([...(first.tags as Iterable<string>)]).toEqual(['t1', 'x'])
  expect(first.note).toBe('first')
  expect(first.status).toBe('PAID')
  expect(value(rows[1]!)!.note).toBeNull()
  expect(rows.slice(2).map(value)).toEqual([null, null, null, null])

  // Field ids: value after the key_value columns, then its fields, then theirs.
  const field = types.field!
  expect(field.id).toBe(LAST_COLUMN_ID + 1)
  expect(field.type).toMatchObject({ type: 'struct', fields: [
    { id: 17, name: 'id', required: true, type: 'long' },
    { id: 18, name: 'customer', required: true, type: { type: 'struct', fields: [{ id: 26, name: 'name' }, { id: 27, name: 'age', type: 'int' }] } },
    { id: 19, name: 'tags', type: { type: 'list', 'element-id': 28, element: 'string' } },
    { id: 20, name: 'prices', type: { type: 'map', 'key-id': 29, 'value-id': 30, key: 'string', value: 'double' } },
    { id: 21, name: 'note', required: false, type: 'string' },
    { id: 22, name: 'amount', type: 'decimal(9,2)' },
    { id: 23, name: 'day', type: 'date' },
    { id: 24, name: 'at', type: 'timestamptz' },
    { id: 25, name: 'status', type: 'string' },
  ] })

  // Metrics of nested leaves: counts for all, bounds for those outside lists and maps.
  const metrics = table!.metrics
  const count = (id: number): number | undefined => metrics.valueCounts.find(([key]) => key === id)?.[1]
  const nulls = (id: number): number | undefined => metrics.nullValueCounts.find(([key]) => key === id)?.[1]
  const lower = (id: number): Uint8Array | undefined => metrics.lowerBounds.find(([key]) => key === id)?.[1]
  const upper = (id: number): Uint8Array | undefined => metrics.upperBounds.find(([key]) => key === id)?.[1]
  expect(count(27)).toBe(6)
  expect(nulls(27)).toBe(4)
  expect(decodeIntBound(lower(27)!)).toBe(30)
  expect(decodeIntBound(upper(27)!)).toBe(40)
  expect(decodeLongBound(lower(17)!)).toBe(1n)
  expect(decodeLongBound(upper(24)!)).toBe(BigInt(base + 2) * 1000n)
  expect(Buffer.from(lower(26)!).toString()).toBe('c1')
  expect(count(28)).toBe(4)
  expect(lower(28)).toBeUndefined()
  expect(metrics.columnSizes.some(([id]) => id === 27)).toBe(true)

  const letters = rowsOf(deadLetters!.bytes)
  expect(letters.map((row) => Number(row.sequence))).toEqual([2, 3, 4])
  expect(letters.map((row) => row.schema_id)).toEqual([null, 99, v1.id])
  expect(letters[0]!.error).toMatch(/wrong magic byte/)
  expect(letters[1]!.error).toMatch(/no schema has id 99/)
  expect(letters[2]!.error).toMatch(/truncated|invalid|trailing/)
  expect(deadLetters!.metrics.valueCounts).toContainEqual([DeadLetterFieldId.error, 3])
})

async function runTyped(lookup: MemorySchemaLookup, topic: string, mode: 'value_schema_latest' | 'json' | 'value_schema_id_prefix', values: Array<Buffer | null>) {
  const batch = encodeBatch(values.map((value) => ({ key: null, value, timestamp: base })), { baseOffset: 0 })
  const job: EncodeJob = {
    topic, parts: [{ partition: 0, fromOffset: 0, batchBytes: batch.length }], batches: batch, maxRowBytes: 1 << 30, targetFileBytes: 1 << 27,
    typed: { mode, deadLetterFrom: [0] },
  }
  const output = new MemoryOutput(new TableTypes(lookup, topic, null, LAST_COLUMN_ID))
  const result = await runEncodeJob(job, output)
  const [table, deadLetters] = output.files
  const value = (row: Record<string, unknown>): unknown => (row.value === null ? null : JSON.parse(JSON.stringify((row.value as { toJSON(): unknown }).toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))))
  return { result, values: rowsOf(table!.bytes).map(value), errors: deadLetters === undefined ? [] : rowsOf(deadLetters.bytes).map((row) => [Number(row.sequence), row.error]) }
}

test('value_schema_latest decodes unprefixed values with the value subject\'s latest schema', async () => {
  const lookup = new MemorySchemaLookup()
  const schema = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }, { name: 's', type: 'string' }] }
  lookup.register('plain-value', { type: 'record', name: 'Old', fields: [{ name: 'x', type: 'int' }] })
  lookup.register('plain-value', schema)
  const type = avro.Type.forSchema(schema as avro.Schema)
  const { values, errors } = await runTyped(lookup, 'plain', 'value_schema_latest', [type.toBuffer({ n: 1, s: 'a' }), Buffer.from([0xff])])
  expect(values).toEqual([{ n: 1, s: 'a' }, null])
  expect(errors).toEqual([[1, expect.stringMatching(/truncated|invalid/)]])
})

test('json decodes JSON text with the latest JSON Schema, and a wire-format JSON value with its own id', async () => {
  const lookup = new MemorySchemaLookup()
  const schema = { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } } }
  const registered = lookup.register('docs-value', schema, 'JSON')
  const { values, errors } = await runTyped(lookup, 'docs', 'json', [
    Buffer.from('{"id":1,"tags":["a"]}'), framed(registered.id, Buffer.from('{"id":2}')), Buffer.from('{"tags":[]}'), Buffer.from('not json'),
  ])
  expect(values).toEqual([{ id: 1, tags: ['a'] }, { id: 2, tags: null }, null, null])
  expect(errors.map(([offset]) => offset)).toEqual([2, 3])
  expect(errors[0]![1]).toMatch(/required/)
})

test('value_schema_id_prefix decodes Protobuf values by their message indexes', async () => {
  const lookup = new MemorySchemaLookup()
  const proto = 'syntax = "proto3"; package p; message A { string a = 1; } message B { int64 id = 1; repeated string tags = 2; }'
  const registered = lookup.register('pb-value', proto, 'PROTOBUF')
  const root = protobuf.parse(proto, { keepCase: true }).root
  const B = root.lookupType('p.B')
  const A = root.lookupType('p.A')
  const { values, errors } = await runTyped(lookup, 'pb', 'value_schema_id_prefix', [
    framed(registered.id, B.encode(B.fromObject({ id: 7, tags: ['x'] })).finish(), Uint8Array.of(2, 2)),
    framed(registered.id, A.encode(A.fromObject({ a: 'first' })).finish(), Uint8Array.of(0)),
    framed(registered.id, Uint8Array.of(0xff, 0xff), Uint8Array.of(2, 2)),
  ])
  // Two messages of one schema are two shapes: the column holds both (their fields side by side).
  expect(values).toEqual([{ id: 7, tags: ['x'], a: null }, { id: null, tags: null, a: 'first' }, null])
  expect(errors.map(([offset]) => offset)).toEqual([2])
})
