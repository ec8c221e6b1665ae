// JSON schemas of the HTTP API: fastify validates with them and docs/openapi.yaml is generated
// from them, so the document and the server cannot disagree.
import { MAX_TOPIC_NAME_LENGTH } from '../log/topic-config.ts'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'

/** Kafka partitions are int32. */
const MAX_PARTITION = 2_147_483_647
/** Offsets (and timestamps) are JavaScript numbers in Zombi's log: exact up to 2^53 - 1. */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code, e.g. invalid_request, invalid_encoding (a body that is not UTF-8, or a lone surrogate escape such as \\ud800 in a string), not_found, backpressure' },
    message: { type: 'string', description: 'What was wrong, naming the field where there is one' },
  },
} as const

const encoding = { type: 'string', enum: ['utf8', 'base64'], default: 'utf8', description: 'How payload and key are written: utf8 text (default) or base64 bytes' } as const

export const recordInputSchema = {
  $id: 'RecordInput',
  type: 'object',
  required: ['payload'],
  additionalProperties: false,
  properties: {
    payload: { type: 'string', description: 'Record value, in the given encoding; utf8 text is stored as its UTF-8 bytes, so arbitrary bytes must go base64' },
    encoding,
    key: { type: ['string', 'null'], description: 'Record key, in the given encoding; keyed records go to murmur2(key) % partitions, as Kafka clients do' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: `Record headers, UTF-8 values; the name ${IDEMPOTENCY_KEY} is reserved (use the ${IDEMPOTENCY_KEY} field)` },
    partition: { type: 'integer', minimum: 0, maximum: MAX_PARTITION, description: 'Explicit partition; else by key, else round robin' },
    // Year 9999 at most: what SQL engines read back from the Iceberg table's timestamp and date columns.
    timestamp_ms: { type: 'integer', minimum: 0, maximum: 253_402_300_799_999, description: 'Record timestamp in ms since the epoch, at most 9999-12-31T23:59:59.999Z; defaults to now' },
    [IDEMPOTENCY_KEY]: { type: 'string', minLength: 1, maxLength: 256, description: 'Writes with a key already used on the table within 24 h write nothing and return the first write (its partition and offset, whatever partition this one names or would be placed on)' },
  },
} as const

export const tableParams = {
  type: 'object',
  required: ['table'],
  properties: { table: { type: 'string', minLength: 1, maxLength: MAX_TOPIC_NAME_LENGTH, pattern: '^[a-zA-Z0-9._-]+$', description: `Table (= Kafka topic) name: 1 to ${MAX_TOPIC_NAME_LENGTH} ASCII letters, digits, ".", "_" and "-"` } },
} as const

export const writeResponse = {
  type: 'object',
  required: ['offset', 'partition', 'table'],
  properties: { offset: { type: 'integer' }, partition: { type: 'integer' }, table: { type: 'string' } },
} as const

const bulkRecords = {
  type: 'array', minItems: 1, maxItems: 100000, items: { $ref: 'RecordInput#' },
  description: 'Up to 100,000 records in a body of at most ZOMBI_HTTP_MAX_BODY_MB (32 MiB by default: 100,000 records of about 300 bytes of JSON each). Each partition\'s records are stored as record batches of at most the table\'s max.message.bytes; one record over it alone gets 413, and then nothing is written.',
} as const

export const bulkBody = {
  type: 'object',
  additionalProperties: false,
  // The specification's field is events; records, the name this API used first, is kept as an alias.
  oneOf: [{ required: ['events'] }, { required: ['records'] }],
  properties: {
    events: bulkRecords,
    records: { ...bulkRecords, description: `Alias of events. ${bulkRecords.description}` },
  },
} as const

export const bulkResponse = {
  type: 'object',
  required: ['offsets', 'count'],
  properties: {
    offsets: { type: 'array', items: { type: 'integer' }, description: 'Offset of each record, in input order (for a repeated idempotency key: the first write\'s)' },
    partitions: { type: 'array', items: { type: 'integer' }, description: 'Partition of each record, in input order (offsets[i] is an offset of partitions[i])' },
    count: { type: 'integer' },
  },
} as const

export const eventSchema = {
  $id: 'Event',
  type: 'object',
  required: ['sequence', 'offset', 'partition', 'timestamp_ms', 'payload', 'key', 'headers', 'encoding'],
  properties: {
    sequence: { type: 'integer', description: 'The record\'s offset in its partition (the specification\'s name; the Iceberg table\'s sequence column)' },
    offset: { type: 'integer', description: 'Same as sequence (Kafka\'s name)' },
    partition: { type: 'integer' },
    timestamp_ms: { type: 'integer' },
    payload: { type: ['string', 'null'], description: 'null for a Kafka null value (tombstone)' },
    key: { type: ['string', 'null'] },
    headers: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
    encoding: { type: 'string', enum: ['utf8', 'base64'] },
  },
} as const

export const streamQuery = {
  type: 'object',
  properties: {
    partition: { type: 'integer', minimum: 0, maximum: MAX_PARTITION, default: 0 },
    offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    wait_ms: { type: 'integer', minimum: 0, maximum: 60000, default: 0, description: 'Long poll: wait up to this long for records when there are none yet' },
    encoding,
  },
} as const

export const streamResponse = {
  type: 'object',
  required: ['events', 'next_offset', 'has_more'],
  properties: {
    events: { type: 'array', items: { $ref: 'Event#' } },
    next_offset: { type: 'integer' },
    has_more: { type: 'boolean' },
  },
} as const

export const readQuery = {
  type: 'object',
  properties: {
    since: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'Records with timestamp_ms >= since' },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    encoding,
  },
} as const

export const readResponse = {
  type: 'object',
  required: ['records', 'count', 'has_more'],
  properties: {
    records: { type: 'array', items: { $ref: 'Event#' } },
    count: { type: 'integer' },
    has_more: { type: 'boolean' },
  },
} as const

export const groupParams = {
  type: 'object',
  required: ['group'],
  properties: { group: { type: 'string', minLength: 1 } },
} as const

export const commitBody = {
  type: 'object',
  required: ['topic', 'partition', 'offset'],
  additionalProperties: false,
  properties: {
    topic: { type: 'string', minLength: 1 },
    partition: { type: 'integer', minimum: 0, maximum: MAX_PARTITION },
    offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, description: 'The next offset to consume, as in Kafka' },
    metadata: { type: ['string', 'null'], maxLength: 4096 },
  },
} as const

export const offsetQuery = {
  type: 'object',
  required: ['topic'],
  properties: { topic: { type: 'string', minLength: 1 }, partition: { type: 'integer', minimum: 0, maximum: MAX_PARTITION, default: 0 } },
} as const

export const offsetResponse = {
  type: 'object',
  required: ['group', 'topic', 'partition', 'offset'],
  properties: {
    group: { type: 'string' },
    topic: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'integer', description: '-1 when nothing is committed, as Kafka answers' },
    metadata: { type: ['string', 'null'] },
  },
} as const

export const tablesResponse = {
  type: 'object',
  required: ['tables'],
  properties: {
    tables: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'topic_id', 'partitions', 'records'],
        properties: { name: { type: 'string' }, topic_id: { type: 'string' }, partitions: { type: 'integer' }, records: { type: 'integer', description: 'Sum of high watermarks' } },
      },
    },
  },
} as const

const topicConfigs = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: 'Topic configs by name, as Kafka clients set them (e.g. retention.ms, zombi.iceberg.mode: key_value, value_schema_id_prefix, value_schema_latest or json)',
} as const

export const createTableBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    partitions: { type: 'integer', minimum: 1, maximum: 100000, description: 'Default: ZOMBI_DEFAULT_PARTITIONS' },
    configs: topicConfigs,
  },
} as const

export const configPatchBody = {
  type: 'object',
  additionalProperties: false,
  required: ['configs'],
  properties: {
    configs: { type: 'object', additionalProperties: { type: ['string', 'null'] }, description: 'Configs to set; null removes one (back to its default)' },
  },
} as const

export const tableConfigResponse = {
  type: 'object',
  required: ['table', 'topic_id', 'partitions', 'configs', 'effective'],
  properties: {
    table: { type: 'string' },
    topic_id: { type: 'string' },
    partitions: { type: 'integer' },
    configs: { ...topicConfigs, description: 'The configs set on the topic' },
    effective: { type: 'object', additionalProperties: { type: 'string' }, description: 'Every topic config with its value in effect (set, or the default)' },
  },
} as const

export const healthResponse = {
  type: 'object',
  required: ['status', 'components'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    uptime_secs: { type: 'integer' },
    components: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } },
  },
} as const

export const flushResponse = {
  type: 'object',
  required: ['table', 'rows', 'files', 'bytes', 'snapshots', 'flushed_offsets'],
  properties: {
    table: { type: 'string' },
    rows: { type: 'integer', description: 'Rows committed by this flush' },
    files: { type: 'integer' },
    bytes: { type: 'integer' },
    snapshots: { type: 'integer', description: 'Iceberg snapshots committed by this flush' },
    flushed_offsets: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Per partition: every offset below is in Iceberg' },
  },
} as const

export const compactResponse = {
  type: 'object',
  required: ['table', 'files_in', 'files_out', 'bytes_in', 'bytes_out', 'rows', 'seconds', 'snapshot_id', 'commit_attempts'],
  properties: {
    table: { type: 'string' },
    files_in: { type: 'integer', description: 'Data files replaced (they stay in the warehouse until snapshot expiry removes them)' },
    files_out: { type: 'integer', description: 'Data files written in their place' },
    bytes_in: { type: 'integer' },
    bytes_out: { type: 'integer' },
    rows: { type: 'integer', description: 'Rows rewritten (the same rows, sorted by timestamp_ms then sequence)' },
    seconds: { type: 'number' },
    snapshot_id: { type: ['string', 'null'], description: 'The replace snapshot committed, or null when nothing needed compacting' },
    commit_attempts: { type: 'integer', description: 'Commits tried; more than one when flushes committed meanwhile' },
  },
} as const

export const metadataResponse = {
  type: 'object',
  required: ['table', 'topic_id', 'metadata_location', 'snapshots', 'flushed_offsets', 'high_watermarks'],
  properties: {
    table: { type: 'string' },
    topic_id: { type: 'string' },
    metadata_location: { type: ['string', 'null'], description: 'Current vN.metadata.json, null before the first flush' },
    table_uuid: { type: ['string', 'null'] },
    format_version: { type: ['integer', 'null'] },
    current_snapshot_id: { type: ['string', 'null'], description: '64-bit id as a decimal string' },
    snapshots: { type: 'integer' },
    summary: { type: 'object', additionalProperties: { type: 'string' }, description: 'Summary of the current snapshot' },
    flushed_offsets: { type: 'object', additionalProperties: { type: 'integer' } },
    high_watermarks: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const

const componentStatus = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok', 'unavailable', 'unknown'] }, detail: { type: 'string' } },
} as const

export const readyResponse = {
  type: 'object',
  required: ['status', 'hot_storage', 'cold_storage', 'backpressure'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    hot_storage: componentStatus,
    cold_storage: componentStatus,
    backpressure: {
      type: 'object',
      required: ['status', 'inflight_writes', 'inflight_bytes', 'max_inflight_bytes'],
      properties: {
        status: { type: 'string', enum: ['ok', 'saturated'], description: 'saturated while every write slot (ZOMBI_MAX_INFLIGHT_WRITES) or the byte budget (ZOMBI_MAX_INFLIGHT_BYTES_MB) is taken' },
        inflight_writes: { type: 'integer' },
        max_inflight_writes: { type: 'integer' },
        inflight_bytes: { type: 'integer' },
        max_inflight_bytes: { type: 'integer' },
      },
    },
    uptime_secs: { type: 'integer' },
    components: healthResponse.properties.components,
  },
} as const

const retryAfter = { 'retry-after': { type: 'string', description: 'Seconds to wait before retrying' } } as const

/** Errors every route may answer. */
export const errorResponses = { 400: { $ref: 'Error#' }, 404: { $ref: 'Error#' }, 413: { $ref: 'Error#' }, 429: { $ref: 'Error#' } } as const

/** Writes (records and offset commits) are refused with 507 while the broker's disk is full; nothing is stored. */
export const storageErrorResponses = {
  507: { $ref: 'Error#', description: 'Insufficient storage: the broker\'s disk is full; nothing was stored, retry later', headers: retryAfter },
} as const

/** Only writes are subject to backpressure. */
export const writeErrorResponses = {
  ...errorResponses,
  413: { $ref: 'Error#', description: 'A body over ZOMBI_HTTP_MAX_BODY_MB, or a record too large for a record batch of the table\'s max.message.bytes' },
  429: {
    $ref: 'Error#',
    headers: retryAfter,
    description: 'Backpressure: too many writes or bytes in flight (ZOMBI_MAX_INFLIGHT_WRITES, ZOMBI_MAX_INFLIGHT_BYTES_MB); nothing was read or written, retry after Retry-After. '
      + '429, not 503: the broker is up and serving, this client is asked to slow down, which is what HTTP clients and retry libraries back off on; '
      + '503 stays the answer of /health/ready, so a load balancer does not take a busy broker out of rotation because of one burst.',
  },
  ...storageErrorResponses,
} as const
