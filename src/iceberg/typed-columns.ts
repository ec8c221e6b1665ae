// Decoded record values -> the Arrow data of the table's `value` column, with the Iceberg metrics of
// every leaf: value and null counts for all of them, lower and upper bounds for the primitives that
// are not inside a list or map (as Iceberg's writers do), so a filter on a nested field prunes files.
// `checkValue` runs first, at decode time: a value the column cannot hold fails its record there
// (it goes to the dead-letter table), so building never fails halfway through a file.
import { makeData, type Data, type DataType } from 'apache-arrow'
import { ZombiError } from '../errors.ts'
import { BytesRange, booleanBound, intBound, longBound } from './bounds.ts'
import { arrowType, type IcebergField, type IcebergType } from './typed-schema.ts'

const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n
const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/

function cannotHold(path: string, type: string, value: unknown): ZombiError {
  const shown = typeof value === 'bigint' ? String(value) : JSON.stringify(value)?.slice(0, 60)
  return new ZombiError('TYPED_RECORD_UNDECODABLE', `${path} = ${shown} does not fit the column type ${type}`)
}

function toBigInt(value: unknown, path: string, type: string): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  throw cannotHold(path, type, value)
}

/**
 * The value in the form the builders take (longs, times and timestamps as bigint), or a
 * TYPED_RECORD_UNDECODABLE error naming the field that does not fit.
 */
export function checkValue(type: IcebergType, value: unknown, required: boolean, path: string): unknown {
  if (value === null || value === undefined) {
    if (required) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `${path} is null but the column is required`)
    return null
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'boolean': if (typeof value !== 'boolean') throw cannotHold(path, type, value); return value
      case 'int':
      case 'date':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < INT_MIN || value > INT_MAX) throw cannotHold(path, type, value)
        return value
      case 'long':
      case 'time':
      case 'timestamp':
      case 'timestamptz': {
        const big = toBigInt(value, path, type)
        if (big < LONG_MIN || big > LONG_MAX) throw cannotHold(path, type, value)
        return big
      }
      case 'float':
      case 'double': if (typeof value !== 'number') throw cannotHold(path, type, value); return value
      case 'string': if (typeof value !== 'string') throw cannotHold(path, type, value); return value
      case 'binary': if (!(value instanceof Uint8Array)) throw cannotHold(path, type, value); return value
    }
    const decimal = DECIMAL.exec(type)
    if (decimal !== null) {
      const big = toBigInt(value, path, type)
      const limit = 10n ** BigInt(decimal[1]!)
      if (big <= -limit || big >= limit) throw cannotHold(path, type, value)
      return big
    }
    const fixed = /^fixed\[(\d+)\]$/.exec(type)
    if (fixed !== null) {
      if (!(value instanceof Uint8Array) || value.length !== Number(fixed[1])) throw cannotHold(path, type, value)
      return value
    }
    throw cannotHold(path, type, value)
  }
  if (type.type === 'struct') {
    if (typeof value !== 'object' || Array.isArray(value)) throw cannotHold(path, 'struct', value)
    const record = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const field of type.fields) out[field.name] = checkValue(field.type, record[field.name], field.required, `${path}.${field.name}`)
    return out
  }
  if (type.type === 'list') {
    if (!Array.isArray(value)) throw cannotHold(path, 'list', value)
    return value.map((item, i) => checkValue(type.element, item, type['element-required'], `${path}[${i}]`))
  }
  if (!Array.isArray(value)) throw cannotHold(path, 'map', value)
  return (value as Array<[unknown, unknown]>).map(([key, item]) => [checkValue(type.key, key, true, `${path}.key`), checkValue(type.value, item, type['value-required'], `${path}[${String(key)}]`)])
}

/** Iceberg metrics of one leaf of the value column over a file. */
export class LeafMetrics {
  readonly id: number
  readonly type: string
  /** Inside a list or map: counts only. */
  readonly bounded: boolean
  values = 0
  nulls = 0
  min: number | bigint | boolean | null = null
  max: number | bigint | boolean | null = null
  readonly bytes: BytesRange | null

  constructor(id: number, type: string, bounded: boolean) {
    this.id = id
    this.type = type
    this.bounded = bounded
    this.bytes = type === 'string' ? new BytesRange('string') : type === 'binary' || type.startsWith('fixed') ? new BytesRange('binary') : null
  }

  lower(): Uint8Array | null {
    return this.#bound(this.min, 0)
  }

  upper(): Uint8Array | null {
    return this.#bound(this.max, 1)
  }

  #bound(value: number | bigint | boolean | null, which: 0 | 1): Uint8Array | null {
    if (!this.bounded) return null
    if (this.bytes !== null) return (this.type === 'string' ? this.bytes.stringBounds() : this.bytes.binaryBounds())[which]
    if (value === null) return null
    if (typeof value === 'boolean') return booleanBound(value)
    switch (this.type) {
      case 'int':
      case 'date': return intBound(value as number)
      case 'long':
      case 'time':
      case 'timestamp':
      case 'timestamptz': return longBound(value as bigint)
      case 'float': {
        const out = Buffer.alloc(4)
        out.writeFloatLE(value as number)
        return out
      }
      case 'double': {
        const out = Buffer.alloc(8)
        out.writeDoubleLE(value as number)
        return out
      }
    }
    if (DECIMAL.test(this.type)) return decimalBytes(value as bigint)
    return null
  }
}

/** A decimal's unscaled value as Iceberg bounds hold it: minimal two's complement, big-endian. */
export function decimalBytes(value: bigint): Uint8Array {
  let length = 1
  while (value < -(1n << BigInt(length * 8 - 1)) || value >= 1n << BigInt(length * 8 - 1)) length++
  const out = new Uint8Array(length)
  let rest = BigInt.asUintN(length * 8, value)
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return out
}

interface Builder {
  push(value: unknown): void
  finish(): Data
}

class Validity {
  bits = new Uint8Array(64)
  length = 0
  nulls = 0

  push(valid: boolean): void {
    if (this.length >>> 3 >= this.bits.length) {
      const bits = new Uint8Array(this.bits.length * 2)
      bits.set(this.bits)
      this.bits = bits
    }
    if (valid) this.bits[this.length >>> 3]! |= 1 << (this.length & 7)
    else this.nulls++
    this.length++
  }
}

const encoder = new TextEncoder()

class PrimitiveBuilder implements Builder {
  readonly #type: DataType
  readonly #name: string
  readonly #metrics: LeafMetrics
  readonly #validity = new Validity()
  readonly #values: unknown[] = []

  constructor(name: string, metrics: LeafMetrics) {
    this.#name = name
    this.#type = arrowType(name)
    this.#metrics = metrics
  }

  push(value: unknown): void {
    const metrics = this.#metrics
    metrics.values++
    this.#validity.push(value !== null)
    this.#values.push(value)
    if (value === null) {
      metrics.nulls++
      return
    }
    if (!metrics.bounded) return
    if (metrics.bytes !== null) {
      const bytes = typeof value === 'string' ? encoder.encode(value) : value as Uint8Array
      metrics.bytes.add(bytes, 0, bytes.length)
      return
    }
    if (typeof value === 'number' && Number.isNaN(value)) return
    const scalar = value as number | bigint | boolean
    if (metrics.min === null || scalar < metrics.min) metrics.min = scalar
    if (metrics.max === null || scalar > metrics.max) metrics.max = scalar
  }

  finish(): Data {
    const n = this.#values.length
    const values = this.#values
    const nullBitmap = this.#validity.bits
    const nullCount = this.#validity.nulls
    const type = this.#type
    const name = this.#name
    if (name === 'string' || name === 'binary') {
      const parts = values.map((value) => (value === null ? new Uint8Array(0) : typeof value === 'string' ? encoder.encode(value) : value as Uint8Array))
      const valueOffsets = new Int32Array(n + 1)
      let total = 0
      parts.forEach((part, i) => {
        total += part.length
        valueOffsets[i + 1] = total
      })
      const data = new Uint8Array(total)
      parts.forEach((part, i) => data.set(part, valueOffsets[i]!))
      return makeData({ type, length: n, nullCount, nullBitmap, valueOffsets, data } as never)
    }
    if (name === 'boolean') {
      const data = new Uint8Array((n + 7) >>> 3)
      values.forEach((value, i) => {
        if (value === true) data[i >>> 3]! |= 1 << (i & 7)
      })
      return makeData({ type, length: n, nullCount, nullBitmap, data } as never)
    }
    if (name === 'int' || name === 'date') return makeData({ type, length: n, nullCount, nullBitmap, data: Int32Array.from(values, (value) => (value as number | null) ?? 0) } as never)
    if (name === 'float') return makeData({ type, length: n, nullCount, nullBitmap, data: Float32Array.from(values, (value) => (value as number | null) ?? 0) } as never)
    if (name === 'double') return makeData({ type, length: n, nullCount, nullBitmap, data: Float64Array.from(values, (value) => (value as number | null) ?? 0) } as never)
    if (name === 'long' || name === 'time' || name === 'timestamp' || name === 'timestamptz') {
      return makeData({ type, length: n, nullCount, nullBitmap, data: BigInt64Array.from(values, (value) => (value as bigint | null) ?? 0n) } as never)
    }
    if (DECIMAL.test(name)) {
      // 128-bit little-endian two's complement per value.
      const data = new Uint32Array(n * 4)
      values.forEach((value, i) => {
        let rest = BigInt.asUintN(128, (value as bigint | null) ?? 0n)
        for (let word = 0; word < 4; word++) {
          data[i * 4 + word] = Number(rest & 0xffffffffn)
          rest >>= 32n
        }
      })
      return makeData({ type, length: n, nullCount, nullBitmap, data } as never)
    }
    // fixed[n]
    const size = Number(/^fixed\[(\d+)\]$/.exec(name)![1])
    const data = new Uint8Array(n * size)
    values.forEach((value, i) => {
      if (value !== null) data.set(value as Uint8Array, i * size)
    })
    return makeData({ type, length: n, nullCount, nullBitmap, data } as never)
  }
}

class StructBuilder implements Builder {
  readonly #type: DataType
  readonly #fields: IcebergField[]
  readonly #children: Builder[]
  readonly #validity = new Validity()

  constructor(fields: IcebergField[], children: Builder[], type: DataType) {
    this.#fields = fields
    this.#children = children
    this.#type = type
  }

  push(value: unknown): void {
    this.#validity.push(value !== null)
    const record = value as Record<string, unknown> | null
    for (let i = 0; i < this.#fields.length; i++) this.#children[i]!.push(record === null ? null : record[this.#fields[i]!.name] ?? null)
  }

  finish(): Data {
    const children = this.#children.map((child) => child.finish())
    return makeData({ type: this.#type, length: this.#validity.length, nullCount: this.#validity.nulls, nullBitmap: this.#validity.bits, children } as never)
  }
}

class ListBuilder implements Builder {
  readonly #type: DataType
  readonly #element: Builder
  readonly #validity = new Validity()
  readonly #offsets: number[] = [0]
  readonly #isMap: boolean

  constructor(element: Builder, type: DataType, isMap: boolean) {
    this.#element = element
    this.#type = type
    this.#isMap = isMap
  }

  push(value: unknown): void {
    this.#validity.push(value !== null)
    const items = (value ?? []) as unknown[]
    for (const item of items) this.#element.push(this.#isMap ? { key: (item as [unknown, unknown])[0], value: (item as [unknown, unknown])[1] } : item)
    this.#offsets.push(this.#offsets[this.#offsets.length - 1]! + items.length)
  }

  finish(): Data {
    return makeData({
      type: this.#type, length: this.#validity.length, nullCount: this.#validity.nulls, nullBitmap: this.#validity.bits,
      valueOffsets: Int32Array.from(this.#offsets), child: this.#element.finish(),
    } as never)
  }
}

function builderFor(type: IcebergType, leafId: number, bounded: boolean, leaves: LeafMetrics[]): Builder {
  if (typeof type === 'string') {
    const metrics = new LeafMetrics(leafId, type, bounded)
    leaves.push(metrics)
    return new PrimitiveBuilder(type, metrics)
  }
  if (type.type === 'struct') {
    return new StructBuilder(type.fields, type.fields.map((field) => builderFor(field.type, field.id, bounded, leaves)), arrowType(type))
  }
  if (type.type === 'list') return new ListBuilder(builderFor(type.element, type['element-id'], false, leaves), arrowType(type), false)
  const entries: IcebergField[] = [
    { id: type['key-id'], name: 'key', required: true, type: type.key },
    { id: type['value-id'], name: 'value', required: type['value-required'], type: type.value },
  ]
  const mapType = arrowType(type)
  const entriesType = (mapType.children[0] as { type: DataType }).type
  const entryBuilder = new StructBuilder(entries, entries.map((field) => builderFor(field.type, field.id, false, leaves)), entriesType)
  return new ListBuilder(entryBuilder, mapType, true)
}

/** Builds the value column of record batches of one file, adding up the metrics of its leaves over all of them. */
export class ValueColumn {
  readonly field: IcebergField
  readonly leaves: LeafMetrics[] = []
  #builder: Builder

  constructor(field: IcebergField) {
    this.field = field
    this.#builder = builderFor(field.type, field.id, true, this.leaves)
  }

  /** The Arrow data of `values` (checked ones, null for rows without a typed value); the leaves' metrics count them. */
  build(values: readonly unknown[]): Data {
    const collected: LeafMetrics[] = []
    this.#builder = builderFor(this.field.type, this.field.id, true, collected)
    for (const value of values) this.#builder.push(value)
    const data = this.#builder.finish()
    // Each batch builds anew; its counts and bounds fold into the file's.
    collected.forEach((leaf, i) => this.#fold(this.leaves[i]!, leaf))
    return data
  }

  #fold(total: LeafMetrics, part: LeafMetrics): void {
    total.values += part.values
    total.nulls += part.nulls
    if (part.bytes !== null) total.bytes!.merge(part.bytes)
    if (part.min !== null && (total.min === null || part.min < total.min)) total.min = part.min
    if (part.max !== null && (total.max === null || part.max > total.max)) total.max = part.max
  }
}
