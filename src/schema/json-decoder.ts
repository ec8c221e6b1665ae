// JSON Schema -> the SourceType of the JSON values it describes, and a decoder of JSON text that
// checks each value against that type (a value the table cannot hold fails its record, which then
// goes to the dead-letter table). Local `$ref`s (#/definitions, #/$defs) and references by name
// (Confluent's schema references, optionally with a #/ fragment) are followed.
import { ZombiError } from '../errors.ts'
import type { RegisteredSchema } from './lookup.ts'
import { primitive, type SourceField, type SourceType } from './source-type.ts'
import type { ValueDecoder } from './avro-decoder.ts'

type Json = Record<string, unknown>

interface Node {
  source: SourceType
  convert(value: unknown, path: string): unknown
  nullable: boolean
}

function unsupported(message: string): ZombiError {
  return new ZombiError('TYPED_SCHEMA_UNSUPPORTED', `JSON Schema: ${message}`)
}

function mismatch(path: string, expected: string, value: unknown): ZombiError {
  return new ZombiError('TYPED_RECORD_UNDECODABLE', `${path === '' ? 'the value' : path} is ${(typeof value === 'bigint' ? String(value) : JSON.stringify(value))?.slice(0, 60)}, not ${expected}`)
}

const DAY_MS = 86_400_000

function dateDays(text: string, path: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw mismatch(path, 'a date', text)
  const ms = Date.parse(`${text}T00:00:00Z`)
  if (Number.isNaN(ms)) throw mismatch(path, 'a date', text)
  return ms / DAY_MS
}

/** RFC 3339 date-time -> microseconds since the epoch (digits past the millisecond kept). */
function instantMicros(text: string, path: string): number {
  const ms = Date.parse(text)
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/.test(text)) throw mismatch(path, 'a date-time', text)
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? ''
  const micros = fraction.length > 3 ? Number(fraction.slice(3, 6).padEnd(3, '0')) : 0
  return ms * 1000 + (ms < 0 && micros > 0 ? micros - 1000 : micros)
}

const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n

/** A JSON integer as a long: a number, or (past 2^53, see parseJson) a BigInt within 64 bits. */
function integer(value: unknown, path: string): unknown {
  if (typeof value === 'bigint') {
    if (value < LONG_MIN || value > LONG_MAX) throw mismatch(path, 'a 64-bit integer', String(value))
    return value
  }
  if (!Number.isInteger(value)) throw mismatch(path, 'an integer', value)
  return value
}

/** Integers of 16 digits or more may be past 2^53: only such texts pay for the reviver. */
const LONG_DIGITS = /\d{16}/
const INTEGER_TEXT = /^-?\d+$/

/** Keeps an integer literal past 2^53 exact as a BigInt (JSON.parse would round it to a double). */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && INTEGER_TEXT.test(context.source)) return BigInt(context.source)
  return value
}

/** JSON.parse, except that integers past 2^53 come back as exact BigInts (Confluent's JSON serializers write int64 values as plain numbers). */
export function parseJson(text: string): unknown {
  return LONG_DIGITS.test(text) ? JSON.parse(text, exactIntegers as (key: string, value: unknown) => unknown) : JSON.parse(text)
}

class JsonSchemaWalker {
  readonly #root: Json
  readonly #references: ReadonlyMap<string, RegisteredSchema>
  readonly #walking = new Set<unknown>()

  constructor(root: Json, references: ReadonlyMap<string, RegisteredSchema>) {
    this.#root = root
    this.#references = references
  }

  #resolve(ref: string, base: Json): { schema: Json; base: Json } {
    const hash = ref.indexOf('#')
    const document = hash === -1 ? ref : ref.slice(0, hash)
    const fragment = hash === -1 ? '' : ref.slice(hash + 1)
    let target = base
    if (document !== '') {
      const reference = this.#references.get(document)
      if (reference === undefined) throw unsupported(`$ref ${ref} is neither local nor among the schema's references`)
      target = JSON.parse(reference.schema) as Json
    }
    let node: unknown = target
    for (const part of fragment.split('/').filter((segment) => segment !== '')) {
      node = (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')]
      if (node === undefined) throw unsupported(`$ref ${ref} points at nothing`)
    }
    return { schema: node as Json, base: target }
  }

  walk(schema: unknown, base: Json = this.#root): Node {
    if (schema === true || schema === undefined) throw unsupported('a property without a schema has no column type')
    if (typeof schema !== 'object' || schema === null) throw unsupported(`not a schema: ${JSON.stringify(schema)}`)
    const object = schema as Json
    if (typeof object.$ref === 'string') {
      if (this.#walking.has(object)) throw unsupported(`recursive $ref ${object.$ref} cannot be a table column`)
      this.#walking.add(object)
      const { schema: target, base: targetBase } = this.#resolve(object.$ref, base)
      const node = this.walk(target, targetBase)
      this.#walking.delete(object)
      return node
    }
    for (const combiner of ['oneOf', 'anyOf'] as const) {
      const options = object[combiner]
      if (!Array.isArray(options)) continue
      const nonNull = options.filter((option) => (option as Json).type !== 'null')
      if (nonNull.length !== 1) throw unsupported(`${combiner} of several non-null schemas has no single column type`)
      const node = this.walk(nonNull[0], base)
      return { ...node, nullable: node.nullable || nonNull.length < options.length }
    }
    let type = object.type
    let nullable = false
    if (Array.isArray(type)) {
      nullable = type.includes('null')
      const rest = type.filter((entry) => entry !== 'null')
      // An integer that may also be a number is a number.
      if (rest.length === 2 && rest.includes('integer') && rest.includes('number')) type = 'number'
      else if (rest.length !== 1) throw unsupported(`type ${JSON.stringify(type)} has no single column type`)
      else type = rest[0]
    }
    if (type === undefined && Array.isArray(object.enum)) type = 'string'
    if (type === undefined && typeof object.properties === 'object') type = 'object'
    const node = this.#typed(type, object, base)
    return { ...node, nullable: nullable || node.nullable }
  }

  #typed(type: unknown, object: Json, base: Json): Node {
    switch (type) {
      case 'boolean': return { source: primitive('boolean'), nullable: false, convert: (v, p) => { if (typeof v !== 'boolean') throw mismatch(p, 'a boolean', v); return v } }
      case 'integer': return { source: primitive('long'), nullable: false, convert: integer }
      case 'number': return { source: primitive('double'), nullable: false, convert: (v, p) => { if (typeof v === 'bigint') return Number(v); if (typeof v !== 'number') throw mismatch(p, 'a number', v); return v } }
      case 'string': {
        const check = (v: unknown, p: string): string => { if (typeof v !== 'string') throw mismatch(p, 'a string', v); return v }
        if (object.format === 'date') return { source: primitive('date'), nullable: false, convert: (v, p) => dateDays(check(v, p), p) }
        if (object.format === 'date-time') return { source: primitive('timestamptz'), nullable: false, convert: (v, p) => instantMicros(check(v, p), p) }
        return { source: primitive('string'), nullable: false, convert: check }
      }
      case 'array': {
        const items = this.walk(object.items, base)
        return {
          source: { kind: 'list', element: items.source, elementOptional: items.nullable }, nullable: false,
          convert: (v, p) => {
            if (!Array.isArray(v)) throw mismatch(p, 'an array', v)
            return v.map((item, i) => (item === null && items.nullable ? null : items.convert(item, `${p}[${i}]`)))
          },
        }
      }
      case 'object': return this.#object(object, base)
      default: throw unsupported(`type ${JSON.stringify(type)} has no column type`)
    }
  }

  #object(object: Json, base: Json): Node {
    const properties = object.properties as Json | undefined
    const additional = object.additionalProperties
    if ((properties === undefined || Object.keys(properties).length === 0) && typeof additional === 'object' && additional !== null) {
      const values = this.walk(additional, base)
      return {
        source: { kind: 'map', key: primitive('string'), value: values.source, valueOptional: values.nullable }, nullable: false,
        convert: (v, p) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) throw mismatch(p, 'an object', v)
          return Object.entries(v).map(([key, item]) => [key, item === null && values.nullable ? null : values.convert(item, `${p}.${key}`)])
        },
      }
    }
    const required = new Set(Array.isArray(object.required) ? object.required as string[] : [])
    const fields: SourceField[] = []
    const converters: Array<[string, Node, boolean]> = []
    for (const [name, property] of Object.entries(properties ?? {})) {
      const node = this.walk(property, base)
      const optional = node.nullable || !required.has(name)
      fields.push({ name, type: node.source, optional })
      converters.push([name, node, optional])
    }
    return {
      source: { kind: 'struct', fields }, nullable: false,
      convert: (v, p) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw mismatch(p, 'an object', v)
        const record = v as Json
        const out: Json = {}
        for (const [name, node, optional] of converters) {
          const item = record[name]
          const path = p === '' ? name : `${p}.${name}`
          if (item === undefined || item === null) {
            if (!optional) throw mismatch(path, 'present (it is required)', item ?? null)
            out[name] = null
          } else {
            out[name] = node.convert(item, path)
          }
        }
        return out
      },
    }
  }
}

/** A decoder of JSON text (UTF-8) described by the JSON Schema `schema`. */
export function jsonSchemaDecoder(schema: RegisteredSchema, references: ReadonlyMap<string, RegisteredSchema>): ValueDecoder {
  let root: Json
  try {
    root = JSON.parse(schema.schema) as Json
  } catch (error) {
    throw unsupported(`schema ${schema.id} is not JSON: ${(error as Error).message}`)
  }
  const node = new JsonSchemaWalker(root, references).walk(root)
  if (node.source.kind !== 'struct') throw unsupported(`schema ${schema.id} does not describe an object (its properties become the value column's fields)`)
  const type = node.source
  const decoder = new TextDecoder('utf-8', { fatal: true })
  return {
    type,
    decode(bytes) {
      let value: unknown
      try {
        value = parseJson(decoder.decode(bytes))
      } catch (error) {
        throw new ZombiError('TYPED_RECORD_UNDECODABLE', `not JSON: ${(error as Error).message}`)
      }
      return node.convert(value, '') as Record<string, unknown>
    },
  }
}
