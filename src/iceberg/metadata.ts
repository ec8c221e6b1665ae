// Iceberg v2 table metadata: the typed view Zombi needs, read and written as lossless JSON
// (64-bit snapshot ids do not survive JSON.parse), with every field the spec requires. Fields
// other tools add are kept as they were.
import { randomUUID } from 'node:crypto'
import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json'
import { ZombiError } from '../errors.ts'
import {
  LAST_COLUMN_ID, LAST_PARTITION_ID, SCHEMA_ID, SORT_ORDER_ID, SPEC_ID, icebergSchemaJson, partitionSpecJson, sortOrdersJson,
} from './schema.ts'

export interface SnapshotRef {
  'snapshot-id': bigint
  type: 'branch' | 'tag'
  [other: string]: unknown
}

export interface Snapshot {
  'snapshot-id': bigint
  'parent-snapshot-id'?: bigint
  'sequence-number': bigint
  'timestamp-ms': number
  'manifest-list': string
  summary: Record<string, string>
  'schema-id'?: number
  [other: string]: unknown
}

export interface TableMetadata {
  'format-version': number
  'table-uuid': string
  location: string
  'last-sequence-number': bigint
  'last-updated-ms': number
  'last-column-id': number
  'current-schema-id': number
  schemas: unknown[]
  'default-spec-id': number
  'partition-specs': unknown[]
  'last-partition-id': number
  'default-sort-order-id': number
  'sort-orders': unknown[]
  properties: Record<string, string>
  'current-snapshot-id'?: bigint
  refs: Record<string, SnapshotRef>
  snapshots: Snapshot[]
  'snapshot-log': Array<{ 'timestamp-ms': number; 'snapshot-id': bigint }>
  'metadata-log': Array<{ 'timestamp-ms': number; 'metadata-file': string }>
  [other: string]: unknown
}

/** Summary keys of Zombi's exactly-once bookkeeping. */
export const SUMMARY_TOPIC_ID = 'zombi.topic-id'
export const SUMMARY_OFFSETS_PREFIX = 'zombi.offsets.'
export const PROPERTY_TOPIC_ID = 'zombi.topic-id'
const METADATA_PREVIOUS_VERSIONS_MAX = 100

function toBigInt(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  throw new ZombiError('ICEBERG_METADATA_INVALID', `${what} is not an integer: ${String(value)}`)
}

function toNumber(value: unknown, what: string): number {
  if (typeof value === 'number') return value
  if (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value)
  throw new ZombiError('ICEBERG_METADATA_INVALID', `${what} is not a number: ${String(value)}`)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringRecord(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {}
  if (!isObject(value)) throw new ZombiError('ICEBERG_METADATA_INVALID', `${what} is not an object`)
  const out: Record<string, string> = {}
  for (const [key, entry] of Object.entries(value)) out[key] = String(entry)
  return out
}

function array(value: unknown, what: string): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new ZombiError('ICEBERG_METADATA_INVALID', `${what} is not an array`)
  return value
}

/** Integers that fit a double exactly become numbers, larger ones (snapshot ids) BigInt. */
function parseNumber(text: string): number | bigint {
  return isInteger(text) && !isSafeNumber(text) ? BigInt(text) : Number(text)
}

/** JSON text of a value that may hold BigInt (lossless). */
export function jsonText(value: unknown): string {
  const text = stringify(value)
  if (text === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', 'value did not serialize to JSON')
  return text
}

/** Parses metadata JSON, checking the fields Zombi relies on and normalizing ids to BigInt. */
export function parseTableMetadata(text: string): TableMetadata {
  const raw = parse(text, null, parseNumber)
  if (!isObject(raw)) throw new ZombiError('ICEBERG_METADATA_INVALID', 'table metadata is not a JSON object')
  const version = toNumber(raw['format-version'], 'format-version')
  if (version !== 2) throw new ZombiError('ICEBERG_METADATA_INVALID', `table format version ${version} is not supported (Zombi writes v2)`)
  for (const field of ['table-uuid', 'location']) {
    if (typeof raw[field] !== 'string') throw new ZombiError('ICEBERG_METADATA_INVALID', `${field} is missing`)
  }
  const snapshots = array(raw.snapshots, 'snapshots').map((entry, i): Snapshot => {
    if (!isObject(entry)) throw new ZombiError('ICEBERG_METADATA_INVALID', `snapshots[${i}] is not an object`)
    const snapshot: Snapshot = {
      ...entry,
      'snapshot-id': toBigInt(entry['snapshot-id'], 'snapshot-id'),
      'sequence-number': toBigInt(entry['sequence-number'] ?? 0, 'sequence-number'),
      'timestamp-ms': toNumber(entry['timestamp-ms'], 'timestamp-ms'),
      'manifest-list': String(entry['manifest-list']),
      summary: stringRecord(entry.summary, 'summary'),
    }
    if (entry['parent-snapshot-id'] !== undefined && entry['parent-snapshot-id'] !== null) {
      snapshot['parent-snapshot-id'] = toBigInt(entry['parent-snapshot-id'], 'parent-snapshot-id')
    } else {
      delete snapshot['parent-snapshot-id']
    }
    if (entry['schema-id'] !== undefined) snapshot['schema-id'] = toNumber(entry['schema-id'], 'schema-id')
    return snapshot
  })
  const refs: Record<string, SnapshotRef> = {}
  if (isObject(raw.refs)) {
    for (const [name, ref] of Object.entries(raw.refs)) {
      if (!isObject(ref)) continue
      refs[name] = { ...ref, 'snapshot-id': toBigInt(ref['snapshot-id'], `refs.${name}.snapshot-id`), type: ref.type === 'tag' ? 'tag' : 'branch' }
    }
  }
  const metadata: TableMetadata = {
    ...raw,
    'format-version': 2,
    'table-uuid': raw['table-uuid'] as string,
    location: raw.location as string,
    'last-sequence-number': toBigInt(raw['last-sequence-number'] ?? 0, 'last-sequence-number'),
    'last-updated-ms': toNumber(raw['last-updated-ms'], 'last-updated-ms'),
    'last-column-id': toNumber(raw['last-column-id'], 'last-column-id'),
    'current-schema-id': toNumber(raw['current-schema-id'], 'current-schema-id'),
    schemas: array(raw.schemas, 'schemas'),
    'default-spec-id': toNumber(raw['default-spec-id'], 'default-spec-id'),
    'partition-specs': array(raw['partition-specs'], 'partition-specs'),
    'last-partition-id': toNumber(raw['last-partition-id'], 'last-partition-id'),
    'default-sort-order-id': toNumber(raw['default-sort-order-id'], 'default-sort-order-id'),
    'sort-orders': array(raw['sort-orders'], 'sort-orders'),
    properties: stringRecord(raw.properties, 'properties'),
    refs,
    snapshots,
    'snapshot-log': array(raw['snapshot-log'], 'snapshot-log').map((entry) => {
      const log = isObject(entry) ? entry : {}
      return { 'timestamp-ms': toNumber(log['timestamp-ms'], 'snapshot-log timestamp-ms'), 'snapshot-id': toBigInt(log['snapshot-id'], 'snapshot-log snapshot-id') }
    }),
    'metadata-log': array(raw['metadata-log'], 'metadata-log').map((entry) => {
      const log = isObject(entry) ? entry : {}
      return { 'timestamp-ms': toNumber(log['timestamp-ms'], 'metadata-log timestamp-ms'), 'metadata-file': String(log['metadata-file']) }
    }),
  }
  const current = raw['current-snapshot-id']
  if (current === undefined || current === null || toBigInt(current, 'current-snapshot-id') === -1n) delete metadata['current-snapshot-id']
  else metadata['current-snapshot-id'] = toBigInt(current, 'current-snapshot-id')
  return metadata
}

export function serializeTableMetadata(metadata: TableMetadata): string {
  const text = stringify(metadata, null, 2)
  if (text === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', 'table metadata did not serialize')
  return text
}

/** A table with Zombi's schema, spec and sort order and no snapshot yet (never written alone). */
export function newTableMetadata(location: string, properties: Record<string, string>, nowMs: number): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0n,
    'last-updated-ms': nowMs,
    'last-column-id': LAST_COLUMN_ID,
    'current-schema-id': SCHEMA_ID,
    schemas: [icebergSchemaJson()],
    'default-spec-id': SPEC_ID,
    'partition-specs': [partitionSpecJson()],
    'last-partition-id': LAST_PARTITION_ID,
    'default-sort-order-id': SORT_ORDER_ID,
    'sort-orders': sortOrdersJson(),
    properties: { 'write.format.default': 'parquet', 'write.parquet.compression-codec': 'zstd', ...properties },
    refs: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
  }
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata.refs.main?.['snapshot-id'] ?? metadata['current-snapshot-id']
  if (id === undefined) return undefined
  return metadata.snapshots.find((snapshot) => snapshot['snapshot-id'] === id)
}

/** Snapshots of the main branch, newest first (following parent ids while they are kept). */
export function mainAncestry(metadata: TableMetadata): Snapshot[] {
  const byId = new Map<bigint, Snapshot>()
  for (const snapshot of metadata.snapshots) byId.set(snapshot['snapshot-id'], snapshot)
  const out: Snapshot[] = []
  let snapshot = currentSnapshot(metadata)
  while (snapshot !== undefined) {
    out.push(snapshot)
    const parent = snapshot['parent-snapshot-id']
    snapshot = parent === undefined ? undefined : byId.get(parent)
  }
  return out
}

/** `from-to`: the first and last Kafka offset a snapshot covers for one partition (inclusive). */
export function formatOffsetRange(from: number, endExclusive: number): string {
  return `${from}-${endExclusive - 1}`
}

export function parseOffsetRange(text: string): { from: number; end: number } | null {
  const match = /^(\d+)-(\d+)$/.exec(text)
  if (match === null) return null
  return { from: Number(match[1]), end: Number(match[2]) + 1 }
}

/**
 * What the table holds of a topic: per Kafka partition, the offset after the last one
 * committed, read from the `zombi.offsets.<partition>` summaries of the main branch's
 * snapshots written for this topic id.
 */
export function committedOffsets(metadata: TableMetadata, topicId: string): Map<number, number> {
  const committed = new Map<number, number>()
  for (const snapshot of mainAncestry(metadata)) {
    if (snapshot.summary[SUMMARY_TOPIC_ID] !== topicId) continue
    for (const [key, value] of Object.entries(snapshot.summary)) {
      if (!key.startsWith(SUMMARY_OFFSETS_PREFIX)) continue
      const partition = Number(key.slice(SUMMARY_OFFSETS_PREFIX.length))
      const range = parseOffsetRange(value)
      if (!Number.isInteger(partition) || range === null) continue
      if (range.end > (committed.get(partition) ?? 0)) committed.set(partition, range.end)
    }
  }
  return committed
}

/** A random positive 63-bit snapshot id. */
export function newSnapshotId(): bigint {
  const bytes = new BigUint64Array(1)
  crypto.getRandomValues(bytes)
  const id = bytes[0]! & 0x7fffffffffffffffn
  return id === 0n ? 1n : id
}

export interface NewSnapshot {
  snapshotId: bigint
  sequenceNumber: bigint
  manifestList: string
  summary: Record<string, string>
  timestampMs: number
}

/**
 * The metadata after a fast append: the snapshot becomes main's head, logs are extended and
 * `previousMetadataFile` (the file this commit replaces) joins the metadata log.
 */
export function withAppendedSnapshot(base: TableMetadata, snapshot: NewSnapshot, previousMetadataFile: string | null): TableMetadata {
  const parent = currentSnapshot(base)
  const entry: Snapshot = {
    'snapshot-id': snapshot.snapshotId,
    'sequence-number': snapshot.sequenceNumber,
    'timestamp-ms': snapshot.timestampMs,
    'manifest-list': snapshot.manifestList,
    summary: snapshot.summary,
    'schema-id': base['current-schema-id'],
  }
  if (parent !== undefined) entry['parent-snapshot-id'] = parent['snapshot-id']
  const metadataLog = [...base['metadata-log']]
  if (previousMetadataFile !== null) metadataLog.push({ 'timestamp-ms': base['last-updated-ms'], 'metadata-file': previousMetadataFile })
  return {
    ...base,
    'last-sequence-number': snapshot.sequenceNumber,
    'last-updated-ms': snapshot.timestampMs,
    'current-snapshot-id': snapshot.snapshotId,
    refs: { ...base.refs, main: { 'snapshot-id': snapshot.snapshotId, type: 'branch' } },
    snapshots: [...base.snapshots, entry],
    'snapshot-log': [...base['snapshot-log'], { 'timestamp-ms': snapshot.timestampMs, 'snapshot-id': snapshot.snapshotId }],
    'metadata-log': metadataLog.slice(-METADATA_PREVIOUS_VERSIONS_MAX),
  }
}

/**
 * The table as a recreated topic starts it (ZOMBI_RECREATED_TOPIC_TABLE=replace): like
 * Iceberg's REPLACE TABLE, the old snapshots stay in the history (time travel still reaches
 * them, their files are untouched) but main starts empty and the topic id changes.
 */
export function replacedForTopic(base: TableMetadata, topicId: string, nowMs: number): TableMetadata {
  const refs: Record<string, SnapshotRef> = { ...base.refs }
  delete refs.main
  const replaced: TableMetadata = { ...base, refs, 'last-updated-ms': nowMs, properties: { ...base.properties, [PROPERTY_TOPIC_ID]: topicId } }
  delete replaced['current-snapshot-id']
  return replaced
}
