// One encode job: runs of stored batches of one or more Kafka partitions of a topic -> Parquet data
// files, one per (event_date, event_hour) present (split only past the target size), each holding
// the rows of every partition of the job sorted by Kafka partition then sequence (the table's sort
// order), so the `partition` and `sequence` bounds of files and row groups still prune offset
// ranges. The bytes go to an EncodeOutput as they are encoded (never a whole file in memory). Pure CPU work; the flusher runs
// it in a worker thread (encode-worker.ts) so produce never waits on it. The worker also reads the
// stored batches from the hot log's files itself when it can.
import fs from 'node:fs'
import { ZombiError } from '../errors.ts'
import { settleNativeBuffers } from '../observability/memory-relief.ts'
import { ATTR_TRANSACTIONAL, LOG_OVERHEAD, BATCH_LENGTH, attributesOf, baseOffsetOf, lastOffsetDeltaOf, producerIdOf } from '../protocol/record-batch.ts'
import { rangeBytes, type FileRanges } from '../storage/file-ranges.ts'
import { RowColumns, decodeBatchInto, endDecoding } from './columns.ts'
import { dateAndHour, encodeFile, encodeGroups, hourOf, releaseIpcBuffer, type ChunkSink, type EncodedFile, type ExtraColumns } from './data-file.ts'
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
  files?: FileRanges
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
 * and small enough for readers to skip row groups by their statistics. An encode worker's memory
 * is a few times this (the Arrow batch, its IPC copy, parquet-wasm's copy and output; wasm memory
 * keeps its high-water mark): 8 MiB instead of 16 cut the broker's peak RSS under bench:memory by
 * about 100 MiB at the same flush rate (docs/benchmarks.md).
 */
export const ROW_GROUP_BYTES = 8 * 1024 * 1024

/**
 * Reads file ranges back to back into one buffer (positional reads; the hot log is mostly in page
 * cache): into `into` when it is big enough (a job reuses one buffer slice after slice), else a new one.
 */
function readRanges(ranges: FileRanges, start: number, end: number, into: Buffer | null = null): Buffer {
  let total = 0
  for (let i = start; i < end; i++) total += ranges.sizes[i]!
  const out = into !== null && into.length >= total ? into.subarray(0, total) : Buffer.allocUnsafe(total)
  const fds = new Map<number, number>()
  try {
    let at = 0
    for (let i = start; i < end; i++) {
      const file = ranges.files[i]!
      const path = ranges.paths[file]!
      const position = ranges.positions[i]!
      const size = ranges.sizes[i]!
      let fd = fds.get(file)
      if (fd === undefined) fds.set(file, fd = fs.openSync(path, 'r'))
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

/**
 * Stored bytes read from the hot log's files at a time: a part's batches are read a slice at a time,
 * each slice garbage once decoded, so a job's input held at once stays about this size whatever
 * the part's size (a batch bigger than it is read whole).
 */
const READ_SLICE_BYTES = 8 * 1024 * 1024

/**
 * The large buffers of a job, kept for the next one: a read buffer and the columns of streamed row
 * groups. Fresh ones per job were ~17 MiB for the worker to allocate, touch and collect each time; an
 * idle worker lets go of them (encode-worker.ts). A worker runs one job at a time; jobs run in one
 * thread together (a pool of size 0) take a set each.
 */
class JobBuffers {
  #read: Buffer | null = null
  #columns: RowColumns | null = null

  /** A read buffer of at least `bytes` (at most READ_SLICE_BYTES: a bigger batch gets one of its own). */
  read(bytes: number): Buffer {
    if (this.#read === null || this.#read.length < bytes) this.#read = Buffer.allocUnsafe(bytes)
    return this.#read
  }

  /** Columns for streamed row groups of `payloadBytes`; a set sized for much larger groups is replaced. */
  columns(payloadBytes: number): RowColumns {
    const capacity = this.#columns?.payload.bytes.length ?? 0
    if (this.#columns === null || capacity < payloadBytes || capacity > 2 * payloadBytes) this.#columns = new RowColumns(payloadBytes)
    return this.#columns
  }
}

let idleBuffers: JobBuffers | null = null

/** Lets go of the buffers kept between jobs (an idle worker then holds none of them). */
export function releaseJobBuffers(): void {
  idleBuffers = null
  releaseIpcBuffer()
}

/**
 * A part's stored batches, one after the other: from the job's copied bytes, or read from the files a
 * slice at a time into the worker's read buffer (each slice is decoded, its values copied out, before
 * the next is read; fresh buffers would be garbage the worker's GC has to chase, measured ~60 % more
 * background GC time per job).
 */
function* partInput(part: EncodePart, copied: Buffer, buffers: JobBuffers): Generator<Buffer> {
  if (part.files === undefined) {
    yield copied
    return
  }
  const ranges = part.files
  const { sizes } = ranges
  const total = rangeBytes(ranges)
  // A slice bigger than this (one batch over READ_SLICE_BYTES) gets a buffer of its own.
  const buffer = buffers.read(Math.min(total, READ_SLICE_BYTES))
  for (let start = 0; start < sizes.length;) {
    let end = start
    let bytes = 0
    while (end < sizes.length && (end === start || bytes + sizes[end]! <= READ_SLICE_BYTES)) bytes += sizes[end++]!
    yield readRanges(ranges, start, end, buffer)
    start = end
  }
}

/**
 * Walks a job's stored batches in part then offset order, decoding them into whichever columns the
 * caller hands it, and records where each part got to. It stops taking batches once the job's
 * decoded bytes reach maxRowBytes (over every call), or, given `ends`, at each part's end offset.
 */
class JobReader {
  readonly #job: EncodeJob
  readonly #ends: readonly number[] | null
  readonly #skipHour: number | null
  /** Each part's copied bytes (empty for a part read from the files). */
  readonly #copied: Buffer[]
  #part = 0
  #input: Generator<Buffer> | null = null
  #slice: Buffer | null = null
  #position = 0
  /** Decoded bytes of the columns filled before the current ones. */
  #decodedBefore = 0
  done = false
  readonly endOffsets: number[]

  readonly #buffers: JobBuffers

  /** `ends`: per part, take only batches below this offset; `skipHour`: rows of this hour are left out. */
  constructor(job: EncodeJob, buffers: JobBuffers, ends: readonly number[] | null = null, skipHour: number | null = null) {
    this.#job = job
    this.#buffers = buffers
    this.#ends = ends
    this.#skipHour = skipHour
    const copied = Buffer.from(job.batches.buffer, job.batches.byteOffset, job.batches.byteLength)
    let at = 0
    this.#copied = job.parts.map((part) => {
      const bytes = part.files === undefined ? part.batchBytes : 0
      at += bytes
      return copied.subarray(at - bytes, at)
    })
    this.endOffsets = job.parts.map((part) => part.fromOffset)
  }

  /** Decoded bytes of the job so far. */
  get decodedBytes(): number {
    return this.#decodedBefore
  }

  /** Decodes batches into `columns` until they hold `untilBytes` decoded bytes or the job's input is done. */
  fill(columns: RowColumns, untilBytes: number): void {
    const job = this.#job
    const startBytes = columns.byteSize
    // Given ends, the batches are those an earlier pass took under the cap: no cap again.
    const capped = (): boolean => this.#ends === null && this.#decodedBefore + columns.byteSize - startBytes >= job.maxRowBytes && this.#decodedBefore + columns.count > 0
    try {
      while (!this.done && columns.byteSize < untilBytes) {
        if (this.#ends !== null && this.endOffsets[this.#part]! >= this.#ends[this.#part]!) {
          // This part is where the earlier pass stopped: on to the next one.
          this.#endPart()
          continue
        }
        if (this.#slice === null || this.#position >= this.#slice.length) {
          if (!this.#nextSlice()) continue
        }
        if (capped()) {
          this.done = true
          break
        }
        const slice = this.#slice!
        const part = job.parts[this.#part]!
        const size = slice.readInt32BE(this.#position + BATCH_LENGTH) + LOG_OVERHEAD
        const batch = slice.subarray(this.#position, this.#position + size)
        if (!isAborted(batch, part.aborted)) decodeBatchInto(batch, part.partition, part.fromOffset, columns, this.#skipHour)
        const lastOffset = baseOffsetOf(batch) + lastOffsetDeltaOf(batch)
        if (lastOffset + 1 > this.endOffsets[this.#part]!) this.endOffsets[this.#part] = lastOffset + 1
        this.#position += size
      }
    } finally {
      this.#decodedBefore += columns.byteSize - startBytes
    }
  }

  /** Moves to the next slice of input (of this part or the next); false when it moved to another part or ran out. */
  #nextSlice(): boolean {
    const job = this.#job
    if (this.#input !== null) {
      const next = this.#input.next()
      if (!next.done) {
        this.#slice = next.value
        this.#position = 0
        return true
      }
      this.#endPart()
      return false
    }
    if (this.#part >= job.parts.length) {
      this.done = true
      return false
    }
    this.#input = partInput(job.parts[this.#part]!, this.#copied[this.#part]!, this.#buffers)
    return false
  }

  #endPart(): void {
    this.#input = null
    this.#slice = null
    this.#position = 0
    this.#part++
    if (this.#part >= this.#job.parts.length) this.done = true
  }
}

/** Room above a row group's bytes for the batch that ends it (Kafka's default largest batch). */
const GROUP_SLACK_BYTES = 1024 * 1024

/** The hour of row `row` (hours since 1970). */
function rowHour(columns: RowColumns, row: number): number {
  return hourOf(columns.timestamps.values[row]!)
}

export async function runEncodeJob(job: EncodeJob, output: EncodeOutput): Promise<EncodeResult> {
  try {
    // Streaming needs the parts in partition order (the file's sort order); the flusher gives them so.
    const ordered = job.parts.every((part, i) => i === 0 || part.partition > job.parts[i - 1]!.partition)
    const buffers = idleBuffers ?? new JobBuffers()
    idleBuffers = null
    try {
      return job.typed === undefined && ordered ? await runStreamedJob(job, output, buffers) : await runWholeJob(job, output, new JobReader(job, buffers))
    } finally {
      idleBuffers = buffers
    }
  } finally {
    endDecoding()
  }
}

/**
 * A key-value job, decoded a row group at a time as the Parquet writer asks for it: the rows of the
 * job's first hour go straight into that hour's file(s) (decoding runs in partition then offset
 * order, the file's sort order), so the worker holds about one row group of decoded rows and one
 * slice of input, not the job. Rows of any other hour (a job over an hour's turn, or late
 * timestamps) are decoded again afterwards, without the first hour's, and written as a whole job
 * is. The job's decoded-bytes cap (maxRowBytes) counts every row, as for a whole job.
 */
async function runStreamedJob(job: EncodeJob, output: EncodeOutput, buffers: JobBuffers): Promise<EncodeResult> {
  const groupBytes = Math.max(1, Math.min(job.targetFileBytes, job.rowGroupBytes ?? ROW_GROUP_BYTES))
  const reader = new JobReader(job, buffers)
  let hour: number | null = null
  let otherHours = false
  let rows = 0
  // One set of columns, refilled group after group: the writer has copied a group into wasm memory
  // before it asks for the next (fresh columns per group would be ~17 MiB of garbage each for the
  // worker's GC to chase; a group decoded ahead would hold a second set).
  let buffer: RowColumns | null = null
  /** The next group of the first hour's rows (null: none left). */
  const nextGroup = (): { columns: RowColumns; rows: Uint32Array; bytes: number } | null => {
    while (!reader.done) {
      // Room for the batch that crosses groupBytes, so the payload buffer is not doubled for it.
      const columns = buffer ??= buffers.columns(groupBytes + GROUP_SLACK_BYTES)
      columns.clear()
      reader.fill(columns, groupBytes)
      const n = columns.count
      if (n === 0) continue
      hour ??= rowHour(columns, 0)
      let kept = new Uint32Array(n)
      let count = 0
      for (let row = 0; row < n; row++) if (rowHour(columns, row) === hour) kept[count++] = row
      if (count < n) otherHours = true
      if (count === 0) continue
      if (count < n) kept = kept.subarray(0, count)
      return { columns, rows: kept, bytes: columns.byteSize * (count / n) }
    }
    return null
  }
  const files: EncodedFile[] = []
  // A file's first group is decoded before the file begins (its hour names the file; none: no file).
  let first = nextGroup()
  // The writer's row group: as many rows as groupBytes holds at the first group's average row size
  // (later groups of other row sizes make row groups a little smaller or larger). A group is whole
  // batches, so it can hold more than groupBytes (one big batch); the writer then cuts it into
  // several row groups.
  const rowGroupRows = first === null ? 1 : Math.max(1, Math.floor(groupBytes / Math.max(1, first.bytes / first.rows.length)))
  while (first !== null) {
    const { eventDate, eventHour } = dateAndHour(first.columns.timestamps.values[first.rows[0]!]!)
    output.beginFile(eventDate, eventHour, false)
    let fileBytes = 0
    const file = await encodeGroups(() => {
      let group = first
      first = null
      // The file ends once another group of about groupBytes would take it past the target.
      if (group === null && fileBytes + groupBytes <= job.targetFileBytes) group = nextGroup()
      if (group === null) return null
      fileBytes += group.bytes
      rows += group.rows.length
      return group
    }, job.topic, { rowGroupRows }, output)
    output.endFile(file)
    files.push(file)
    first = nextGroup()
  }
  const endOffsets = reader.endOffsets
  // Every row was decoded once in the first pass, whatever its hour.
  const rowBytes = reader.decodedBytes
  if (otherHours) {
    // The other hours' rows: the same batches again (up to where the job stopped), the first hour's rows left out.
    const rest = await runWholeJob(job, output, new JobReader(job, buffers, endOffsets, hour))
    files.push(...rest.files)
    rows += rest.rows
  }
  return { endOffsets, rows, rowBytes, files }
}

/**
 * A job decoded whole into one set of columns, its rows ordered by hour, partition and offset, then
 * written one file per hour: typed jobs (their values are decoded over all rows before any file is
 * written), and the rows of a streamed job outside its first hour (`reader` then leaves that hour out).
 */
async function runWholeJob(job: EncodeJob, output: EncodeOutput, reader: JobReader): Promise<EncodeResult> {
  let inputBytes = job.batches.byteLength
  for (const part of job.parts) if (part.files !== undefined) inputBytes += rangeBytes(part.files)
  // Stored bytes are a good first guess of the payload size (exact for uncompressed batches).
  const columns = new RowColumns(Math.min(inputBytes, job.maxRowBytes))
  // A row group's worth at a time: lz4's decompressed batches go back between them (settleNativeBuffers).
  for (;;) {
    reader.fill(columns, columns.byteSize + ROW_GROUP_BYTES)
    if (reader.done) break
    await settleNativeBuffers()
  }
  const endOffsets = reader.endOffsets
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
