// Removing data files from a table's current snapshot, the step compaction's `replace` and
// retention's `delete` share: the data manifests holding a removed file are written again with it
// DELETED by the new snapshot and the others EXISTING; every other manifest (a concurrent append's
// among them) is carried as it is. A file that is no longer live in the snapshot is a conflict:
// removing it again would double-delete, re-adding it would resurrect it.
import type { Catalog } from '../catalog/catalog.ts'
import { ZombiError } from '../errors.ts'
import { decodeManifest, decodeManifestList, encodeManifest, type DataFileRecord, type ManifestEntryRecord, type ManifestFileRecord } from './avro.ts'
import { intBound } from './bounds.ts'
import { PROPERTY_TOPIC_ID, SUMMARY_OFFSETS_PREFIX, SUMMARY_TOPIC_ID, type Snapshot, type TableMetadata } from './metadata.ts'
import { SPEC_ID } from './schema.ts'

/** Manifest status of an entry whose file the snapshot removed. */
export const DELETED = 2

export interface FileRemoval {
  catalog: Catalog
  tableKey: string
  tableName: string
  /** The current snapshot the new one follows. */
  parent: Snapshot
  /** file_path of every data file to remove; each must be live in `parent`. */
  removed: ReadonlySet<string>
  snapshotId: bigint
  sequenceNumber: bigint
  /** Names the manifests written (`<commitId>-m<n>.avro`, n from 1). */
  commitId: string
  schemaJson: string
  specJson: string
  schemaId: number
  /** Keys of the files written, for the caller to delete if the commit fails. */
  written: string[]
}

export interface RemovedFiles {
  /** The new snapshot's manifests. */
  manifests: ManifestFileRecord[]
  deletedRows: bigint
  removedBytes: bigint
}

export async function getFile(catalog: Catalog, location: string): Promise<Buffer> {
  const key = catalog.store.keyOf(location)
  const bytes = key === null ? null : await catalog.store.get(key)
  if (bytes === null) throw new ZombiError('ICEBERG_FILE_MISSING', `Iceberg file ${location} is missing`)
  return bytes
}

export function partitionSummaries(files: Iterable<DataFileRecord>): ManifestFileRecord['partitions'] {
  let minDate = Infinity
  let maxDate = -Infinity
  let minHour = Infinity
  let maxHour = -Infinity
  for (const file of files) {
    const { event_date: date, event_hour: hour } = file.partition
    if (date !== null) {
      minDate = Math.min(minDate, date)
      maxDate = Math.max(maxDate, date)
    }
    if (hour !== null) {
      minHour = Math.min(minHour, hour)
      maxHour = Math.max(maxHour, hour)
    }
  }
  return [
    { contains_null: false, contains_nan: null, lower_bound: Buffer.from(intBound(minDate)), upper_bound: Buffer.from(intBound(maxDate)) },
    { contains_null: false, contains_nan: null, lower_bound: Buffer.from(intBound(minHour)), upper_bound: Buffer.from(intBound(maxHour)) },
  ]
}

/** The parent's manifests with `removed` marked DELETED; throws ICEBERG_REWRITE_CONFLICT when one is not live. */
export async function manifestsWithout(removal: FileRemoval): Promise<RemovedFiles> {
  const { catalog, removed, snapshotId, sequenceNumber } = removal
  const store = catalog.store
  const found = new Set<string>()
  const manifests: ManifestFileRecord[] = []
  let manifestCount = 0
  let deletedRows = 0n
  let removedBytes = 0n
  for (const manifest of await decodeManifestList(await getFile(catalog, removal.parent['manifest-list']))) {
    if (manifest.content !== 0) {
      manifests.push(manifest)
      continue
    }
    const { entries } = await decodeManifest(await getFile(catalog, manifest.manifest_path))
    if (!entries.some((entry) => entry.status !== DELETED && removed.has(entry.data_file.file_path))) {
      // Untouched by the removal (this is where a concurrent append's manifest is carried).
      manifests.push(manifest)
      continue
    }
    // Sequence numbers made explicit, as the spec requires for entries not ADDED.
    const rewritten: ManifestEntryRecord[] = []
    let existingRows = 0n
    let manifestDeletedRows = 0n
    let existingFiles = 0
    let deletedFiles = 0
    let minSequence: bigint | null = null
    for (const entry of entries) {
      if (entry.status === DELETED) continue
      const dataSequence = entry.sequence_number ?? manifest.sequence_number
      const fileSequence = entry.file_sequence_number ?? manifest.sequence_number
      if (removed.has(entry.data_file.file_path)) {
        found.add(entry.data_file.file_path)
        rewritten.push({ status: DELETED, snapshot_id: snapshotId, sequence_number: dataSequence, file_sequence_number: fileSequence, data_file: entry.data_file })
        deletedFiles++
        manifestDeletedRows += entry.data_file.record_count
        removedBytes += entry.data_file.file_size_in_bytes
      } else {
        rewritten.push({ status: 0, snapshot_id: entry.snapshot_id ?? manifest.added_snapshot_id, sequence_number: dataSequence, file_sequence_number: fileSequence, data_file: entry.data_file })
        existingFiles++
        existingRows += entry.data_file.record_count
        if (minSequence === null || dataSequence < minSequence) minSequence = dataSequence
      }
    }
    deletedRows += manifestDeletedRows
    const bytes = await encodeManifest(rewritten, removal.schemaJson, removal.specJson, SPEC_ID, removal.schemaId)
    const key = `${removal.tableKey}/metadata/${removal.commitId}-m${++manifestCount}.avro`
    await store.put(key, bytes)
    removal.written.push(key)
    manifests.push({
      manifest_path: store.location(key),
      manifest_length: BigInt(bytes.length),
      partition_spec_id: SPEC_ID,
      content: 0,
      sequence_number: sequenceNumber,
      min_sequence_number: minSequence ?? sequenceNumber,
      added_snapshot_id: snapshotId,
      added_files_count: 0,
      existing_files_count: existingFiles,
      deleted_files_count: deletedFiles,
      added_rows_count: 0n,
      existing_rows_count: existingRows,
      deleted_rows_count: manifestDeletedRows,
      partitions: partitionSummaries(rewritten.map((entry) => entry.data_file)),
      key_metadata: null,
    })
  }
  // Never resurrect or double-delete: every removed file must still be live in the parent.
  for (const path of removed) {
    if (!found.has(path)) throw new ZombiError('ICEBERG_REWRITE_CONFLICT', `data file ${path} of table ${removal.tableName} is no longer live; nothing is committed`)
  }
  return { manifests, deletedRows, removedBytes }
}

/**
 * Zombi's own summary keys for a snapshot that removes files and commits no offsets (a compaction's
 * replace, retention's delete): the previous snapshot's `zombi.*` keys except its offset ranges, and the
 * table's topic id, so readers of the topic count the snapshot's files as its own.
 */
export function carriedZombiKeys(previous: Record<string, string>, base: TableMetadata): Record<string, string> {
  const carried: Record<string, string> = {}
  for (const [name, value] of Object.entries(previous)) {
    if (name.startsWith('zombi.') && !name.startsWith(SUMMARY_OFFSETS_PREFIX)) carried[name] = value
  }
  const topicId = base.properties[PROPERTY_TOPIC_ID]
  if (topicId !== undefined) carried[SUMMARY_TOPIC_ID] = topicId
  return carried
}
