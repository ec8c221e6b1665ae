// Avro schemas (with their references) -> the SourceType of their values, and a decoder from Avro
// binary to values in SourceType's conventions. avsc reads the bytes (unions wrapped, so every
// branch is named); the schema JSON is walked here for what avsc does not surface: logical types.
import avro from 'avsc'
import { ZombiError } from '../errors.ts'
import { primitive, type SourceField, type SourceType, type StructSource } from './source-type.ts'
import type { RegisteredSchema } from './lookup.ts'

export interface ValueDecoder {
  /** The values' shape: always a struct (the table's `value` column). */
  readonly type: StructSource
  /** Decodes one value's bytes (after any wire-format prefix); throws when they do not decode. */
  decode(bytes: Uint8Array): Record<string, unknown>
  /** The same for the bytes [start, end) of `buffer`, where the format can read in place. */
  decodeAt?(buffer: Buffer, start: number, end: number): Record<string, unknown>
}

interface Node {
  source: SourceType
  /** The value as avsc gives it -> the SourceType convention. */
  convert(value: unknown): unknown
  /** The key avsc puts on this type's branch of a wrapped union. */
  branch: string
  /** Null is a value of it (a union with null). */
  nullable: boolean
  /** convert returns its input: avsc's value is already in SourceType's convention (no copy made). */
  identity?: boolean
}

const identity = (value: unknown): unknown => value
const PRIMITIVES: Record<string, SourceType> = {
  boolean: primitive('boolean'), int: primitive('int'), long: primitive('long'), float: primitive('float'), double: primitive('double'),
  string: primitive('string'), bytes: primitive('binary'),
}

function unsupported(message: string): ZombiError {
  return new ZombiError('TYPED_SCHEMA_UNSUPPORTED', `Avro schema: ${message}`)
}

/** Two's complement big-endian bytes -> bigint (Avro's decimal). */
export function unscaledOf(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  if ((bytes[0]! & 0x80) !== 0) value -= 1n << BigInt(bytes.length * 8)
  return value
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined || namespace === '' ? name : `${namespace}.${name}`
}

/** Whether a schema has a union of two or more non-null branches (avsc must then wrap unions to name the branch). */
function hasBranchingUnion(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.filter((branch) => branch !== 'null').length > 1 || schema.some(hasBranchingUnion)
  if (typeof schema !== 'object' || schema === null) return false
  const object = schema as Record<string, unknown>
  const fields = Array.isArray(object.fields) ? (object.fields as Array<Record<string, unknown>>).map((field) => field.type) : []
  return [object.type, object.items, object.values, ...fields].some((inner) => typeof inner === 'object' && hasBranchingUnion(inner))
}

class AvroWalker {
  readonly #named = new Map<string, Node>()
  readonly #walking = new Set<string>()
  /** avsc wraps union values ({branch: value}); otherwise a [null, T] union's value is T's or null. */
  readonly #wrapped: boolean

  constructor(wrapped: boolean) {
    this.#wrapped = wrapped
  }

  walk(schema: unknown, namespace: string | undefined): Node {
    if (typeof schema === 'string') {
      const known = PRIMITIVES[schema]
      if (known !== undefined) return { source: known, convert: identity, branch: schema, nullable: false, identity: true }
      if (schema === 'null') throw unsupported('a field of type null alone has no column')
      const name = this.#named.get(fullName(schema, namespace)) ?? this.#named.get(schema)
      if (name !== undefined) return name
      if (this.#walking.has(fullName(schema, namespace)) || this.#walking.has(schema)) throw unsupported(`recursive type ${schema} cannot be a table column`)
      throw unsupported(`unknown type name ${schema}`)
    }
    if (Array.isArray(schema)) return this.#union(schema, namespace)
    if (typeof schema !== 'object' || schema === null) throw unsupported(`not a schema: ${JSON.stringify(schema)}`)
    const object = schema as Record<string, unknown>
    const logical = typeof object.logicalType === 'string' ? object.logicalType : undefined
    const type = object.type
    if (logical !== undefined && typeof type === 'string') {
      const node = this.#logical(logical, type, object, namespace)
      if (node !== null) return node
    }
    switch (type) {
      case 'record':
      case 'error': return this.#record(object, namespace)
      case 'enum': return this.#register(object, namespace, () => ({ source: primitive('string'), convert: identity, nullable: false, identity: true }))
      case 'fixed': return this.#register(object, namespace, () => ({ source: { kind: 'fixed', size: Number(object.size) }, convert: identity, nullable: false, identity: true }))
      case 'array': {
        const items = this.walk(object.items, namespace)
        return {
          source: { kind: 'list', element: items.source, elementOptional: items.nullable },
          convert: items.identity === true ? identity : (value) => (value as unknown[]).map((item) => items.convert(item)),
          branch: 'array', nullable: false, identity: items.identity,
        }
      }
      case 'map': {
        const values = this.walk(object.values, namespace)
        return {
          source: { kind: 'map', key: primitive('string'), value: values.source, valueOptional: values.nullable },
          convert: (value) => Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, values.convert(item)]),
          branch: 'map', nullable: false,
        }
      }
      default:
        return this.walk(type, namespace)
    }
  }

  #register(object: Record<string, unknown>, namespace: string | undefined, make: () => Omit<Node, 'branch'>): Node {
    const name = fullName(String(object.name), typeof object.namespace === 'string' ? object.namespace : namespace)
    const node: Node = { ...make(), branch: name }
    this.#named.set(name, node)
    return node
  }

  #record(object: Record<string, unknown>, namespace: string | undefined): Node {
    const name = fullName(String(object.name), typeof object.namespace === 'string' ? object.namespace : namespace)
    const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : namespace
    this.#walking.add(name)
    const fields: SourceField[] = []
    const converters: Array<[string, Node]> = []
    for (const field of (object.fields as Array<Record<string, unknown>> | undefined) ?? []) {
      const child = this.walk(field.type, inner)
      fields.push({ name: String(field.name), type: child.source, optional: child.nullable })
      converters.push([String(field.name), child])
    }
    this.#walking.delete(name)
    const plain = converters.every(([, child]) => child.identity === true)
    const node: Node = {
      source: { kind: 'struct', fields },
      identity: plain,
      convert: plain ? identity : (value) => {
        const record = value as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (const [fieldName, child] of converters) out[fieldName] = child.convert(record[fieldName])
        return out
      },
      branch: name, nullable: false,
    }
    this.#named.set(name, node)
    return node
  }

  /** Logical types Iceberg has a type for; an unknown one is its underlying type, as the Avro spec says. */
  #logical(logical: string, type: string, object: Record<string, unknown>, namespace: string | undefined): Node | null {
    const base = (source: SourceType, convert: (value: unknown) => unknown = identity): Node => ({ source, convert, branch: type, nullable: false, identity: convert === identity })
    if (logical === 'date' && type === 'int') return base(primitive('date'))
    if (logical === 'time-millis' && type === 'int') return base(primitive('time'), (value) => (value as number) * 1000)
    if (logical === 'time-micros' && type === 'long') return base(primitive('time'))
    // timestamp-* is an instant (UTC adjusted): timestamptz; local-timestamp-* is a wall clock: timestamp.
    if (logical === 'timestamp-millis' && type === 'long') return base(primitive('timestamptz'), (value) => (value as number) * 1000)
    if (logical === 'timestamp-micros' && type === 'long') return base(primitive('timestamptz'))
    if (logical === 'local-timestamp-millis' && type === 'long') return base(primitive('timestamp'), (value) => (value as number) * 1000)
    if (logical === 'local-timestamp-micros' && type === 'long') return base(primitive('timestamp'))
    // Iceberg's uuid is 16 bytes; as text it reads the same in every engine (docs/typed-tables.md).
    if (logical === 'uuid' && type === 'string') return base(primitive('string'))
    if (logical === 'decimal' && (type === 'bytes' || type === 'fixed')) {
      const precision = Number(object.precision)
      const scale = object.scale === undefined ? 0 : Number(object.scale)
      if (!Number.isInteger(precision) || precision < 1 || precision > 38) throw unsupported(`decimal precision ${String(object.precision)} (Iceberg allows 1 to 38)`)
      if (!Number.isInteger(scale) || scale < 0 || scale > precision) throw unsupported(`decimal scale ${String(object.scale)}`)
      const source: SourceType = { kind: 'decimal', precision, scale }
      const convert = (value: unknown): unknown => unscaledOf(value as Uint8Array)
      if (type === 'fixed') return this.#register(object, namespace, () => ({ source, convert, nullable: false }))
      return base(source, convert)
    }
    return null
  }

  /**
   * A union with null is the other branch, optional. Other unions become a struct as Iceberg's own
   * Avro conversion makes them: `tag` (the branch index) and one optional field per branch.
   */
  #union(branches: unknown[], namespace: string | undefined): Node {
    const hasNull = branches.includes('null')
    const nodes = branches.filter((branch) => branch !== 'null').map((branch) => this.walk(branch, namespace))
    if (nodes.length === 0) throw unsupported('a union of null alone has no column')
    if (nodes.length === 1) {
      const only = nodes[0]!
      if (!this.#wrapped) {
        return {
          source: only.source,
          convert: only.identity === true ? identity : (value) => (value === null ? null : only.convert(value)),
          branch: only.branch, nullable: hasNull, identity: only.identity,
        }
      }
      return {
        source: only.source,
        convert: (value) => (value === null ? null : only.convert((value as Record<string, unknown>)[only.branch])),
        branch: only.branch, nullable: hasNull,
      }
    }
    const byBranch = new Map(nodes.map((node, index) => [node.branch, { node, index }]))
    return {
      source: {
        kind: 'struct',
        fields: [{ name: 'tag', type: primitive('int'), optional: false }, ...nodes.map((node, index) => ({ name: `field${index}`, type: node.source, optional: true }))],
      },
      convert: (value) => {
        if (value === null) return null
        const [branchName, inner] = Object.entries(value as Record<string, unknown>)[0]!
        const match = byBranch.get(branchName)
        if (match === undefined) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `union branch ${branchName} is not in the schema`)
        const out: Record<string, unknown> = { tag: match.index }
        out[`field${match.index}`] = match.node.convert(inner)
        return out
      },
      branch: '', nullable: hasNull,
    }
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ZombiError('TYPED_SCHEMA_UNSUPPORTED', `${what} is not JSON: ${(error as Error).message}`)
  }
}

/**
 * A decoder for values written with `schema`; `references` are the schemas it names by reference
 * (SchemaLookup.resolveReferences), each defining named types it uses.
 */
export function avroDecoder(schema: RegisteredSchema, references: ReadonlyMap<string, RegisteredSchema>): ValueDecoder {
  const registry: Record<string, avro.Type> = {}
  const json = parseJson(schema.schema, `Avro schema ${schema.id}`)
  const referenced = [...references.values()].map((reference) => parseJson(reference.schema, `referenced Avro schema ${reference.id}`))
  const wrapUnions = hasBranchingUnion(json) || referenced.some(hasBranchingUnion)
  const walker = new AvroWalker(wrapUnions)
  // References may refer to each other: parse them in an order that works (each pass takes those whose names are known).
  let pending = referenced
  while (pending.length > 0) {
    const left: unknown[] = []
    for (const text of pending) {
      try {
        avro.Type.forSchema(text as avro.Schema, { registry, wrapUnions })
        walker.walk(text, undefined)
      } catch {
        left.push(text)
      }
    }
    if (left.length === pending.length) throw unsupported(`references of schema ${schema.id} do not resolve`)
    pending = left
  }
  let type: avro.Type
  try {
    type = avro.Type.forSchema(json as avro.Schema, { registry, wrapUnions })
  } catch (error) {
    throw unsupported(`schema ${schema.id} does not parse: ${(error as Error).message}`)
  }
  const node = walker.walk(json, undefined)
  if (node.source.kind !== 'struct' || node.nullable) throw unsupported(`schema ${schema.id} is not a record (its fields become the value column's fields)`)
  const struct = node.source
  return {
    type: struct,
    decode(bytes) {
      const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      return node.convert(type.fromBuffer(buffer)) as Record<string, unknown>
    },
    decodeAt(buffer, start, end) {
      // decode(buffer, offset) reads in place: no Buffer per value.
      const { value, offset } = type.decode(buffer, start)
      if (offset < 0) throw new ZombiError('TYPED_RECORD_UNDECODABLE', 'truncated Avro value')
      if (offset !== end) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `trailing data: the Avro value ends ${end - offset} bytes before the record value`)
      return node.convert(value) as Record<string, unknown>
    },
  }
}
