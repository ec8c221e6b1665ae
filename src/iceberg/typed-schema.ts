// The typed `value` column of a topic table: a record schema's shape (schema/source-type.ts) as an
// Iceberg struct with field ids, evolved as new schema versions arrive. Ids are kept by name path:
// an existing field keeps its id, a new one gets the next id above the table's last column id, and
// nothing is ever renumbered or reused. Allowed changes are Iceberg's: add a field (optional), widen
// int->long, float->double, a decimal's precision, make a field optional; anything else is refused.
import { Binary, Bool, DateDay, Decimal, Field, FixedSizeBinary, Float32, Float64, Int32, Int64, List, Map_, Struct, TimeMicrosecond, TimestampMicrosecond, Utf8, type DataType } from 'apache-arrow'
import { ZombiError } from '../errors.ts'
import type { SourceType, StructSource } from '../schema/source-type.ts'
import { LAST_COLUMN_ID } from './schema.ts'

export type IcebergType = string | IcebergStruct | IcebergList | IcebergMap
export interface IcebergStruct { type: 'struct'; fields: IcebergField[] }
export interface IcebergList { type: 'list'; 'element-id': number; 'element-required': boolean; element: IcebergType }
export interface IcebergMap { type: 'map'; 'key-id': number; key: IcebergType; 'value-id': number; 'value-required': boolean; value: IcebergType }
export interface IcebergField { id: number; name: string; required: boolean; type: IcebergType }

/** The name of the typed column in a topic table. */
export const VALUE_COLUMN = 'value'

/** Hands out field ids above the largest one ever assigned. */
export class FieldIds {
  last: number

  constructor(last: number) {
    this.last = last
  }

  next(): number {
    return ++this.last
  }
}

function incompatible(path: string, message: string): ZombiError {
  return new ZombiError('TYPED_SCHEMA_INCOMPATIBLE', `${path}: ${message}`)
}

function primitiveName(source: SourceType): string | null {
  switch (source.kind) {
    case 'primitive': return source.type
    case 'decimal': return `decimal(${source.precision},${source.scale})`
    case 'fixed': return `fixed[${source.size}]`
    default: return null
  }
}

const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/

/** The wider of two primitive types, or null when neither holds the other's values the way Iceberg promotes. */
function widerPrimitive(current: string, incoming: string): string | null {
  if (current === incoming) return current
  if ((current === 'long' && incoming === 'int') || (current === 'int' && incoming === 'long')) return 'long'
  if ((current === 'double' && incoming === 'float') || (current === 'float' && incoming === 'double')) return 'double'
  const a = DECIMAL.exec(current)
  const b = DECIMAL.exec(incoming)
  if (a !== null && b !== null && a[2] === b[2]) return Number(a[1]) >= Number(b[1]) ? current : incoming
  return null
}

/** A fresh Iceberg type for `source`: ids for a struct's own fields first, then inside them (as Iceberg assigns fresh ids). */
function freshType(source: SourceType, ids: FieldIds, requiredAllowed: boolean): IcebergType {
  const name = primitiveName(source)
  if (name !== null) return name
  if (source.kind === 'struct') {
    const fieldIds = source.fields.map(() => ids.next())
    return {
      type: 'struct',
      fields: source.fields.map((field, i) => ({ id: fieldIds[i]!, name: field.name, required: requiredAllowed && !field.optional, type: freshType(field.type, ids, requiredAllowed) })),
    }
  }
  if (source.kind === 'list') {
    const elementId = ids.next()
    return { type: 'list', 'element-id': elementId, 'element-required': !source.elementOptional, element: freshType(source.element, ids, requiredAllowed) }
  }
  if (source.kind !== 'map') throw new ZombiError('TYPED_SCHEMA_UNSUPPORTED', `no Iceberg type for ${source.kind}`)
  const keyId = ids.next()
  const valueId = ids.next()
  return {
    type: 'map', 'key-id': keyId, key: freshType(source.key, ids, requiredAllowed),
    'value-id': valueId, 'value-required': !source.valueOptional, value: freshType(source.value, ids, requiredAllowed),
  }
}

function mergeType(current: IcebergType, source: SourceType, ids: FieldIds, path: string): IcebergType {
  if (typeof current === 'string') {
    const incoming = primitiveName(source)
    if (incoming === null) throw incompatible(path, `is ${current} in the table, the schema makes it a ${source.kind}`)
    const wider = widerPrimitive(current, incoming)
    if (wider === null) throw incompatible(path, `is ${current} in the table and ${incoming} in the schema (Iceberg promotes only int->long, float->double and a decimal's precision)`)
    return wider
  }
  if (current.type === 'struct') {
    if (source.kind !== 'struct') throw incompatible(path, `is a struct in the table, the schema makes it a ${source.kind}`)
    return mergeStruct(current, source, ids, path)
  }
  if (current.type === 'list') {
    if (source.kind !== 'list') throw incompatible(path, `is a list in the table, the schema makes it a ${source.kind}`)
    return { ...current, 'element-required': current['element-required'] && !source.elementOptional, element: mergeType(current.element, source.element, ids, `${path}[]`) }
  }
  if (source.kind !== 'map') throw incompatible(path, `is a map in the table, the schema makes it a ${source.kind}`)
  const key = mergeType(current.key, source.key, ids, `${path}.key`)
  if (JSON.stringify(key) !== JSON.stringify(current.key)) throw incompatible(path, 'a map key type cannot change')
  return { ...current, 'value-required': current['value-required'] && !source.valueOptional, value: mergeType(current.value, source.value, ids, `${path}.value`) }
}

function mergeStruct(current: IcebergStruct, source: StructSource, ids: FieldIds, path: string): IcebergStruct {
  const incoming = new Map(source.fields.map((field) => [field.name, field]))
  const fields: IcebergField[] = []
  for (const field of current.fields) {
    const match = incoming.get(field.name)
    const fieldPath = `${path}.${field.name}`
    // A field the schema no longer has reads as null from now on: it must be optional.
    if (match === undefined) fields.push({ ...field, required: false })
    else fields.push({ ...field, required: field.required && !match.optional, type: mergeType(field.type, match.type, ids, fieldPath) })
  }
  const known = new Set(current.fields.map((field) => field.name))
  // A field added to an existing table is optional: its rows written before have no value for it.
  const added = source.fields.filter((field) => !known.has(field.name))
  const addedIds = added.map(() => ids.next())
  added.forEach((field, i) => fields.push({ id: addedIds[i]!, name: field.name, required: false, type: freshType(field.type, ids, true) }))
  return { type: 'struct', fields }
}

/**
 * The table's `value` column once `source` (a record schema's shape) is in it: `current` (null: the
 * table has none yet) evolved, new ids from `ids`. Throws TYPED_SCHEMA_INCOMPATIBLE for a change
 * Iceberg cannot make; `current` is then unchanged.
 */
export function mergeValueField(current: IcebergField | null, source: StructSource, ids: FieldIds): IcebergField {
  if (current === null) {
    const id = ids.next()
    return { id, name: VALUE_COLUMN, required: false, type: freshType(source, ids, true) }
  }
  const saved = ids.last
  try {
    return { ...current, type: mergeStruct(current.type as IcebergStruct, source, ids, VALUE_COLUMN) }
  } catch (error) {
    ids.last = saved
    throw error
  }
}

/** The largest field id in a type (0 for a primitive). */
export function maxFieldId(type: IcebergType): number {
  if (typeof type === 'string') return 0
  if (type.type === 'struct') return Math.max(0, ...type.fields.map((field) => Math.max(field.id, maxFieldId(field.type))))
  if (type.type === 'list') return Math.max(type['element-id'], maxFieldId(type.element))
  return Math.max(type['key-id'], type['value-id'], maxFieldId(type.key), maxFieldId(type.value))
}

/** The `value` field of a table schema (Iceberg JSON), or null in a key_value table. */
export function valueFieldOf(schema: { fields: unknown[] }): IcebergField | null {
  for (const field of schema.fields as IcebergField[]) if (field.name === VALUE_COLUMN && field.id > LAST_COLUMN_ID) return field
  return null
}

function fieldMetadata(id: number): Map<string, string> {
  return new Map([['PARQUET:field_id', String(id)]])
}

/** The Arrow type of an Iceberg type, `PARQUET:field_id` on every nested field. */
export function arrowType(type: IcebergType): DataType {
  if (typeof type === 'string') {
    switch (type) {
      case 'boolean': return new Bool()
      case 'int': return new Int32()
      case 'long': return new Int64()
      case 'float': return new Float32()
      case 'double': return new Float64()
      case 'date': return new DateDay()
      case 'time': return new TimeMicrosecond()
      case 'timestamp': return new TimestampMicrosecond()
      case 'timestamptz': return new TimestampMicrosecond('UTC')
      case 'string': return new Utf8()
      case 'binary': return new Binary()
    }
    const decimal = DECIMAL.exec(type)
    if (decimal !== null) return new Decimal(Number(decimal[2]), Number(decimal[1]), 128)
    const fixed = /^fixed\[(\d+)\]$/.exec(type)
    if (fixed !== null) return new FixedSizeBinary(Number(fixed[1]))
    throw new ZombiError('TYPED_SCHEMA_UNSUPPORTED', `Iceberg type ${type} has no Arrow type here`)
  }
  if (type.type === 'struct') return new Struct(type.fields.map((field) => arrowField(field)))
  if (type.type === 'list') return new List(new Field('element', arrowType(type.element), !type['element-required'], fieldMetadata(type['element-id'])))
  return new Map_(new Field('key_value', new Struct<{ key: DataType; value: DataType }>([
    new Field('key', arrowType(type.key), false, fieldMetadata(type['key-id'])),
    new Field('value', arrowType(type.value), !type['value-required'], fieldMetadata(type['value-id'])),
  ] as never), false))
}

export function arrowField(field: IcebergField): Field {
  return new Field(field.name, arrowType(field.type), !field.required, fieldMetadata(field.id))
}
