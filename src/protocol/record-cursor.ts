// The one decoder of a record batch's records: the HTTP door's reads, ListOffsets by timestamp and
// the flusher's Iceberg columns all walk records with a RecordCursor, so they agree on what a
// record is. The cursor decompresses a batch once, then exposes each record's fields as numbers
// and positions in `body` (no object per record or header); `key()`, `value()`, `headerKey()` and
// `headerValue()` build values for callers that want them.
//
// Two decisions apply to every reader, because stored batches are the client's bytes and the
// produce path checks only a batch's first and max timestamps, not each record's:
//  - A record timestamp outside years 1..9999 (an inconsistent batch) reads as the nearest bound,
//    the range every reader of the table can show. Kafka Fetch still serves the stored bytes.
//  - A header key is a string in Kafka's protocol but may be any bytes on the wire. Well-formed
//    UTF-8 reads as is; each byte that is not part of a well-formed UTF-8 sequence reads as the
//    four characters `\xNN` (lower-case hex, as Python's "backslashreplace"), so the bytes stay
//    visible (not replaced by U+FFFD) and the key stays valid text for JSON and the table's
//    `string` column. (A well-formed key that spells `\xNN` itself reads the same.)
import { isUtf8 } from 'node:buffer'
import { decompress } from './compression.ts'
import {
  ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, MAX_RECORD_TIMESTAMP, MIN_RECORD_TIMESTAMP, RECORDS, attributesOf,
  baseOffsetOf, baseTimestampOf, batchSize, maxTimestampOf, recordCountOf,
} from './record-batch.ts'
import { ProtocolDecodeError, Reader } from './reader.ts'

/**
 * The record header the HTTP door writes a record's idempotency key into; also the HTTP field that
 * carries the key and the table column its (first, UTF-8) value fills.
 */
export const IDEMPOTENCY_KEY = 'idempotency_key'

/** The decoded timestamp of a record: see the file comment. */
export function recordTimestamp(timestamp: number): number {
  if (timestamp > MAX_RECORD_TIMESTAMP) return MAX_RECORD_TIMESTAMP
  if (timestamp < MIN_RECORD_TIMESTAMP || Number.isNaN(timestamp)) return MIN_RECORD_TIMESTAMP
  return timestamp
}

const EMPTY = Buffer.alloc(0)

/**
 * Walks the records of one batch: `open(batch)`, then `while (cursor.nextRecord())`, and within a
 * record optionally `while (cursor.nextHeader())`. Positions index `body`, the decompressed records
 * section; a null key, value or header value has length -1. Reusable: `open` starts over.
 */
export class RecordCursor {
  body: Buffer = EMPTY
  baseOffset = 0
  isControl = false

  // The current record.
  /** Where the current record (its length prefix first) starts and ends in `body`: its bytes as stored. */
  recordStart = 0
  recordEnd = 0
  offset = 0
  timestamp = 0
  keyStart = 0
  keyLength = -1
  valueStart = 0
  valueLength = -1

  // The current header of the current record.
  headerKeyStart = 0
  headerKeyLength = 0
  headerValueStart = 0
  headerValueLength = -1

  #reader = new Reader(EMPTY)
  #recordsLeft = 0
  #headersLeft = 0
  #recordEnd = 0
  #logAppendTime = false
  #baseTimestamp = 0
  #maxTimestamp = 0

  /** Starts on `batch` (one whole stored magic-2 batch), decompressing its records once. */
  open(batch: Buffer): this {
    const attributes = attributesOf(batch)
    this.baseOffset = baseOffsetOf(batch)
    this.isControl = (attributes & ATTR_CONTROL) !== 0
    this.#logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0
    this.#baseTimestamp = baseTimestampOf(batch)
    this.#maxTimestamp = maxTimestampOf(batch)
    this.#recordsLeft = recordCountOf(batch)
    this.#headersLeft = 0
    this.#recordEnd = -1
    this.body = decompress(attributes & ATTR_COMPRESSION_MASK, batch.subarray(RECORDS, batchSize(batch)))
    this.#reader = new Reader(this.body)
    return this
  }

  /** Lets go of the batch: a cursor kept between jobs would otherwise keep the buffer its body is a view of. */
  close(): void {
    this.body = EMPTY
    this.#reader = new Reader(EMPTY)
    this.#recordsLeft = 0
    this.#headersLeft = 0
    this.#recordEnd = -1
  }

  /**
   * Moves to the next record and reads it up to its headers; false after the last one. Headers the
   * caller did not visit are still read, so every record is checked against its length.
   */
  nextRecord(): boolean {
    const reader = this.#reader
    if (this.#recordEnd >= 0) {
      while (this.#headersLeft > 0) this.nextHeader()
      reader.offset = this.#recordEnd
    }
    if (this.#recordsLeft === 0) return false
    this.#recordsLeft--
    this.recordStart = reader.offset
    const length = reader.varint()
    this.#recordEnd = reader.offset + length
    this.recordEnd = this.#recordEnd
    if (length < 0 || this.#recordEnd > reader.buf.length) throw new ProtocolDecodeError(`record length ${length} runs past the batch`)
    reader.offset++ // record attributes: unused
    const timestampDelta = reader.varlong()
    this.offset = this.baseOffset + reader.varint()
    this.timestamp = recordTimestamp(this.#logAppendTime ? this.#maxTimestamp : this.#baseTimestamp + timestampDelta)
    this.keyLength = reader.varint()
    this.keyStart = reader.offset
    if (this.keyLength > 0) reader.offset += this.keyLength
    this.valueLength = reader.varint()
    this.valueStart = reader.offset
    if (this.valueLength > 0) reader.offset += this.valueLength
    this.#headersLeft = reader.varint()
    this.#checkInRecord()
    return true
  }

  /** Moves to the next header of the current record; false after the last one. */
  nextHeader(): boolean {
    if (this.#headersLeft <= 0) return false
    this.#headersLeft--
    const reader = this.#reader
    this.headerKeyLength = reader.varint()
    if (this.headerKeyLength < 0) throw new ProtocolDecodeError(`record at offset ${this.offset} has a null header key`)
    this.headerKeyStart = reader.offset
    reader.offset += this.headerKeyLength
    this.headerValueLength = reader.varint()
    this.headerValueStart = reader.offset
    if (this.headerValueLength > 0) reader.offset += this.headerValueLength
    this.#checkInRecord()
    return true
  }

  #checkInRecord(): void {
    if (this.#reader.offset > this.#recordEnd) throw new ProtocolDecodeError(`record at offset ${this.offset} overruns its length`)
  }

  key(): Buffer | null {
    return this.keyLength < 0 ? null : this.body.subarray(this.keyStart, this.keyStart + this.keyLength)
  }

  value(): Buffer | null {
    return this.valueLength < 0 ? null : this.body.subarray(this.valueStart, this.valueStart + this.valueLength)
  }

  /** Whether the current header key is well-formed UTF-8, i.e. its bytes are its text (no allocation for ASCII keys). */
  headerKeyIsUtf8(): boolean {
    const body = this.body
    const end = this.headerKeyStart + this.headerKeyLength
    for (let i = this.headerKeyStart; i < end; i++) {
      if (body[i]! >= 0x80) return isUtf8(body.subarray(this.headerKeyStart, end))
    }
    return true
  }

  /** The current header key as text: see the file comment for keys that are not UTF-8. */
  headerKey(): string {
    const end = this.headerKeyStart + this.headerKeyLength
    if (this.headerKeyIsUtf8()) return this.body.toString('utf8', this.headerKeyStart, end)
    return escapeMalformedUtf8(this.body, this.headerKeyStart, end)
  }

  headerValue(): Buffer | null {
    return this.headerValueLength < 0 ? null : this.body.subarray(this.headerValueStart, this.headerValueStart + this.headerValueLength)
  }
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), or 0 if the byte there starts none. */
function wellFormedLength(bytes: Buffer, i: number, end: number): number {
  const first = bytes[i]!
  if (first < 0x80) return 1
  let length: number
  let low = 0x80
  let high = 0xbf
  if (first >= 0xc2 && first <= 0xdf) length = 2
  else if (first >= 0xe0 && first <= 0xef) {
    length = 3
    if (first === 0xe0) low = 0xa0
    else if (first === 0xed) high = 0x9f
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4
    if (first === 0xf0) low = 0x90
    else if (first === 0xf4) high = 0x8f
  } else return 0
  if (i + length > end) return 0
  const second = bytes[i + 1]!
  if (second < low || second > high) return 0
  for (let k = 2; k < length; k++) {
    const next = bytes[i + k]!
    if (next < 0x80 || next > 0xbf) return 0
  }
  return length
}

/** Text of `bytes[start..end)` with every byte outside a well-formed UTF-8 sequence written as `\xNN`. */
export function escapeMalformedUtf8(bytes: Buffer, start: number, end: number): string {
  let text = ''
  let run = start
  for (let i = start; i < end;) {
    const length = wellFormedLength(bytes, i, end)
    if (length > 0) {
      i += length
      continue
    }
    text += bytes.toString('utf8', run, i) + '\\x' + bytes[i]!.toString(16).padStart(2, '0')
    run = ++i
  }
  return text + bytes.toString('utf8', run, end)
}
