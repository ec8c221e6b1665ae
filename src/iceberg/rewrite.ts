// A rewrite job (compaction's CPU work): Parquet data files of one table partition -> their rows,
// sorted as the table's sort order declares (Kafka partition, then sequence), ->
// one Parquet file written by the same encoder as the flusher's (data-file.ts), so the bounds,
// counts and encodings of a compacted file are computed exactly as for a flushed one. Every column
// of a row is carried over as stored; the derived ones (event_date, event_hour, timestamp) are
// recomputed from timestamp_ms as the flusher computes them, and checked against the stored values.
import { tableFromIPC, type Table, type Vector } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import { ZombiError } from '../errors.ts'
import { RowColumns } from './columns.ts'
import { dateAndHour, encodeFile, type EncodedFile, type ExtraColumns } from './data-file.ts'
import type { EncodeOutput, EncodeResult } from './encode.ts'
import { ROW_GROUP_BYTES } from './encode.ts'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'
import { compileCheck } from './typed-check.ts'
import { ValueColumn } from './typed-columns.ts'
import { arrowField, type IcebergField, type IcebergType } from './typed-schema.ts'

export interface RewriteJob {
  kind: 'rewrite'
  topic: string
  /** Whole Parquet files (transferred to the worker). */
  inputs: Uint8Array[]
  /** Decoded bytes per row group (default ROW_GROUP_BYTES). */
  rowGroupBytes?: number
  /**
   * A typed table's `value` column as the table has it now: each input's values (written with this
   * or an older version of it, or none) are carried into it, missing fields null, narrower types widened.
   */
  value?: IcebergField
}

const DAY_MS_VALUE = 86_400_000

/** A value as apache-arrow reads it back -> the form the value column's builders take, for `type`. */
function carried(value: unknown, type: IcebergType): unknown {
  if (value === null || value === undefined) return null
  if (typeof type === 'string') {
    switch (type) {
      // DateDay reads back as milliseconds since the epoch (or a Date).
      case 'date': return Math.floor((value instanceof Date ? value.getTime() : value as number) / DAY_MS_VALUE)
      // timestamp[us] reads back as (fractional) milliseconds.
      case 'timestamp':
      case 'timestamptz': return typeof value === 'bigint' ? value : Math.round((value as number) * 1000)
      case 'long':
      case 'time': return typeof value === 'number' ? value : BigInt(value as bigint)
    }
    if (type.startsWith('decimal')) return BigInt(value as bigint)
    return value
  }
  if (type.type === 'struct') {
    const row = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const field of type.fields) out[field.name] = carried(row[field.name], field.type)
    return out
  }
  if (type.type === 'list') return Array.from(value as Iterable<unknown>, (item) => carried(item, type.element))
  return Array.from(value as Iterable<[unknown, unknown]>, ([key, item]) => [carried(key, type.key), carried(item, type.value)])
}

const DAY_MS = 86_400_000

interface HeaderStruct {
  key: string
  value: Uint8Array | null
}

function child(table: Table, name: string): Vector {
  const vector = table.getChild(name)
  if (vector === null) throw new ZombiError('ENCODE_FAILED', `a data file to rewrite has no column ${name}`)
  return vector
}

function mismatch(what: string, row: number): ZombiError {
  return new ZombiError('ENCODE_FAILED', `a data file to rewrite holds a row (${row}) whose ${what} the flusher would not have written; nothing is rewritten`)
}

/** Appends the rows of one decoded data file to `columns`, checking what the encoder derives. */
function appendRows(table: Table, topic: string, columns: RowColumns): void {
  const sequence = child(table, 'sequence')
  const topics = child(table, 'topic')
  const partitions = child(table, 'partition')
  const payload = child(table, 'payload')
  const timestampMs = child(table, 'timestamp_ms')
  const idempotencyKey = child(table, IDEMPOTENCY_KEY)
  const eventDate = child(table, 'event_date')
  const eventHour = child(table, 'event_hour')
  const key = child(table, 'key')
  const headers = child(table, 'headers')
  const timestamp = child(table, 'timestamp')
  const valueIsNull = child(table, 'value_is_null')
  for (let row = 0; row < table.numRows; row++) {
    if (topics.get(row) !== topic) throw mismatch('topic', row)
    const ms = Number(timestampMs.get(row) as bigint)
    const { eventDate: date, eventHour: hour } = dateAndHour(ms)
    // DateDay reads back as milliseconds since the epoch.
    const storedDate = eventDate.get(row) as number | Date
    const storedDays = Math.floor((storedDate instanceof Date ? storedDate.getTime() : storedDate) / DAY_MS)
    if (storedDays !== date || eventHour.get(row) !== hour) throw mismatch('event_date/event_hour', row)
    // apache-arrow reads timestamp[us] back as milliseconds.
    if (Number(timestamp.get(row) as bigint | number) !== ms) throw mismatch('timestamp', row)
    columns.partitions.push(partitions.get(row) as number)
    columns.offsets.push(Number(sequence.get(row) as bigint))
    columns.timestamps.push(ms)
    const isNull = valueIsNull.get(row) === true
    columns.valueIsNull.push(isNull ? 1 : 0)
    const value = payload.get(row) as Uint8Array
    if (isNull && value.length > 0) throw mismatch('payload (a null value with bytes)', row)
    columns.payload.appendBuffer(value)
    columns.payloadOffsets.push(columns.payload.length)
    const keyBytes = key.get(row) as Uint8Array | null
    if (keyBytes === null) {
      columns.keyIsNull.push(1)
      columns.nullKeys++
    } else {
      columns.keyIsNull.push(0)
      columns.key.appendBuffer(keyBytes)
    }
    columns.keyOffsets.push(columns.key.length)
    const list = headers.get(row) as { toArray(): HeaderStruct[] } | null
    if (list === null) throw mismatch('headers (null, where the flusher writes an empty list)', row)
    for (const header of list.toArray()) {
      columns.headerKey.appendBuffer(Buffer.from(String(header.key), 'utf8'))
      columns.headerKeyOffsets.push(columns.headerKey.length)
      if (header.value === null) {
        columns.headerValueIsNull.push(1)
        columns.nullHeaderValues++
      } else {
        columns.headerValueIsNull.push(0)
        columns.headerValue.appendBuffer(header.value)
      }
      columns.headerValueOffsets.push(columns.headerValue.length)
    }
    columns.headerOffsets.push(columns.headerKeyOffsets.length - 1)
    const idempotency = idempotencyKey.get(row) as string | null
    if (idempotency === null) {
      columns.idempotencyKeyIsNull.push(1)
      columns.nullIdempotencyKeys++
    } else {
      columns.idempotencyKeyIsNull.push(0)
      columns.idempotencyKey.appendBuffer(Buffer.from(idempotency, 'utf8'))
    }
    columns.idempotencyKeyOffsets.push(columns.idempotencyKey.length)
  }
}

/** Row indexes in the table's sort order: Kafka partition, then sequence. */
function sortedRows(columns: RowColumns): Uint32Array {
  const partitions = columns.partitions.values
  const offsets = columns.offsets.values
  const rows = new Uint32Array(columns.count)
  for (let i = 0; i < rows.length; i++) rows[i] = i
  return rows.sort((a, b) => partitions[a]! - partitions[b]! || offsets[a]! - offsets[b]!)
}

/** The value column of the rewritten file, from the carried values (indexed like the rows). */
function valueExtra(field: IcebergField, values: readonly unknown[]): ExtraColumns {
  const column = new ValueColumn(field)
  return {
    fields: [arrowField(field)],
    build: (rows) => [column.build(Array.from(rows, (row) => values[row]))],
    metrics: () => ({
      valueCounts: column.leaves.map((leaf) => [leaf.id, leaf.values]),
      nullValueCounts: column.leaves.map((leaf) => [leaf.id, leaf.nulls]),
      lowerBounds: column.leaves.flatMap((leaf) => {
        const bound = leaf.lower()
        return bound === null ? [] : [[leaf.id, bound] as [number, Uint8Array]]
      }),
      upperBounds: column.leaves.flatMap((leaf) => {
        const bound = leaf.upper()
        return bound === null ? [] : [[leaf.id, bound] as [number, Uint8Array]]
      }),
    }),
  }
}

/** Decodes the inputs, sorts their rows and writes them as one data file into `output`. */
export async function runRewriteJob(job: RewriteJob, output: EncodeOutput): Promise<EncodeResult> {
  let inputBytes = 0
  for (const input of job.inputs) inputBytes += input.length
  const columns = new RowColumns(inputBytes)
  const values: unknown[] = []
  const field = job.value
  const check = field === undefined ? null : compileCheck(field.type, false, 'value')
  for (const input of job.inputs) {
    const table = tableFromIPC(parquet.readParquet(input).intoIPCStream())
    appendRows(table, job.topic, columns)
    if (field !== undefined) {
      // Files flushed before the topic was typed have no value column: null.
      const vector = table.getChild(field.name)
      for (let row = 0; row < table.numRows; row++) values.push(vector === null ? null : check!(carried(vector.get(row), field.type)))
    }
  }
  const n = columns.count
  if (n === 0) return { endOffsets: [], rows: 0, rowBytes: 0, files: [] }
  const rows = sortedRows(columns)
  const averageRowBytes = Math.max(1, columns.byteSize / n)
  const rowGroupRows = Math.max(1, Math.floor((job.rowGroupBytes ?? ROW_GROUP_BYTES) / averageRowBytes))
  const first = dateAndHour(columns.timestamps.values[rows[0]!]!)
  for (const row of rows) {
    const { eventDate, eventHour } = dateAndHour(columns.timestamps.values[row]!)
    if (eventDate !== first.eventDate || eventHour !== first.eventHour) throw new ZombiError('ENCODE_FAILED', 'the data files of a rewrite span more than one table partition')
  }
  output.beginFile(first.eventDate, first.eventHour)
  const extra = field === undefined ? null : valueExtra(field, values)
  const file: EncodedFile = await encodeFile(columns, rows, job.topic, { rowGroupRows }, output, extra)
  output.endFile(file)
  return { endOffsets: [], rows: n, rowBytes: columns.byteSize, files: [file] }
}
