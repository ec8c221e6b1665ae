// The typed part of an encode job, in the worker: each row's value decoded with its schema (ids read
// from the wire format, or the subject's latest schema), checked against the table's `value`
// column, and the rows that do not decode set aside for the dead-letter table with the reason.
// Schemas and the column's evolved type come from the flusher (TypedResolver): the worker asks for
// the schema ids it met, then for the column type that holds every shape it decoded.
import { Int32, Utf8, makeData, type Data } from 'apache-arrow'
import { ZombiError } from '../errors.ts'
import { DecoderCache, decoderKey, readMessageIndexes, readWirePrefix, type SchemaBundle, type TableMode, type ValueDecoder } from '../schema/decoders.ts'
import type { StructSource } from '../schema/source-type.ts'
import { BytesRange, intBound } from './bounds.ts'
import type { RowColumns } from './columns.ts'
import type { ExtraColumns, FileMetrics } from './data-file.ts'
import { LAST_COLUMN_ID } from './schema.ts'
import { ValueColumn, checkValue } from './typed-columns.ts'
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

/** The dead-letter table's columns after the key_value ones. */
export const DeadLetterFieldId = { error: LAST_COLUMN_ID + 1, schemaId: LAST_COLUMN_ID + 2 } as const

export function deadLetterFields(): IcebergField[] {
  return [
    { id: DeadLetterFieldId.error, name: 'error', required: true, type: 'string' },
    { id: DeadLetterFieldId.schemaId, name: 'schema_id', required: false, type: 'int' },
  ]
}

/** The typed outcome of a job's rows. */
export class TypedRows {
  /** Per row: the checked value, or null (a tombstone, or a row of the dead-letter table). */
  readonly values: unknown[]
  /** Per row: why it did not decode (null: it did). */
  readonly errors: Array<string | null>
  /** Per row: the schema id its value named or was decoded with (-1: none). */
  readonly schemaIds: Int32Array
  field: IcebergField | null = null
  deadLetters = 0

  constructor(count: number) {
    this.values = new Array<unknown>(count).fill(null)
    this.errors = new Array<string | null>(count).fill(null)
    this.schemaIds = new Int32Array(count).fill(-1)
  }
}

// One cache per worker: decoders are built once per schema, whatever the job.
const decoders = new DecoderCache()

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Decodes and checks every row's value of a typed job (rows whose Kafka value is null stay null). */
export async function decodeTypedRows(columns: RowColumns, mode: TableMode, resolver: TypedResolver): Promise<TypedRows> {
  const n = columns.count
  const out = new TypedRows(n)
  const payload = columns.payload.bytes
  const offsets = columns.payloadOffsets.values
  const isNull = columns.valueIsNull.values
  // Which schema each row names (-1: the subject's latest; -2: the row already failed).
  const start = new Int32Array(n)
  const ids = new Set<number>()
  let latest = false
  for (let row = 0; row < n; row++) {
    if (isNull[row] === 1) continue
    const value = payload.subarray(offsets[row]!, offsets[row + 1]!)
    if (mode === 'value_schema_latest' || (mode === 'json' && value[0] !== 0)) {
      latest = true
      start[row] = 0
      continue
    }
    try {
      const prefix = readWirePrefix(value)
      out.schemaIds[row] = prefix.schemaId
      start[row] = prefix.start
      ids.add(prefix.schemaId)
    } catch (error) {
      out.errors[row] = messageOf(error)
    }
  }
  const answer = await resolver.schemas([...ids], latest)
  const bundles = new Map(answer.byId)
  const keys = new Array<string | null>(n).fill(null)
  const shapes = new Map<string, StructSource>()
  const raw = new Array<unknown>(n).fill(null)
  for (let row = 0; row < n; row++) {
    if (isNull[row] === 1 || out.errors[row] !== null) continue
    const value = payload.subarray(offsets[row]!, offsets[row + 1]!)
    const named = out.schemaIds[row]!
    const bundle = named === -1 ? answer.latest : bundles.get(named) ?? null
    if (bundle === null) {
      out.errors[row] = named === -1 ? 'the value subject has no schema' : `no schema has id ${named}`
      continue
    }
    out.schemaIds[row] = bundle.schema.id
    try {
      let at = start[row]!
      let indexes: number[] | null = null
      if (bundle.schema.schemaType === 'PROTOBUF' && named !== -1) {
        const read = readMessageIndexes(value, at)
        indexes = read.indexes
        at = read.end
      }
      if (mode === 'json' && bundle.schema.schemaType !== 'JSON') throw new ZombiError('TYPED_RECORD_UNDECODABLE', `schema ${bundle.schema.id} is ${bundle.schema.schemaType}, not a JSON Schema`)
      const decoder: ValueDecoder = decoders.decoder(bundle, indexes ?? [0])
      raw[row] = decoder.decode(value.subarray(at))
      const key = decoderKey(bundle.schema.id, indexes)
      keys[row] = key
      shapes.set(key, decoder.type)
    } catch (error) {
      out.errors[row] = messageOf(error)
    }
  }
  const plan = await resolver.plan([...shapes])
  const refused = new Map(plan.refused)
  out.field = plan.field
  for (let row = 0; row < n; row++) {
    const key = keys[row]
    if (key === null || key === undefined) continue
    const why = refused.get(key)
    if (why !== undefined || plan.field === null) {
      out.errors[row] = why ?? 'the table has no value column'
      continue
    }
    try {
      out.values[row] = checkValue(plan.field.type, raw[row], false, 'value')
    } catch (error) {
      out.errors[row] = messageOf(error)
    }
  }
  for (const error of out.errors) if (error !== null) out.deadLetters++
  return out
}

/** The typed table's `value` column of one file. */
export function valueColumns(typed: TypedRows): ExtraColumns | null {
  const field = typed.field
  if (field === null) return null
  const column = new ValueColumn(field)
  return {
    fields: [arrowField(field)],
    build: (rows) => {
      const values = new Array<unknown>(rows.length)
      for (let i = 0; i < rows.length; i++) values[i] = typed.values[rows[i]!]
      return [column.build(values)]
    },
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

/** The dead-letter table's error and schema_id columns of one file. */
export function deadLetterColumns(typed: TypedRows): ExtraColumns {
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

