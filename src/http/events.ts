// The HTTP door's JSON shapes of records, both ways: a record as clients send it (payload and key as
// UTF-8 text or base64) becomes a record to write, and a stored record becomes an event.
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'
import type { LogRecord } from '../log/record-reader.ts'
import type { RecordToWrite } from '../log/record-writer.ts'
import type { RecordHeader } from '../protocol/records.ts'
import { HttpProblem } from './problems.ts'

export type Encoding = 'utf8' | 'base64'

/** A record as clients send it (schema RecordInput). */
export interface HttpRecord {
  payload: string
  encoding?: Encoding
  key?: string | null
  headers?: Record<string, string>
  partition?: number
  timestamp_ms?: number
  idempotency_key?: string
}

/** A record as clients read it (schema Event): `sequence` is the specification's name of the offset. */
export interface Event {
  sequence: number
  offset: number
  partition: number
  timestamp_ms: number
  payload: string | null
  key: string | null
  headers: Record<string, string | null>
  encoding: Encoding
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function decode(text: string, encoding: Encoding, field: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8')
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new HttpProblem('HTTP_INVALID_REQUEST', `${field} is not valid base64`)
  return Buffer.from(text, 'base64')
}

/** The record to write; `field` prefixes names in errors ('' for a single record, 'events[3].' in a bulk). */
export function recordToWrite(record: HttpRecord, field: string, nowMs: number): RecordToWrite {
  const encoding = record.encoding ?? 'utf8'
  const value = decode(record.payload, encoding, `${field}payload`)
  const key = record.key === undefined || record.key === null ? null : decode(record.key, encoding, `${field}key`)
  const headers: RecordHeader[] = []
  if (record.headers !== undefined) {
    // Reads hide this header (it carries the key), so a header of that name would silently vanish from them.
    if (Object.hasOwn(record.headers, IDEMPOTENCY_KEY)) throw new HttpProblem('HTTP_INVALID_REQUEST', `${field}headers.${IDEMPOTENCY_KEY} is reserved; send the key as the ${IDEMPOTENCY_KEY} field`)
    for (const name in record.headers) headers.push({ key: name, value: Buffer.from(record.headers[name]!, 'utf8') })
  }
  return {
    value,
    key,
    headers,
    timestamp: record.timestamp_ms ?? nowMs,
    partition: record.partition ?? -1,
    idempotencyKey: record.idempotency_key ?? null,
  }
}

function encode(bytes: Buffer | null, encoding: Encoding): string | null {
  return bytes === null ? null : bytes.toString(encoding === 'base64' ? 'base64' : 'utf8')
}

/** One record as the API shows it, from the hot log or the Iceberg table alike (the idempotency header is the key's carrier, not shown). */
export function eventOf(record: LogRecord, encoding: Encoding): Event {
  const headers: Record<string, string | null> = {}
  for (const header of record.headers) if (header.key !== IDEMPOTENCY_KEY) headers[header.key] = header.value === null ? null : header.value.toString('utf8')
  return {
    sequence: record.offset, offset: record.offset, partition: record.partition, timestamp_ms: record.timestampMs,
    payload: encode(record.value, encoding), key: encode(record.key, encoding), headers, encoding,
  }
}

export function eventsOf(records: readonly LogRecord[], encoding: Encoding): Event[] {
  return records.map((record) => eventOf(record, encoding))
}
