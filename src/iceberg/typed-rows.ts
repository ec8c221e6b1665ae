// The typed part of an encode job, in the worker: each row's value decoded with its schema (ids read
// from the wire format, or the subject's latest schema), checked against the table's `value`
// column, and the rows that do not decode set aside for the dead-letter table with the reason.
// Schemas and the column's evolved type come from the flusher (TypedResolver): the worker asks for
// the schema ids it met, then for the column type that holds every shape it decoded.
import { Int32, Utf8, makeData, type Data } from 'apache-arrow'
import { avroRowReader, type RowReader } from './avro-columns.ts'
import { ZombiError } from '../errors.ts'
import { DecoderCache, decoderKey, readMessageIndexes, readWirePrefix, type SchemaBundle, type TableMode, type ValueDecoder } from '../schema/decoders.ts'
import type { StructSource } from '../schema/source-type.ts'
import { BytesRange, intBound } from './bounds.ts'
import type { RowColumns } from './columns.ts'
import type { ExtraColumns, FileMetrics } from './data-file.ts'
import { LAST_COLUMN_ID } from './schema.ts'
import { compileCheck } from './typed-check.ts'
import { ValueColumn } from './typed-columns.ts'
import { arrowField, type IcebergField } from './typed-schema.ts'

export interface SchemaAnswer {
  /** The bundle of each id asked for; null: no schema has that id. */
  byId: Array<[number, SchemaBundle | null]>
  /** The latest schema of the topic's value subject when asked for (null: the subject has none). */
  latest: SchemaBundle | null
}

export interface PlanAnswer {
  /** The table's `value` column holding every shape asked about that fits (null: none did and the table has none). */
  field: IcebergField | null
  /** Shapes (by decoder key) the table cannot take, with the reason: their rows go to the dead-letter table. */
  refused: Array<[string, string]>
}

/** What the worker asks the flusher during a typed job. */
export interface TypedResolver {
  schemas(ids: number[], latest: boolean): Promise<SchemaAnswer>
  plan(shapes: Array<[string, StructSource]>): Promise<PlanAnswer>
}

const DEAD_LETTER_SUFFIX = '~dlq'

/** The table of a topic's records that did not decode (docs/typed-tables.md). */
export function deadLetterTable(topic: string): string {
  return `${topic}${DEAD_LETTER_SUFFIX}`
}

/** The topic whose dead-letter table `table` is, or null (`~` is not legal in a topic name, so no topic's own table matches). */
export function deadLetterSource(table: string): string | null {
  return table.endsWith(DEAD_LETTER_SUFFIX) ? table.slice(0, -DEAD_LETTER_SUFFIX.length) : null
}

/** The dead-letter table's columns after the key_value ones. */
export const DeadLetterFieldId = { error: LAST_COLUMN_ID + 1, schemaId: LAST_COLUMN_ID + 2 } as const

export function deadLetterFields(): IcebergField[] {
  return [
    { id: DeadLetterFieldId.error, name: 'error', required: true, type: 'string' },
    { id: DeadLetterFieldId.schemaId, name: 'schema_id', required: false, type: 'int' },
  ]
}

/**
 * The typed side of a job's rows. Which decoder each row takes is settled up front (from the wire
 * format's prefix, without decoding); values are decoded and checked a row group at a time as its
 * Arrow data is built (valuesOf), so only one row group's decoded objects are alive at once. A row
 * that fails there gets its error and a null value; the dead-letter files are written after the
 * table's, once every row went through valuesOf.
 */
export class TypedRows {
  /** Per row: why it did not decode (null: it did, or not yet asked). */
  readonly errors: Array<string | null>
  /** Per row: the schema id its value named or was decoded with (-1: none). */
  readonly schemaIds: Int32Array
  /** Per row: index into #decoders, -1 for no typed value (a null Kafka value, or an error already). */
  readonly #decoder: Int32Array
  /** Per row: where the encoded value starts in its payload (after prefix and message indexes). */
  readonly #start: Int32Array
  readonly #decoders: Array<{ decoder: ValueDecoder; bundle: SchemaBundle; check: ((value: unknown) => unknown) | null; refused: string | null; direct: RowReader | null }> = []
  readonly #columns: RowColumns
  field: IcebergField | null = null

  constructor(columns: RowColumns) {
    const n = columns.count
    this.#columns = columns
    this.errors = new Array<string | null>(n).fill(null)
    this.schemaIds = new Int32Array(n).fill(-1)
    this.#decoder = new Int32Array(n).fill(-1)
    this.#start = new Int32Array(n)
  }

  get deadLetters(): number {
    let count = 0
    for (const error of this.errors) if (error !== null) count++
    return count
  }

  /** The Arrow data of the `value` column for `rows`, recording the errors of those that fail (their value is null). */
  build(column: ValueColumn, rows: Uint32Array): Data {
    const bytes = this.#columns.payload.bytes
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const offsets = this.#columns.payloadOffsets.values
    return column.buildRows(rows.length, (builder, i) => {
      const row = rows[i]!
      const index = this.#decoder[row]!
      if (index < 0) {
        builder.push(null)
        return
      }
      const entry = this.#decoders[index]!
      if (entry.refused !== null || entry.check === null) throw new ZombiError('TYPED_SCHEMA_INCOMPATIBLE', entry.refused ?? 'the table has no value column')
      const start = offsets[row]! + this.#start[row]!
      const end = offsets[row + 1]!
      if (entry.direct !== null) {
        entry.direct(payload, start, end, builder)
        return
      }
      const decoder = entry.decoder
      builder.push(entry.check(decoder.decodeAt === undefined ? decoder.decode(payload.subarray(start, end)) : decoder.decodeAt(payload, start, end)))
    }, (i, error) => {
      this.errors[rows[i]!] = messageOf(error)
    })
  }

  /** Settles each row's decoder and asks the flusher for the column type (see decodeTypedRows). */
  async prepare(mode: TableMode, resolver: TypedResolver): Promise<void> {
    const columns = this.#columns
    const n = columns.count
    const payload = columns.payload.bytes
    const offsets = columns.payloadOffsets.values
    const isNull = columns.valueIsNull.values
    const ids = new Set<number>()
    let latest = false
    for (let row = 0; row < n; row++) {
      if (isNull[row] === 1) continue
      const start = offsets[row]!
      const end = offsets[row + 1]!
      if (mode === 'value_schema_latest' || (mode === 'json' && (end === start || payload[start] !== 0))) {
        latest = true
        continue
      }
      try {
        const prefix = readWirePrefix(payload.subarray(start, end))
        this.schemaIds[row] = prefix.schemaId
        this.#start[row] = prefix.start
        ids.add(prefix.schemaId)
      } catch (error) {
        this.errors[row] = messageOf(error)
      }
    }
    const answer = await resolver.schemas([...ids], latest)
    const bundles = new Map(answer.byId)
    const byKey = new Map<string, number>()
    const failed = new Map<string, string>()
    for (let row = 0; row < n; row++) {
      if (isNull[row] === 1 || this.errors[row] !== null) continue
      const named = this.schemaIds[row]!
      const bundle = named === -1 ? answer.latest : bundles.get(named) ?? null
      if (bundle === null) {
        this.errors[row] = named === -1 ? 'the value subject has no schema' : `no schema has id ${named}`
        continue
      }
      this.schemaIds[row] = bundle.schema.id
      try {
        let indexes: number[] | null = null
        if (bundle.schema.schemaType === 'PROTOBUF' && named !== -1) {
          const read = readMessageIndexes(payload.subarray(offsets[row]!, offsets[row + 1]!), this.#start[row]!)
          indexes = read.indexes
          this.#start[row] = read.end
        }
        if (mode === 'json' && bundle.schema.schemaType !== 'JSON') throw new ZombiError('TYPED_RECORD_UNDECODABLE', `schema ${bundle.schema.id} is ${bundle.schema.schemaType}, not a JSON Schema`)
        const key = decoderKey(bundle.schema.id, indexes)
        const known = failed.get(key)
        if (known !== undefined) throw new ZombiError('TYPED_SCHEMA_UNSUPPORTED', known)
        let index = byKey.get(key)
        if (index === undefined) {
          let decoder: ValueDecoder
          try {
            decoder = decoders.decoder(bundle, indexes ?? [0])
          } catch (error) {
            failed.set(key, messageOf(error))
            throw error
          }
          index = this.#decoders.length
          this.#decoders.push({ decoder, bundle, check: null, refused: null, direct: null })
          byKey.set(key, index)
        }
        this.#decoder[row] = index
      } catch (error) {
        this.errors[row] = messageOf(error)
      }
    }
    const keys = [...byKey.keys()]
    const plan = await resolver.plan(keys.map((key) => [key, this.#decoders[byKey.get(key)!]!.decoder.type]))
    const refused = new Map(plan.refused)
    this.field = plan.field
    const check = plan.field === null ? null : compileCheck(plan.field.type, false, 'value')
    for (const key of keys) {
      const entry = this.#decoders[byKey.get(key)!]!
      entry.check = check
      entry.refused = refused.get(key) ?? null
      if (plan.field !== null && entry.refused === null && entry.bundle.schema.schemaType === 'AVRO') entry.direct = directReader(entry.bundle, plan.field)
    }
  }
}

// One cache per worker: decoders are built once per schema, whatever the job.
const decoders = new DecoderCache()
// Direct Avro readers by schema id and column type (a new column type compiles anew).
const directReaders = new Map<string, RowReader | null>()

function directReader(bundle: SchemaBundle, field: IcebergField): RowReader | null {
  const key = `${bundle.schema.id}\u0000${bundle.schema.schema}\u0000${JSON.stringify(field)}`
  let reader = directReaders.get(key)
  if (reader === undefined) {
    if (directReaders.size > 256) directReaders.clear()
    reader = avroRowReader(bundle.schema, new Map(bundle.references), field)
    directReaders.set(key, reader)
  }
  return reader
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * The typed side of a typed job's rows: each row's schema found (ids from the wire format, or the
 * value subject's latest), the flusher asked for those schemas and then for the value column that
 * holds every shape they decode to. Rows whose Kafka value is null have no typed value.
 */
export async function decodeTypedRows(columns: RowColumns, mode: TableMode, resolver: TypedResolver): Promise<TypedRows> {
  const typed = new TypedRows(columns)
  await typed.prepare(mode, resolver)
  return typed
}

/** The typed table's `value` column of one file. */
export function valueColumns(typed: TypedRows): ExtraColumns | null {
  const field = typed.field
  if (field === null) return null
  const column = new ValueColumn(field)
  return {
    fields: [arrowField(field)],
    build: (rows) => [typed.build(column, rows)],
    metrics: () => {
      const out: Omit<FileMetrics, 'columnSizes'> = { valueCounts: [], nullValueCounts: [], lowerBounds: [], upperBounds: [] }
      for (const leaf of column.leaves) {
        out.valueCounts.push([leaf.id, leaf.values])
        out.nullValueCounts.push([leaf.id, leaf.nulls])
        const lower = leaf.lower()
        const upper = leaf.upper()
        if (lower !== null) out.lowerBounds.push([leaf.id, lower])
        if (upper !== null) out.upperBounds.push([leaf.id, upper])
      }
      return out
    },
  }
}

/** What a dead-letter row carries beside the key_value columns, indexed by row. */
export interface DeadLetterRows {
  readonly errors: ReadonlyArray<string | null>
  /** -1: no schema id. */
  readonly schemaIds: Int32Array
}

/** The dead-letter table's error and schema_id columns of one file (rows of a flush, or of a rewrite). */
export function deadLetterColumns(typed: DeadLetterRows): ExtraColumns {
  const fields = deadLetterFields().map((field) => arrowField(field))
  const errors = new BytesRange('string')
  let rowCount = 0
  let nullIds = 0
  let minId = Infinity
  let maxId = -Infinity
  const encoder = new TextEncoder()
  return {
    fields,
    build: (rows) => {
      const n = rows.length
      const texts = Array.from(rows, (row) => encoder.encode(typed.errors[row] ?? ''))
      const valueOffsets = new Int32Array(n + 1)
      let total = 0
      texts.forEach((text, i) => {
        total += text.length
        valueOffsets[i + 1] = total
        errors.add(text, 0, text.length)
      })
      const data = new Uint8Array(total)
      texts.forEach((text, i) => data.set(text, valueOffsets[i]!))
      const ids = new Int32Array(n)
      const validity = new Uint8Array((n + 7) >>> 3)
      let nulls = 0
      for (let i = 0; i < n; i++) {
        const id = typed.schemaIds[rows[i]!]!
        if (id < 0) {
          nulls++
          continue
        }
        ids[i] = id
        validity[i >>> 3]! |= 1 << (i & 7)
        if (id < minId) minId = id
        if (id > maxId) maxId = id
      }
      rowCount += n
      nullIds += nulls
      const columns: Data[] = [
        makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets, data }),
        makeData({ type: new Int32(), length: n, nullCount: nulls, nullBitmap: validity, data: ids }),
      ]
      return columns
    },
    metrics: () => {
      const [errorLower, errorUpper] = errors.stringBounds()
      const lowerBounds: Array<[number, Uint8Array]> = []
      const upperBounds: Array<[number, Uint8Array]> = []
      if (errorLower !== null) lowerBounds.push([DeadLetterFieldId.error, errorLower])
      if (errorUpper !== null) upperBounds.push([DeadLetterFieldId.error, errorUpper])
      if (minId <= maxId) {
        lowerBounds.push([DeadLetterFieldId.schemaId, intBound(minId)])
        upperBounds.push([DeadLetterFieldId.schemaId, intBound(maxId)])
      }
      return {
        valueCounts: [[DeadLetterFieldId.error, rowCount], [DeadLetterFieldId.schemaId, rowCount]],
        nullValueCounts: [[DeadLetterFieldId.error, 0], [DeadLetterFieldId.schemaId, nullIds]],
        lowerBounds, upperBounds,
      }
    },
  }
}

