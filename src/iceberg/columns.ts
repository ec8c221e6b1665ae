// Stored record batches -> the table's columns, decoded with the protocol's RecordCursor straight
// into growable typed arrays (no object per record), in offset order. Runs in the encode worker.
import { isUtf8 } from 'node:buffer'
import { ATTR_CONTROL, attributesOf, baseOffsetOf, lastOffsetDeltaOf } from '../protocol/record-batch.ts'
import { IDEMPOTENCY_KEY, RecordCursor } from '../protocol/record-cursor.ts'

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
 * The decoded rows of an encode job (chunks of one or more Kafka partitions). Row i's Kafka
 * partition is `partitions[i]`, its payload is
 * `payload.bytes[payloadOffsets[i] .. payloadOffsets[i + 1]]`; its headers are entries
 * `headerOffsets[i] .. headerOffsets[i + 1]` of the header columns.
 */
export class RowColumns {
  readonly partitions: IntColumn
  readonly offsets: NumberColumn
  readonly payload: ByteColumn
  readonly timestamps: NumberColumn
  readonly payloadOffsets: IntColumn
  readonly valueIsNull: FlagColumn
  readonly key: ByteColumn
  readonly keyOffsets: IntColumn
  readonly keyIsNull: FlagColumn
  readonly headerOffsets: IntColumn
  readonly headerKey = new ByteColumn(1024)
  readonly headerKeyOffsets = new IntColumn()
  readonly headerValue = new ByteColumn(1024)
  readonly headerValueOffsets = new IntColumn()
  readonly headerValueIsNull = new FlagColumn()
  readonly idempotencyKey = new ByteColumn(1024)
  readonly idempotencyKeyOffsets: IntColumn
  readonly idempotencyKeyIsNull: FlagColumn
  nullKeys = 0
  nullIdempotencyKeys = 0
  nullHeaderValues = 0

  /**
   * `expectedPayloadBytes` sizes the payload buffer up front (growing it copies everything). A caller
   * that knows its row count and key bytes (a rewrite, from its inputs' footers) sizes the per-row
   * columns too: grown by doubling they would end up to twice the rows, all held at the peak.
   */
  constructor(expectedPayloadBytes = 1 << 16, expected: { rows: number; keyBytes: number } = { rows: 1024, keyBytes: 1 << 16 }) {
    const rows = Math.max(1, expected.rows)
    this.partitions = new IntColumn(rows)
    this.offsets = new NumberColumn(rows)
    this.payload = new ByteColumn(Math.max(1024, expectedPayloadBytes))
    this.timestamps = new NumberColumn(rows)
    this.payloadOffsets = new IntColumn(rows + 1)
    this.valueIsNull = new FlagColumn(rows)
    this.key = new ByteColumn(Math.max(1024, expected.keyBytes))
    this.keyOffsets = new IntColumn(rows + 1)
    this.keyIsNull = new FlagColumn(rows)
    this.headerOffsets = new IntColumn(rows + 1)
    this.idempotencyKeyOffsets = new IntColumn(rows + 1)
    this.idempotencyKeyIsNull = new FlagColumn(rows)
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

  /** Empties the columns, keeping their buffers (a streamed job refills the same columns group after group). */
  clear(): void {
    for (const column of [this.payload, this.key, this.headerKey, this.headerValue, this.idempotencyKey]) column.length = 0
    for (const column of [this.partitions, this.offsets, this.timestamps, this.valueIsNull, this.keyIsNull, this.headerValueIsNull, this.idempotencyKeyIsNull]) column.length = 0
    for (const column of [this.payloadOffsets, this.keyOffsets, this.headerOffsets, this.headerKeyOffsets, this.headerValueOffsets, this.idempotencyKeyOffsets]) {
      column.length = 0
      column.push(0)
    }
    this.nullKeys = 0
    this.nullIdempotencyKeys = 0
    this.nullHeaderValues = 0
  }

  get headerCount(): number {
    return this.headerKeyOffsets.length - 1
  }

  /** Bytes the rows take in memory, to cap a chunk before it gets too big. */
  get byteSize(): number {
    return this.payload.length + this.key.length + this.headerKey.length + this.headerValue.length + this.idempotencyKey.length + this.count * 44
  }
}

// The first UTF-8 value of the idempotency key header fills the idempotency_key column; the header
// stays in headers too, as the record carries it.
const idempotencyHeaderBytes = Buffer.from(IDEMPOTENCY_KEY, 'utf8')

function isIdempotencyHeader(bytes: Uint8Array, start: number, length: number): boolean {
  if (length !== idempotencyHeaderBytes.length) return false
  for (let i = 0; i < length; i++) if (bytes[start + i] !== idempotencyHeaderBytes[i]) return false
  return true
}

const HOUR_MS = 3_600_000

// One cursor for the worker's jobs (they run one at a time): no object per batch.
const cursor = new RecordCursor()

/** Ends a job's decoding: the shared cursor lets go of the job's input (else the worker keeps it until its next job). */
export function endDecoding(): void {
  cursor.close()
}

/**
 * Decodes the batch at `batch` of Kafka partition `partition` into `columns`, skipping records below `fromOffset`. Control
 * batches (transaction markers) are not rows. Returns the number of rows added. Timestamps and
 * header keys are RecordCursor's, as every other reader of the record sees them. `skipHour`: records
 * of that hour since 1970 (data-file.ts hourOf) are left out.
 */
export function decodeBatchInto(batch: Buffer, partition: number, fromOffset: number, columns: RowColumns, skipHour: number | null = null): number {
  if ((attributesOf(batch) & ATTR_CONTROL) !== 0) return 0
  if (baseOffsetOf(batch) + lastOffsetDeltaOf(batch) < fromOffset) return 0
  cursor.open(batch)
  const body = cursor.body
  let added = 0
  while (cursor.nextRecord()) {
    if (cursor.offset < fromOffset) continue
    if (skipHour !== null && Math.floor(cursor.timestamp / HOUR_MS) === skipHour) continue
    columns.partitions.push(partition)
    columns.offsets.push(cursor.offset)
    columns.timestamps.push(cursor.timestamp)
    if (cursor.keyLength < 0) {
      columns.keyIsNull.push(1)
      columns.nullKeys++
    } else {
      columns.keyIsNull.push(0)
      columns.key.append(body, cursor.keyStart, cursor.keyStart + cursor.keyLength)
    }
    columns.keyOffsets.push(columns.key.length)
    if (cursor.valueLength < 0) {
      columns.valueIsNull.push(1)
    } else {
      columns.valueIsNull.push(0)
      columns.payload.append(body, cursor.valueStart, cursor.valueStart + cursor.valueLength)
    }
    columns.payloadOffsets.push(columns.payload.length)
    let idempotencyKeyFound = false
    while (cursor.nextHeader()) {
      const keyStart = cursor.headerKeyStart
      const keyLength = cursor.headerKeyLength
      if (cursor.headerKeyIsUtf8()) columns.headerKey.append(body, keyStart, keyStart + keyLength)
      else columns.headerKey.appendBuffer(Buffer.from(cursor.headerKey(), 'utf8'))
      columns.headerKeyOffsets.push(columns.headerKey.length)
      const valueStart = cursor.headerValueStart
      const valueLength = cursor.headerValueLength
      if (valueLength < 0) {
        columns.headerValueIsNull.push(1)
        columns.nullHeaderValues++
      } else {
        columns.headerValueIsNull.push(0)
        columns.headerValue.append(body, valueStart, valueStart + valueLength)
        if (!idempotencyKeyFound && isIdempotencyHeader(body, keyStart, keyLength) && isUtf8(body.subarray(valueStart, valueStart + valueLength))) {
          idempotencyKeyFound = true
          columns.idempotencyKey.append(body, valueStart, valueStart + valueLength)
        }
      }
      columns.headerValueOffsets.push(columns.headerValue.length)
    }
    columns.headerOffsets.push(columns.headerKeyOffsets.length - 1)
    columns.idempotencyKeyIsNull.push(idempotencyKeyFound ? 0 : 1)
    if (!idempotencyKeyFound) columns.nullIdempotencyKeys++
    columns.idempotencyKeyOffsets.push(columns.idempotencyKey.length)
    added++
  }
  return added
}
