// The direct Avro reader (binary straight into the column builders) against the object path
// (avsc decode, check, push): the same Arrow data and the same leaf metrics for every construct it
// takes, widened columns included; bad bytes fail their row only; shapes it leaves to the object
// path say so.
import { makeVector } from 'apache-arrow'
import avro from 'avsc'
import { expect, test } from 'vitest'
import { hasCode } from '../../src/errors.ts'
import { avroRowReader } from '../../src/iceberg/avro-columns.ts'
import { compileCheck } from '../../src/iceberg/typed-check.ts'
import { ValueColumn } from '../../src/iceberg/typed-columns.ts'
import { FieldIds, mergeValueField, type IcebergField } from '../../src/iceberg/typed-schema.ts'
import { DecoderCache } from '../../src/schema/decoders.ts'
import type { RegisteredSchema } from '../../src/schema/lookup.ts'
import { order, orderV1 } from './typed-fixtures.ts'

function registered(id: number, schema: object): RegisteredSchema {
  return { id, schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }
}

const extra = {
  type: 'record', name: 'Extra',
  fields: [
    { name: 'fx', type: { type: 'fixed', name: 'F', size: 3 } },
    { name: 'raw', type: 'bytes' },
    { name: 'flag', type: 'boolean' },
    { name: 'ratio', type: 'float' },
    { name: 'local', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'clock', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'price', type: { type: 'fixed', name: 'P', size: 6, logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'big', type: 'long' },
    { name: 'maybe', type: ['null', { type: 'map', values: ['null', 'int'] }] },
    { name: 'text', type: 'string' },
  ],
}

function extraValue(i: number): Record<string, unknown> {
  const price = Buffer.alloc(6)
  price.writeIntBE(i % 2 === 0 ? -12345 : 99_999_999, 0, 6)
  return {
    fx: Buffer.from([i, 1, 2]), raw: Buffer.from(`r${i}`), flag: i % 2 === 0, ratio: i / 3, local: 1_700_000_000_000 + i, clock: 3_600_000 + i,
    id: '6c2f1a4e-8d3b-4c1e-9f00-00000000000' + String(i % 10), price, big: i === 0 ? 2 ** 52 : -(2 ** 40) - i, maybe: i % 3 === 0 ? null : { a: i, b: null },
    text: i % 2 === 0 ? 'ascii' : 'ünïcödé ✓ '.repeat(5),
  }
}

/** Builds the value column of `values` (encoded with `schema`) both ways; returns both results. */
function bothWays(schema: RegisteredSchema, field: IcebergField, encoded: Buffer[]) {
  const decoder = new DecoderCache().decoder({ schema, references: [] })
  const check = compileCheck(field.type, false, 'value')
  const direct = avroRowReader(schema, new Map(), field)
  expect(direct).not.toBeNull()
  const run = (useDirect: boolean) => {
    const column = new ValueColumn(field)
    const errors: string[] = []
    const data = column.buildRows(encoded.length, (builder, i) => {
      const bytes = encoded[i]!
      if (useDirect) direct!(bytes, 0, bytes.length, builder)
      else builder.push(check(decoder.decode(bytes)))
    }, (i, error) => errors.push(`${i}: ${hasCode(error, 'TYPED_RECORD_UNDECODABLE')}`))
    const rows = [...makeVector(data)].map((row) => JSON.stringify(row?.toJSON() ?? null, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)))
    const metrics = column.leaves.map((leaf) => [leaf.id, leaf.values, leaf.nulls, leaf.lower(), leaf.upper()])
    return { rows, metrics, errors }
  }
  return { direct: run(true), object: run(false) }
}

test('the direct reader builds what the object path builds, metrics included, for every construct', () => {
  for (const [schema, values] of [
    [orderV1, [order(1, 30, 'a'), order(2, 40, null), order(3, 50, 'ü')]],
    [extra, [0, 1, 2, 3].map(extraValue)],
  ] as const) {
    const type = avro.Type.forSchema(schema as avro.Schema)
    const registeredSchema = registered(1, schema)
    const field = mergeValueField(null, new DecoderCache().decoder({ schema: registeredSchema, references: [] }).type, new FieldIds(15))
    const { direct, object } = bothWays(registeredSchema, field, values.map((value) => type.toBuffer(value)))
    expect(direct.errors).toEqual([])
    expect(direct.rows).toEqual(object.rows)
    expect(direct.metrics).toEqual(object.metrics)
  }
})

test('columns of one shape build batch after batch on kept buffers: each batch holds only its rows, each column adds up its own batches', () => {
  const type = avro.Type.forSchema(extra as avro.Schema)
  const schema = registered(1, extra)
  const valueType = new DecoderCache().decoder({ schema, references: [] }).type
  const field = mergeValueField(null, valueType, new FieldIds(15))
  const reader = avroRowReader(schema, new Map(), field)!
  const encoded = [0, 1, 2, 3, 4, 5, 6].map((i) => type.toBuffer(extraValue(i)))
  const build = (column: ValueColumn, rows: number[]) => {
    const data = column.buildRows(rows.length, (builder, i) => reader(encoded[rows[i]!]!, 0, encoded[rows[i]!]!.length, builder))
    return [...makeVector(data)].map((row) => JSON.stringify(row?.toJSON() ?? null, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)))
  }
  const metrics = (column: ValueColumn) => column.leaves.map((leaf) => [leaf.values, leaf.nulls, leaf.lower(), leaf.upper()])
  // The reference: a column of field ids no other column has, so its builders are new.
  let ids = 1000
  const fresh = (rows: number[]) => {
    const column = new ValueColumn(mergeValueField(null, valueType, new FieldIds(ids += 100)))
    return { rows: build(column, rows), metrics: metrics(column) }
  }
  const batches = [[0, 1, 2, 3, 4, 5, 6], [3, 1], [6, 0, 2]]
  const first = new ValueColumn(field)
  const second = new ValueColumn(field)
  // Interleaved: the second column's batch between two of the first's.
  expect(build(first, batches[0]!)).toEqual(fresh(batches[0]!).rows)
  expect(build(second, batches[1]!)).toEqual(fresh(batches[1]!).rows)
  expect(build(first, batches[2]!)).toEqual(fresh(batches[2]!).rows)
  expect(metrics(first)).toEqual(fresh([...batches[0]!, ...batches[2]!]).metrics)
  expect(metrics(second)).toEqual(fresh(batches[1]!).metrics)
})

test('a column widened by a later version (int -> long, float -> double, a new field) reads an older schema directly', () => {
  const v1 = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }, { name: 'f', type: 'float' }] }
  const v2 = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'long' }, { name: 'f', type: 'double' }, { name: 'added', type: ['null', 'string'] }] }
  const ids = new FieldIds(15)
  const decoders = new DecoderCache()
  let field = mergeValueField(null, decoders.decoder({ schema: registered(1, v1), references: [] }).type, ids)
  field = mergeValueField(field, decoders.decoder({ schema: registered(2, v2), references: [] }).type, ids)
  const type = avro.Type.forSchema(v1 as avro.Schema)
  const { direct, object } = bothWays(registered(1, v1), field, [type.toBuffer({ n: -5, f: 1.5 }), type.toBuffer({ n: 2 ** 31 - 1, f: -0.25 })])
  expect(direct.rows).toEqual(object.rows)
  expect(direct.rows[0]).toBe('{"n":"-5n","f":1.5,"added":null}')
})

test('bad bytes fail only their row (truncated, trailing data, not UTF-8, a union index out of range); the next rows still build', () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }, { name: 'o', type: ['null', 'int'] }] }
  const type = avro.Type.forSchema(schema as avro.Schema)
  const good = type.toBuffer({ s: 'ok', o: 1 })
  const field = mergeValueField(null, new DecoderCache().decoder({ schema: registered(1, schema), references: [] }).type, new FieldIds(15))
  const reader = avroRowReader(registered(1, schema), new Map(), field)!
  const column = new ValueColumn(field)
  const inputs = [good, good.subarray(0, 2), Buffer.concat([good, Buffer.from([0])]), Buffer.from([4, 0xff, 0xfe, 0]), Buffer.from([0, 8]), good]
  const failed: number[] = []
  const data = column.buildRows(inputs.length, (builder, i) => reader(inputs[i]!, 0, inputs[i]!.length, builder), (i, error) => {
    expect(hasCode(error, 'TYPED_RECORD_UNDECODABLE')).toBe(true)
    failed.push(i)
  })
  expect(failed).toEqual([1, 2, 3, 4])
  expect([...makeVector(data)].map((row) => (row === null ? null : row.toJSON()))).toEqual([{ s: 'ok', o: 1 }, null, null, null, null, { s: 'ok', o: 1 }])
  expect(column.leaves.map((leaf) => [leaf.values, leaf.nulls])).toEqual([[6, 4], [6, 4]])
})

test('shapes the direct reader leaves to the object path: a union of several types', () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 'u', type: ['int', 'string'] }] }
  const field = mergeValueField(null, new DecoderCache().decoder({ schema: registered(1, schema), references: [] }).type, new FieldIds(15))
  expect(avroRowReader(registered(1, schema), new Map(), field)).toBeNull()
})

test('a long past 2^53 reads exactly (as a bigint), where avsc would refuse it', () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'long' }] }
  const field = mergeValueField(null, new DecoderCache().decoder({ schema: registered(1, schema), references: [] }).type, new FieldIds(15))
  const reader = avroRowReader(registered(1, schema), new Map(), field)!
  // Zigzag varint of 2^60 + 1 (even 2^61 + 2), little-endian 7-bit groups.
  let zigzag = (2n ** 60n + 1n) * 2n
  const bytes: number[] = []
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80)
    zigzag >>= 7n
  }
  bytes.push(Number(zigzag))
  const input = Buffer.from(bytes)
  const column = new ValueColumn(field)
  const data = column.buildRows(1, (builder) => reader(input, 0, input.length, builder))
  expect((makeVector(data).get(0) as { toJSON(): { n: bigint } }).toJSON().n).toBe(2n ** 60n + 1n)
})
