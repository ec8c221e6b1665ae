// A rewrite job (compaction's CPU work): Parquet data files of one table partition -> their rows,
// sorted as the table's sort order declares (Kafka partition, then sequence), ->
// one Parquet file written by the same encoder as the flusher's (data-file.ts), so the bounds,
// counts and encodings of a compacted file are computed exactly as for a flushed one. Every column
// of a row is carried over as stored; the derived ones (event_date, event_hour, timestamp) are
// recomputed from timestamp_ms as the flusher computes them, and checked against the stored values.
import { tableFromIPC, type Data, type RecordBatch } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import { ZombiError } from '../errors.ts'
import { binaryColumn, booleanAt, childData, fixedValues, present } from './arrow-columns.ts'
import { RowColumns } from './columns.ts'
import { dateAndHour, encodeFile, type EncodedFile, type ExtraColumns } from './data-file.ts'
import type { EncodeOutput, EncodeResult } from './encode.ts'
import { ROW_GROUP_BYTES } from './encode.ts'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'
import { footerOf, rowGroupRanges, uncompressedColumnSizes } from './parquet-footer.ts'
import { FieldId } from './schema.ts'
import { compileCheck } from './typed-check.ts'
import { ValueColumn } from './typed-columns.ts'
import { arrowField, type IcebergField, type IcebergType } from './typed-schema.ts'
import { deadLetterColumns } from './typed-rows.ts'

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
  /** The inputs are files of the topic's dead-letter table: their error and schema_id columns are carried too. */
  deadLetter?: boolean
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

function column(batch: RecordBatch, name: string): Data {
  const data = childData(batch, name)
  if (data === undefined) throw new ZombiError('ENCODE_FAILED', `a data file to rewrite has no column ${name}`)
  return data
}

function mismatch(what: string, row: number): ZombiError {
  return new ZombiError('ENCODE_FAILED', `a data file to rewrite holds a row (${row}) whose ${what} the flusher would not have written; nothing is rewritten`)
}

/** Microseconds per unit of an Arrow timestamp column. */
const MICROS_PER_UNIT = [1_000_000, 1000, 1, 0.001]

function sameBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array): boolean {
  if (aEnd - aStart !== b.length) return false
  for (let i = 0; i < b.length; i++) if (a[aStart + i] !== b[i]) return false
  return true
}

/**
 * Appends the rows of one decoded record batch to `columns`, checking what the encoder derives.
 * Values are copied from Arrow's buffers as stored (string columns as their UTF-8 bytes).
 */
function appendRows(batch: RecordBatch, topic: Uint8Array, columns: RowColumns, firstRow: number): void {
  const sequence = fixedValues(batch, 'sequence', BigInt64Array)
  const partitions = fixedValues(batch, 'partition', Int32Array)
  const timestampMs = fixedValues(batch, 'timestamp_ms', BigInt64Array)
  const eventDates = fixedValues(batch, 'event_date', Int32Array)
  const eventHours = fixedValues(batch, 'event_hour', Int32Array)
  const timestampData = column(batch, 'timestamp')
  const timestamps = timestampData.values as unknown
  const microsPerUnit = MICROS_PER_UNIT[(timestampData.type as { unit?: number }).unit ?? -1]
  if (!(timestamps instanceof BigInt64Array) || microsPerUnit === undefined) throw new ZombiError('ENCODE_FAILED', 'a data file to rewrite has a timestamp column that is not a 64-bit timestamp')
  const topics = binaryColumn(column(batch, 'topic'))!
  const payload = binaryColumn(column(batch, 'payload'))!
  const key = binaryColumn(column(batch, 'key'))!
  const idempotencyKey = binaryColumn(column(batch, IDEMPOTENCY_KEY))!
  const valueIsNull = column(batch, 'value_is_null')
  const headers = column(batch, 'headers')
  const headerOffsets = headers.valueOffsets as unknown
  const headerStruct = headers.children[0]
  if (!(headerOffsets instanceof Int32Array) || headerStruct === undefined) throw new ZombiError('ENCODE_FAILED', 'a data file to rewrite has a headers column that is not a list of structs')
  const headersValid = headers.nullCount > 0 ? headers.nullBitmap ?? null : null
  const headerKey = binaryColumn(headerStruct.children[0])!
  const headerValue = binaryColumn(headerStruct.children[1])!
  for (let row = 0; row < batch.numRows; row++) {
    const at = firstRow + row
    if (!present(topics.validity, topics.bitOffset + row) || !sameBytes(topics.values, topics.offsets[row]!, topics.offsets[row + 1]!, topic)) throw mismatch('topic', at)
    const ms = Number(timestampMs[row]!)
    const { eventDate: date, eventHour: hour } = dateAndHour(ms)
    if (eventDates[row] !== date || eventHours[row] !== hour) throw mismatch('event_date/event_hour', at)
    if (Number(timestamps[row]!) * microsPerUnit !== ms * 1000) throw mismatch('timestamp', at)
    columns.partitions.push(partitions[row]!)
    columns.offsets.push(Number(sequence[row]!))
    columns.timestamps.push(ms)
    const isNull = booleanAt(valueIsNull, row)
    columns.valueIsNull.push(isNull ? 1 : 0)
    if (!present(payload.validity, payload.bitOffset + row)) throw mismatch('payload (null, where the flusher writes empty bytes)', at)
    const valueStart = payload.offsets[row]!
    const valueEnd = payload.offsets[row + 1]!
    if (isNull && valueEnd > valueStart) throw mismatch('payload (a null value with bytes)', at)
    columns.payload.append(payload.values, valueStart, valueEnd)
    columns.payloadOffsets.push(columns.payload.length)
    if (!present(key.validity, key.bitOffset + row)) {
      columns.keyIsNull.push(1)
      columns.nullKeys++
    } else {
      columns.keyIsNull.push(0)
      columns.key.append(key.values, key.offsets[row]!, key.offsets[row + 1]!)
    }
    columns.keyOffsets.push(columns.key.length)
    if (!present(headersValid, headers.offset + row)) throw mismatch('headers (null, where the flusher writes an empty list)', at)
    for (let h = headerOffsets[row]!; h < headerOffsets[row + 1]!; h++) {
      columns.headerKey.append(headerKey.values, headerKey.offsets[h]!, headerKey.offsets[h + 1]!)
      columns.headerKeyOffsets.push(columns.headerKey.length)
      if (!present(headerValue.validity, headerValue.bitOffset + h)) {
        columns.headerValueIsNull.push(1)
        columns.nullHeaderValues++
      } else {
        columns.headerValueIsNull.push(0)
        columns.headerValue.append(headerValue.values, headerValue.offsets[h]!, headerValue.offsets[h + 1]!)
      }
      columns.headerValueOffsets.push(columns.headerValue.length)
    }
    columns.headerOffsets.push(columns.headerKeyOffsets.length - 1)
    if (!present(idempotencyKey.validity, idempotencyKey.bitOffset + row)) {
      columns.idempotencyKeyIsNull.push(1)
      columns.nullIdempotencyKeys++
    } else {
      columns.idempotencyKeyIsNull.push(0)
      columns.idempotencyKey.append(idempotencyKey.values, idempotencyKey.offsets[row]!, idempotencyKey.offsets[row + 1]!)
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

/** A dead-letter file's error (required) and schema_id (null: -1) of each row of `batch`, appended. */
function carryDeadLetter(batch: RecordBatch, errors: Array<string | null>, schemaIds: number[]): void {
  const error = batch.getChild('error')
  const schemaId = batch.getChild('schema_id')
  if (error === null || schemaId === null) throw new ZombiError('ENCODE_FAILED', 'a dead-letter data file to rewrite has no error or schema_id column')
  for (let row = 0; row < batch.numRows; row++) {
    const text = error.get(row) as string | null
    if (text === null) throw mismatch('error (null, where the flusher always writes one)', errors.length)
    errors.push(text)
    const id = schemaId.get(row) as number | null
    schemaIds.push(id ?? -1)
  }
}

/**
 * The record batches of a Parquet file, decoded one row group at a time: a whole file decoded at once
 * is held three times over (wasm memory, its IPC stream, the Arrow batches) beside the rewrite's columns.
 */
function* batchesOf(input: Uint8Array, rowGroups: number): Generator<RecordBatch> {
  for (let group = 0; group < rowGroups; group++) yield* tableFromIPC(parquet.readParquet(input, { rowGroups: [group] }).intoIPCStream()).batches
}

/** Decodes the inputs, sorts their rows and writes them as one data file into `output`. */
export async function runRewriteJob(job: RewriteJob, output: EncodeOutput): Promise<EncodeResult> {
  // The columns sized up front from the footers (growing them by doubling would hold old and new
  // copies at once: three times the payload at the peak, the largest part of what a rewrite holds).
  let payloadBytes = 0
  let keyBytes = 0
  let rowCount = 0
  const rowGroups: number[] = []
  for (const input of job.inputs) {
    const footer = footerOf(input)
    if (footer === null) throw new ZombiError('ENCODE_FAILED', 'a data file to rewrite has no Parquet footer')
    const sizes = uncompressedColumnSizes(footer)
    const groups = rowGroupRanges(footer, FieldId.sequence)
    payloadBytes += sizes.get(FieldId.payload) ?? input.length
    keyBytes += sizes.get(FieldId.key) ?? 0
    for (const group of groups) rowCount += group.rows
    rowGroups.push(groups.length)
  }
  const columns = new RowColumns(payloadBytes, { rows: rowCount, keyBytes })
  const topic = Buffer.from(job.topic, 'utf8')
  const values: unknown[] = []
  const errors: Array<string | null> = []
  const schemaIds: number[] = []
  const field = job.value
  const check = field === undefined ? null : compileCheck(field.type, false, 'value')
  for (const [index, input] of job.inputs.entries()) {
    let firstRow = 0
    for (const batch of batchesOf(input, rowGroups[index]!)) {
      appendRows(batch, topic, columns, firstRow)
      firstRow += batch.numRows
      if (field !== undefined) {
        // Files flushed before the topic was typed have no value column: null.
        const vector = batch.getChild(field.name)
        for (let row = 0; row < batch.numRows; row++) values.push(vector === null ? null : check!(carried(vector.get(row), field.type)))
      }
      if (job.deadLetter === true) carryDeadLetter(batch, errors, schemaIds)
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
  const extra = job.deadLetter === true
    ? deadLetterColumns({ errors, schemaIds: Int32Array.from(schemaIds) })
    : field === undefined ? null : valueExtra(field, values)
  const file: EncodedFile = await encodeFile(columns, rows, job.topic, { rowGroupRows }, output, extra)
  output.endFile(file)
  return { endOffsets: [], rows: n, rowBytes: columns.byteSize, files: [file] }
}
