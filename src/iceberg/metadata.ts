// Zombi's topic tables in Iceberg metadata: a new table in the topic schema, snapshots appended by the
// flusher with the offset ranges they cover in their summary, and a table replaced for a recreated
// topic. The metadata format itself is catalog/table-metadata.ts.
import { randomUUID } from 'node:crypto'
import type { Snapshot, SnapshotRef, TableMetadata } from '../catalog/table-metadata.ts'
import {
  LAST_COLUMN_ID, LAST_PARTITION_ID, SCHEMA_ID, SORT_ORDER_ID, SPEC_ID, icebergSchemaJson, partitionSpecJson, sortOrderJson, sortOrdersJson,
} from './schema.ts'

export { jsonText, parseTableMetadata, serializeTableMetadata, type Snapshot, type SnapshotRef, type TableMetadata } from '../catalog/table-metadata.ts'

export const SUMMARY_TOPIC_ID = 'zombi.topic-id'
export const SUMMARY_OFFSETS_PREFIX = 'zombi.offsets.'
export const PROPERTY_TOPIC_ID = 'zombi.topic-id'
const METADATA_PREVIOUS_VERSIONS_MAX = 100

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

/**
 * The table declaring the sort order the flusher writes files in (a table made before that order
 * existed gains it as its default; its older files keep the order they were written in).
 */
export function withCurrentSortOrder(metadata: TableMetadata): TableMetadata {
  if (metadata['default-sort-order-id'] === SORT_ORDER_ID) return metadata
  const known = metadata['sort-orders'].some((order) => typeof order === 'object' && order !== null && Number((order as { 'order-id'?: unknown })['order-id']) === SORT_ORDER_ID)
  return { ...metadata, 'sort-orders': known ? metadata['sort-orders'] : [...metadata['sort-orders'], sortOrderJson()], 'default-sort-order-id': SORT_ORDER_ID }
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
