// One encode job: a run of stored batches of one partition -> Parquet data files, one per
// (event_date, event_hour) present, rows sorted by timestamp_ms then sequence, whose bytes go to an
// EncodeOutput as they are encoded (never a whole file in memory). Pure CPU work; the flusher runs
// it in a worker thread (encode-worker.ts) so produce never waits on it. The worker also reads the
// stored batches from the hot log's files itself when it can.
import fs from 'node:fs'
import { ZombiError } from '../errors.ts'
import { LOG_OVERHEAD, BATCH_LENGTH, baseOffsetOf, lastOffsetDeltaOf } from '../protocol/record-batch.ts'
import type { FileRange } from '../storage/hot-store.ts'
import { RowColumns, decodeBatchInto } from './columns.ts'
import { dateAndHour, encodeFile, hourOf, type ChunkSink, type EncodedFile } from './data-file.ts'

export interface EncodeJob {
  topic: string
  partition: number
  /** Records below this offset are skipped (already in the table). */
  fromOffset: number
  /** Whole stored record batches, back to back, in offset order (empty when `files` is given). */
  batches: Uint8Array
  /** Or where those batches lie in the hot log's files, in offset order: the job reads them itself. */
  files?: FileRange[]
  /**
   * Decoded bytes after which no further batch is taken: the rest is left for the next job
   * and `endOffset` says where this one stopped. Keeps memory bounded for compressed input.
   */
  maxRowBytes: number
  /** Target size of a data file; a bigger hour is split. */
  targetFileBytes: number
  /** Decoded bytes per row group (default ROW_GROUP_BYTES, never above targetFileBytes). */
  rowGroupBytes?: number
}

/**
 * Where a job's files go: for each file beginFile, its chunks through write (which may hold the
 * job back), then endFile; files one after the other.
 */
export interface EncodeOutput extends ChunkSink {
  /** A file of these partition values starts (the consumer can name it before any byte). */
  beginFile(eventDate: number, eventHour: number): void
  endFile(file: EncodedFile): void
}

export interface EncodeResult {
  /** Every offset below this one is covered by the job (batch aligned). */
  endOffset: number
  rows: number
  /** Decoded bytes of payloads, keys and headers. */
  rowBytes: number
  /** The files as they went to the output, in order. */
  files: EncodedFile[]
}

function orderRows(columns: RowColumns): Uint32Array {
  const n = columns.count
  const timestamps = columns.timestamps.values
  const offsets = columns.offsets.values
  const rows = new Uint32Array(n)
  let sorted = true
  for (let i = 0; i < n; i++) {
    rows[i] = i
    if (i > 0 && (timestamps[i]! < timestamps[i - 1]! || (timestamps[i] === timestamps[i - 1] && offsets[i]! < offsets[i - 1]!))) sorted = false
  }
  // Producers mostly stamp increasing CreateTimes, so the common case skips the sort.
  if (!sorted) rows.sort((a, b) => timestamps[a]! - timestamps[b]! || offsets[a]! - offsets[b]!)
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

export async function runEncodeJob(job: EncodeJob, output: EncodeOutput): Promise<EncodeResult> {
  const input = job.files !== undefined ? readRanges(job.files) : Buffer.from(job.batches.buffer, job.batches.byteOffset, job.batches.byteLength)
  // Stored bytes are a good first guess of the payload size (exact for uncompressed batches).
  const columns = new RowColumns(Math.min(input.length, job.maxRowBytes))
  let position = 0
  let endOffset = job.fromOffset
  while (position < input.length) {
    if (columns.byteSize >= job.maxRowBytes && columns.count > 0) break
    const size = input.readInt32BE(position + BATCH_LENGTH) + LOG_OVERHEAD
    const batch = input.subarray(position, position + size)
    decodeBatchInto(batch, job.fromOffset, columns)
    const lastOffset = baseOffsetOf(batch) + lastOffsetDeltaOf(batch)
    if (lastOffset + 1 > endOffset) endOffset = lastOffset + 1
    position += size
  }
  const n = columns.count
  const files: EncodedFile[] = []
  if (n === 0) return { endOffset, rows: 0, rowBytes: 0, files }
  const rows = orderRows(columns)
  const rowBytes = columns.byteSize
  const averageRowBytes = Math.max(1, rowBytes / n)
  const rowsPerFile = Math.max(1, Math.floor(job.targetFileBytes / averageRowBytes))
  const rowGroupRows = Math.max(1, Math.floor(Math.min(job.targetFileBytes, job.rowGroupBytes ?? ROW_GROUP_BYTES) / averageRowBytes))
  const timestamps = columns.timestamps.values
  let start = 0
  while (start < n) {
    const hour = hourOf(timestamps[rows[start]!]!)
    let end = start + 1
    while (end < n && end - start < rowsPerFile && hourOf(timestamps[rows[end]!]!) === hour) end++
    const { eventDate, eventHour } = dateAndHour(timestamps[rows[start]!]!)
    output.beginFile(eventDate, eventHour)
    const file = await encodeFile(columns, rows.subarray(start, end), job.topic, job.partition, { rowGroupRows }, output)
    output.endFile(file)
    files.push(file)
    start = end
  }
  return { endOffset, rows: n, rowBytes, files }
}
