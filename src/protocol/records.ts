// Records as objects, decoded from and encoded into batches (with compression). Off the produce
// and fetch hot paths: the HTTP door's reads and writes, ListOffsets by timestamp, tests. Decoding
// is RecordCursor's (the flusher walks the same cursor straight into columns).
import { crc32c } from '@node-rs/crc32'
import { compress } from './compression.ts'
import { writeInt64 } from './int64.ts'
import { ATTRIBUTES, LOG_OVERHEAD, RECORDS } from './record-batch.ts'
import { RecordCursor } from './record-cursor.ts'

export interface RecordHeader {
  key: string
  value: Buffer | null
}

export interface DecodedRecord {
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[]
}

export interface DecodedBatch {
  baseOffset: number
  isControl: boolean
  records: DecodedRecord[]
}

/** The records of one batch as objects, decompressed; offsets absolute, timestamps and header keys as RecordCursor reads them. */
export function decodeBatch(batch: Buffer): DecodedBatch {
  const cursor = new RecordCursor().open(batch)
  const records: DecodedRecord[] = []
  while (cursor.nextRecord()) {
    const headers: RecordHeader[] = []
    while (cursor.nextHeader()) headers.push({ key: cursor.headerKey(), value: cursor.headerValue() })
    records.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key(), value: cursor.value(), headers })
  }
  return { baseOffset: cursor.baseOffset, isControl: cursor.isControl, records }
}

/** First record of the batch with timestamp >= target, or null. */
export function firstRecordAtOrAfter(batch: Buffer, target: number, minOffset = 0): { offset: number; timestamp: number } | null {
  const cursor = new RecordCursor().open(batch)
  while (cursor.nextRecord()) {
    if (cursor.timestamp >= target && cursor.offset >= minOffset) return { offset: cursor.offset, timestamp: cursor.timestamp }
  }
  return null
}

/** The record with the largest timestamp (the first of equals), or null for an empty batch. */
export function recordWithMaxTimestamp(batch: Buffer, minOffset = 0): { offset: number; timestamp: number } | null {
  const cursor = new RecordCursor().open(batch)
  let best: { offset: number; timestamp: number } | null = null
  while (cursor.nextRecord()) {
    if (cursor.offset < minOffset) continue
    if (best === null || cursor.timestamp > best.timestamp) best = { offset: cursor.offset, timestamp: cursor.timestamp }
  }
  return best
}

export interface RecordInput {
  key: Buffer | null
  value: Buffer | null
  /** A key given as bytes is written as is: Kafka's header keys are strings, but the wire carries any bytes. */
  headers?: ReadonlyArray<{ key: string | Buffer; value: Buffer | null }>
  /** Defaults to the batch's base timestamp. */
  timestamp?: number
}

export interface BatchOptions {
  compression?: number
  baseOffset?: number
  /** Defaults to the first record's timestamp, else now. */
  baseTimestamp?: number
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  attributes?: number
}

/**
 * Encodes records as one magic-2 record batch with a correct CRC-32C. Used by the HTTP
 * door (which writes through the same append path as Produce) and by tests.
 */
export function encodeBatch(records: readonly RecordInput[], options: BatchOptions = {}): Buffer {
  const baseTimestamp = options.baseTimestamp ?? records[0]?.timestamp ?? Date.now()
  let maxTimestamp = baseTimestamp
  // Sized first, then written once into its place: no buffer per record, no copy when uncompressed.
  const sizes = new Array<number>(records.length)
  let recordsLength = 0
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const timestamp = record.timestamp ?? baseTimestamp
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    const size = recordBodySize(record, timestamp - baseTimestamp, i)
    sizes[i] = size
    recordsLength += varlongSize(size) + size
  }
  const codec = options.compression ?? 0
  let batch: Buffer
  if (codec === 0) {
    batch = Buffer.alloc(RECORDS + recordsLength)
    writeRecords(batch, RECORDS, records, sizes, baseTimestamp)
  } else {
    const body = Buffer.allocUnsafe(recordsLength)
    writeRecords(body, 0, records, sizes, baseTimestamp)
    const compressed = compress(codec, body)
    batch = Buffer.alloc(RECORDS + compressed.length)
    compressed.copy(batch, RECORDS)
  }
  writeInt64(batch, 0, options.baseOffset ?? 0)
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, 8)
  batch.writeInt32BE(-1, 12)
  batch.writeInt8(2, 16)
  batch.writeInt16BE((options.attributes ?? 0) | codec, 21)
  batch.writeInt32BE(Math.max(0, records.length - 1), 23)
  writeInt64(batch, 27, baseTimestamp)
  writeInt64(batch, 35, maxTimestamp)
  writeInt64(batch, 43, options.producerId ?? -1)
  batch.writeInt16BE(options.producerEpoch ?? -1, 51)
  batch.writeInt32BE(options.baseSequence ?? -1, 53)
  batch.writeInt32BE(records.length, 57)
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)) >>> 0, 17)
  return batch
}

/** Writes zigzag varlong `v` at `pos`; returns the position after it. */
function putVarlong(buf: Buffer, pos: number, v: number): number {
  let value = v >= 0 ? v * 2 : -v * 2 - 1
  while (value >= 0x80) {
    buf[pos++] = (value % 128) | 0x80
    value = Math.floor(value / 128)
  }
  buf[pos++] = value
  return pos
}

function putVarBytes(buf: Buffer, pos: number, value: Buffer | null): number {
  if (value === null) return putVarlong(buf, pos, -1)
  pos = putVarlong(buf, pos, value.length)
  return pos + value.copy(buf, pos)
}

/** The records of a batch, each with its length prefix (`sizes[i]`, from recordBodySize), from `pos`. */
function writeRecords(buf: Buffer, pos: number, records: readonly RecordInput[], sizes: readonly number[], baseTimestamp: number): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    pos = putVarlong(buf, pos, sizes[i]!)
    buf[pos++] = 0
    pos = putVarlong(buf, pos, (record.timestamp ?? baseTimestamp) - baseTimestamp)
    pos = putVarlong(buf, pos, i)
    pos = putVarBytes(buf, pos, record.key)
    pos = putVarBytes(buf, pos, record.value)
    const headers = record.headers ?? []
    pos = putVarlong(buf, pos, headers.length)
    for (const header of headers) {
      if (typeof header.key === 'string') {
        pos = putVarlong(buf, pos, Buffer.byteLength(header.key, 'utf8'))
        pos += buf.write(header.key, pos, 'utf8')
      } else {
        pos = putVarBytes(buf, pos, header.key)
      }
      pos = putVarBytes(buf, pos, header.value)
    }
  }
}

/**
 * Encodes records as consecutive batches of at most `maxBatchBytes` each, as many records per batch as
 * fit, in order: what does not fit in one batch of max.message.bytes is stored as several. A record too
 * large for a batch of its own still gets one, over the limit, for the caller to refuse.
 */
export function encodeBatches(records: readonly RecordInput[], maxBatchBytes: number): Buffer[] {
  const batches: Buffer[] = []
  let start = 0
  while (start < records.length) {
    const baseTimestamp = records[start]!.timestamp ?? Date.now()
    let size = RECORDS
    let end = start
    for (; end < records.length; end++) {
      const record = records[end]!
      const recordSize = encodedRecordSize(record, (record.timestamp ?? baseTimestamp) - baseTimestamp, end - start)
      if (end > start && size + recordSize > maxBatchBytes) break
      size += recordSize
    }
    batches.push(encodeBatch(records.slice(start, end), { baseTimestamp }))
    start = end
  }
  return batches
}

/** Bytes of a zigzag varint or varlong. */
function varlongSize(v: number): number {
  let value = v >= 0 ? v * 2 : -v * 2 - 1
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

function varBytesSize(length: number | null): number {
  return length === null ? 1 : varlongSize(length) + length
}

/** Bytes of a record after its length prefix. */
function recordBodySize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  const headers = record.headers ?? []
  let size = 1 + varlongSize(timestampDelta) + varlongSize(offsetDelta)
  size += varBytesSize(record.key === null ? null : record.key.length) + varBytesSize(record.value === null ? null : record.value.length)
  size += varlongSize(headers.length)
  for (const header of headers) size += varBytesSize(Buffer.byteLength(header.key, 'utf8')) + varBytesSize(header.value === null ? null : header.value.length)
  return size
}

/** Bytes encodeBatch writes for a record, its length prefix included. */
function encodedRecordSize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  const size = recordBodySize(record, timestampDelta, offsetDelta)
  return varlongSize(size) + size
}
