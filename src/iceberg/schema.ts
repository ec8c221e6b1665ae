// The Iceberg table of a topic: schema with its field ids, partition spec and sort order, as
// Iceberg JSON and as the Arrow schema of the Parquet files. Field ids never change; new columns
// only get new ids.
import { Binary, Bool, DateDay, Field, Int32, Int64, List, Schema, Struct, TimestampMicrosecond, Utf8 } from 'apache-arrow'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'

export const FieldId = {
  sequence: 1,
  topic: 2,
  partition: 3,
  payload: 4,
  timestampMs: 5,
  idempotencyKey: 6,
  eventDate: 7,
  eventHour: 8,
  key: 9,
  headers: 10,
  headerElement: 11,
  headerKey: 12,
  headerValue: 13,
  timestamp: 14,
  valueIsNull: 15,
} as const

export const LAST_COLUMN_ID = 15
export const SCHEMA_ID = 0
export const SPEC_ID = 0
/** The sort order of the data files Zombi writes (order 1, timestamp_ms then sequence, is what older files declare). */
export const SORT_ORDER_ID = 2
export const PARTITION_FIELD_EVENT_DATE = 1000
export const PARTITION_FIELD_EVENT_HOUR = 1001
export const LAST_PARTITION_ID = 1001

/** Leaf columns, in Parquet column order, with the Iceberg primitive type of each. */
export const LEAF_COLUMNS = [
  { id: FieldId.sequence, path: 'sequence', type: 'long' },
  { id: FieldId.topic, path: 'topic', type: 'string' },
  { id: FieldId.partition, path: 'partition', type: 'int' },
  { id: FieldId.payload, path: 'payload', type: 'binary' },
  { id: FieldId.timestampMs, path: 'timestamp_ms', type: 'long' },
  { id: FieldId.idempotencyKey, path: IDEMPOTENCY_KEY, type: 'string' },
  { id: FieldId.eventDate, path: 'event_date', type: 'date' },
  { id: FieldId.eventHour, path: 'event_hour', type: 'int' },
  { id: FieldId.key, path: 'key', type: 'binary' },
  { id: FieldId.headerKey, path: 'headers.list.element.key', type: 'string' },
  { id: FieldId.headerValue, path: 'headers.list.element.value', type: 'binary' },
  { id: FieldId.timestamp, path: 'timestamp', type: 'timestamptz' },
  { id: FieldId.valueIsNull, path: 'value_is_null', type: 'boolean' },
] as const

/** The table schema as Iceberg JSON (schema id 0). */
export function icebergSchemaJson(): { type: 'struct'; 'schema-id': number; fields: unknown[] } {
  const field = (id: number, name: string, required: boolean, type: unknown): Record<string, unknown> => ({ id, name, required, type })
  return {
    type: 'struct',
    'schema-id': SCHEMA_ID,
    fields: [
      field(FieldId.sequence, 'sequence', true, 'long'),
      field(FieldId.topic, 'topic', true, 'string'),
      field(FieldId.partition, 'partition', true, 'int'),
      field(FieldId.payload, 'payload', true, 'binary'),
      field(FieldId.timestampMs, 'timestamp_ms', true, 'long'),
      field(FieldId.idempotencyKey, IDEMPOTENCY_KEY, false, 'string'),
      field(FieldId.eventDate, 'event_date', true, 'date'),
      field(FieldId.eventHour, 'event_hour', true, 'int'),
      field(FieldId.key, 'key', false, 'binary'),
      field(FieldId.headers, 'headers', false, {
        type: 'list',
        'element-id': FieldId.headerElement,
        'element-required': true,
        element: {
          type: 'struct',
          fields: [field(FieldId.headerKey, 'key', true, 'string'), field(FieldId.headerValue, 'value', false, 'binary')],
        },
      }),
      field(FieldId.timestamp, 'timestamp', true, 'timestamptz'),
      field(FieldId.valueIsNull, 'value_is_null', true, 'boolean'),
    ],
  }
}

/** Partition spec 0: identity(event_date), identity(event_hour). */
export function partitionSpecJson(): { 'spec-id': number; fields: Array<{ name: string; transform: string; 'source-id': number; 'field-id': number }> } {
  return {
    'spec-id': SPEC_ID,
    fields: [
      { name: 'event_date', transform: 'identity', 'source-id': FieldId.eventDate, 'field-id': PARTITION_FIELD_EVENT_DATE },
      { name: 'event_hour', transform: 'identity', 'source-id': FieldId.eventHour, 'field-id': PARTITION_FIELD_EVENT_HOUR },
    ],
  }
}

const asc = (sourceId: number): Record<string, unknown> => ({ transform: 'identity', 'source-id': sourceId, direction: 'asc', 'null-order': 'nulls-first' })

/**
 * The default sort order: a data file holds the rows of many Kafka partitions of one event hour,
 * by partition then sequence (offset), so the `partition` and `sequence` bounds of its row groups
 * (and of files split past the target size) prune offset ranges.
 */
export function sortOrderJson(): { 'order-id': number; fields: unknown[] } {
  return { 'order-id': SORT_ORDER_ID, fields: [asc(FieldId.partition), asc(FieldId.sequence)] }
}

/** Sort orders: 0 is the unsorted order every table has, 1 timestamp_ms, sequence (files of one Kafka partition, written before order 2), 2 the default. */
export function sortOrdersJson(): unknown[] {
  return [
    { 'order-id': 0, fields: [] },
    { 'order-id': 1, fields: [asc(FieldId.timestampMs), asc(FieldId.sequence)] },
    sortOrderJson(),
  ]
}

function fieldMetadata(id: number): Map<string, string> {
  return new Map([['PARQUET:field_id', String(id)]])
}

export const headerStructType = new Struct([
  new Field('key', new Utf8(), false, fieldMetadata(FieldId.headerKey)),
  new Field('value', new Binary(), true, fieldMetadata(FieldId.headerValue)),
])
export const headersListType = new List(new Field('element', headerStructType, false, fieldMetadata(FieldId.headerElement)))

/** Arrow schema of the data files: `PARQUET:field_id` on every field, required columns non-nullable. */
export const arrowSchema = new Schema([
  new Field('sequence', new Int64(), false, fieldMetadata(FieldId.sequence)),
  new Field('topic', new Utf8(), false, fieldMetadata(FieldId.topic)),
  new Field('partition', new Int32(), false, fieldMetadata(FieldId.partition)),
  new Field('payload', new Binary(), false, fieldMetadata(FieldId.payload)),
  new Field('timestamp_ms', new Int64(), false, fieldMetadata(FieldId.timestampMs)),
  new Field(IDEMPOTENCY_KEY, new Utf8(), true, fieldMetadata(FieldId.idempotencyKey)),
  new Field('event_date', new DateDay(), false, fieldMetadata(FieldId.eventDate)),
  new Field('event_hour', new Int32(), false, fieldMetadata(FieldId.eventHour)),
  new Field('key', new Binary(), true, fieldMetadata(FieldId.key)),
  new Field('headers', headersListType, true, fieldMetadata(FieldId.headers)),
  new Field('timestamp', new TimestampMicrosecond('UTC'), false, fieldMetadata(FieldId.timestamp)),
  new Field('value_is_null', new Bool(), false, fieldMetadata(FieldId.valueIsNull)),
])
