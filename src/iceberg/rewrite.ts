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
import { dateAndHour, encodeFile, type EncodedFile } from './data-file.ts'
import type { EncodeOutput, EncodeResult } from './encode.ts'
import { ROW_GROUP_BYTES } from './encode.ts'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'

export interface RewriteJob {
  kind: 'rewrite'
  topic: string
  /** Whole Parquet files (transferred to the worker). */
  inputs: Uint8Array[]
  /** Decoded bytes per row group (default ROW_GROUP_BYTES). */
  rowGroupBytes?: number
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

/** Decodes the inputs, sorts their rows and writes them as one data file into `output`. */
export async function runRewriteJob(job: RewriteJob, output: EncodeOutput): Promise<EncodeResult> {
  let inputBytes = 0
  for (const input of job.inputs) inputBytes += input.length
  const columns = new RowColumns(inputBytes)
  for (const input of job.inputs) {
    const table = tableFromIPC(parquet.readParquet(input).intoIPCStream())
    appendRows(table, job.topic, columns)
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
  const file: EncodedFile = await encodeFile(columns, rows, job.topic, { rowGroupRows }, output)
  output.endFile(file)
  return { endOffsets: [], rows: n, rowBytes: columns.byteSize, files: [file] }
}
