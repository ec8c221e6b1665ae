// Column chunk sizes per Iceberg field id, read from a Parquet file's footer (the Thrift compact
// encoded FileMetaData): parquet-wasm streams the file out and offers no metadata of what it wrote.
// Only the fields needed are decoded; everything else is skipped by type.
import { ZombiError } from '../errors.ts'

const CompactType = {
  Stop: 0,
  BooleanTrue: 1,
  BooleanFalse: 2,
  Byte: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  Double: 7,
  Binary: 8,
  List: 9,
  Set: 10,
  Map: 11,
  Struct: 12,
} as const

class CompactReader {
  readonly #bytes: Uint8Array
  position = 0

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }

  byte(): number {
    if (this.position >= this.#bytes.length) throw new ZombiError('ICEBERG_METADATA_INVALID', 'the Parquet footer ends early')
    return this.#bytes[this.position++]!
  }

  /** An unsigned varint, exact below 2^53. */
  varint(): number {
    let result = 0
    let scale = 1
    for (;;) {
      const byte = this.byte()
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return result
      scale *= 128
    }
  }

  /** A zigzag varint (i16, i32, i64). */
  integer(): number {
    const value = this.varint()
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2
  }

  binary(): Uint8Array {
    const length = this.varint()
    const start = this.position
    this.position += length
    if (this.position > this.#bytes.length) throw new ZombiError('ICEBERG_METADATA_INVALID', 'the Parquet footer ends early')
    return this.#bytes.subarray(start, this.position)
  }

  string(): string {
    const bytes = this.binary()
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  }

  /** Calls `field` for each field of a struct until its stop; `field` reads the value or skips it. */
  struct(field: (id: number, type: number) => void): void {
    let lastId = 0
    for (;;) {
      const header = this.byte()
      const type = header & 0x0f
      if (type === CompactType.Stop) return
      const delta = header >> 4
      const id = delta === 0 ? this.integer() : lastId + delta
      lastId = id
      field(id, type)
    }
  }

  /** Calls `element` once per element of a list; returns the element type. */
  list(element: (type: number) => void): void {
    const header = this.byte()
    const size = header >> 4 === 15 ? this.varint() : header >> 4
    const type = header & 0x0f
    for (let i = 0; i < size; i++) element(type)
  }

  skip(type: number): void {
    switch (type) {
      case CompactType.BooleanTrue:
      case CompactType.BooleanFalse:
        return
      case CompactType.Byte:
        this.byte()
        return
      case CompactType.I16:
      case CompactType.I32:
      case CompactType.I64:
        this.varint()
        return
      case CompactType.Double:
        this.position += 8
        return
      case CompactType.Binary:
        this.binary()
        return
      case CompactType.List:
      case CompactType.Set:
        // Booleans inside a list take one byte each.
        this.list((element) => (element === CompactType.BooleanTrue || element === CompactType.BooleanFalse ? this.byte() : this.skip(element)))
        return
      case CompactType.Map: {
        const size = this.varint()
        if (size === 0) return
        const types = this.byte()
        for (let i = 0; i < size; i++) {
          this.skip(types >> 4)
          this.skip(types & 0x0f)
        }
        return
      }
      case CompactType.Struct:
        this.struct((_id, fieldType) => this.skip(fieldType))
        return
      default:
        throw new ZombiError('ICEBERG_METADATA_INVALID', `unknown Thrift compact type ${type} in a Parquet footer`)
    }
  }
}

interface SchemaElement {
  name: string
  children: number
  fieldId: number | null
}

/** The footer's FileMetaData bytes, from the last bytes of a Parquet file (length + "PAR1"); null if `tail` does not hold all of it. */
export function footerOf(tail: Uint8Array): Uint8Array | null {
  if (tail.length < 8) return null
  const view = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength)
  if (view.toString('latin1', tail.length - 4) !== 'PAR1') throw new ZombiError('ICEBERG_METADATA_INVALID', 'a Parquet file does not end in PAR1')
  const length = view.readUInt32LE(tail.length - 8)
  if (length + 8 > tail.length) return null
  return tail.subarray(tail.length - 8 - length, tail.length - 8)
}

/** What the footer says of one column chunk: its leaf, compressed size and statistics (min and max as stored, plain encoded). */
interface ColumnChunk {
  path: string[]
  compressedSize: number
  uncompressedSize: number
  min: Uint8Array | null
  max: Uint8Array | null
}

/** The parts of a FileMetaData this project reads: leaf field ids and, per row group, its rows and column chunks. */
interface Footer {
  leafIds: Map<string, number>
  rowGroups: Array<{ rows: number; bytes: number; chunks: ColumnChunk[] }>
}

/** Statistics (ColumnMetaData field 12): min_value/max_value (6, 5), else the deprecated min/max (2, 1), which order signed integers the same way. */
function readStatistics(reader: CompactReader, chunk: ColumnChunk): void {
  let min: Uint8Array | null = null
  let max: Uint8Array | null = null
  reader.struct((field, type) => {
    if (type !== CompactType.Binary) return reader.skip(type)
    const value = reader.binary()
    if (field === 6 || (field === 2 && min === null)) min = value
    else if (field === 5 || (field === 1 && max === null)) max = value
  })
  chunk.min = min
  chunk.max = max
}

function readFooter(footer: Uint8Array): Footer {
  const reader = new CompactReader(footer)
  const schema: SchemaElement[] = []
  const rowGroups: Footer['rowGroups'] = []
  reader.struct((id, type) => {
    if (id === 2 && type === CompactType.List) {
      reader.list(() => {
        const element: SchemaElement = { name: '', children: 0, fieldId: null }
        reader.struct((fieldId, fieldType) => {
          if (fieldId === 4 && fieldType === CompactType.Binary) element.name = reader.string()
          else if (fieldId === 5 && fieldType === CompactType.I32) element.children = reader.integer()
          else if (fieldId === 9 && fieldType === CompactType.I32) element.fieldId = reader.integer()
          else reader.skip(fieldType)
        })
        schema.push(element)
      })
    } else if (id === 4 && type === CompactType.List) {
      // row_groups: RowGroup.columns (1) -> ColumnChunk.meta_data (3) -> path_in_schema (3),
      // total_uncompressed_size (6), total_compressed_size (7), statistics (12); RowGroup.total_byte_size (2), num_rows (3)
      reader.list(() => {
        const group = { rows: 0, bytes: 0, chunks: [] as ColumnChunk[] }
        reader.struct((rowGroupField, rowGroupType) => {
          if (rowGroupField === 3 && rowGroupType === CompactType.I64) group.rows = reader.integer()
          else if (rowGroupField === 2 && rowGroupType === CompactType.I64) group.bytes = reader.integer()
          else if (rowGroupField !== 1 || rowGroupType !== CompactType.List) reader.skip(rowGroupType)
          else {
            reader.list(() => reader.struct((chunkField, chunkType) => {
              if (chunkField !== 3 || chunkType !== CompactType.Struct) return reader.skip(chunkType)
              const chunk: ColumnChunk = { path: [], compressedSize: 0, uncompressedSize: 0, min: null, max: null }
              reader.struct((metaField, metaType) => {
                if (metaField === 3 && metaType === CompactType.List) reader.list(() => chunk.path.push(reader.string()))
                else if (metaField === 6 && metaType === CompactType.I64) chunk.uncompressedSize = reader.integer()
                else if (metaField === 7 && metaType === CompactType.I64) chunk.compressedSize = reader.integer()
                else if (metaField === 12 && metaType === CompactType.Struct) readStatistics(reader, chunk)
                else reader.skip(metaType)
              })
              group.chunks.push(chunk)
            }))
          }
        })
        rowGroups.push(group)
      })
    } else {
      reader.skip(type)
    }
  })
  // The schema is the tree flattened depth first; the root's children are the top-level columns.
  const leafIds = new Map<string, number>()
  let next = 1
  const walk = (prefix: string[], count: number): void => {
    for (let i = 0; i < count; i++) {
      const element = schema[next++]
      if (element === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', 'a Parquet footer schema ends early')
      const path = [...prefix, element.name]
      if (element.children > 0) walk(path, element.children)
      else if (element.fieldId !== null) leafIds.set(path.join('\u0000'), element.fieldId)
    }
  }
  walk([], schema[0]?.children ?? 0)
  return { leafIds, rowGroups }
}

/**
 * Total compressed bytes of each leaf column over all row groups, by the column's Parquet field
 * id (Iceberg's `column_sizes`). Leaves without a field id are left out.
 */
export function columnSizes(footer: Uint8Array): Map<number, number> {
  return sizesByField(footer, (chunk) => chunk.compressedSize)
}

/** Uncompressed bytes of each leaf column over all row groups, by field id: what a reader decodes (plain-encoded binary: 4 bytes + the value each). */
export function uncompressedColumnSizes(footer: Uint8Array): Map<number, number> {
  return sizesByField(footer, (chunk) => chunk.uncompressedSize)
}

function sizesByField(footer: Uint8Array, size: (chunk: ColumnChunk) => number): Map<number, number> {
  const { leafIds, rowGroups } = readFooter(footer)
  const sizes = new Map<number, number>()
  for (const group of rowGroups) {
    for (const chunk of group.chunks) {
      const fieldId = leafIds.get(chunk.path.join('\u0000'))
      if (fieldId !== undefined) sizes.set(fieldId, (sizes.get(fieldId) ?? 0) + size(chunk))
    }
  }
  return sizes
}

/** The file's column data uncompressed (the row groups' total_byte_size): about what its rows take once decoded. */
export function uncompressedBytes(footer: Uint8Array): number {
  let bytes = 0
  for (const group of readFooter(footer).rowGroups) bytes += group.bytes
  return bytes
}

/** One row group's range of a top-level integer column, from its statistics; null bounds when the writer left them out. */
export interface RowGroupRange {
  rows: number
  min: number | null
  max: number | null
}

function integerStatistic(value: Uint8Array | null): number | null {
  if (value === null) return null
  const view = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (value.length === 4) return view.readInt32LE(0)
  if (value.length === 8) return Number(view.readBigInt64LE(0))
  return null
}

/**
 * Per row group, in file order, the minimum and maximum of the top-level INT32 or INT64 column
 * with this field id (readers skip the row groups a query cannot want).
 */
export function rowGroupRanges(footer: Uint8Array, fieldId: number): RowGroupRange[] {
  const { leafIds, rowGroups } = readFooter(footer)
  let path: string | undefined
  for (const [leaf, id] of leafIds) if (id === fieldId) path = leaf
  return rowGroups.map((group) => {
    const chunk = path === undefined ? undefined : group.chunks.find((candidate) => candidate.path.join('\u0000') === path)
    return { rows: group.rows, min: integerStatistic(chunk?.min ?? null), max: integerStatistic(chunk?.max ?? null) }
  })
}

/**
 * The last bytes of a stream of chunks, copied (the chunks move on to their sink): enough for a
 * Parquet footer, whose FileMetaData grows with row groups times columns.
 */
export class StreamTail {
  #tail = new Uint8Array(0)
  readonly #limit: number

  constructor(limit = 1 << 20) {
    this.#limit = limit
  }

  add(chunk: Uint8Array): void {
    if (chunk.length >= this.#limit) {
      this.#tail = chunk.slice(chunk.length - this.#limit)
      return
    }
    const keep = Math.min(this.#tail.length, this.#limit - chunk.length)
    const tail = new Uint8Array(keep + chunk.length)
    tail.set(this.#tail.subarray(this.#tail.length - keep))
    tail.set(chunk, keep)
    this.#tail = tail
  }

  get bytes(): Uint8Array {
    return this.#tail
  }
}
