// One encode job: runs of stored batches of one or more Kafka partitions of a topic -> Parquet data
// files, one per (event_date, event_hour) present (split only past the target size), each holding
// the rows of every partition of the job sorted by Kafka partition then sequence (the table's sort
// order), so the `partition` and `sequence` bounds of files and row groups still prune offset
// ranges. The bytes go to an EncodeOutput as they are encoded (never a whole file in memory). Pure CPU work; the flusher runs
// it in a worker thread (encode-worker.ts) so produce never waits on it. The worker also reads the
// stored batches from the hot log's files itself when it can.
import fs from 'node:fs'
import { ZombiError } from '../errors.ts'
import { ATTR_TRANSACTIONAL, LOG_OVERHEAD, BATCH_LENGTH, attributesOf, baseOffsetOf, lastOffsetDeltaOf, producerIdOf } from '../protocol/record-batch.ts'
import type { FileRange } from '../storage/hot-store.ts'
import { RowColumns, decodeBatchInto, endDecoding } from './columns.ts'
import { dateAndHour, encodeFile, hourOf, type ChunkSink, type EncodedFile, type ExtraColumns } from './data-file.ts'
import type { TableMode } from '../schema/decoders.ts'
import { deadLetterColumns, decodeTypedRows, valueColumns, type TypedResolver, type TypedRows } from './typed-rows.ts'

/** The stored batches of one Kafka partition in a job. */
export interface EncodePart {
  partition: number
  /** Records below this offset are skipped (already in the table). */
  fromOffset: number
  /** Bytes of this part's batches in the job's `batches` (0 when `files` is given). */
  batchBytes: number
  /** Or where its batches lie in the hot log's files, in offset order: the job reads them itself. */
  files?: FileRange[]
  /**
   * Aborted transactions over the part's offsets, as (producer id, first offset, marker offset)
   * triples: their batches are skipped, never rows (a flat list crosses to the worker cheaply).
   */
  aborted?: number[]
}

/** Whether a batch is a data batch of a transaction that aborted (its producer's aborted range holds its base offset). */
function isAborted(batch: Buffer, aborted: readonly number[] | undefined): boolean {
  if (aborted === undefined || (attributesOf(batch) & ATTR_TRANSACTIONAL) === 0) return false
  const producerId = producerIdOf(batch)
  const offset = baseOffsetOf(batch)
  for (let i = 0; i < aborted.length; i += 3) {
    if (aborted[i] === producerId && offset >= aborted[i + 1]! && offset <= aborted[i + 2]!) return true
  }
  return false
}

export interface EncodeJob {
  topic: string
  /** One per Kafka partition, in partition order (rows then come out of decoding in file order). */
  parts: EncodePart[]
  /** The whole stored record batches of the parts without `files`, back to back, in part then offset order. */
  batches: Uint8Array
  /**
   * Decoded bytes after which no further batch is taken: the rest is left for the next job
   * and `endOffsets` say where this one stopped. Keeps memory bounded for compressed input.
   */
  maxRowBytes: number
  /** Target size of a data file; a bigger hour is split. */
  targetFileBytes: number
  /** Decoded bytes per row group (default ROW_GROUP_BYTES, never above targetFileBytes). */
  rowGroupBytes?: number
  /** A typed table: values decoded by `mode`; undecodable rows also go to the dead-letter table. */
  typed?: {
    mode: Exclude<TableMode, 'key_value'>
    /**
     * Per part: dead-letter rows below this offset are in the dead-letter table already (its commit
     * landed, the table's did not), so they are not written again.
     */
    deadLetterFrom: number[]
  }
}

/**
 * Where a job's files go: for each file beginFile, its chunks through write (which may hold the
 * job back), then endFile; files one after the other.
 */
export interface EncodeOutput extends ChunkSink {
  /** A file of these partition values starts (the consumer can name it before any byte); `deadLetter`: of the dead-letter table. */
  beginFile(eventDate: number, eventHour: number, deadLetter?: boolean): void
  /** Where a typed job gets its schemas and column type (required for jobs with `typed`). */
  readonly typed?: TypedResolver
  endFile(file: EncodedFile): void
}

export interface EncodeResult {
  /** Per part: every offset below it is covered by the job (batch aligned; the part's fromOffset if none is). */
  endOffsets: number[]
  rows: number
  /** Decoded bytes of payloads, keys and headers. */
  rowBytes: number
  /** The files as they went to the output, in order. */
  files: EncodedFile[]
  /** Rows written to the dead-letter table. */
  deadLetterRows?: number
}

/** Row indexes in file order: by hour (one file each), then Kafka partition, then sequence. */
function orderRows(columns: RowColumns, hours: Int32Array): Uint32Array {
  const n = columns.count
  const partitions = columns.partitions.values
  const offsets = columns.offsets.values
  const rows = new Uint32Array(n)
  let sorted = true
  for (let i = 0; i < n; i++) {
    rows[i] = i
    if (i > 0 && sorted) {
      const hour = hours[i]! - hours[i - 1]!
      const partition = partitions[i]! - partitions[i - 1]!
      if (hour < 0 || (hour === 0 && (partition < 0 || (partition === 0 && offsets[i]! < offsets[i - 1]!)))) sorted = false
    }
  }
  // Rows are decoded in partition then offset order, so a job within one hour skips the sort.
  if (!sorted) rows.sort((a, b) => hours[a]! - hours[b]! || partitions[a]! - partitions[b]! || offsets[a]! - offsets[b]!)
  return rows
}

/**
 * Rows of a row group, in decoded bytes: the unit the Parquet writer holds in memory at once,
 * and small enough for readers to skip row groups by their statistics.
 */
export const ROW_GROUP_BYTES = 16 * 1024 * 1024

/** Reads file ranges back to back into one buffer (positional reads; the hot log is mostly in page cache). */
function readRanges(ranges: readonly FileRange[]): Buffer {
  let total = 0
  for (const range of ranges) total += range.size
  const out = Buffer.allocUnsafe(total)
  const fds = new Map<string, number>()
  try {
    let at = 0
    for (const { path, position, size } of ranges) {
      let fd = fds.get(path)
      if (fd === undefined) fds.set(path, fd = fs.openSync(path, 'r'))
      for (let done = 0; done < size;) {
        const n = fs.readSync(fd, out, at + done, size - done, position + done)
        if (n === 0) throw new ZombiError('STORAGE_CORRUPT', `${path} ends ${size - done} bytes short of the stored batch at ${position}`)
        done += n
      }
      at += size
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd)
  }
  return out
}

/** Decodes the parts' batches into columns (up to maxRowBytes); returns each part's end offset. */
function decodeParts(job: EncodeJob, columns: RowColumns): number[] {
  const copied = Buffer.from(job.batches.buffer, job.batches.byteOffset, job.batches.byteLength)
  const endOffsets = job.parts.map((part) => part.fromOffset)
  let copiedAt = 0
  for (let i = 0; i < job.parts.length; i++) {
    const part = job.parts[i]!
    if (columns.byteSize >= job.maxRowBytes && columns.count > 0) break
    // One part's file bytes at a time: they can go once decoded.
    const input = part.files !== undefined ? readRanges(part.files) : copied.subarray(copiedAt, copiedAt + part.batchBytes)
    copiedAt += part.files !== undefined ? 0 : part.batchBytes
    let position = 0
    let endOffset = part.fromOffset
    while (position < input.length) {
      if (columns.byteSize >= job.maxRowBytes && columns.count > 0) break
      const size = input.readInt32BE(position + BATCH_LENGTH) + LOG_OVERHEAD
      const batch = input.subarray(position, position + size)
      if (!isAborted(batch, part.aborted)) decodeBatchInto(batch, part.partition, part.fromOffset, columns)
      const lastOffset = baseOffsetOf(batch) + lastOffsetDeltaOf(batch)
      if (lastOffset + 1 > endOffset) endOffset = lastOffset + 1
      position += size
    }
    endOffsets[i] = endOffset
  }
  return endOffsets
}

export async function runEncodeJob(job: EncodeJob, output: EncodeOutput): Promise<EncodeResult> {
  let inputBytes = job.batches.byteLength
  for (const part of job.parts) for (const range of part.files ?? []) inputBytes += range.size
  // Stored bytes are a good first guess of the payload size (exact for uncompressed batches).
  const columns = new RowColumns(Math.min(inputBytes, job.maxRowBytes))
  let endOffsets: number[]
  try {
    endOffsets = decodeParts(job, columns)
  } finally {
    endDecoding()
  }
  const n = columns.count
  const files: EncodedFile[] = []
  if (n === 0) return { endOffsets, rows: 0, rowBytes: 0, files }
  const timestamps = columns.timestamps.values
  const hours = new Int32Array(n)
  for (let i = 0; i < n; i++) hours[i] = hourOf(timestamps[i]!)
  const rows = orderRows(columns, hours)
  const rowBytes = columns.byteSize
  const averageRowBytes = Math.max(1, rowBytes / n)
  const rowsPerFile = Math.max(1, Math.floor(job.targetFileBytes / averageRowBytes))
  const rowGroupRows = Math.max(1, Math.floor(Math.min(job.targetFileBytes, job.rowGroupBytes ?? ROW_GROUP_BYTES) / averageRowBytes))
  let typed: TypedRows | null = null
  if (job.typed !== undefined) {
    if (output.typed === undefined) throw new ZombiError('INVALID_ARGUMENT', 'a typed encode job needs an output with a TypedResolver')
    typed = await decodeTypedRows(columns, job.typed.mode, output.typed)
  }
  const writeFiles = async (fileRows: Uint32Array, deadLetter: boolean, extra: () => ExtraColumns | null): Promise<void> => {
    let start = 0
    const count = fileRows.length
    while (start < count) {
      const hour = hours[fileRows[start]!]!
      let end = start + 1
      while (end < count && end - start < rowsPerFile && hours[fileRows[end]!] === hour) end++
      const { eventDate, eventHour } = dateAndHour(timestamps[fileRows[start]!]!)
      output.beginFile(eventDate, eventHour, deadLetter)
      const file = await encodeFile(columns, fileRows.subarray(start, end), job.topic, { rowGroupRows }, output, extra())
      if (deadLetter) file.deadLetter = true
      output.endFile(file)
      files.push(file)
      start = end
    }
  }
  await writeFiles(rows, false, () => (typed === null ? null : valueColumns(typed)))
  let deadLetterRows = 0
  if (typed !== null && typed.deadLetters > 0) {
    const from = new Map(job.parts.map((part, i) => [part.partition, job.typed!.deadLetterFrom[i] ?? 0]))
    const letters: number[] = []
    const offsets = columns.offsets.values
    const partitions = columns.partitions.values
    for (const row of rows) if (typed.errors[row] !== null && offsets[row]! >= (from.get(partitions[row]!) ?? 0)) letters.push(row)
    deadLetterRows = letters.length
    const deadLetters = typed
    await writeFiles(Uint32Array.from(letters), true, () => deadLetterColumns(deadLetters))
  }
  return { endOffsets, rows: n, rowBytes, files, deadLetterRows }
}
