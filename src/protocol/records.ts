// Record-level decoding of a stored batch (decompressing when needed). Off the produce and
// fetch hot paths: ListOffsets by timestamp, and later the flusher and HTTP reads.
import { decompress } from './compression.ts'
import { Reader } from './reader.ts'
import {
  ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, RECORDS, attributesOf, baseOffsetOf,
  baseTimestampOf, batchSize, maxTimestampOf, recordCountOf,
} from './record-batch.ts'

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

function take(reader: Reader, length: number): Buffer {
  const start = reader.offset
  reader.skip(length)
  return reader.buf.subarray(start, start + length)
}

/** The records of one batch, decompressed; offsets and timestamps absolute. */
export function decodeBatch(batch: Buffer): DecodedBatch {
  const attributes = attributesOf(batch)
  const baseOffset = baseOffsetOf(batch)
  const logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0
  const baseTimestamp = baseTimestampOf(batch)
  const maxTimestamp = maxTimestampOf(batch)
  const count = recordCountOf(batch)
  const body = decompress(attributes & ATTR_COMPRESSION_MASK, batch.subarray(RECORDS, batchSize(batch)))
  const reader = new Reader(body)
  const records: DecodedRecord[] = []
  for (let i = 0; i < count; i++) {
    const length = reader.varint()
    const end = reader.offset + length
    reader.int8() // record attributes: unused
    const timestampDelta = reader.varlong()
    const offsetDelta = reader.varint()
    const keyLength = reader.varint()
    const key = keyLength < 0 ? null : take(reader, keyLength)
    const valueLength = reader.varint()
    const value = valueLength < 0 ? null : take(reader, valueLength)
    const headerCount = reader.varint()
    const headers: RecordHeader[] = []
    for (let h = 0; h < headerCount; h++) {
      const headerKeyLength = reader.varint()
      const headerKey = take(reader, headerKeyLength).toString('utf8')
      const headerValueLength = reader.varint()
      headers.push({ key: headerKey, value: headerValueLength < 0 ? null : take(reader, headerValueLength) })
    }
    reader.offset = end
    records.push({
      offset: baseOffset + offsetDelta,
      timestamp: logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    })
  }
  return { baseOffset, isControl: (attributes & ATTR_CONTROL) !== 0, records }
}

/** First record of the batch with timestamp >= target, or null. */
export function firstRecordAtOrAfter(batch: Buffer, target: number): { offset: number; timestamp: number } | null {
  for (const record of decodeBatch(batch).records) {
    if (record.timestamp >= target) return { offset: record.offset, timestamp: record.timestamp }
  }
  return null
}

/** The record with the largest timestamp (the first of equals), or null for an empty batch. */
export function recordWithMaxTimestamp(batch: Buffer): { offset: number; timestamp: number } | null {
  let best: { offset: number; timestamp: number } | null = null
  for (const record of decodeBatch(batch).records) {
    if (best === null || record.timestamp > best.timestamp) best = { offset: record.offset, timestamp: record.timestamp }
  }
  return best
}
