// Topic retention in the Iceberg table: a topic's retention.ms and retention.bytes remove whole data
// files from the current snapshot with one Iceberg `delete` snapshot (file-level granularity: a file
// goes only once all its rows are past retention). The files stay in the warehouse while older
// snapshots reference them; snapshot expiry deletes them once no kept snapshot does. The exactly-once
// offsets are untouched: they live in snapshot summaries and the zombi.committed-offsets property,
// not in the files.
import { randomUUID } from 'node:crypto'
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog/catalog.ts'
import { ZombiError, hasCode } from '../errors.ts'
import { decodeManifest, decodeManifestList, encodeManifestList, type DataFileRecord } from './avro.ts'
import { decodeLongBound } from './bounds.ts'
import { DELETED, carriedZombiKeys, getFile, manifestsWithout } from './file-removal.ts'
import { currentSnapshot, jsonText, newSnapshotId, withAppendedSnapshot } from './metadata.ts'
import { FieldId, partitionSpecJson } from './schema.ts'

/** What a topic's configs ask of its table; -1 (Kafka's "unlimited") turns a rule off. */
export interface TableRetention {
  /** retention.ms: a file whose newest record (timestamp_ms upper bound) is older than now minus this goes. */
  retentionMs: number
  /** Live Parquet bytes the table keeps at least: the oldest files go while the rest still reach it. */
  retentionBytes: number
}

export interface RetentionResult {
  /** The delete snapshot, or null when nothing was past retention. */
  snapshotId: bigint | null
  filesDeleted: number
  rowsDeleted: bigint
  bytesDeleted: bigint
  commitAttempts: number
}

export interface RetainedFile {
  path: string
  sizeBytes: number
  /** Newest record of the file (timestamp_ms upper bound); Infinity without a bound: never past retention.ms. */
  newestTimestamp: number
  /** Lowest offset in the file (sequence lower bound), for a stable order among files of the same time. */
  lowestOffset: number
}

const COMMIT_ATTEMPTS = 5

export function retentionActs(policy: TableRetention): boolean {
  return policy.retentionMs >= 0 || policy.retentionBytes >= 0
}

/**
 * The files `policy` removes at `nowMs`: every file whose newest record is older than now − retention.ms,
 * then, oldest first (newest record, then lowest offset), each file whose removal still leaves at least
 * retention.bytes live (Kafka's rule for segments: it stops at the first file that must stay).
 */
export function filesPastRetention(files: readonly RetainedFile[], policy: TableRetention, nowMs: number): Set<string> {
  const removed = new Set<string>()
  const cutoff = nowMs - policy.retentionMs
  let liveBytes = 0
  for (const file of files) {
    if (policy.retentionMs >= 0 && file.newestTimestamp < cutoff) removed.add(file.path)
    else liveBytes += file.sizeBytes
  }
  if (policy.retentionBytes < 0) return removed
  const oldestFirst = files.filter((file) => !removed.has(file.path)).sort((a, b) => a.newestTimestamp - b.newestTimestamp || a.lowestOffset - b.lowestOffset)
  for (const file of oldestFirst) {
    if (liveBytes - file.sizeBytes < policy.retentionBytes) break
    removed.add(file.path)
    liveBytes -= file.sizeBytes
  }
  return removed
}

function bound(bounds: DataFileRecord['lower_bounds'], fieldId: number): Buffer | undefined {
  return bounds?.find((entry) => entry.key === fieldId)?.value
}

/** The live data files of the table's current snapshot (every topic's: the table's retention is the topic's). */
async function retainedFiles(catalog: Catalog, loaded: LoadedTable): Promise<RetainedFile[]> {
  const snapshot = currentSnapshot(loaded.metadata)
  if (snapshot === undefined) return []
  const files: RetainedFile[] = []
  for (const manifest of await decodeManifestList(await getFile(catalog, snapshot['manifest-list']))) {
    if (manifest.content !== 0) continue
    for (const entry of (await decodeManifest(await getFile(catalog, manifest.manifest_path))).entries) {
      if (entry.status === DELETED || entry.data_file.content !== 0) continue
      const newest = bound(entry.data_file.upper_bounds, FieldId.timestampMs)
      const lowest = bound(entry.data_file.lower_bounds, FieldId.sequence)
      files.push({
        path: entry.data_file.file_path,
        sizeBytes: Number(entry.data_file.file_size_in_bytes),
        newestTimestamp: newest === undefined ? Infinity : Number(decodeLongBound(newest)),
        lowestOffset: lowest === undefined ? 0 : Number(decodeLongBound(lowest)),
      })
    }
  }
  return files
}

/**
 * Removes the table's files past `policy` with one delete snapshot. A concurrent commit (a flush's
 * append, a compaction's replace) makes the commit conflict: the table is read again and the files
 * chosen again from it, so no append is dropped and no file removed twice or brought back.
 */
export async function enforceRetention(catalog: Catalog, id: TableIdentifier, policy: TableRetention, nowMs = Date.now()): Promise<RetentionResult> {
  const result: RetentionResult = { snapshotId: null, filesDeleted: 0, rowsDeleted: 0n, bytesDeleted: 0n, commitAttempts: 0 }
  if (!retentionActs(policy)) return result
  for (let attempt = 1; ; attempt++) {
    const loaded = await catalog.loadTable(id)
    if (loaded === null) return result
    const removed = filesPastRetention(await retainedFiles(catalog, loaded), policy, nowMs)
    if (removed.size === 0) return result
    result.commitAttempts = attempt
    const written: string[] = []
    try {
      const { snapshotId, rowsDeleted, bytesDeleted } = await commitDelete(catalog, id, loaded, removed, nowMs, written)
      return { snapshotId, filesDeleted: removed.size, rowsDeleted, bytesDeleted, commitAttempts: attempt }
    } catch (error) {
      // A commit of unknown outcome may still land and reference the manifests written: they stay.
      if (hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
      for (const key of written) await catalog.store.delete(key).catch(() => undefined)
      if (!(hasCode(error, 'CATALOG_COMMIT_CONFLICT') || hasCode(error, 'ICEBERG_REWRITE_CONFLICT')) || attempt >= COMMIT_ATTEMPTS) throw error
    }
  }
}

async function commitDelete(catalog: Catalog, id: TableIdentifier, loaded: LoadedTable, removed: ReadonlySet<string>, nowMs: number, written: string[]): Promise<{ snapshotId: bigint; rowsDeleted: bigint; bytesDeleted: bigint }> {
  const store = catalog.store
  const base = loaded.metadata
  const parent = currentSnapshot(base)
  if (parent === undefined) throw new ZombiError('ICEBERG_REWRITE_CONFLICT', `table ${id.name} has no current snapshot any more`)
  const schema = base.schemas.find((candidate) => Number((candidate as { 'schema-id'?: number | bigint })['schema-id']) === base['current-schema-id'])
  if (schema === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', `table ${id.name}: current schema ${base['current-schema-id']} is not in its metadata`)
  const snapshotId = newSnapshotId()
  const sequenceNumber = base['last-sequence-number'] + 1n
  const commitId = randomUUID()
  const tableKey = catalog.tableKey(id)
  const { manifests, deletedRows, removedBytes } = await manifestsWithout({
    catalog, tableKey, tableName: id.name, parent, removed, snapshotId, sequenceNumber, commitId,
    schemaJson: jsonText(schema), specJson: JSON.stringify(partitionSpecJson().fields), schemaId: base['current-schema-id'], written,
  })
  const listKey = `${tableKey}/metadata/snap-${snapshotId}-1-${commitId}.avro`
  await store.put(listKey, await encodeManifestList(manifests, snapshotId, parent['snapshot-id'], sequenceNumber))
  written.push(listKey)

  const previous = parent.summary
  const total = (name: string, delta: bigint): string => String(BigInt(previous[name] ?? '0') - delta)
  const summary: Record<string, string> = {
    operation: 'delete',
    'deleted-data-files': String(removed.size),
    'deleted-records': String(deletedRows),
    'removed-files-size': String(removedBytes),
    'total-data-files': total('total-data-files', BigInt(removed.size)),
    'total-delete-files': previous['total-delete-files'] ?? '0',
    'total-records': total('total-records', deletedRows),
    'total-files-size': total('total-files-size', removedBytes),
    'total-position-deletes': previous['total-position-deletes'] ?? '0',
    'total-equality-deletes': previous['total-equality-deletes'] ?? '0',
  }
  Object.assign(summary, carriedZombiKeys(previous, base))

  const metadata = withAppendedSnapshot(base, { snapshotId, sequenceNumber, manifestList: store.location(listKey), summary, timestampMs: Math.max(nowMs, base['last-updated-ms']) }, loaded.metadataLocation)
  try {
    await catalog.commit(id, loaded, metadata)
  } catch (error) {
    if (!hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
    const now = await catalog.loadTable(id).catch(() => null)
    if (now === null || !now.metadata.snapshots.some((snapshot) => snapshot['snapshot-id'] === snapshotId)) throw error
  }
  return { snapshotId, rowsDeleted: deletedRows, bytesDeleted: removedBytes }
}
