// Iceberg v2 table metadata as any catalog stores and hands it out: the typed view Zombi needs, read
// and written as lossless JSON (64-bit snapshot ids do not survive JSON.parse), with every field the
// spec requires. Fields other tools add are kept as they were.
import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json'
import { ZombiError } from '../errors.ts'

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

/** Iceberg's table property: delete the metadata files a commit drops from the metadata log. */
export const PROPERTY_DELETE_AFTER_COMMIT = 'write.metadata.delete-after-commit.enabled'

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

/** Parses JSON losslessly: integers beyond 2^53 (snapshot ids) become BigInt, the rest plain numbers. */
export function parseJson(text: string): unknown {
  return parse(text, null, parseNumber)
}

/** Parses metadata JSON, checking the fields Zombi relies on and normalizing ids to BigInt. */
export function parseTableMetadata(text: string): TableMetadata {
  return tableMetadataFromJson(parseJson(text))
}

/** The checks and normalization of parseTableMetadata for metadata already parsed by parseJson (inside a REST response). */
export function tableMetadataFromJson(raw: unknown): TableMetadata {
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
