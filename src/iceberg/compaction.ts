// Compaction: per table partition (event_date, event_hour), the small data files
// of a topic's table are read, their rows merged in the table's sort order (Kafka partition, sequence)
// and written as files of about ZOMBI_COMPACTED_FILE_SIZE_MB, committed as one Iceberg `replace`
// snapshot per table and run. Rows are carried over unchanged (rewrite.ts checks what it derives).
// The replaced files stay in the warehouse: older snapshots still reference them until snapshot
// expiry drops those snapshots and deletes what no snapshot references.
//
// Throttled: one table at a time (manual and background runs share one lock), at most
// `maxReadBytes` of decoded input per rewrite (uncompressed bytes from the files' footers: the decoded
// rows of one rewrite are the memory it holds), decoding and encoding on its own worker at a lower
// priority than the flush encoders, and before each rewrite it waits until no flush runs. A concurrent flush may commit between compaction's load and its commit: the replace is then
// rebuilt from the fresh metadata (the appended files carried as they are) and committed again.
import { randomUUID } from 'node:crypto'
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog/catalog.ts'
import { ZombiError, hasCode } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import { decodeManifest, decodeManifestList, encodeManifest, encodeManifestList, type DataFileRecord, type ManifestEntryRecord } from './avro.ts'
import { decodeLongBound } from './bounds.ts'
import type { EncodePool } from './encode-pool.ts'
import type { FlushMetrics } from './metrics.ts'
import { carriedZombiKeys, getFile, manifestsWithout, partitionSummaries } from './file-removal.ts'
import { footerOf, uncompressedBytes } from './parquet-footer.ts'
import type { EncodeRun } from './encode-stream.ts'
import { valueFieldOf, type IcebergField } from './typed-schema.ts'
import { deadLetterSource } from './typed-rows.ts'
import { PROPERTY_TOPIC_ID, currentSchema, currentSnapshot, fileOfTopic, jsonText, newSnapshotId, withAppendedSnapshot, type TableMetadata } from './metadata.ts'
import { FieldId, SORT_ORDER_ID, SPEC_ID, partitionSpecJson } from './schema.ts'

export interface CompactionOptions {
  catalog: Catalog
  namespace: string
  /** Where rewrites are encoded: the flusher's pool, or one of compaction's own (ZOMBI_COMPACTION_OWN_WORKER). */
  pool: EncodePool
  /**
   * Whether the pool is compaction's own (default): close() closes it, and a background pass ends its idle
   * worker when done. A pool shared with the flusher is the flusher's to keep warm and to close.
   */
  ownsPool?: boolean
  logger: Logger
  /** Target size of a compacted file (ZOMBI_COMPACTED_FILE_SIZE_MB). */
  compactedFileBytes: number
  /** Uncompressed bytes of the files one rewrite reads, at most (ZOMBI_COMPACTION_MAX_READ_MB): bounds its memory. */
  maxReadBytes: number
  /** Resolves once no flush runs; awaited before each rewrite so compaction never delays a flush. */
  flushesIdle?: () => Promise<void>
  /** Decoded bytes per Parquet row group (default ROW_GROUP_BYTES). */
  rowGroupBytes?: number
  /** Where each compaction's work and failures are counted (/metrics). */
  metrics?: FlushMetrics
  now?: () => number
}

/** What one compaction of a table did (the answer of POST /tables/{t}/compact). */
export interface CompactionResult {
  table: string
  filesIn: number
  filesOut: number
  bytesIn: number
  bytesOut: number
  rows: number
  seconds: number
  /** The replace snapshot, or null when nothing needed compacting. */
  snapshotId: bigint | null
  /** Commits tried: more than one when flushes committed in between. */
  commitAttempts: number
}

/** A file below this share of the effective target is small: worth merging with others. */
const SMALL_FILE_SHARE = 0.75
const COMMIT_ATTEMPTS = 10
/** Bytes of a data file's tail read for its footer (a longer footer is read again, exactly). */
const FOOTER_READ_BYTES = 64 * 1024

interface LiveFile {
  file: DataFileRecord
  lowestTimestamp: bigint
  lowestOffset: bigint
  /**
   * What rewriting it costs in memory: its column data uncompressed (from the Parquet footer), or its
   * size if larger; the file size until the footer is read.
   */
  readBytes?: number
}

/** One rewrite: small files of one table partition, and what replaced them. */
interface Rewrite {
  inputs: LiveFile[]
  output: DataFileRecord | null
}

function boundOf(bounds: DataFileRecord['lower_bounds'], fieldId: number): Buffer | undefined {
  return bounds?.find((entry) => entry.key === fieldId)?.value
}

function eventDateString(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10)
}

/** Whether a file is small enough to be merged with others. */
function isSmall(live: LiveFile, targetBytes: number): boolean {
  return Number(live.file.file_size_in_bytes) < targetBytes * SMALL_FILE_SHARE
}

/**
 * Groups the small files by table partition and packs each group into rewrites of at most
 * `targetBytes` of files and `maxReadBytes` of decoded data (each file's readBytes).
 */
export function planRewrites(files: readonly LiveFile[], targetBytes: number, maxReadBytes = Infinity): Rewrite[] {
  const groups = new Map<string, LiveFile[]>()
  for (const live of files) {
    if (!isSmall(live, targetBytes)) continue
    const key = `${live.file.partition.event_date}/${live.file.partition.event_hour}`
    let group = groups.get(key)
    if (group === undefined) groups.set(key, group = [])
    group.push(live)
  }
  const rewrites: Rewrite[] = []
  for (const group of groups.values()) {
    // In time order, so a compacted file covers a contiguous stretch and prunes well.
    group.sort((a, b) => (a.lowestTimestamp < b.lowestTimestamp ? -1 : a.lowestTimestamp > b.lowestTimestamp ? 1 : Number(a.lowestOffset - b.lowestOffset)))
    let bin: LiveFile[] = []
    let binBytes = 0
    let binReadBytes = 0
    const close = (): void => {
      if (bin.length >= 2) rewrites.push({ inputs: bin, output: null })
      bin = []
      binBytes = 0
      binReadBytes = 0
    }
    for (const live of group) {
      const size = Number(live.file.file_size_in_bytes)
      const readBytes = live.readBytes ?? size
      if (bin.length > 0 && (binBytes + size > targetBytes || binReadBytes + readBytes > maxReadBytes)) close()
      bin.push(live)
      binBytes += size
      binReadBytes += readBytes
    }
    close()
  }
  return rewrites
}

/** The live data files of the current snapshot that compaction may rewrite (of the table's own topic). */
async function liveFiles(catalog: Catalog, metadata: TableMetadata): Promise<LiveFile[]> {
  const snapshot = currentSnapshot(metadata)
  if (snapshot === undefined) return []
  const topicId = metadata.properties[PROPERTY_TOPIC_ID]
  const ofTopic = fileOfTopic(metadata, topicId)
  const out: LiveFile[] = []
  for (const manifest of await decodeManifestList(await getFile(catalog, snapshot['manifest-list']))) {
    if (manifest.content !== 0 || manifest.partition_spec_id !== SPEC_ID) continue
    for (const entry of (await decodeManifest(await getFile(catalog, manifest.manifest_path))).entries) {
      if (entry.status === 2 || entry.data_file.content !== 0) continue
      // Rows of an earlier topic of the same name are never merged with the current topic's.
      if (!ofTopic(entry.snapshot_id)) continue
      const timestamp = boundOf(entry.data_file.lower_bounds, FieldId.timestampMs)
      const offset = boundOf(entry.data_file.lower_bounds, FieldId.sequence)
      if (entry.data_file.partition.event_date === null || entry.data_file.partition.event_hour === null) continue
      out.push({
        file: entry.data_file,
        lowestTimestamp: timestamp === undefined ? 0n : decodeLongBound(timestamp),
        lowestOffset: offset === undefined ? 0n : decodeLongBound(offset),
      })
    }
  }
  return out
}

export class Compactor {
  readonly #options: CompactionOptions
  readonly #now: () => number
  /** One table at a time: every run chains on the last. */
  #lock: Promise<unknown> = Promise.resolve()
  #timer: NodeJS.Timeout | null = null
  #background: Promise<void> | null = null
  #closed = false
  /** Test hook: runs in each commit attempt between loading the table and committing to it. */
  beforeCommit: ((attempt: number) => Promise<void>) | null = null

  constructor(options: CompactionOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Files at or above this are left alone; rewrites are packed up to it. */
  get targetBytes(): number {
    return Math.min(this.#options.compactedFileBytes, this.#options.maxReadBytes)
  }

  /** Compacts the tables `tables()` names every `intervalMs`, one after the other; 0 starts nothing. */
  start(intervalMs: number, tables: () => Promise<Iterable<string>>): void {
    if (intervalMs <= 0) return
    this.#timer = setInterval(() => {
      if (this.#background !== null || this.#closed) return
      this.#background = tables().then((names) => this.#compactAll([...names]), (error: unknown) => {
        this.#options.logger.error({ err: error }, 'listing the tables to compact failed; they are listed again at the next interval')
      }).finally(() => {
        this.#background = null
      })
    }, intervalMs)
    this.#timer.unref()
  }

  async #compactAll(tables: readonly string[]): Promise<void> {
    for (const table of tables) {
      if (this.#closed) return
      try {
        const result = await this.compact(table)
        if (result.snapshotId !== null) {
          this.#options.logger.info({ ...result, snapshotId: result.snapshotId.toString() }, 'compacted Iceberg table')
        }
      } catch (error) {
        this.#options.logger.error({ err: error, table }, 'compacting the Iceberg table failed; it is tried again at the next interval')
      }
    }
    // The next pass is minutes away: a worker of compaction's own (about 60 MB plus twice
    // ZOMBI_COMPACTION_MAX_READ_MB) goes back now rather than after the idle time, beside the flush
    // worker's. One worker start per pass (~0.3 s of CPU at nice 19) pays for it.
    if (this.#options.ownsPool !== false) this.#options.pool.endIdleWorkers()
  }

  /** Stops the timer and waits for a running compaction. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    await this.#background
    await this.#lock.catch(() => undefined)
    if (this.#options.ownsPool !== false) await this.#options.pool.close()
  }

  /** Compacts one table now (after any compaction already running) and says what it did. */
  compact(table: string): Promise<CompactionResult> {
    const run = this.#lock.catch(() => undefined).then(() => this.#compact(table)).then(
      (result) => {
        this.#count(result)
        return result
      },
      (error: unknown) => {
        if (this.#options.metrics !== undefined) this.#options.metrics.compactionFailures++
        throw error
      },
    )
    this.#lock = run
    return run
  }

  #count(result: CompactionResult): void {
    const metrics = this.#options.metrics
    if (metrics === undefined || result.snapshotId === null) return
    metrics.compactions++
    metrics.compactedFilesIn += result.filesIn
    metrics.compactedFilesOut += result.filesOut
    metrics.compactedBytesIn += result.bytesIn
    metrics.compactedBytesOut += result.bytesOut
  }

  async #compact(table: string): Promise<CompactionResult> {
    const started = performance.now()
    const result: CompactionResult = { table, filesIn: 0, filesOut: 0, bytesIn: 0, bytesOut: 0, rows: 0, seconds: 0, snapshotId: null, commitAttempts: 0 }
    const { catalog } = this.#options
    const id: TableIdentifier = { namespace: this.#options.namespace, name: table }
    const loaded = await catalog.loadTable(id)
    if (loaded === null || this.#closed) return this.#done(result, started)
    // A typed table's rewrite carries every file's value column into the column as the table has it now;
    // a dead-letter table's, its error and schema_id columns (its rows name the source topic).
    const value = valueFieldOf(currentSchema(loaded.metadata)) ?? undefined
    const source = deadLetterSource(table)
    const topicId = loaded.metadata.properties[PROPERTY_TOPIC_ID]
    const files = await liveFiles(catalog, loaded.metadata)
    for (const live of files) if (isSmall(live, this.targetBytes)) live.readBytes = await this.#readBytes(live.file)
    const rewrites = planRewrites(files, this.targetBytes, this.#options.maxReadBytes)
    const done: Rewrite[] = []
    try {
      for (const rewrite of rewrites) {
        if (this.#closed) break
        await this.#options.flushesIdle?.()
        rewrite.output = await this.#rewrite(catalog.tableKey(id), source ?? table, rewrite, value, source !== null)
        done.push(rewrite)
      }
      if (done.length === 0) return this.#done(result, started)
      const committed = await this.#commit(id, topicId, done, result)
      result.snapshotId = committed
    } catch (error) {
      // Outputs of a commit that may still land stay (orphan cleanup removes them if it never does).
      if (!hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) await this.#deleteOutputs(done)
      throw error
    }
    for (const rewrite of done) {
      result.filesIn += rewrite.inputs.length
      for (const input of rewrite.inputs) result.bytesIn += Number(input.file.file_size_in_bytes)
      result.filesOut++
      result.bytesOut += Number(rewrite.output!.file_size_in_bytes)
      result.rows += Number(rewrite.output!.record_count)
    }
    return this.#done(result, started)
  }

  #done(result: CompactionResult, started: number): CompactionResult {
    result.seconds = (performance.now() - started) / 1000
    return result
  }

  /**
   * A data file's column data uncompressed, from its footer (a read of the file's tail): a file of
   * repetitive values may be 50 times its size once decoded, and the decoded rows are what a rewrite holds.
   */
  async #readBytes(file: DataFileRecord): Promise<number> {
    const store = this.#options.catalog.store
    const key = store.keyOf(file.file_path)
    const size = Number(file.file_size_in_bytes)
    if (key === null) return size
    let tail = await store.getRange(key, Math.max(0, size - FOOTER_READ_BYTES), size)
    let footer = tail === null ? null : footerOf(tail)
    if (tail !== null && footer === null && tail.length >= 8) {
      // A footer longer than the first read: read exactly it.
      const length = tail.readUInt32LE(tail.length - 8)
      tail = await store.getRange(key, Math.max(0, size - length - 8), size)
      footer = tail === null ? null : footerOf(tail)
    }
    if (footer === null) throw new ZombiError('ICEBERG_FILE_MISSING', `data file ${file.file_path} is missing or has no Parquet footer`)
    return Math.max(size, uncompressedBytes(footer))
  }

  async #deleteOutputs(rewrites: readonly Rewrite[]): Promise<void> {
    const store = this.#options.catalog.store
    for (const rewrite of rewrites) {
      const key = rewrite.output === null ? null : store.keyOf(rewrite.output.file_path)
      if (key !== null) await store.delete(key).catch(() => undefined)
    }
  }

  /** Reads the inputs, has a worker merge and encode them, streams the new file into the store. */
  async #rewrite(tableKey: string, topic: string, rewrite: Rewrite, value: IcebergField | undefined, deadLetter: boolean): Promise<DataFileRecord> {
    const { catalog, pool } = this.#options
    const inputs: Uint8Array[] = []
    let inputRows = 0
    for (const input of rewrite.inputs) {
      const bytes = await getFile(catalog, input.file.file_path)
      // Its own buffer, so it moves to the worker without a copy.
      inputs.push(bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes))
      inputRows += Number(input.file.record_count)
    }
    const { event_date: eventDate, event_hour: eventHour } = rewrite.inputs[0]!.file.partition
    const key = `${tableKey}/data/event_date=${eventDateString(eventDate!)}/event_hour=${String(eventHour).padStart(2, '0')}/${randomUUID()}.parquet`
    const run: EncodeRun = pool.run({ kind: 'rewrite', topic, inputs, rowGroupBytes: this.#options.rowGroupBytes, value, deadLetter })
    let stored = false
    try {
      const incoming = await run.nextFile()
      if (incoming === null) throw new ZombiError('ENCODE_FAILED', 'a rewrite of data files produced no file')
      if (incoming.eventDate !== eventDate || incoming.eventHour !== eventHour) throw new ZombiError('ENCODE_FAILED', 'a rewrite moved rows to another table partition')
      const sizeBytes = await catalog.store.putStream(key, incoming.chunks())
      stored = true
      if ((await run.nextFile()) !== null) throw new ZombiError('ENCODE_FAILED', 'a rewrite of data files produced more than one file')
      const file = incoming.file
      if (sizeBytes !== file.sizeBytes) throw new ZombiError('OBJECT_STORE_FAILED', `${key}: the store took ${sizeBytes} bytes of a ${file.sizeBytes}-byte data file`)
      if (file.recordCount !== inputRows) throw new ZombiError('ENCODE_FAILED', `a rewrite of ${inputRows} rows wrote ${file.recordCount}`)
      return {
        content: 0,
        file_path: catalog.store.location(key),
        file_format: 'PARQUET',
        partition: { event_date: file.eventDate, event_hour: file.eventHour },
        record_count: BigInt(file.recordCount),
        file_size_in_bytes: BigInt(sizeBytes),
        column_sizes: null,
        value_counts: file.metrics.valueCounts.map(([field, value]) => ({ key: field, value: BigInt(value) })),
        null_value_counts: file.metrics.nullValueCounts.map(([field, value]) => ({ key: field, value: BigInt(value) })),
        nan_value_counts: null,
        lower_bounds: file.metrics.lowerBounds.map(([field, value]) => ({ key: field, value: Buffer.from(value) })),
        upper_bounds: file.metrics.upperBounds.map(([field, value]) => ({ key: field, value: Buffer.from(value) })),
        key_metadata: null,
        split_offsets: null,
        equality_ids: null,
        sort_order_id: SORT_ORDER_ID,
      }
    } catch (error) {
      run.cancel(error instanceof Error ? error : new ZombiError('ENCODE_FAILED', String(error)))
      await run.settled
      if (stored || !hasCode(error, 'ENCODE_FAILED')) await catalog.store.delete(key).catch(() => undefined)
      throw error
    }
  }

  /**
   * Commits the rewrites as one replace snapshot on the table as it is now; a conflict (a flush
   * committed meanwhile) reloads it and builds the snapshot again from the fresh metadata.
   */
  async #commit(id: TableIdentifier, topicId: string | undefined, rewrites: readonly Rewrite[], result: CompactionResult): Promise<bigint> {
    const { catalog } = this.#options
    for (let attempt = 1; ; attempt++) {
      result.commitAttempts = attempt
      const loaded = await catalog.loadTable(id)
      await this.beforeCommit?.(attempt)
      if (loaded === null || loaded.metadata.properties[PROPERTY_TOPIC_ID] !== topicId) {
        throw new ZombiError('ICEBERG_REWRITE_CONFLICT', `table ${id.name} was replaced or removed while it was being compacted`)
      }
      const written: string[] = []
      try {
        return await this.#commitOnce(id, loaded, rewrites, written)
      } catch (error) {
        if (hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
        for (const key of written) await catalog.store.delete(key).catch(() => undefined)
        if (!hasCode(error, 'CATALOG_COMMIT_CONFLICT') || attempt >= COMMIT_ATTEMPTS) throw error
      }
    }
  }

  async #commitOnce(id: TableIdentifier, loaded: LoadedTable, rewrites: readonly Rewrite[], written: string[]): Promise<bigint> {
    const { catalog } = this.#options
    const store = catalog.store
    const tableKey = catalog.tableKey(id)
    const base = loaded.metadata
    const parent = currentSnapshot(base)
    if (parent === undefined) throw new ZombiError('ICEBERG_REWRITE_CONFLICT', `table ${id.name} has no current snapshot any more`)
    const snapshotId = newSnapshotId()
    const sequenceNumber = base['last-sequence-number'] + 1n
    const commitId = randomUUID()
    const schema = base.schemas.find((candidate) => Number((candidate as { 'schema-id'?: number | bigint })['schema-id']) === base['current-schema-id'])
    if (schema === undefined) throw new ZombiError('ICEBERG_METADATA_INVALID', `table ${id.name}: current schema ${base['current-schema-id']} is not in its metadata`)
    const schemaJson = jsonText(schema)
    const specJson = JSON.stringify(partitionSpecJson().fields)

    const removed = new Set<string>()
    for (const rewrite of rewrites) for (const input of rewrite.inputs) removed.add(input.file.file_path)
    const { manifests, deletedRows, removedBytes: removedSize } = await manifestsWithout({
      catalog, tableKey, tableName: id.name, parent, removed, snapshotId, sequenceNumber, commitId, schemaJson, specJson, schemaId: base['current-schema-id'], written,
    })

    const outputs = rewrites.map((rewrite) => rewrite.output!)
    const added: ManifestEntryRecord[] = outputs.map((file) => ({ status: 1, snapshot_id: snapshotId, sequence_number: null, file_sequence_number: null, data_file: file }))
    const addedBytes = await encodeManifest(added, schemaJson, specJson, SPEC_ID, base['current-schema-id'])
    const addedKey = `${tableKey}/metadata/${commitId}-m0.avro`
    await store.put(addedKey, addedBytes)
    written.push(addedKey)
    let addedRows = 0n
    let addedSize = 0n
    for (const file of outputs) {
      addedRows += file.record_count
      addedSize += file.file_size_in_bytes
    }
    manifests.unshift({
      manifest_path: store.location(addedKey),
      manifest_length: BigInt(addedBytes.length),
      partition_spec_id: SPEC_ID,
      content: 0,
      sequence_number: sequenceNumber,
      min_sequence_number: sequenceNumber,
      added_snapshot_id: snapshotId,
      added_files_count: outputs.length,
      existing_files_count: 0,
      deleted_files_count: 0,
      added_rows_count: addedRows,
      existing_rows_count: 0n,
      deleted_rows_count: 0n,
      partitions: partitionSummaries(outputs),
      key_metadata: null,
    })
    const listKey = `${tableKey}/metadata/snap-${snapshotId}-1-${commitId}.avro`
    await store.put(listKey, await encodeManifestList(manifests, snapshotId, parent['snapshot-id'], sequenceNumber))
    written.push(listKey)

    const previous = parent.summary
    const total = (name: string, delta: bigint): string => String(BigInt(previous[name] ?? '0') + delta)
    const summary: Record<string, string> = {
      operation: 'replace',
      'added-data-files': String(outputs.length),
      'deleted-data-files': String(removed.size),
      'added-records': String(addedRows),
      'deleted-records': String(deletedRows),
      'added-files-size': String(addedSize),
      'removed-files-size': String(removedSize),
      'changed-partition-count': String(new Set(outputs.map((file) => `${file.partition.event_date}/${file.partition.event_hour}`)).size),
      'total-data-files': total('total-data-files', BigInt(outputs.length - removed.size)),
      'total-delete-files': previous['total-delete-files'] ?? '0',
      'total-records': total('total-records', addedRows - deletedRows),
      'total-files-size': total('total-files-size', addedSize - removedSize),
      'total-position-deletes': previous['total-position-deletes'] ?? '0',
      'total-equality-deletes': previous['total-equality-deletes'] ?? '0',
    }
    Object.assign(summary, carriedZombiKeys(previous, base))

    const metadata = withAppendedSnapshot(base, { snapshotId, sequenceNumber, manifestList: store.location(listKey), summary, timestampMs: this.#now() }, loaded.metadataLocation)
    try {
      await catalog.commit(id, loaded, metadata)
    } catch (error) {
      if (!hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
      const now = await catalog.loadTable(id).catch(() => null)
      if (now === null || !now.metadata.snapshots.some((snapshot) => snapshot['snapshot-id'] === snapshotId)) throw error
    }
    return snapshotId
  }
}
