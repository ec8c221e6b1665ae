// Records as objects, decoded from and encoded into batches (with compression). Off the produce
// and fetch hot paths: the HTTP door's reads and writes, ListOffsets by timestamp, tests. Decoding
// is RecordCursor's (the flusher walks the same cursor straight into columns).
import { crc32c } from '@node-rs/crc32'
import { compress } from './compression.ts'
import { writeInt64 } from './int64.ts'
import { ATTRIBUTES, LOG_OVERHEAD, RECORDS } from './record-batch.ts'
import { RecordCursor } from './record-cursor.ts'
import { Writer } from './writer.ts'

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
export function firstRecordAtOrAfter(batch: Buffer, target: number): { offset: number; timestamp: number } | null {
  const cursor = new RecordCursor().open(batch)
  while (cursor.nextRecord()) {
    if (cursor.timestamp >= target) return { offset: cursor.offset, timestamp: cursor.timestamp }
  }
  return null
}

/** The record with the largest timestamp (the first of equals), or null for an empty batch. */
export function recordWithMaxTimestamp(batch: Buffer): { offset: number; timestamp: number } | null {
  const cursor = new RecordCursor().open(batch)
  let best: { offset: number; timestamp: number } | null = null
  while (cursor.nextRecord()) {
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
  const body = new Writer(64 + records.length * 32)
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const timestamp = record.timestamp ?? baseTimestamp
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    const one = new Writer(32)
    one.int8(0)
    one.varlong(timestamp - baseTimestamp)
    one.varint(i)
    writeVarBytes(one, record.key)
    writeVarBytes(one, record.value)
    const headers = record.headers ?? []
    one.varint(headers.length)
    for (const header of headers) {
      writeVarBytes(one, typeof header.key === 'string' ? Buffer.from(header.key, 'utf8') : header.key)
      writeVarBytes(one, header.value)
    }
    const encoded = one.toBuffer()
    body.varint(encoded.length)
    body.raw(encoded)
  }
  const codec = options.compression ?? 0
  const recordsBytes = compress(codec, body.toBuffer())
  const batch = Buffer.alloc(RECORDS + recordsBytes.length)
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
  recordsBytes.copy(batch, RECORDS)
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)) >>> 0, 17)
  return batch
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

/** Bytes of a zigzag varint or varlong, as Writer writes them. */
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

/** Bytes encodeBatch writes for a record, its length prefix included. */
function encodedRecordSize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  const headers = record.headers ?? []
  let size = 1 + varlongSize(timestampDelta) + varlongSize(offsetDelta)
  size += varBytesSize(record.key === null ? null : record.key.length) + varBytesSize(record.value === null ? null : record.value.length)
  size += varlongSize(headers.length)
  for (const header of headers) size += varBytesSize(Buffer.byteLength(header.key, 'utf8')) + varBytesSize(header.value === null ? null : header.value.length)
  return varlongSize(size) + size
}

function writeVarBytes(writer: Writer, value: Buffer | null): void {
  if (value === null) {
    writer.varint(-1)
    return
  }
  writer.varint(value.length)
  writer.raw(value)
}
