// Commits data files to a topic's Iceberg table as one fast-append snapshot: manifest,
// manifest list, table metadata through the catalog. Before every commit it re-reads what the
// table holds (the zombi.offsets.<partition> ranges of the topic's snapshots), so a range is
// never committed twice, also across crashes and restarts.
import { randomUUID } from 'node:crypto'
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog/catalog.ts'
import { ZombiError, hasCode } from '../errors.ts'
import { decodeManifest, encodeManifest, encodeManifestList, decodeManifestList, type ManifestEntryRecord, type ManifestFileRecord } from './avro.ts'
import { intBound } from './bounds.ts'
import type { FileMetrics } from './data-file.ts'
import {
  PROPERTY_TOPIC_ID, SUMMARY_OFFSETS_PREFIX, SUMMARY_TOPIC_ID, committedOffsets, currentSnapshot, formatOffsetRange, jsonText, manifestMergeThreshold, newSnapshotId,
  newTableMetadata, replacedForTopic, withAppendedSnapshot, withCurrentSortOrder, withValueField, type TableMetadata,
} from './metadata.ts'
import { SORT_ORDER_ID, SPEC_ID, partitionSpecJson } from './schema.ts'
import type { IcebergField } from './typed-schema.ts'

/** The typed value column a commit's files were written with, and the last field id assigned. */
export interface TypedSchema {
  field: IcebergField
  lastColumnId: number
}

/** A Parquet file already written to the object store, to be added by a commit. */
export interface WrittenDataFile {
  key: string
  sizeBytes: number
  recordCount: number
  eventDate: number
  eventHour: number
  metrics: FileMetrics
}

/** The offsets of one Kafka partition a commit covers: [from, end). */
export interface OffsetRange {
  partition: number
  from: number
  end: number
}

/** What to do when the table belongs to an earlier topic of the same name. */
export type RecreatedTopicPolicy = 'replace' | 'continue'

export interface CommitResult {
  snapshotId: bigint
  sequenceNumber: bigint
  metadataLocation: string
}

const COMMIT_ATTEMPTS = 5
/**
 * Every flush adds a manifest; past this many in the current snapshot, a commit merges them into
 * one (as Iceberg's merge append does), so a commit's work and a reader's planning stay bounded.
 * A table's commit.manifest.min-count-to-merge overrides it, commit.manifest-merge.enabled=false
 * turns merging off.
 */
export const DEFAULT_MAX_MANIFESTS = 64

export class TableWriter {
  readonly catalog: Catalog
  readonly id: TableIdentifier
  readonly topicId: string
  readonly #policy: RecreatedTopicPolicy
  readonly #maxManifests: number
  #loaded: LoadedTable | null = null

  /** Columns a new table has after the key_value ones (a dead-letter table's). */
  readonly #extraFields: readonly IcebergField[]

  constructor(catalog: Catalog, id: TableIdentifier, topicId: string, policy: RecreatedTopicPolicy, maxManifests = DEFAULT_MAX_MANIFESTS, extraFields: readonly IcebergField[] = []) {
    this.#extraFields = extraFields
    this.catalog = catalog
    this.id = id
    this.topicId = topicId
    this.#policy = policy
    this.#maxManifests = maxManifests
  }

  get tableKey(): string {
    return this.catalog.tableKey(this.id)
  }

  /** Re-reads the table (cheaply when unchanged) and returns the committed end offset per partition. */
  async committedOffsets(): Promise<Map<number, number>> {
    this.#loaded = await this.catalog.loadTable(this.id, this.#loaded ?? undefined)
    if (this.#loaded === null) return new Map()
    return committedOffsets(this.#loaded.metadata, this.topicId)
  }

  get metadata(): TableMetadata | null {
    return this.#loaded?.metadata ?? null
  }

  /**
   * Commits `files` as one snapshot recording `ranges`; a conflict (another writer committed first)
   * reloads the table and tries again. Throws a ZombiError ICEBERG_RANGE_COMMITTED if the table
   * already holds any offset of a range (nothing is committed then): the caller drops its files and
   * plans again; CATALOG_COMMIT_UNKNOWN if the commit may still land: the caller keeps its files.
   */
  async commit(files: readonly WrittenDataFile[], ranges: readonly OffsetRange[], nowMs = Date.now(), typed: TypedSchema | null = null): Promise<CommitResult> {
    if (files.length === 0) throw new ZombiError('INVALID_ARGUMENT', 'a commit needs at least one data file')
    for (let attempt = 1; ; attempt++) {
      const committed = await this.committedOffsets()
      for (const range of ranges) {
        const end = committed.get(range.partition) ?? 0
        if (end > range.from) throw new ZombiError('ICEBERG_RANGE_COMMITTED', `partition ${range.partition}: the table already holds offsets up to ${end}, the commit starts at ${range.from}`)
      }
      const base = this.#loaded
      const written: string[] = []
      try {
        const result = await this.#commitOnce(base, files, ranges, nowMs, written, typed)
        return result
      } catch (error) {
        // A commit of unknown outcome may still land and reference these files: they stay (orphan
        // cleanup removes them if it never does).
        if (hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
        for (const key of written) await this.catalog.store.delete(key).catch(() => undefined)
        if (!hasCode(error, 'CATALOG_COMMIT_CONFLICT') || attempt >= COMMIT_ATTEMPTS) throw error
      }
    }
  }

  async #commitOnce(loaded: LoadedTable | null, files: readonly WrittenDataFile[], ranges: readonly OffsetRange[], nowMs: number, written: string[], typed: TypedSchema | null): Promise<CommitResult> {
    const store = this.catalog.store
    let base: TableMetadata
    if (loaded === null) {
      base = newTableMetadata(store.location(this.tableKey), { [PROPERTY_TOPIC_ID]: this.topicId }, nowMs, this.#extraFields)
    } else if (loaded.metadata.properties[PROPERTY_TOPIC_ID] !== this.topicId) {
      base = this.#policy === 'replace'
        ? replacedForTopic(loaded.metadata, this.topicId, nowMs)
        : { ...loaded.metadata, properties: { ...loaded.metadata.properties, [PROPERTY_TOPIC_ID]: this.topicId } }
    } else {
      base = loaded.metadata
    }
    base = withCurrentSortOrder(base)
    // The data files were written with this value column: the snapshot's schema must have it.
    if (typed !== null) base = withValueField(base, typed.field, typed.lastColumnId)
    const parent = currentSnapshot(base)
    const snapshotId = newSnapshotId()
    const sequenceNumber = base['last-sequence-number'] + 1n
    const commitId = randomUUID()

    const entries: ManifestEntryRecord[] = files.map((file) => ({
      status: 1,
      snapshot_id: snapshotId,
      sequence_number: null,
      file_sequence_number: null,
      data_file: {
        content: 0,
        file_path: store.location(file.key),
        file_format: 'PARQUET',
        partition: { event_date: file.eventDate, event_hour: file.eventHour },
        record_count: BigInt(file.recordCount),
        file_size_in_bytes: BigInt(file.sizeBytes),
        column_sizes: file.metrics.columnSizes.length === 0 ? null : file.metrics.columnSizes.map(([key, value]) => ({ key, value: BigInt(value) })),
        value_counts: file.metrics.valueCounts.map(([key, value]) => ({ key, value: BigInt(value) })),
        null_value_counts: file.metrics.nullValueCounts.map(([key, value]) => ({ key, value: BigInt(value) })),
        nan_value_counts: null,
        lower_bounds: file.metrics.lowerBounds.map(([key, value]) => ({ key, value: Buffer.from(value) })),
        upper_bounds: file.metrics.upperBounds.map(([key, value]) => ({ key, value: Buffer.from(value) })),
        key_metadata: null,
        split_offsets: null,
        equality_ids: null,
        sort_order_id: SORT_ORDER_ID,
      },
    }))
    const schema = base.schemas.find((candidate) => Number((candidate as { 'schema-id'?: number | bigint })['schema-id']) === base['current-schema-id'])
    if (schema === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', `table ${this.id.name}: current schema ${base['current-schema-id']} is not in its metadata`)
    const schemaJson = jsonText(schema)
    const manifest = await encodeManifest(entries, schemaJson, JSON.stringify(partitionSpecJson().fields), SPEC_ID, base['current-schema-id'])
    const manifestKey = `${this.tableKey}/metadata/${commitId}-m0.avro`
    await store.put(manifestKey, manifest)
    written.push(manifestKey)

    let addedRows = 0
    let addedBytes = 0
    let minDate = Infinity
    let maxDate = -Infinity
    let minHour = Infinity
    let maxHour = -Infinity
    for (const file of files) {
      addedRows += file.recordCount
      addedBytes += file.sizeBytes
      minDate = Math.min(minDate, file.eventDate)
      maxDate = Math.max(maxDate, file.eventDate)
      minHour = Math.min(minHour, file.eventHour)
      maxHour = Math.max(maxHour, file.eventHour)
    }
    const manifests: ManifestFileRecord[] = [{
      manifest_path: store.location(manifestKey),
      manifest_length: BigInt(manifest.length),
      partition_spec_id: SPEC_ID,
      content: 0,
      sequence_number: sequenceNumber,
      min_sequence_number: sequenceNumber,
      added_snapshot_id: snapshotId,
      added_files_count: files.length,
      existing_files_count: 0,
      deleted_files_count: 0,
      added_rows_count: BigInt(addedRows),
      existing_rows_count: 0n,
      deleted_rows_count: 0n,
      partitions: [
        { contains_null: false, contains_nan: null, lower_bound: Buffer.from(intBound(minDate)), upper_bound: Buffer.from(intBound(maxDate)) },
        { contains_null: false, contains_nan: null, lower_bound: Buffer.from(intBound(minHour)), upper_bound: Buffer.from(intBound(maxHour)) },
      ],
      key_metadata: null,
    }]
    if (parent !== undefined) {
      let existing = await this.#readManifestList(parent['manifest-list'])
      const threshold = manifestMergeThreshold(base.properties, this.#maxManifests)
      if (threshold !== null && existing.length >= threshold) {
        existing = await this.#mergeManifests(existing, snapshotId, sequenceNumber, commitId, schemaJson, base['current-schema-id'], written)
      }
      manifests.push(...existing)
    }
    const listKey = `${this.tableKey}/metadata/snap-${snapshotId}-1-${commitId}.avro`
    await store.put(listKey, await encodeManifestList(manifests, snapshotId, parent?.['snapshot-id'] ?? null, sequenceNumber))
    written.push(listKey)

    const previous = parent?.summary ?? {}
    const total = (name: string, added: number): string => String(Number(previous[name] ?? 0) + added)
    const datePartitions = new Set(files.map((file) => `${file.eventDate}/${file.eventHour}`))
    const summary: Record<string, string> = {
      operation: 'append',
      'added-data-files': String(files.length),
      'added-records': String(addedRows),
      'added-files-size': String(addedBytes),
      'changed-partition-count': String(datePartitions.size),
      'total-data-files': total('total-data-files', files.length),
      'total-delete-files': previous['total-delete-files'] ?? '0',
      'total-records': total('total-records', addedRows),
      'total-files-size': total('total-files-size', addedBytes),
      'total-position-deletes': previous['total-position-deletes'] ?? '0',
      'total-equality-deletes': previous['total-equality-deletes'] ?? '0',
      [SUMMARY_TOPIC_ID]: this.topicId,
    }
    for (const range of ranges) summary[`${SUMMARY_OFFSETS_PREFIX}${range.partition}`] = formatOffsetRange(range.from, range.end)

    const metadata = withAppendedSnapshot(base, { snapshotId, sequenceNumber, manifestList: store.location(listKey), summary, timestampMs: nowMs }, loaded?.metadataLocation ?? null)
    try {
      this.#loaded = await this.catalog.commit(this.id, loaded, metadata)
    } catch (error) {
      if (!hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
      // Ask the table whether the snapshot landed; if it cannot answer either, the outcome stays unknown.
      const now = await this.catalog.loadTable(this.id).catch(() => null)
      if (now === null || !now.metadata.snapshots.some((snapshot) => snapshot['snapshot-id'] === snapshotId)) throw error
      this.#loaded = now
    }
    return { snapshotId, sequenceNumber, metadataLocation: this.#loaded.metadataLocation }
  }

  /**
   * Rewrites the data manifests of `manifests` as one manifest of EXISTING entries (sequence
   * numbers and snapshot ids made explicit, as the spec requires for them); other manifests stay.
   */
  async #mergeManifests(manifests: readonly ManifestFileRecord[], snapshotId: bigint, sequenceNumber: bigint, commitId: string, schemaJson: string, schemaId: number, written: string[]): Promise<ManifestFileRecord[]> {
    const store = this.catalog.store
    const kept: ManifestFileRecord[] = []
    const entries: ManifestEntryRecord[] = []
    let rows = 0n
    let minSequence: bigint | null = null
    const bounds = { minDate: Infinity, maxDate: -Infinity, minHour: Infinity, maxHour: -Infinity }
    for (const manifest of manifests) {
      if (manifest.content !== 0 || manifest.partition_spec_id !== SPEC_ID) {
        kept.push(manifest)
        continue
      }
      const key = store.keyOf(manifest.manifest_path)
      const bytes = key === null ? null : await store.get(key)
      if (bytes === null) throw new ZombiError('ICEBERG_FILE_MISSING', `manifest ${manifest.manifest_path} is missing`)
      for (const entry of (await decodeManifest(bytes)).entries) {
        if (entry.status === 2) continue
        const entrySequence = entry.sequence_number ?? manifest.sequence_number
        entries.push({
          status: 0,
          snapshot_id: entry.snapshot_id ?? manifest.added_snapshot_id,
          sequence_number: entrySequence,
          file_sequence_number: entry.file_sequence_number ?? manifest.sequence_number,
          data_file: entry.data_file,
        })
        rows += entry.data_file.record_count
        if (minSequence === null || entrySequence < minSequence) minSequence = entrySequence
        const { event_date: date, event_hour: hour } = entry.data_file.partition
        if (date !== null) {
          bounds.minDate = Math.min(bounds.minDate, date)
          bounds.maxDate = Math.max(bounds.maxDate, date)
        }
        if (hour !== null) {
          bounds.minHour = Math.min(bounds.minHour, hour)
          bounds.maxHour = Math.max(bounds.maxHour, hour)
        }
      }
    }
    if (entries.length === 0) return kept
    const merged = await encodeManifest(entries, schemaJson, JSON.stringify(partitionSpecJson().fields), SPEC_ID, schemaId)
    const mergedKey = `${this.tableKey}/metadata/${commitId}-m1.avro`
    await store.put(mergedKey, merged)
    written.push(mergedKey)
    return [{
      manifest_path: store.location(mergedKey),
      manifest_length: BigInt(merged.length),
      partition_spec_id: SPEC_ID,
      content: 0,
      sequence_number: sequenceNumber,
      min_sequence_number: minSequence ?? sequenceNumber,
      added_snapshot_id: snapshotId,
      added_files_count: 0,
      existing_files_count: entries.length,
      deleted_files_count: 0,
      added_rows_count: 0n,
      existing_rows_count: rows,
      deleted_rows_count: 0n,
      partitions: [
        { contains_null: false, contains_nan: null, lower_bound: Buffer.from(intBound(bounds.minDate)), upper_bound: Buffer.from(intBound(bounds.maxDate)) },
        { contains_null: false, contains_nan: null, lower_bound: Buffer.from(intBound(bounds.minHour)), upper_bound: Buffer.from(intBound(bounds.maxHour)) },
      ],
      key_metadata: null,
    }, ...kept]
  }

  async #readManifestList(location: string): Promise<ManifestFileRecord[]> {
    const key = this.catalog.store.keyOf(location)
    if (key === null) throw new ZombiError('ICEBERG_METADATA_INVALID', `manifest list ${location} is outside the warehouse`)
    const bytes = await this.catalog.store.get(key)
    if (bytes === null) throw new ZombiError('ICEBERG_FILE_MISSING', `manifest list ${location} is missing`)
    return decodeManifestList(bytes)
  }
}
