// The value column's Iceberg type: each Avro construct with its field ids, and evolution (fields
// added with new ids, int->long and float->double, required->optional, removed fields kept optional;
// incompatible changes refused and ids left untouched).
import { expect, test } from 'vitest'
import { hasCode } from '../../src/errors.ts'
import { FieldIds, mergeValueField, type IcebergField } from '../../src/iceberg/typed-schema.ts'
import { DecoderCache } from '../../src/schema/decoders.ts'
import type { StructSource } from '../../src/schema/source-type.ts'

function avroShape(fields: unknown[]): StructSource {
  return new DecoderCache().decoder({ schema: { id: Math.floor(Math.random() * 1e9), schemaType: 'AVRO', schema: JSON.stringify({ type: 'record', name: 'R', fields }), references: [] }, references: [] }).type
}

test('each Avro construct maps to its Iceberg type with fresh ids, struct fields first', () => {
  const ids = new FieldIds(15)
  const field = mergeValueField(null, avroShape([
    { name: 'b', type: 'boolean' }, { name: 'f', type: 'float' }, { name: 'bin', type: 'bytes' },
    { name: 'fx', type: { type: 'fixed', name: 'F', size: 4 } },
    { name: 'u', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'lt', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 'tm', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'dec', type: { type: 'fixed', name: 'D', size: 8, logicalType: 'decimal', precision: 12, scale: 3 } },
    { name: 'choice', type: ['null', 'int', 'string'] },
    { name: 'm', type: { type: 'map', values: ['null', 'long'] } },
  ]), ids)
  expect(field).toEqual({
    id: 16, name: 'value', required: false,
    type: { type: 'struct', fields: [
      { id: 17, name: 'b', required: true, type: 'boolean' },
      { id: 18, name: 'f', required: true, type: 'float' },
      { id: 19, name: 'bin', required: true, type: 'binary' },
      { id: 20, name: 'fx', required: true, type: 'fixed[4]' },
      { id: 21, name: 'u', required: true, type: 'string' },
      { id: 22, name: 'lt', required: true, type: 'timestamp' },
      { id: 23, name: 'tm', required: true, type: 'time' },
      { id: 24, name: 'dec', required: true, type: 'decimal(12,3)' },
      { id: 25, name: 'choice', required: false, type: { type: 'struct', fields: [
        { id: 27, name: 'tag', required: true, type: 'int' }, { id: 28, name: 'field0', required: false, type: 'int' }, { id: 29, name: 'field1', required: false, type: 'string' },
      ] } },
      { id: 26, name: 'm', required: true, type: { type: 'map', 'key-id': 30, key: 'string', 'value-id': 31, 'value-required': false, value: 'long' } },
    ] },
  })
  expect(ids.last).toBe(31)
})

test('evolution adds optional fields with new ids, widens int and float, and makes removed or nullable fields optional', () => {
  const ids = new FieldIds(15)
  const v1 = mergeValueField(null, avroShape([{ name: 'a', type: 'int' }, { name: 'b', type: 'float' }, { name: 'c', type: 'string' }, { name: 'gone', type: 'string' }]), ids)
  const v2 = mergeValueField(v1, avroShape([{ name: 'a', type: 'long' }, { name: 'b', type: 'double' }, { name: 'c', type: ['null', 'string'] }, { name: 'added', type: { type: 'record', name: 'N', fields: [{ name: 'x', type: 'int' }] } }]), ids)
  expect((v2.type as { fields: IcebergField[] }).fields).toEqual([
    { id: 17, name: 'a', required: true, type: 'long' },
    { id: 18, name: 'b', required: true, type: 'double' },
    { id: 19, name: 'c', required: false, type: 'string' },
    { id: 20, name: 'gone', required: false, type: 'string' },
    { id: 21, name: 'added', required: false, type: { type: 'struct', fields: [{ id: 22, name: 'x', required: true, type: 'int' }] } },
  ])
  // An older writer's narrower type fits the widened column as it is.
  expect((mergeValueField(v2, avroShape([{ name: 'a', type: 'int' }]), ids).type as { fields: IcebergField[] }).fields[0]).toEqual({ id: 17, name: 'a', required: true, type: 'long' })
})

test('an incompatible change is refused and assigns no id', () => {
  const ids = new FieldIds(15)
  const v1 = mergeValueField(null, avroShape([{ name: 'a', type: 'long' }, { name: 's', type: { type: 'record', name: 'S', fields: [{ name: 'x', type: 'int' }] } }]), ids)
  const last = ids.last
  for (const fields of [[{ name: 'a', type: 'string' }], [{ name: 's', type: { type: 'array', items: 'int' } }], [{ name: 'a', type: 'long' }, { name: 'new', type: 'int' }, { name: 's', type: 'int' }]]) {
    let error: unknown
    try {
      mergeValueField(v1, avroShape(fields), ids)
    } catch (caught) {
      error = caught
    }
    expect(hasCode(error, 'TYPED_SCHEMA_INCOMPATIBLE')).toBe(true)
    expect(ids.last).toBe(last)
  }
})
