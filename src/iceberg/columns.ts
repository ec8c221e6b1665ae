// Stored record batches -> the table's columns, decoded straight into growable typed arrays
// (no object per record), in offset order. Runs in the encode worker.
import { isUtf8 } from 'node:buffer'
import { decompress } from '../protocol/compression.ts'
import {
  ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, BATCH_LENGTH, LOG_OVERHEAD, MAX_RECORD_TIMESTAMP, MIN_RECORD_TIMESTAMP, RECORDS, attributesOf, baseOffsetOf,
  baseTimestampOf, lastOffsetDeltaOf, maxTimestampOf, recordCountOf,
} from '../protocol/record-batch.ts'

/** Bytes that grow by doubling; `bytes.subarray(0, length)` is the content. */
export class ByteColumn {
  bytes: Uint8Array
  length = 0

  constructor(capacity = 1 << 16) {
    this.bytes = new Uint8Array(capacity)
  }

  append(source: Uint8Array, start: number, end: number): void {
    const size = end - start
    if (this.length + size > this.bytes.length) this.#grow(this.length + size)
    if (size < 64) {
      // A typed-array set() costs more than a short loop for the small values Kafka records often carry.
      const target = this.bytes
      let at = this.length
      for (let i = start; i < end; i++) target[at++] = source[i]!
    } else if (Buffer.isBuffer(source)) {
      source.copy(this.bytes, this.length, start, end)
    } else {
      this.bytes.set(source.subarray(start, end), this.length)
    }
    this.length += size
  }

  appendBuffer(source: Uint8Array): void {
    this.append(source, 0, source.length)
  }

  #grow(needed: number): void {
    let capacity = this.bytes.length * 2
    while (capacity < needed) capacity *= 2
    const bytes = new Uint8Array(capacity)
    bytes.set(this.bytes.subarray(0, this.length))
    this.bytes = bytes
  }
}

/** Int32 values that grow by doubling (value offsets). */
export class IntColumn {
  values: Int32Array
  length = 0

  constructor(capacity = 1024) {
    this.values = new Int32Array(capacity)
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const values = new Int32Array(this.values.length * 2)
      values.set(this.values)
      this.values = values
    }
    this.values[this.length++] = value
  }
}

/** Float64 values that grow by doubling (offsets and timestamps, exact below 2^53). */
export class NumberColumn {
  values: Float64Array
  length = 0

  constructor(capacity = 1024) {
    this.values = new Float64Array(capacity)
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const values = new Float64Array(this.values.length * 2)
      values.set(this.values)
      this.values = values
    }
    this.values[this.length++] = value
  }
}

/** Flags (0/1) that grow by doubling. */
export class FlagColumn {
  values: Uint8Array
  length = 0

  constructor(capacity = 1024) {
    this.values = new Uint8Array(capacity)
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const values = new Uint8Array(this.values.length * 2)
      values.set(this.values)
      this.values = values
    }
    this.values[this.length++] = value
  }
}

/**
 * The decoded rows of one partition chunk. Row i's payload is
 * `payload.bytes[payloadOffsets[i] .. payloadOffsets[i + 1]]`; its headers are entries
 * `headerOffsets[i] .. headerOffsets[i + 1]` of the header columns.
 */
export class RowColumns {
  readonly offsets = new NumberColumn()
  readonly payload: ByteColumn
  readonly timestamps = new NumberColumn()
  readonly payloadOffsets = new IntColumn()
  readonly valueIsNull = new FlagColumn()
  readonly key = new ByteColumn()
  readonly keyOffsets = new IntColumn()
  readonly keyIsNull = new FlagColumn()
  readonly headerOffsets = new IntColumn()
  readonly headerKey = new ByteColumn(1024)
  readonly headerKeyOffsets = new IntColumn()
  readonly headerValue = new ByteColumn(1024)
  readonly headerValueOffsets = new IntColumn()
  readonly headerValueIsNull = new FlagColumn()
  readonly idempotencyKey = new ByteColumn(1024)
  readonly idempotencyKeyOffsets = new IntColumn()
  readonly idempotencyKeyIsNull = new FlagColumn()
  nullKeys = 0
  nullIdempotencyKeys = 0
  nullHeaderValues = 0

  /** `expectedPayloadBytes` sizes the payload buffer up front (growing it copies everything). */
  constructor(expectedPayloadBytes = 1 << 16) {
    this.payload = new ByteColumn(Math.max(1024, expectedPayloadBytes))
    this.payloadOffsets.push(0)
    this.keyOffsets.push(0)
    this.headerOffsets.push(0)
    this.headerKeyOffsets.push(0)
    this.headerValueOffsets.push(0)
    this.idempotencyKeyOffsets.push(0)
  }

  get count(): number {
    return this.offsets.length
  }

  get headerCount(): number {
    return this.headerKeyOffsets.length - 1
  }

  /** Bytes the rows take in memory, to cap a chunk before it gets too big. */
  get byteSize(): number {
    return this.payload.length + this.key.length + this.headerKey.length + this.headerValue.length + this.idempotencyKey.length + this.count * 40
  }
}

/**
 * The header the HTTP door writes a record's idempotency key into; its (first) value fills the
 * idempotency_key column, and it stays in headers too, as the record carries it.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency_key'
const idempotencyHeaderBytes = Buffer.from(IDEMPOTENCY_KEY_HEADER, 'utf8')

function isIdempotencyHeader(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== idempotencyHeaderBytes.length) return false
  for (let i = 0; i < idempotencyHeaderBytes.length; i++) if (bytes[start + i] !== idempotencyHeaderBytes[i]) return false
  return true
}

// Varint cursor over one decompressed records section (module-level to avoid an object per call).
let source: Uint8Array = new Uint8Array(0)
let position = 0

function readVarlong(): number {
  let value = 0
  let multiplier = 1
  for (let shift = 0; shift < 64; shift += 7) {
    if (position >= source.length) throw new Error('record batch truncated inside a varint')
    const byte = source[position++]!
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) {
      // Zigzag: even -> value/2, odd -> -(value+1)/2; exact for |value| < 2^53.
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2
    }
    multiplier *= 128
  }
  throw new Error('varint longer than 10 bytes')
}

function readVarint(): number {
  // Fast path for the common one-byte case.
  if (position < source.length) {
    const byte = source[position]!
    if ((byte & 0x80) === 0) {
      position++
      return (byte >>> 1) ^ -(byte & 1)
    }
  }
  return readVarlong()
}

/**
 * Produce checks a batch's first and max timestamps, not each record's (that would mean decoding
 * every batch); a record that lies outside years 1..9999 (an inconsistent batch) is stored in
 * the table at the nearest bound rather than failing every flush of its partition.
 */
function clampTimestamp(timestamp: number): number {
  if (timestamp > MAX_RECORD_TIMESTAMP) return MAX_RECORD_TIMESTAMP
  if (timestamp < MIN_RECORD_TIMESTAMP || Number.isNaN(timestamp)) return MIN_RECORD_TIMESTAMP
  return timestamp
}

/**
 * Decodes the batch at `batch` into `columns`, skipping records below `fromOffset`. Control
 * batches (transaction markers) are not rows. Returns the number of rows added.
 */
export function decodeBatchInto(batch: Buffer, fromOffset: number, columns: RowColumns): number {
  const attributes = attributesOf(batch)
  if ((attributes & ATTR_CONTROL) !== 0) return 0
  const baseOffset = baseOffsetOf(batch)
  if (baseOffset + lastOffsetDeltaOf(batch) < fromOffset) return 0
  const logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0
  const baseTimestamp = baseTimestampOf(batch)
  const maxTimestamp = maxTimestampOf(batch)
  const count = recordCountOf(batch)
  const size = batch.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD
  const body = decompress(attributes & ATTR_COMPRESSION_MASK, batch.subarray(RECORDS, size))
  source = body
  position = 0
  let added = 0
  for (let i = 0; i < count; i++) {
    const length = readVarint()
    const end = position + length
    position++ // record attributes: unused
    const timestampDelta = readVarlong()
    const offset = baseOffset + readVarint()
    const keyLength = readVarint()
    const keyStart = position
    position += keyLength < 0 ? 0 : keyLength
    const valueLength = readVarint()
    const valueStart = position
    position += valueLength < 0 ? 0 : valueLength
    if (offset < fromOffset) {
      position = end
      continue
    }
    columns.offsets.push(offset)
    columns.timestamps.push(logAppendTime ? maxTimestamp : clampTimestamp(baseTimestamp + timestampDelta))
    if (keyLength < 0) {
      columns.keyIsNull.push(1)
      columns.nullKeys++
    } else {
      columns.keyIsNull.push(0)
      columns.key.append(body, keyStart, keyStart + keyLength)
    }
    columns.keyOffsets.push(columns.key.length)
    if (valueLength < 0) {
      columns.valueIsNull.push(1)
    } else {
      columns.valueIsNull.push(0)
      columns.payload.append(body, valueStart, valueStart + valueLength)
    }
    columns.payloadOffsets.push(columns.payload.length)
    const headerCount = readVarint()
    let idempotencyKeyFound = false
    for (let h = 0; h < headerCount; h++) {
      const headerKeyLength = readVarint()
      const headerKeyStart = position
      position += headerKeyLength
      const headerKeyBytes = body.subarray(headerKeyStart, position)
      // Header keys are strings in Kafka; a client can still send bytes that are not UTF-8,
      // which would make the file unreadable, so such a key is stored with replacement characters.
      if (isUtf8(headerKeyBytes)) columns.headerKey.append(body, headerKeyStart, position)
      else columns.headerKey.appendBuffer(Buffer.from(Buffer.from(headerKeyBytes).toString('utf8'), 'utf8'))
      columns.headerKeyOffsets.push(columns.headerKey.length)
      const headerValueLength = readVarint()
      if (headerValueLength < 0) {
        columns.headerValueIsNull.push(1)
        columns.nullHeaderValues++
      } else {
        columns.headerValueIsNull.push(0)
        columns.headerValue.append(body, position, position + headerValueLength)
        if (!idempotencyKeyFound && isIdempotencyHeader(body, headerKeyStart, headerKeyStart + headerKeyLength) && isUtf8(body.subarray(position, position + headerValueLength))) {
          idempotencyKeyFound = true
          columns.idempotencyKey.append(body, position, position + headerValueLength)
        }
        position += headerValueLength
      }
      columns.headerValueOffsets.push(columns.headerValue.length)
    }
    columns.headerOffsets.push(columns.headerKeyOffsets.length - 1)
    columns.idempotencyKeyIsNull.push(idempotencyKeyFound ? 0 : 1)
    if (!idempotencyKeyFound) columns.nullIdempotencyKeys++
    columns.idempotencyKeyOffsets.push(columns.idempotencyKey.length)
    if (position > end) throw new Error(`record at offset ${offset} overruns its length`)
    position = end
    added++
  }
  return added
}
