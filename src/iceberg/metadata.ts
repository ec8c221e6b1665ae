// Zombi's topic tables in Iceberg metadata: a new table in the topic schema, snapshots appended by the
// flusher with the offset ranges they cover in their summary, and a table replaced for a recreated
// topic. The metadata format itself is catalog/table-metadata.ts.
import { randomUUID } from 'node:crypto'
import { ZombiError } from '../errors.ts'
import { PROPERTY_DELETE_AFTER_COMMIT, type Snapshot, type SnapshotRef, type TableMetadata } from '../catalog/table-metadata.ts'
import {
  LAST_COLUMN_ID, LAST_PARTITION_ID, SCHEMA_ID, SORT_ORDER_ID, SPEC_ID, icebergSchemaJson, partitionSpecJson, sortOrderJson, sortOrdersJson,
} from './schema.ts'
import { maxFieldId, valueFieldOf, type IcebergField } from './typed-schema.ts'

export { PROPERTY_DELETE_AFTER_COMMIT, jsonText, parseTableMetadata, serializeTableMetadata, type Snapshot, type SnapshotRef, type TableMetadata } from '../catalog/table-metadata.ts'

export const SUMMARY_TOPIC_ID = 'zombi.topic-id'
export const SUMMARY_OFFSETS_PREFIX = 'zombi.offsets.'
export const PROPERTY_TOPIC_ID = 'zombi.topic-id'
/**
 * The committed end offsets that expired snapshots carried, as JSON `{"topic-id": …, "ends": {"<partition>": end}}`:
 * written by snapshot expiry in the commit that drops the snapshots, so exactly-once outlives their summaries.
 */
export const PROPERTY_COMMITTED_OFFSETS = 'zombi.committed-offsets'
export const PROPERTY_PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max'
export const PROPERTY_MANIFEST_MERGE_ENABLED = 'commit.manifest-merge.enabled'
export const PROPERTY_MANIFEST_MIN_COUNT_TO_MERGE = 'commit.manifest.min-count-to-merge'
/** Iceberg's default of write.metadata.previous-versions-max. */
const METADATA_PREVIOUS_VERSIONS_MAX = 100

/** A table with Zombi's schema (plus `extraFields`, e.g. a dead-letter table's), spec and sort order and no snapshot yet (never written alone). */
export function newTableMetadata(location: string, properties: Record<string, string>, nowMs: number, extraFields: readonly IcebergField[] = []): TableMetadata {
  const schema = icebergSchemaJson()
  schema.fields.push(...extraFields)
  let lastColumnId = LAST_COLUMN_ID
  for (const field of extraFields) lastColumnId = Math.max(lastColumnId, field.id, maxFieldId(field.type))
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0n,
    'last-updated-ms': nowMs,
    'last-column-id': lastColumnId,
    'current-schema-id': SCHEMA_ID,
    schemas: [schema],
    'default-spec-id': SPEC_ID,
    'partition-specs': [partitionSpecJson()],
    'last-partition-id': LAST_PARTITION_ID,
    'default-sort-order-id': SORT_ORDER_ID,
    'sort-orders': sortOrdersJson(),
    // Old metadata files beyond the metadata log are deleted: each repeats every snapshot, so kept forever they outgrow the data.
    properties: { 'write.format.default': 'parquet', 'write.parquet.compression-codec': 'zstd', [PROPERTY_DELETE_AFTER_COMMIT]: 'true', ...properties },
    refs: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
  }
}

/**
 * The table declaring the sort order the flusher writes files in (a table made before that order
 * existed gains it as its default; its older files keep the order they were written in).
 */
export function withCurrentSortOrder(metadata: TableMetadata): TableMetadata {
  if (metadata['default-sort-order-id'] === SORT_ORDER_ID) return metadata
  const known = metadata['sort-orders'].some((order) => typeof order === 'object' && order !== null && Number((order as { 'order-id'?: unknown })['order-id']) === SORT_ORDER_ID)
  return { ...metadata, 'sort-orders': known ? metadata['sort-orders'] : [...metadata['sort-orders'], sortOrderJson()], 'default-sort-order-id': SORT_ORDER_ID }
}

/** The table's current schema (Iceberg JSON). */
export function currentSchema(metadata: TableMetadata): { 'schema-id': number; fields: unknown[] } {
  const schema = metadata.schemas.find((candidate) => Number((candidate as { 'schema-id'?: number | bigint })['schema-id']) === metadata['current-schema-id'])
  if (schema === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', `current schema ${metadata['current-schema-id']} is not in the table metadata`)
  return schema as { 'schema-id': number; fields: unknown[] }
}

/**
 * The metadata with `field` as its typed `value` column: unchanged when the current schema has it
 * so already, else a new schema (the next schema id, every other column as it was) made current,
 * with last-column-id raised to `lastColumnId`. Old schemas stay: files written with them keep their ids.
 */
export function withValueField(base: TableMetadata, field: IcebergField, lastColumnId: number): TableMetadata {
  const current = currentSchema(base)
  const existing = valueFieldOf(current)
  if (existing !== null && JSON.stringify(existing) === JSON.stringify(field)) return base
  const fields = existing === null ? [...current.fields, field] : current.fields.map((candidate) => (candidate === existing ? field : candidate))
  let schemaId = 0
  for (const schema of base.schemas) schemaId = Math.max(schemaId, Number((schema as { 'schema-id'?: number | bigint })['schema-id'] ?? 0))
  const schema = { ...current, 'schema-id': schemaId + 1, fields }
  return {
    ...base,
    'last-column-id': Math.max(base['last-column-id'], lastColumnId, field.id, maxFieldId(field.type)),
    schemas: [...base.schemas, schema],
    'current-schema-id': schemaId + 1,
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
 * snapshots written for this topic id, and from the `zombi.committed-offsets` property where
 * snapshot expiry left the ends of the snapshots it dropped.
 */
export function committedOffsets(metadata: TableMetadata, topicId: string): Map<number, number> {
  const committed = expiredCommittedOffsets(metadata, topicId)
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

/**
 * Tells whether a live file is `topicId`'s by the snapshot that added it: a file of an earlier topic of the
 * same name (ZOMBI_RECREATED_TOPIC_TABLE=continue, offsets starting again at 0) was added by a snapshot of
 * that topic's id. A file whose adding snapshot has expired is taken as the current topic's: expiry keeps no
 * record of it, so with `continue` an earlier topic's files count as the current one's once their snapshots
 * expire (with `replace`, the default, they are no longer live by then).
 */
export function fileOfTopic(metadata: TableMetadata, topicId: string | undefined): (addedBy: bigint | null) => boolean {
  const topicOf = new Map(metadata.snapshots.map((snapshot) => [snapshot['snapshot-id'], snapshot.summary[SUMMARY_TOPIC_ID]]))
  return (addedBy) => addedBy === null || !topicOf.has(addedBy) || topicOf.get(addedBy) === topicId
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
  return {
    ...base,
    'last-sequence-number': snapshot.sequenceNumber,
    'last-updated-ms': snapshot.timestampMs,
    'current-snapshot-id': snapshot.snapshotId,
    refs: { ...base.refs, main: { 'snapshot-id': snapshot.snapshotId, type: 'branch' } },
    snapshots: [...base.snapshots, entry],
    'snapshot-log': [...base['snapshot-log'], { 'timestamp-ms': snapshot.timestampMs, 'snapshot-id': snapshot.snapshotId }],
    'metadata-log': extendedMetadataLog(base, previousMetadataFile),
  }
}

/** write.metadata.previous-versions-max of the table (Iceberg's default when unset or not a number). */
export function previousVersionsMax(properties: Record<string, string>): number {
  const value = Number(properties[PROPERTY_PREVIOUS_VERSIONS_MAX])
  return properties[PROPERTY_PREVIOUS_VERSIONS_MAX] !== undefined && Number.isSafeInteger(value) && value >= 0 ? value : METADATA_PREVIOUS_VERSIONS_MAX
}

/** The metadata log of the version after `base`: `previousMetadataFile` appended, bounded by write.metadata.previous-versions-max. */
export function extendedMetadataLog(base: TableMetadata, previousMetadataFile: string | null): TableMetadata['metadata-log'] {
  const metadataLog = [...base['metadata-log']]
  if (previousMetadataFile !== null) metadataLog.push({ 'timestamp-ms': base['last-updated-ms'], 'metadata-file': previousMetadataFile })
  const max = previousVersionsMax(base.properties)
  return max === 0 ? [] : metadataLog.slice(-max)
}

/** How many manifests trigger a merge at commit (commit.manifest.min-count-to-merge), or null with commit.manifest-merge.enabled=false. */
export function manifestMergeThreshold(properties: Record<string, string>, fallback: number): number | null {
  if (properties[PROPERTY_MANIFEST_MERGE_ENABLED]?.toLowerCase() === 'false') return null
  const value = Number(properties[PROPERTY_MANIFEST_MIN_COUNT_TO_MERGE])
  return properties[PROPERTY_MANIFEST_MIN_COUNT_TO_MERGE] !== undefined && Number.isSafeInteger(value) && value >= 1 ? value : fallback
}

/** The ends of the `zombi.committed-offsets` property, if it was written for this topic id. */
export function expiredCommittedOffsets(metadata: TableMetadata, topicId: string): Map<number, number> {
  const ends = new Map<number, number>()
  const text = metadata.properties[PROPERTY_COMMITTED_OFFSETS]
  if (text === undefined) return ends
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ZombiError('ICEBERG_METADATA_INVALID', `table property ${PROPERTY_COMMITTED_OFFSETS} is not JSON: ${text.slice(0, 100)}`)
  }
  if (typeof parsed !== 'object' || parsed === null) throw new ZombiError('ICEBERG_METADATA_INVALID', `table property ${PROPERTY_COMMITTED_OFFSETS} is not an object`)
  const { 'topic-id': owner, ends: values } = parsed as Record<string, unknown>
  if (owner !== topicId) return ends
  if (typeof values !== 'object' || values === null) throw new ZombiError('ICEBERG_METADATA_INVALID', `table property ${PROPERTY_COMMITTED_OFFSETS} has no ends`)
  for (const [key, value] of Object.entries(values)) {
    const partition = Number(key)
    if (!Number.isInteger(partition) || partition < 0 || typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new ZombiError('ICEBERG_METADATA_INVALID', `table property ${PROPERTY_COMMITTED_OFFSETS}: partition ${key} has end ${String(value)}`)
    }
    ends.set(partition, value)
  }
  return ends
}

/**
 * The metadata after snapshot expiry: `expired` snapshots (never main's head or another ref's) and their
 * snapshot-log entries gone; the committed end of every partition whose range an expired snapshot held
 * moves into the `zombi.committed-offsets` property, so committedOffsets answers as before the expiry.
 */
export function withExpiredSnapshots(base: TableMetadata, expired: ReadonlySet<bigint>, previousMetadataFile: string | null, nowMs: number): TableMetadata {
  for (const ref of Object.values(base.refs)) {
    if (expired.has(ref['snapshot-id'])) throw new ZombiError('INVALID_ARGUMENT', `snapshot ${ref['snapshot-id']} is a ref's head and cannot expire`)
  }
  const properties = { ...base.properties }
  const topicId = base.properties[PROPERTY_TOPIC_ID]
  if (topicId !== undefined) {
    const before = committedOffsets(base, topicId)
    const kept = expiredCommittedOffsets(base, topicId)
    let changed = false
    for (const snapshot of base.snapshots) {
      if (!expired.has(snapshot['snapshot-id']) || snapshot.summary[SUMMARY_TOPIC_ID] !== topicId) continue
      for (const key of Object.keys(snapshot.summary)) {
        if (!key.startsWith(SUMMARY_OFFSETS_PREFIX)) continue
        const partition = Number(key.slice(SUMMARY_OFFSETS_PREFIX.length))
        const end = before.get(partition)
        if (end === undefined || (kept.get(partition) ?? -1) >= end) continue
        kept.set(partition, end)
        changed = true
      }
    }
    if (changed) {
      const ends: Record<string, number> = {}
      for (const [partition, end] of [...kept].sort((a, b) => a[0] - b[0])) ends[String(partition)] = end
      properties[PROPERTY_COMMITTED_OFFSETS] = JSON.stringify({ 'topic-id': topicId, ends })
    }
  }
  return {
    ...base,
    properties,
    'last-updated-ms': Math.max(nowMs, base['last-updated-ms']),
    snapshots: base.snapshots.filter((snapshot) => !expired.has(snapshot['snapshot-id'])),
    'snapshot-log': base['snapshot-log'].filter((entry) => !expired.has(entry['snapshot-id'])),
    'metadata-log': extendedMetadataLog(base, previousMetadataFile),
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
