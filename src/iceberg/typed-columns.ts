// Decoded record values -> the Arrow data of the table's `value` column, with the Iceberg metrics of
// every leaf: value and null counts for all of them, lower and upper bounds for the primitives that
// are not inside a list or map (as Iceberg's writers do), so a filter on a nested field prunes files.
// Values pushed here are checked first (typed-check.ts); a direct reader (avro-columns.ts) pushes
// leaves itself, and a row that fails is rolled back.
import { makeData, type Data, type DataType } from 'apache-arrow'
import { IntColumn } from './columns.ts'
import { BytesRange, booleanBound, intBound, longBound } from './bounds.ts'
import { DECIMAL } from './typed-check.ts'
import { arrowType, type IcebergField, type IcebergType } from './typed-schema.ts'

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

/**
 * Builds one column of the value: push takes a checked value; a direct reader (avro-columns.ts)
 * instead pushes leaves itself and then the parents' presence. mark() before a row and reset()
 * after a failed one drop what that row pushed, its counts and bounds included. clear() empties
 * the builder for the next record batch and keeps its buffers: the Data of finish() are views of
 * them, valid until then.
 */
export interface Builder {
  push(value: unknown): void
  finish(): Data
  mark(): void
  reset(): void
  clear(): void
}

class Validity {
  bits = new Uint8Array(64)
  length = 0
  nulls = 0
  #markLength = 0
  #markNulls = 0

  push(valid: boolean): void {
    if (this.length >>> 3 >= this.bits.length) {
      const bits = new Uint8Array(this.bits.length * 2)
      bits.set(this.bits)
      this.bits = bits
    }
    // Set or cleared, never only or-ed: a reset may leave bits of a dropped row behind.
    if (valid) this.bits[this.length >>> 3]! |= 1 << (this.length & 7)
    else {
      this.bits[this.length >>> 3]! &= ~(1 << (this.length & 7))
      this.nulls++
    }
    this.length++
  }

  mark(): void {
    this.#markLength = this.length
    this.#markNulls = this.nulls
  }

  reset(): void {
    this.length = this.#markLength
    this.nulls = this.#markNulls
  }

  clear(): void {
    this.length = 0
    this.nulls = 0
    this.#markLength = 0
    this.#markNulls = 0
  }
}

/** Int32 value offsets of strings, binaries and lists, starting at 0; grown by doubling. */
class Offsets extends IntColumn {
  constructor() {
    super(64)
    // The leading 0: `length` counts entries with it.
    this.push(0)
  }

  last(): number {
    return this.values[this.length - 1]!
  }

  view(): Int32Array {
    return this.values.subarray(0, this.length)
  }
}

/**
 * Copies source[start, end) to target at `at`. Buffer.copy and a typed array's set() have a fixed
 * cost per call that is most of the work for the short strings values are full of.
 */
function copyBytes(source: Buffer, start: number, end: number, target: Uint8Array, at: number): void {
  if (end - start < 48) {
    for (let i = start; i < end; i++) target[at++] = source[i]!
    return
  }
  target.set(source.subarray(start, end), at)
}

/** Growable storage of one primitive leaf: values go straight into typed arrays (no object per value). */
class Slots {
  bytes = Buffer.alloc(256)
  length = 0

  ensure(more: number): void {
    if (this.length + more <= this.bytes.length) return
    let capacity = this.bytes.length * 2
    while (capacity < this.length + more) capacity *= 2
    const bytes = Buffer.alloc(capacity)
    this.bytes.copy(bytes, 0, 0, this.length)
    this.bytes = bytes
  }
}

type Kind = 'bytes' | 'string' | 'boolean' | 'int' | 'float' | 'double' | 'long' | 'decimal' | 'fixed'

function kindOf(name: string): Kind {
  switch (name) {
    case 'string': return 'string'
    case 'binary': return 'bytes'
    case 'boolean': return 'boolean'
    case 'int':
    case 'date': return 'int'
    case 'float': return 'float'
    case 'double': return 'double'
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': return 'long'
  }
  return DECIMAL.test(name) ? 'decimal' : 'fixed'
}

const WIDTH: Record<Kind, number> = { bytes: 0, string: 0, boolean: 1, int: 4, float: 4, double: 8, long: 8, decimal: 16, fixed: 0 }

export class PrimitiveBuilder implements Builder {
  readonly #type: DataType
  readonly #kind: Kind
  readonly #width: number
  readonly #metrics: LeafMetrics
  readonly #validity = new Validity()
  /** Fixed-width values, or the bytes of variable-width ones. */
  readonly #data = new Slots()
  readonly #offsets = new Offsets()
  #view = new DataView(this.#data.bytes.buffer, this.#data.bytes.byteOffset, this.#data.bytes.byteLength)

  #markData = 0
  #markOffsets = 0
  #markValues = 0
  #markNulls = 0
  #markMin: number | bigint | boolean | null = null
  #markMax: number | bigint | boolean | null = null
  #markBytesMin: Uint8Array | null = null
  #markBytesMax: Uint8Array | null = null

  mark(): void {
    const metrics = this.#metrics
    this.#validity.mark()
    this.#markData = this.#data.length
    this.#markOffsets = this.#offsets.length
    this.#markValues = metrics.values
    this.#markNulls = metrics.nulls
    this.#markMin = metrics.min
    this.#markMax = metrics.max
    // BytesRange replaces its arrays when they change, so the references are the state.
    this.#markBytesMin = metrics.bytes?.min ?? null
    this.#markBytesMax = metrics.bytes?.max ?? null
  }

  clear(): void {
    const metrics = this.#metrics
    this.#validity.clear()
    this.#data.length = 0
    this.#offsets.length = 1
    metrics.values = 0
    metrics.nulls = 0
    metrics.min = null
    metrics.max = null
    if (metrics.bytes !== null) {
      metrics.bytes.min = null
      metrics.bytes.max = null
    }
  }

  reset(): void {
    const metrics = this.#metrics
    this.#validity.reset()
    this.#data.length = this.#markData
    this.#offsets.length = this.#markOffsets
    metrics.values = this.#markValues
    metrics.nulls = this.#markNulls
    metrics.min = this.#markMin
    metrics.max = this.#markMax
    if (metrics.bytes !== null) {
      metrics.bytes.min = this.#markBytesMin
      metrics.bytes.max = this.#markBytesMax
    }
  }

  /** A string or binary value straight from `source` (a string's bytes must be valid UTF-8: the caller checks). */
  pushBytes(source: Buffer, start: number, end: number): void {
    const metrics = this.#metrics
    metrics.values++
    this.#validity.push(true)
    const data = this.#data
    const at = data.length
    data.ensure(end - start)
    copyBytes(source, start, end, data.bytes, at)
    data.length += end - start
    if (metrics.bounded) metrics.bytes!.add(data.bytes, at, data.length)
    this.#offsets.push(data.length)
  }

  constructor(name: string, metrics: LeafMetrics) {
    this.#type = arrowType(name)
    this.#kind = kindOf(name)
    this.#width = this.#kind === 'fixed' ? Number(/^fixed\[(\d+)\]$/.exec(name)![1]) : WIDTH[this.#kind]
    this.#metrics = metrics
  }

  push(value: unknown): void {
    const metrics = this.#metrics
    metrics.values++
    this.#validity.push(value !== null)
    if (value === null) metrics.nulls++
    const kind = this.#kind
    const data = this.#data
    if (kind === 'string' || kind === 'bytes') {
      if (value !== null) {
        const start = data.length
        if (kind === 'string') {
          const text = value as string
          data.ensure(text.length * 3)
          data.length += data.bytes.write(text, start, 'utf8')
        } else {
          const bytes = value as Uint8Array
          data.ensure(bytes.length)
          data.bytes.set(bytes, start)
          data.length += bytes.length
        }
        if (metrics.bounded) metrics.bytes!.add(data.bytes, start, data.length)
      }
      this.#offsets.push(data.length)
      return
    }
    data.ensure(Math.max(this.#width, 1))
    if (data.bytes.buffer !== this.#view.buffer) this.#view = new DataView(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength)
    const at = data.length
    data.length += this.#width
    if (value === null) return
    const view = this.#view
    switch (kind) {
      case 'boolean': data.bytes[at] = value === true ? 1 : 0; break
      case 'int': view.setInt32(at, value as number, true); break
      case 'float': view.setFloat32(at, value as number, true); break
      case 'double': view.setFloat64(at, value as number, true); break
      case 'long':
        if (typeof value === 'number') {
          const high = Math.floor(value / 4294967296)
          view.setUint32(at, value - high * 4294967296, true)
          view.setInt32(at + 4, high, true)
        } else {
          view.setBigInt64(at, value as bigint, true)
        }
        break
      case 'decimal': {
        const unsigned = BigInt.asUintN(128, value as bigint)
        view.setBigUint64(at, BigInt.asUintN(64, unsigned), true)
        view.setBigUint64(at + 8, unsigned >> 64n, true)
        break
      }
      case 'fixed': data.bytes.set(value as Uint8Array, at); break
    }
    if (!metrics.bounded || kind === 'fixed') {
      if (metrics.bounded && metrics.bytes !== null) metrics.bytes.add(data.bytes, at, at + this.#width)
      return
    }
    if (typeof value === 'number' && Number.isNaN(value)) return
    const scalar = value as number | bigint | boolean
    if (metrics.min === null || scalar < metrics.min) metrics.min = scalar
    if (metrics.max === null || scalar > metrics.max) metrics.max = scalar
  }

  finish(): Data {
    const n = this.#validity.length
    const nullBitmap = this.#validity.bits
    const nullCount = this.#validity.nulls
    const type = this.#type
    // Buffer.alloc gives the builder its own ArrayBuffer (never the shared pool), at offset 0: views
    // of it are the column's data, and the builder is dropped after finish.
    const buffer = this.#data.bytes.buffer
    const bytes = new Uint8Array(buffer, 0, this.#data.length)
    switch (this.#kind) {
      case 'string':
      case 'bytes': return makeData({ type, length: n, nullCount, nullBitmap, valueOffsets: this.#offsets.view(), data: bytes } as never)
      case 'boolean': {
        const packed = new Uint8Array((n + 7) >>> 3)
        for (let i = 0; i < n; i++) if (bytes[i] === 1) packed[i >>> 3]! |= 1 << (i & 7)
        return makeData({ type, length: n, nullCount, nullBitmap, data: packed } as never)
      }
      case 'int': return makeData({ type, length: n, nullCount, nullBitmap, data: new Int32Array(buffer, 0, n) } as never)
      case 'float': return makeData({ type, length: n, nullCount, nullBitmap, data: new Float32Array(buffer, 0, n) } as never)
      case 'double': return makeData({ type, length: n, nullCount, nullBitmap, data: new Float64Array(buffer, 0, n) } as never)
      case 'long': return makeData({ type, length: n, nullCount, nullBitmap, data: new BigInt64Array(buffer, 0, n) } as never)
      case 'decimal': return makeData({ type, length: n, nullCount, nullBitmap, data: new Uint32Array(buffer, 0, n * 4) } as never)
      case 'fixed': return makeData({ type, length: n, nullCount, nullBitmap, data: bytes } as never)
    }
  }
}

export class StructBuilder implements Builder {
  readonly #type: DataType
  readonly #fields: IcebergField[]
  readonly #children: Builder[]
  readonly #validity = new Validity()

  get children(): readonly Builder[] {
    return this.#children
  }

  /** The struct is present; its children were pushed by the caller. */
  pushPresent(): void {
    this.#validity.push(true)
  }

  mark(): void {
    this.#validity.mark()
    for (const child of this.#children) child.mark()
  }

  reset(): void {
    this.#validity.reset()
    for (const child of this.#children) child.reset()
  }

  clear(): void {
    this.#validity.clear()
    for (const child of this.#children) child.clear()
  }

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

export class ListBuilder implements Builder {
  readonly #type: DataType
  readonly #element: Builder
  readonly #validity = new Validity()
  readonly #offsets = new Offsets()
  readonly #isMap: boolean
  #markOffsets = 0

  /** The element builder (a map's: the key/value entry struct). */
  get element(): Builder {
    return this.#element
  }

  /** A present list whose `count` elements the caller pushed into `element`. */
  pushCount(count: number): void {
    this.#validity.push(true)
    this.#offsets.push(this.#offsets.last() + count)
  }

  mark(): void {
    this.#validity.mark()
    this.#markOffsets = this.#offsets.length
    this.#element.mark()
  }

  reset(): void {
    this.#validity.reset()
    this.#offsets.length = this.#markOffsets
    this.#element.reset()
  }

  clear(): void {
    this.#validity.clear()
    this.#offsets.length = 1
    this.#element.clear()
  }

  constructor(element: Builder, type: DataType, isMap: boolean) {
    this.#element = element
    this.#type = type
    this.#isMap = isMap
  }

  push(value: unknown): void {
    this.#validity.push(value !== null)
    const items = (value ?? []) as unknown[]
    for (const item of items) this.#element.push(this.#isMap ? { key: (item as [unknown, unknown])[0], value: (item as [unknown, unknown])[1] } : item)
    this.#offsets.push(this.#offsets.last() + items.length)
  }

  finish(): Data {
    return makeData({
      type: this.#type, length: this.#validity.length, nullCount: this.#validity.nulls, nullBitmap: this.#validity.bits,
      valueOffsets: this.#offsets.view(), child: this.#element.finish(),
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

/** Builders of a value column and their leaves' metrics, for one record batch at a time. */
interface BatchBuilders {
  /** The column's field as JSON: columns of the same one can share builders. */
  readonly shape: string
  readonly builder: Builder
  readonly leaves: LeafMetrics[]
}

/**
 * The builders the last value column on this thread used: the next file of a column of the same
 * shape (the next flush of that table) builds on their buffers, already grown to a row group.
 * Sharing is safe because a batch is built, folded into its column's metrics and copied out by the
 * Parquet writer in one synchronous step (encodeFile's pull) before any other batch is built.
 */
let kept: BatchBuilders | null = null

/** Builds the value column of record batches of one file, adding up the metrics of its leaves over all of them. */
export class ValueColumn {
  readonly field: IcebergField
  readonly leaves: LeafMetrics[] = []
  /** Emptied for each batch (their buffers stay). */
  readonly #batch: BatchBuilders

  constructor(field: IcebergField) {
    this.field = field
    // The file's leaves (their totals); each batch's fold into them.
    builderFor(field.type, field.id, true, this.leaves)
    const shape = JSON.stringify(field)
    if (kept === null || kept.shape !== shape) {
      const leaves: LeafMetrics[] = []
      kept = { shape, builder: builderFor(field.type, field.id, true, leaves), leaves }
    }
    this.#batch = kept
  }

  /** The Arrow data of `values` (checked ones, null for rows without a typed value); the leaves' metrics count them. */
  build(values: readonly unknown[]): Data {
    return this.buildRows(values.length, (builder, i) => builder.push(values[i]))
  }

  /**
   * The Arrow data of `count` rows, each pushed by `row` (a value, or leaves straight from a reader);
   * a row whose `row` throws becomes null, and `failed` hears why. The data is valid until the next
   * build of a column of this shape on this thread (it shares the builders' buffers): the Parquet
   * writer has copied a record batch before the next is built, and reusing the buffers spares a
   * fresh allocation (page faults and growth copies) of tens of MB per row group.
   */
  buildRows(count: number, row: (builder: Builder, i: number) => void, failed?: (i: number, error: unknown) => void): Data {
    const builder = this.#batch.builder
    builder.clear()
    for (let i = 0; i < count; i++) {
      builder.mark()
      try {
        row(builder, i)
      } catch (error) {
        builder.reset()
        builder.push(null)
        if (failed === undefined) throw error
        failed(i, error)
      }
    }
    const data = builder.finish()
    // The batch's counts and bounds fold into the file's.
    this.#batch.leaves.forEach((leaf, i) => this.#fold(this.leaves[i]!, leaf))
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
