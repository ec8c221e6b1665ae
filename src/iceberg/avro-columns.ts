// Avro binary straight into the value column's builders: no object per record, strings copied as
// UTF-8 bytes (checked, never decoded to JS strings), numbers read into the builders' arrays. The
// same mapping as schema/avro-decoder.ts (which stays for the schema's shape and for other uses),
// compiled once per (schema, table column type) pair into closures, so the encode worker keeps up
// with a producer. A value the column cannot hold fails its row as the object path does.
import { isUtf8 } from 'node:buffer'
import { ZombiError } from '../errors.ts'
import type { RegisteredSchema } from '../schema/lookup.ts'
import { ListBuilder, PrimitiveBuilder, StructBuilder, type Builder } from './typed-columns.ts'
import type { IcebergField, IcebergType } from './typed-schema.ts'

/** Reads one value at `pos` (not past `end`) into `builder`; returns the position after it. */
type Reader = (buffer: Buffer, pos: number, end: number, builder: Builder) => number

/** A row's reader: the whole value [start, end) into the `value` column's builder. */
export type RowReader = (buffer: Buffer, start: number, end: number, builder: Builder) => void

function undecodable(message: string): ZombiError {
  return new ZombiError('TYPED_RECORD_UNDECODABLE', message)
}

function truncated(): ZombiError {
  return undecodable('truncated Avro value')
}

/** Position and value of the zigzag varint at `pos` (a number; bigint past 2^53). */
class Varint {
  value: number | bigint = 0
  pos = 0
}

const varint = new Varint()

function readVarint(buffer: Buffer, pos: number, end: number): Varint {
  let result = 0
  let scale = 1
  let byte: number
  let at = pos
  do {
    if (at >= end) throw truncated()
    byte = buffer[at++]!
    // Exact in a double up to 2^53: an 8th byte of 16 or more, or a 9th, goes the bigint way.
    if (scale === 2 ** 49 && ((byte & 0x7f) >= 16 || (byte & 0x80) !== 0)) return readBigVarint(buffer, pos, end)
    result += (byte & 0x7f) * scale
    scale *= 128
  } while ((byte & 0x80) !== 0)
  varint.pos = at
  // Zigzag: even -> n / 2, odd -> -(n + 1) / 2.
  varint.value = result % 2 === 0 ? result / 2 : -(result + 1) / 2
  return varint
}

function readBigVarint(buffer: Buffer, pos: number, end: number): Varint {
  let result = 0n
  let shift = 0n
  let at = pos
  let byte: number
  do {
    if (at >= end) throw truncated()
    byte = buffer[at++]!
    result |= BigInt(byte & 0x7f) << shift
    shift += 7n
    if (shift > 70n) throw undecodable('an Avro varint longer than 10 bytes')
  } while ((byte & 0x80) !== 0)
  varint.pos = at
  const value = (result >> 1n) ^ -(result & 1n)
  varint.value = Number.isSafeInteger(Number(value)) ? Number(value) : value
  return varint
}

function readCount(buffer: Buffer, pos: number, end: number): Varint {
  const read = readVarint(buffer, pos, end)
  if (typeof read.value !== 'number' || read.value > end - pos + 1_000_000) throw undecodable('an Avro length out of range')
  return read
}

function isAscii(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buffer[i]! >= 0x80) return false
  return true
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined || namespace === '' ? name : `${namespace}.${name}`
}

/** Raised while compiling when a shape needs the object path (then decoding goes through avro-decoder.ts). */
class NotDirect extends Error {}

const PRIMITIVE_NAMES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'])

class Compiler {
  readonly #named = new Map<string, Record<string, unknown>>()
  readonly #namespaces = new Map<string, string | undefined>()

  /** Names the named types (records, enums, fixed) of a schema (or a referenced one) define. */
  collect(schema: unknown, namespace: string | undefined): void {
    if (Array.isArray(schema)) {
      for (const branch of schema) this.collect(branch, namespace)
      return
    }
    if (typeof schema !== 'object' || schema === null) return
    const object = schema as Record<string, unknown>
    if ((object.type === 'record' || object.type === 'error' || object.type === 'enum' || object.type === 'fixed') && typeof object.name === 'string') {
      const name = fullName(object.name, typeof object.namespace === 'string' ? object.namespace : namespace)
      this.#named.set(name, object)
      const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined
      this.#namespaces.set(name, inner)
      for (const field of (object.fields as Array<Record<string, unknown>> | undefined) ?? []) this.collect(field.type, inner)
      return
    }
    if (typeof object.type === 'object') this.collect(object.type, namespace)
    this.collect(object.items, namespace)
    this.collect(object.values, namespace)
  }

  #resolve(schema: unknown, namespace: string | undefined): { schema: unknown; namespace: string | undefined } {
    if (typeof schema === 'string' && !PRIMITIVE_NAMES.has(schema)) {
      const name = this.#named.has(fullName(schema, namespace)) ? fullName(schema, namespace) : schema
      const named = this.#named.get(name)
      if (named === undefined) throw new NotDirect(`unknown type ${schema}`)
      return { schema: named, namespace: this.#namespaces.get(name) }
    }
    if (typeof schema === 'object' && schema !== null && !Array.isArray(schema) && typeof (schema as Record<string, unknown>).type === 'object') {
      return this.#resolve((schema as Record<string, unknown>).type, namespace)
    }
    return { schema, namespace }
  }

  /** A reader of `schema` values into a builder of `target`; `required`: null is not a value of the target. */
  reader(rawSchema: unknown, rawNamespace: string | undefined, target: IcebergType, required: boolean, depth = 0): Reader {
    if (depth > 64) throw new NotDirect('nesting too deep (recursive type)')
    const { schema, namespace } = this.#resolve(rawSchema, rawNamespace)
    if (Array.isArray(schema)) return this.#union(schema, namespace, target, required, depth)
    if (typeof schema === 'string') return this.#primitive(schema, null, target)
    const object = schema as Record<string, unknown>
    const type = object.type
    if (typeof object.logicalType === 'string' && typeof type === 'string') {
      const logical = this.#logical(object.logicalType, type, object, target)
      if (logical !== null) return logical
    }
    switch (type) {
      case 'record':
      case 'error': return this.#record(object, namespace, target, depth)
      case 'enum': {
        if (target !== 'string') throw new NotDirect('enum into a non-string column')
        const symbols = (object.symbols as string[]).map((symbol) => Buffer.from(symbol, 'utf8'))
        return (buffer, pos, end, builder) => {
          const read = readVarint(buffer, pos, end)
          const symbol = symbols[read.value as number]
          if (symbol === undefined) throw undecodable(`enum index ${String(read.value)} out of range`)
          ;(builder as PrimitiveBuilder).pushBytes(symbol, 0, symbol.length)
          return read.pos
        }
      }
      case 'fixed': {
        const size = Number(object.size)
        if (target !== `fixed[${size}]`) throw new NotDirect('fixed into another column type')
        return (buffer, pos, end, builder) => {
          if (pos + size > end) throw truncated()
          builder.push(new Uint8Array(buffer.buffer, buffer.byteOffset + pos, size))
          return pos + size
        }
      }
      case 'array': {
        if (typeof target === 'string' || target.type !== 'list') throw new NotDirect('array into a non-list column')
        const items = this.reader(object.items, namespace, target.element, target['element-required'], depth + 1)
        return (buffer, pos, end, builder) => {
          const list = builder as ListBuilder
          const element = list.element
          let count = 0
          let at = pos
          for (;;) {
            let read = readCount(buffer, at, end)
            at = read.pos
            let block = read.value as number
            if (block === 0) break
            if (block < 0) {
              block = -block
              read = readVarint(buffer, at, end)
              at = read.pos
            }
            for (let i = 0; i < block; i++) at = items(buffer, at, end, element)
            count += block
          }
          list.pushCount(count)
          return at
        }
      }
      case 'map': {
        if (typeof target === 'string' || target.type !== 'map' || target.key !== 'string') throw new NotDirect('map into a non-map column')
        const values = this.reader(object.values, namespace, target.value, target['value-required'], depth + 1)
        const key = this.#primitive('string', null, 'string')
        return (buffer, pos, end, builder) => {
          const list = builder as ListBuilder
          const entries = list.element as StructBuilder
          const [keys, items] = entries.children as [Builder, Builder]
          let count = 0
          let at = pos
          for (;;) {
            let read = readCount(buffer, at, end)
            at = read.pos
            let block = read.value as number
            if (block === 0) break
            if (block < 0) {
              block = -block
              read = readVarint(buffer, at, end)
              at = read.pos
            }
            for (let i = 0; i < block; i++) {
              at = key(buffer, at, end, keys)
              at = values(buffer, at, end, items)
              entries.pushPresent()
            }
            count += block
          }
          list.pushCount(count)
          return at
        }
      }
      default:
        return this.#primitive(String(type), null, target)
    }
  }

  #record(object: Record<string, unknown>, namespace: string | undefined, target: IcebergType, depth: number): Reader {
    if (typeof target === 'string' || target.type !== 'struct') throw new NotDirect('record into a non-struct column')
    const name = fullName(String(object.name), typeof object.namespace === 'string' ? object.namespace : namespace)
    const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined
    const byName = new Map(target.fields.map((field, index) => [field.name, index]))
    const fields = (object.fields as Array<Record<string, unknown>> | undefined) ?? []
    const readers: Reader[] = []
    const slots: number[] = []
    for (const field of fields) {
      const slot = byName.get(String(field.name))
      if (slot === undefined) throw new NotDirect(`field ${String(field.name)} is not in the column`)
      const column = target.fields[slot]!
      readers.push(this.reader(field.type, inner, column.type, column.required, depth + 1))
      slots.push(slot)
    }
    // Columns this schema does not have read as null.
    const absent = target.fields.map((_, index) => index).filter((index) => !slots.includes(index))
    for (const index of absent) if (target.fields[index]!.required) throw new NotDirect(`required column ${target.fields[index]!.name} is not in the schema`)
    return (buffer, pos, end, builder) => {
      const struct = builder as StructBuilder
      const children = struct.children
      let at = pos
      for (let i = 0; i < readers.length; i++) at = readers[i]!(buffer, at, end, children[slots[i]!]!)
      for (let i = 0; i < absent.length; i++) children[absent[i]!]!.push(null)
      struct.pushPresent()
      return at
    }
  }

  #union(branches: unknown[], namespace: string | undefined, target: IcebergType, required: boolean, depth: number): Reader {
    const nonNull = branches.filter((branch) => branch !== 'null')
    if (nonNull.length !== 1) {
      // Branching unions become a {tag, field0, ...} struct; the object path handles them.
      throw new NotDirect('a union of several non-null types')
    }
    const inner = this.reader(nonNull[0], namespace, target, required, depth + 1)
    const nullIndex = branches.indexOf('null')
    return (buffer, pos, end, builder) => {
      const read = readVarint(buffer, pos, end)
      const index = read.value
      if (index === nullIndex) {
        if (required) throw undecodable('a null value for a required column')
        builder.push(null)
        return read.pos
      }
      if (typeof index !== 'number' || index < 0 || index >= branches.length) throw undecodable(`union index ${String(index)} out of range`)
      return inner(buffer, read.pos, end, builder)
    }
  }

  #logical(logical: string, type: string, object: Record<string, unknown>, target: IcebergType): Reader | null {
    if (logical === 'date' && type === 'int') return this.#primitive('int', null, target, 'date')
    if (logical === 'time-millis' && type === 'int') return this.#primitive('int', 1000, target, 'time')
    if (logical === 'time-micros' && type === 'long') return this.#primitive('long', null, target, 'time')
    if (logical === 'timestamp-millis' && type === 'long') return this.#primitive('long', 1000, target, 'timestamptz')
    if (logical === 'timestamp-micros' && type === 'long') return this.#primitive('long', null, target, 'timestamptz')
    if (logical === 'local-timestamp-millis' && type === 'long') return this.#primitive('long', 1000, target, 'timestamp')
    if (logical === 'local-timestamp-micros' && type === 'long') return this.#primitive('long', null, target, 'timestamp')
    if (logical === 'uuid' && type === 'string') return this.#primitive('string', null, target)
    if (logical === 'decimal' && (type === 'bytes' || type === 'fixed')) {
      const precision = Number(object.precision)
      const scale = object.scale === undefined ? 0 : Number(object.scale)
      const decimal = typeof target === 'string' ? /^decimal\((\d+),\s*(\d+)\)$/.exec(target) : null
      if (decimal === null || Number(decimal[2]) !== scale || Number(decimal[1]) < precision) throw new NotDirect('decimal into another column type')
      const limit = 10n ** BigInt(decimal[1]!)
      const size = type === 'fixed' ? Number(object.size) : -1
      return (buffer, pos, end, builder) => {
        let start = pos
        let length = size
        if (length < 0) {
          const read = readCount(buffer, pos, end)
          length = read.value as number
          start = read.pos
        }
        if (length < 0 || start + length > end) throw truncated()
        let value = 0n
        for (let i = start; i < start + length; i++) value = (value << 8n) | BigInt(buffer[i]!)
        if (length > 0 && (buffer[start]! & 0x80) !== 0) value -= 1n << BigInt(length * 8)
        if (value <= -limit || value >= limit) throw undecodable(`a decimal out of the column's precision ${decimal[1]}`)
        builder.push(value)
        return start + length
      }
    }
    return null
  }

  /**
   * A primitive: `avroType` read, times `scale` when given (millis to micros), into `target` (the
   * same type, or its Iceberg widening: int -> long, float -> double; `as`: the logical type expected).
   */
  #primitive(avroType: string, scale: number | null, target: IcebergType, as?: string): Reader {
    const expected = as ?? ({ boolean: 'boolean', int: 'int', long: 'long', float: 'float', double: 'double', bytes: 'binary', string: 'string' } as Record<string, string>)[avroType]
    if (expected === undefined) throw new NotDirect(`Avro type ${avroType}`)
    const widened = (expected === 'int' && target === 'long') || (expected === 'float' && target === 'double')
    if (target !== expected && !widened) throw new NotDirect(`${expected} into ${typeof target === 'string' ? target : target.type}`)
    switch (avroType) {
      case 'boolean': return (buffer, pos, end, builder) => {
        if (pos >= end) throw truncated()
        builder.push(buffer[pos] === 1)
        return pos + 1
      }
      case 'int':
      case 'long': return (buffer, pos, end, builder) => {
        const read = readVarint(buffer, pos, end)
        let value = read.value
        if (avroType === 'int' && (typeof value !== 'number' || value < -(2 ** 31) || value >= 2 ** 31)) throw undecodable('an Avro int out of range')
        if (scale !== null) value = typeof value === 'number' && Number.isSafeInteger(value * scale) ? value * scale : BigInt(value) * BigInt(scale)
        builder.push(value)
        return read.pos
      }
      case 'float': return (buffer, pos, end, builder) => {
        if (pos + 4 > end) throw truncated()
        builder.push(buffer.readFloatLE(pos))
        return pos + 4
      }
      case 'double': return (buffer, pos, end, builder) => {
        if (pos + 8 > end) throw truncated()
        builder.push(buffer.readDoubleLE(pos))
        return pos + 8
      }
      default: {
        const text = avroType === 'string'
        return (buffer, pos, end, builder) => {
          const read = readCount(buffer, pos, end)
          const length = read.value as number
          const start = read.pos
          if (length < 0 || start + length > end) throw truncated()
          // Short strings checked here; longer ones by Node's native validator (a view costs less than the loop).
          if (text && (length > 32 ? !isUtf8(buffer.subarray(start, start + length)) : !isAscii(buffer, start, start + length) && !isUtf8(buffer.subarray(start, start + length)))) {
            throw undecodable('an Avro string that is not UTF-8')
          }
          ;(builder as PrimitiveBuilder).pushBytes(buffer, start, start + length)
          return start + length
        }
      }
    }
  }
}

/**
 * The direct reader of values written with `schema` into the table's `value` column, or null when
 * the schema has a shape the direct path leaves to the object path (branching unions, decimals,
 * anything it does not know); references are the schemas it names.
 */
export function avroRowReader(schema: RegisteredSchema, references: ReadonlyMap<string, RegisteredSchema>, field: IcebergField): RowReader | null {
  try {
    const compiler = new Compiler()
    for (const reference of references.values()) compiler.collect(JSON.parse(reference.schema), undefined)
    const json = JSON.parse(schema.schema) as unknown
    compiler.collect(json, undefined)
    const top = compiler.reader(json, undefined, field.type, false)
    return (buffer, start, end, builder) => {
      const at = top(buffer, start, end, builder)
      if (at !== end) throw undecodable(`trailing data: the Avro value ends ${end - at} bytes before the record value`)
    }
  } catch (error) {
    if (error instanceof NotDirect || error instanceof SyntaxError) return null
    throw error
  }
}
