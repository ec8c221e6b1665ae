// Rows of one (event_date, event_hour) bucket, of one or more Kafka partitions -> one Parquet data
// file (Arrow -> parquet-wasm):
// zstd, PARQUET:field_id on every column, statistics, dictionaries only on low-cardinality columns, plus the
// Iceberg metrics of the file (value/null counts, lower/upper bounds) computed on the way.
import { Binary, Bool, DateDay, Int32, Int64, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, makeData, type Data, type Field } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import { ZombiError } from '../errors.ts'
import { settleNativeBuffers } from '../observability/memory-relief.ts'
import { IpcEncoder } from './arrow-ipc.ts'
import { setInt64Words } from '../protocol/int64.ts'
import { BytesRange, booleanBound, dateBound, intBound, longBound, truncatedStringLower, truncatedStringUpper } from './bounds.ts'
import type { RowColumns } from './columns.ts'
import { StreamTail, columnSizes, footerOf } from './parquet-footer.ts'
import { FieldId, arrowSchema, headerStructType, headersListType } from './schema.ts'

export interface FileMetrics {
  /** [field id, compressed bytes of its column chunks]; empty when the footer could not be read back. */
  columnSizes: Array<[number, number]>
  /** [field id, count] */
  valueCounts: Array<[number, number]>
  nullValueCounts: Array<[number, number]>
  lowerBounds: Array<[number, Uint8Array]>
  upperBounds: Array<[number, Uint8Array]>
}

/**
 * Columns a table has beyond the key_value layout (a typed table's `value`, a dead-letter table's
 * error columns): one per file, as it adds up the file's metrics.
 */
export interface ExtraColumns {
  readonly fields: readonly Field[]
  /** Their data for `rows` (indexes into the job's rows, in file order). */
  build(rows: Uint32Array): Data[]
  /** Their metrics over the rows built so far. */
  metrics(): Omit<FileMetrics, 'columnSizes'>
}

/** What is known of a data file once its last byte is written (the bytes went to a ChunkSink). */
export interface EncodedFile {
  /** A file of the topic's dead-letter table (`<topic>~dlq`), not of its table. */
  deadLetter?: boolean
  /** Days since 1970-01-01 (UTC). */
  eventDate: number
  eventHour: number
  recordCount: number
  minOffset: number
  maxOffset: number
  /** Bytes of the file: the sum of its chunks. */
  sizeBytes: number
  metrics: FileMetrics
}

/** Where a data file's bytes go as they are encoded. */
export interface ChunkSink {
  /**
   * Takes the next chunk (the sink owns it from now on); resolves once the next one may come,
   * which is how a slow consumer holds the encoder back. Rejecting stops the encoding.
   */
  write(chunk: Uint8Array): Promise<void> | void
}

export interface ParquetOptions {
  /** Rows per row group (the caller derives it from the target size and the average row size). */
  rowGroupRows: number
}

const HOUR_MS = 3_600_000

/** UTC hours since the epoch of a millisecond timestamp; rows of one hour share a data file. */
export function hourOf(timestampMs: number): number {
  return Math.floor(timestampMs / HOUR_MS)
}

/** The partition values of a timestamp: days since 1970-01-01 and the hour of that day (UTC). */
export function dateAndHour(timestampMs: number): { eventDate: number; eventHour: number } {
  const hour = hourOf(timestampMs)
  const eventDate = Math.floor(hour / 24)
  return { eventDate, eventHour: hour - eventDate * 24 }
}

function bitmap(length: number, isSet: (i: number) => boolean): Uint8Array {
  const bits = new Uint8Array((length + 7) >>> 3)
  for (let i = 0; i < length; i++) if (isSet(i)) bits[i >>> 3]! |= 1 << (i & 7)
  return bits
}

/** True when `rows` is first, first + 1, ...: the rows are stored in file order already. */
function isRun(rows: Uint32Array): boolean {
  const first = rows[0] ?? 0
  for (let i = 1; i < rows.length; i++) if (rows[i] !== first + i) return false
  return true
}

/** Gathers variable-length values of `rows` into new offsets + data (a view without copying for a run). */
function gatherBytes(rows: Uint32Array, offsets: Int32Array, bytes: Uint8Array, run = isRun(rows)): { valueOffsets: Int32Array; data: Uint8Array } {
  const n = rows.length
  if (run) {
    const first = rows[0] ?? 0
    const start = offsets[first]!
    const valueOffsets = new Int32Array(n + 1)
    for (let i = 0; i <= n; i++) valueOffsets[i] = offsets[first + i]! - start
    return { valueOffsets, data: bytes.subarray(start, start + valueOffsets[n]!) }
  }
  const valueOffsets = new Int32Array(n + 1)
  let total = 0
  for (let i = 0; i < n; i++) {
    const row = rows[i]!
    total += offsets[row + 1]! - offsets[row]!
    valueOffsets[i + 1] = total
  }
  const data = new Uint8Array(total)
  let at = 0
  for (let i = 0; i < n; i++) {
    const row = rows[i]!
    const start = offsets[row]!
    const end = offsets[row + 1]!
    if (end - start < 64) {
      for (let j = start; j < end; j++) data[at++] = bytes[j]!
    } else {
      data.set(bytes.subarray(start, end), at)
      at += end - start
    }
  }
  return { valueOffsets, data }
}

function repeatedString(value: string, n: number): { valueOffsets: Int32Array; data: Uint8Array } {
  const one = Buffer.from(value, 'utf8')
  const valueOffsets = new Int32Array(n + 1)
  const data = new Uint8Array(one.length * n)
  for (let i = 0; i < n; i++) {
    data.set(one, i * one.length)
    valueOffsets[i + 1] = (i + 1) * one.length
  }
  return { valueOffsets, data }
}

/** What a data file's Iceberg metrics are made of, added up over the record batches written to it. */
export class FileStats {
  rows = 0
  minOffset = Infinity
  maxOffset = -Infinity
  minPartition = Infinity
  maxPartition = -Infinity
  minTimestamp = Infinity
  maxTimestamp = -Infinity
  nullValues = 0
  nullKeys = 0
  nullIdempotencyKeys = 0
  headers = 0
  nullHeaderValues = 0
  readonly keys = new BytesRange('binary')
  readonly payloads = new BytesRange('binary')
  readonly idempotencyKeys = new BytesRange('string')
}

/**
 * Builds the Arrow record batch of `rows` (indexes into `columns`, already in file order) and
 * adds those rows to `stats`.
 */
export function buildRecordBatch(columns: RowColumns, rows: Uint32Array, topic: string, stats: FileStats, extra: ExtraColumns | null = null): RecordBatch {
  const n = rows.length
  const partitions = columns.partitions.values
  const partition = new Int32Array(n)
  const offsets = columns.offsets.values
  const timestamps = columns.timestamps.values
  const sequence = new BigInt64Array(n)
  const timestampMs = new BigInt64Array(n)
  const timestampMicros = new BigInt64Array(n)
  const sequenceView = new Uint32Array(sequence.buffer)
  const timestampMsView = new Uint32Array(timestampMs.buffer)
  const timestampMicrosView = new Uint32Array(timestampMicros.buffer)
  let minOffset = Infinity
  let maxOffset = -Infinity
  let minPartition = Infinity
  let maxPartition = -Infinity
  let minTimestamp = Infinity
  let nullValues = 0
  let nullKeys = 0
  for (let i = 0; i < n; i++) {
    const row = rows[i]!
    const offset = offsets[row]!
    const timestamp = timestamps[row]!
    const kafkaPartition = partitions[row]!
    partition[i] = kafkaPartition
    if (kafkaPartition < minPartition) minPartition = kafkaPartition
    if (kafkaPartition > maxPartition) maxPartition = kafkaPartition
    setInt64Words(sequenceView, i, offset)
    setInt64Words(timestampMsView, i, timestamp)
    setInt64Words(timestampMicrosView, i, timestamp * 1000)
    if (offset < minOffset) minOffset = offset
    if (offset > maxOffset) maxOffset = offset
    if (timestamp < minTimestamp) minTimestamp = timestamp
    if (timestamp > stats.maxTimestamp) stats.maxTimestamp = timestamp
    nullValues += columns.valueIsNull.values[row]!
    nullKeys += columns.keyIsNull.values[row]!
  }
  // Every row of a file is in one hour (the encode job splits files by hour), so any row names it.
  const { eventDate, eventHour } = dateAndHour(minTimestamp)

  const run = isRun(rows)
  const payload = gatherBytes(rows, columns.payloadOffsets.values, columns.payload.bytes, run)
  const key = gatherBytes(rows, columns.keyOffsets.values, columns.key.bytes, run)
  const keyValidity = bitmap(n, (i) => columns.keyIsNull.values[rows[i]!] === 0)
  const idempotencyKey = gatherBytes(rows, columns.idempotencyKeyOffsets.values, columns.idempotencyKey.bytes, run)
  let nullIdempotencyKeys = 0
  for (let i = 0; i < n; i++) nullIdempotencyKeys += columns.idempotencyKeyIsNull.values[rows[i]!]!
  // Bounds of the binary and string columns (compared on short prefixes: see BytesRange).
  for (let i = 0; i < n; i++) {
    stats.payloads.add(payload.data, payload.valueOffsets[i]!, payload.valueOffsets[i + 1]!)
    if (columns.keyIsNull.values[rows[i]!] === 0) stats.keys.add(key.data, key.valueOffsets[i]!, key.valueOffsets[i + 1]!)
    if (columns.idempotencyKeyIsNull.values[rows[i]!] === 0) stats.idempotencyKeys.add(idempotencyKey.data, idempotencyKey.valueOffsets[i]!, idempotencyKey.valueOffsets[i + 1]!)
  }
  const idempotencyKeyValidity = bitmap(n, (i) => columns.idempotencyKeyIsNull.values[rows[i]!] === 0)
  const valueIsNull = bitmap(n, (i) => columns.valueIsNull.values[rows[i]!] === 1)

  // Headers: the list offsets of the rows, and their entries gathered in the same order.
  const headerOffsets = columns.headerOffsets.values
  const listOffsets = new Int32Array(n + 1)
  let headerTotal = 0
  for (let i = 0; i < n; i++) {
    const row = rows[i]!
    headerTotal += headerOffsets[row + 1]! - headerOffsets[row]!
    listOffsets[i + 1] = headerTotal
  }
  const headerRows = new Uint32Array(headerTotal)
  let nullHeaderValues = 0
  for (let i = 0, at = 0; i < n; i++) {
    const row = rows[i]!
    for (let h = headerOffsets[row]!; h < headerOffsets[row + 1]!; h++) {
      headerRows[at++] = h
      nullHeaderValues += columns.headerValueIsNull.values[h]!
    }
  }
  const headerKey = gatherBytes(headerRows, columns.headerKeyOffsets.values, columns.headerKey.bytes)
  const headerValue = gatherBytes(headerRows, columns.headerValueOffsets.values, columns.headerValue.bytes)
  const headerValueValidity = bitmap(headerTotal, (i) => columns.headerValueIsNull.values[headerRows[i]!] === 0)

  const topicColumn = repeatedString(topic, n)
  const children: Data[] = [
    makeData({ type: new Int64(), length: n, data: sequence }),
    makeData({ type: new Utf8(), length: n, valueOffsets: topicColumn.valueOffsets, data: topicColumn.data }),
    makeData({ type: new Int32(), length: n, data: partition }),
    makeData({ type: new Binary(), length: n, valueOffsets: payload.valueOffsets, data: payload.data }),
    makeData({ type: new Int64(), length: n, data: timestampMs }),
    makeData({ type: new Utf8(), length: n, nullCount: nullIdempotencyKeys, nullBitmap: idempotencyKeyValidity, valueOffsets: idempotencyKey.valueOffsets, data: idempotencyKey.data }),
    makeData({ type: new DateDay(), length: n, data: new Int32Array(n).fill(eventDate) }),
    makeData({ type: new Int32(), length: n, data: new Int32Array(n).fill(eventHour) }),
    makeData({ type: new Binary(), length: n, nullCount: nullKeys, nullBitmap: keyValidity, valueOffsets: key.valueOffsets, data: key.data }),
    makeData({
      type: headersListType, length: n, nullCount: 0, valueOffsets: listOffsets,
      child: makeData({
        type: headerStructType, length: headerTotal, nullCount: 0,
        children: [
          makeData({ type: new Utf8(), length: headerTotal, valueOffsets: headerKey.valueOffsets, data: headerKey.data }),
          makeData({ type: new Binary(), length: headerTotal, nullCount: nullHeaderValues, nullBitmap: headerValueValidity, valueOffsets: headerValue.valueOffsets, data: headerValue.data }),
        ],
      }),
    }),
    makeData({ type: new TimestampMicrosecond('UTC'), length: n, data: timestampMicros }),
    makeData({ type: new Bool(), length: n, data: valueIsNull }),
  ]
  let schema = arrowSchema
  if (extra !== null) {
    schema = new Schema([...arrowSchema.fields, ...extra.fields])
    children.push(...extra.build(rows))
  }
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }))
  stats.rows += n
  stats.minOffset = Math.min(stats.minOffset, minOffset)
  stats.maxOffset = Math.max(stats.maxOffset, maxOffset)
  stats.minPartition = Math.min(stats.minPartition, minPartition)
  stats.maxPartition = Math.max(stats.maxPartition, maxPartition)
  stats.minTimestamp = Math.min(stats.minTimestamp, minTimestamp)
  stats.nullValues += nullValues
  stats.nullKeys += nullKeys
  stats.nullIdempotencyKeys += nullIdempotencyKeys
  stats.headers += headerTotal
  stats.nullHeaderValues += nullHeaderValues
  return batch
}

/** [field id, bound] pairs of the bounds that exist. */
function presentBounds(bounds: Array<[number, Uint8Array | null]>): Array<[number, Uint8Array]> {
  return bounds.filter((entry): entry is [number, Uint8Array] => entry[1] !== null)
}

/**
 * The Iceberg metrics of a data file: column sizes (from its Parquet footer, when `footer` holds
 * it), value and null counts, lower and upper bounds per field id. Binary and string bounds are
 * truncated to 16 bytes or code points as Iceberg's default metrics mode does; the header fields
 * sit in a list and get counts only, as Iceberg's own writers do.
 */
export function fileMetrics(stats: FileStats, topic: string, footer: Uint8Array | null = null): FileMetrics {
  const { rows: n, minOffset, maxOffset, minPartition, maxPartition, minTimestamp, maxTimestamp, nullValues, nullKeys, nullIdempotencyKeys, headers, nullHeaderValues } = stats
  const { eventDate, eventHour } = dateAndHour(minTimestamp)
  const rowCount = (id: number): [number, number] => [id, n]
  const [keyLower, keyUpper] = stats.keys.binaryBounds()
  const [payloadLower, payloadUpper] = stats.payloads.binaryBounds()
  const [idempotencyKeyLower, idempotencyKeyUpper] = stats.idempotencyKeys.stringBounds()
  return {
    columnSizes: footer === null ? [] : [...columnSizes(footer)].sort((a, b) => a[0] - b[0]),
    valueCounts: [
      rowCount(FieldId.sequence), rowCount(FieldId.topic), rowCount(FieldId.partition), rowCount(FieldId.payload),
      rowCount(FieldId.timestampMs), rowCount(FieldId.idempotencyKey), rowCount(FieldId.eventDate), rowCount(FieldId.eventHour),
      rowCount(FieldId.key), [FieldId.headerKey, headers], [FieldId.headerValue, headers], rowCount(FieldId.timestamp),
      rowCount(FieldId.valueIsNull),
    ],
    nullValueCounts: [
      [FieldId.sequence, 0], [FieldId.topic, 0], [FieldId.partition, 0], [FieldId.payload, 0], [FieldId.timestampMs, 0],
      [FieldId.idempotencyKey, nullIdempotencyKeys], [FieldId.eventDate, 0], [FieldId.eventHour, 0], [FieldId.key, nullKeys],
      [FieldId.headerKey, 0], [FieldId.headerValue, nullHeaderValues], [FieldId.timestamp, 0], [FieldId.valueIsNull, 0],
    ],
    lowerBounds: presentBounds([
      [FieldId.sequence, longBound(minOffset)], [FieldId.topic, truncatedStringLower(topic)], [FieldId.partition, intBound(minPartition)],
      [FieldId.payload, payloadLower], [FieldId.timestampMs, longBound(minTimestamp)], [FieldId.idempotencyKey, idempotencyKeyLower],
      [FieldId.eventDate, dateBound(eventDate)], [FieldId.eventHour, intBound(eventHour)], [FieldId.key, keyLower],
      [FieldId.timestamp, longBound(minTimestamp * 1000)], [FieldId.valueIsNull, booleanBound(nullValues === n)],
    ]),
    upperBounds: presentBounds([
      [FieldId.sequence, longBound(maxOffset)], [FieldId.topic, truncatedStringUpper(topic)], [FieldId.partition, intBound(maxPartition)],
      [FieldId.payload, payloadUpper], [FieldId.timestampMs, longBound(maxTimestamp)], [FieldId.idempotencyKey, idempotencyKeyUpper],
      [FieldId.eventDate, dateBound(eventDate)], [FieldId.eventHour, intBound(eventHour)], [FieldId.key, keyUpper],
      [FieldId.timestamp, longBound(maxTimestamp * 1000)], [FieldId.valueIsNull, booleanBound(nullValues > 0)],
    ]),
  }
}

function withExtraMetrics(metrics: FileMetrics, extra: ExtraColumns | null): FileMetrics {
  if (extra === null) return metrics
  const more = extra.metrics()
  return {
    columnSizes: metrics.columnSizes,
    valueCounts: [...metrics.valueCounts, ...more.valueCounts],
    nullValueCounts: [...metrics.nullValueCounts, ...more.nullValueCounts],
    lowerBounds: [...metrics.lowerBounds, ...more.lowerBounds],
    upperBounds: [...metrics.upperBounds, ...more.upperBounds],
  }
}

/** Top-level columns of few distinct values: a dictionary makes them tiny (and cheap to encode). */
const DICTIONARY_COLUMNS = ['topic', 'partition', 'idempotency_key', 'event_date', 'event_hour']
/** Fixed-width columns readers skip pages by (offset and time ranges): they keep page statistics. */
const PAGE_STATISTICS_COLUMNS = ['sequence', 'partition', 'timestamp_ms', 'timestamp']

function writerProperties(options: ParquetOptions): parquet.WriterProperties {
  // Measured (bench/encode-typed.ts): a dictionary on unique values (payloads, keys, offsets, and a
  // typed table's ids, timestamps, long text) costs up to ~3x the encoding time and often more bytes
  // than plain + zstd; page statistics (the page index) on long binary and text values cost ~20 %
  // of a typed flush. parquet-wasm names columns by their top-level name only (a nested leaf such
  // as value.body cannot be set on its own), so both are off by default and on where they pay:
  // every column still has its row-group (chunk) statistics, and Iceberg's bounds are ours anyway.
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setStatisticsEnabled(parquet.EnabledStatistics.Chunk)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(Math.max(1, options.rowGroupRows))
    .setCreatedBy('zombi')
  for (const column of DICTIONARY_COLUMNS) builder = builder.setColumnDictionaryEnabled(column, true)
  for (const column of PAGE_STATISTICS_COLUMNS) builder = builder.setColumnStatisticsEnabled(column, parquet.EnabledStatistics.Page)
  return builder.build()
}

/**
 * One per thread (each encode worker has its own module): its buffer is refilled for every row group
 * and only used within one synchronous step (encode, then parquet-wasm copies it in).
 */
const ipc = new IpcEncoder()

/** Lets go of the IPC buffer kept between row groups and jobs (an idle worker then holds none). */
export function releaseIpcBuffer(): void {
  ipc.release()
}

/**
 * Writes `rows` as one Parquet file into `sink`, one row group at a time: each group is built as an
 * Arrow batch, moved into wasm memory and handed to parquet-wasm's streaming writer, which encodes
 * and compresses it before the next one is built; its bytes go to the sink as they come out (a
 * chunk per row group, then the footer). Memory beyond the decoded columns stays at about one row
 * group plus what the sink holds, whatever the file size (wasm memory only grows, so this also
 * bounds it).
 */
export async function encodeFile(columns: RowColumns, rows: Uint32Array, topic: string, options: ParquetOptions, sink: ChunkSink, extra: ExtraColumns | null = null): Promise<EncodedFile> {
  const groupRows = Math.max(1, options.rowGroupRows)
  let start = 0
  return encodeGroups(() => {
    if (start >= rows.length) return null
    const slice = rows.subarray(start, start + groupRows)
    start += slice.length
    return { columns, rows: slice }
  }, topic, options, sink, extra)
}

/** Rows of one row group: `rows` of `columns`, in file order. */
export interface RowGroup {
  columns: RowColumns
  rows: Uint32Array
}

/**
 * Writes the row groups `next` hands out (null: the file ends) as one Parquet file into `sink`,
 * as encodeFile does; `next` is called only when the writer wants the next group, so a caller can
 * decode each group as it goes and hold no more than one (the groups of one file must share an
 * (event_date, event_hour) and follow the table's sort order). `extra` columns are indexed by row
 * like `columns`, so they go only with groups of one shared RowColumns.
 */
export async function encodeGroups(next: () => RowGroup | null, topic: string, options: ParquetOptions, sink: ChunkSink, extra: ExtraColumns | null = null): Promise<EncodedFile> {
  const stats = new FileStats()
  let given = 0
  const groups = new ReadableStream<parquet.RecordBatch>({
    async pull(controller) {
      // The last group's decompressed batches (lz4) go back to their allocator before the next is decoded.
      if (given > 0) await settleNativeBuffers()
      const group = next()
      if (group === null) {
        controller.close()
        return
      }
      given += group.rows.length
      const batch = buildRecordBatch(group.columns, group.rows, topic, stats, extra)
      const table = parquet.Table.fromIPCStream(ipc.encode(batch))
      try {
        for (const wasmBatch of table.recordBatches()) controller.enqueue(wasmBatch)
      } finally {
        table.free()
      }
    },
  }, { highWaterMark: 0 })
  let sizeBytes = 0
  const tail = new StreamTail()
  for await (const chunk of await parquet.transformParquetStream(groups, writerProperties(options)) as ReadableStream<Uint8Array>) {
    sizeBytes += chunk.length
    tail.add(chunk)
    await sink.write(chunk)
  }
  // parquet-wasm ends its output normally when its input fails (checked with 0.8.0): a file
  // short of rows must not pass for a complete one.
  if (stats.rows !== given) throw new ZombiError('ENCODE_FAILED', `the Parquet writer took ${stats.rows} of ${given} rows`)
  return {
    ...dateAndHour(stats.minTimestamp),
    recordCount: given,
    minOffset: stats.minOffset,
    maxOffset: stats.maxOffset,
    sizeBytes,
    metrics: withExtraMetrics(fileMetrics(stats, topic, footerOf(tail.bytes)), extra),
  }
}
