// Snapshot expiry: drops the snapshots of a table older than the retention (keeping the newest of
// main's history, and every ref's head), in one metadata commit that also carries their committed
// offsets into the zombi.committed-offsets property (exactly-once needs them), then deletes the files
// only those snapshots reached. Deletion comes after the commit and reads reachability from the
// snapshots that stay, so a file any kept snapshot (or a commit racing with this one) uses is never
// deleted; a crash between the commit and the deletes leaves unreferenced files that the start-up
// orphan cleanup removes.
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog/catalog.ts'
import { ZombiError, hasCode } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import { decodeManifest, decodeManifestList, type ManifestFileRecord } from './avro.ts'
import { PROPERTY_DELETE_AFTER_COMMIT, PROPERTY_TOPIC_ID, mainAncestry, withExpiredSnapshots, type Snapshot, type TableMetadata } from './metadata.ts'
import type { FlushMetrics } from './metrics.ts'
import { enforceRetention, retentionActs, type RetentionResult, type TableRetention } from './retention.ts'

export interface ExpiryPolicy {
  /** Snapshots committed longer ago than this may expire. */
  retentionMs: number
  /** The newest snapshots of main's history kept whatever their age (at least 1: main's head). */
  minKeep: number
}

export interface ExpiryResult {
  snapshotsExpired: number
  /** Manifest lists, manifests and data files deleted. */
  filesDeleted: number
}

const COMMIT_ATTEMPTS = 5
/** Manifest status of an entry whose file the snapshot removed (it is not live there). */
const DELETED = 2

/** Ids of the snapshots `policy` lets go at `nowMs`: old enough, not among main's newest `minKeep`, not a ref's head. */
export function snapshotsToExpire(metadata: TableMetadata, policy: ExpiryPolicy, nowMs: number): Set<bigint> {
  const kept = new Set<bigint>()
  for (const snapshot of mainAncestry(metadata).slice(0, Math.max(1, policy.minKeep))) kept.add(snapshot['snapshot-id'])
  for (const ref of Object.values(metadata.refs)) kept.add(ref['snapshot-id'])
  if (metadata['current-snapshot-id'] !== undefined) kept.add(metadata['current-snapshot-id'])
  const cutoff = nowMs - policy.retentionMs
  const expired = new Set<bigint>()
  for (const snapshot of metadata.snapshots) {
    if (!kept.has(snapshot['snapshot-id']) && snapshot['timestamp-ms'] < cutoff) expired.add(snapshot['snapshot-id'])
  }
  return expired
}

/**
 * Expires the table's snapshots by `policy`. A concurrent commit (the flusher's append) makes the
 * metadata commit conflict: the table is read again and the expiry recomputed on it, so no append
 * is ever dropped. An unknown commit outcome is thrown before any file is deleted.
 */
export async function expireSnapshots(catalog: Catalog, id: TableIdentifier, policy: ExpiryPolicy, nowMs = Date.now()): Promise<ExpiryResult> {
  for (let attempt = 1; ; attempt++) {
    const loaded = await catalog.loadTable(id)
    if (loaded === null) return { snapshotsExpired: 0, filesDeleted: 0 }
    const expired = snapshotsToExpire(loaded.metadata, policy, nowMs)
    if (expired.size === 0) return { snapshotsExpired: 0, filesDeleted: 0 }
    const next = withExpiredSnapshots(loaded.metadata, expired, loaded.metadataLocation, nowMs)
    // Zombi's tables bound their metadata files; one created before Zombi set the property gets it here (an explicit false stays).
    if (next.properties[PROPERTY_DELETE_AFTER_COMMIT] === undefined && next.properties[PROPERTY_TOPIC_ID] !== undefined) next.properties[PROPERTY_DELETE_AFTER_COMMIT] = 'true'
    let committed: LoadedTable
    try {
      committed = await catalog.commit(id, loaded, next)
    } catch (error) {
      if (hasCode(error, 'CATALOG_COMMIT_CONFLICT') && attempt < COMMIT_ATTEMPTS) continue
      throw error
    }
    const gone = loaded.metadata.snapshots.filter((snapshot) => expired.has(snapshot['snapshot-id']))
    const filesDeleted = await deleteUnreachable(catalog, gone, committed.metadata.snapshots)
    return { snapshotsExpired: expired.size, filesDeleted }
  }
}

/**
 * Deletes what `gone` snapshots reached and no `kept` snapshot does: manifest lists first, then
 * manifests, then data files, so an interrupted run leaves only files nothing references (the
 * orphan cleanup's to remove), never a manifest list pointing at deleted manifests.
 */
async function deleteUnreachable(catalog: Catalog, gone: readonly Snapshot[], kept: readonly Snapshot[]): Promise<number> {
  const store = catalog.store
  const files = new FileReader(catalog)
  const reachableLists = new Set<string>()
  const reachableManifests = new Set<string>()
  const reachableData = new Set<string>()
  for (const snapshot of kept) {
    const list = store.keyOf(snapshot['manifest-list'])
    if (list === null || reachableLists.has(list)) continue
    reachableLists.add(list)
    for (const manifest of await files.manifestList(list)) {
      const key = store.keyOf(manifest.manifest_path)
      if (key === null || reachableManifests.has(key)) continue
      reachableManifests.add(key)
      for (const entry of await files.manifestEntries(key)) {
        if (entry.status === DELETED) continue
        const data = store.keyOf(entry.data_file.file_path)
        if (data !== null) reachableData.add(data)
      }
    }
  }
  const lists: string[] = []
  const manifests = new Set<string>()
  const data = new Set<string>()
  for (const snapshot of gone) {
    const list = store.keyOf(snapshot['manifest-list'])
    if (list === null || reachableLists.has(list)) continue
    lists.push(list)
    // A manifest list already gone (an earlier run interrupted after deleting it) reached nothing we can still find.
    const records = await files.manifestList(list, true)
    for (const manifest of records) {
      const key = store.keyOf(manifest.manifest_path)
      if (key === null || reachableManifests.has(key) || manifests.has(key)) continue
      manifests.add(key)
      for (const entry of await files.manifestEntries(key, true)) {
        const file = store.keyOf(entry.data_file.file_path)
        if (file !== null && !reachableData.has(file)) data.add(file)
      }
    }
  }
  let deleted = 0
  for (const key of [...lists, ...manifests, ...data]) {
    await store.delete(key)
    deleted++
  }
  return deleted
}

/** Reads manifest lists and manifests by key; a missing one is an error unless the caller tolerates it. */
class FileReader {
  readonly #catalog: Catalog

  constructor(catalog: Catalog) {
    this.#catalog = catalog
  }

  async manifestList(key: string, missingOk = false): Promise<ManifestFileRecord[]> {
    const bytes = await this.#get(key, 'manifest list', missingOk)
    return bytes === null ? [] : decodeManifestList(bytes)
  }

  async manifestEntries(key: string, missingOk = false): Promise<Awaited<ReturnType<typeof decodeManifest>>['entries']> {
    const bytes = await this.#get(key, 'manifest', missingOk)
    return bytes === null ? [] : (await decodeManifest(bytes)).entries
  }

  async #get(key: string, what: string, missingOk: boolean): Promise<Buffer | null> {
    const bytes = await this.#catalog.store.get(key)
    if (bytes === null && !missingOk) {
      // A kept snapshot reaching a missing file: reachability is unknown, so nothing may be deleted.
      throw new ZombiError('ICEBERG_FILE_MISSING', `${what} ${key} of a kept snapshot is missing; no file was deleted`)
    }
    return bytes
  }
}

export interface SnapshotExpirerOptions {
  catalog: Catalog
  namespace: string
  policy: ExpiryPolicy
  /** Time between two passes over the namespace's tables. */
  intervalMs: number
  metrics: FlushMetrics
  logger: Logger
  now?: () => number
  /** The topic retention of a table (its topic's retention.ms/retention.bytes), applied before its snapshots expire; null: keep everything. */
  retention?: (table: string) => TableRetention | null
  /** Called after a retention commit removed files (readers caching the table's first offsets forget them). */
  onRetention?: (table: string, result: RetentionResult) => void
}

/** Runs topic retention then expireSnapshots over every table of the namespace, one pass at a time, every intervalMs. */
export class SnapshotExpirer {
  readonly #options: SnapshotExpirerOptions
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #closed = false

  constructor(options: SnapshotExpirerOptions) {
    this.#options = options
  }

  start(): void {
    this.#timer = setInterval(() => void this.runOnce(), this.#options.intervalMs)
    this.#timer.unref()
  }

  /** One pass (or the one already running); failures are logged and counted, the next pass retries. */
  runOnce(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#running ??= this.#pass().finally(() => {
      this.#running = null
    })
    return this.#running
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    await this.#running
  }

  async #pass(): Promise<void> {
    const { catalog, namespace, policy, metrics, logger } = this.#options
    let tables: string[]
    try {
      tables = await catalog.listTables(namespace)
    } catch (error) {
      metrics.expiryFailures++
      logger.warn({ err: error }, 'listing tables for snapshot expiry failed; the next pass retries')
      return
    }
    for (const name of tables) {
      if (this.#closed) return
      const nowMs = (this.#options.now ?? Date.now)()
      const retention = this.#options.retention?.(name) ?? null
      if (retention !== null && retentionActs(retention)) {
        try {
          const removed = await enforceRetention(catalog, { namespace, name }, retention, nowMs)
          if (removed.snapshotId !== null) {
            logger.info({ table: `${namespace}.${name}`, ...removed, snapshotId: removed.snapshotId.toString(), rowsDeleted: removed.rowsDeleted.toString(), bytesDeleted: removed.bytesDeleted.toString() }, 'removed data files past the topic\'s retention')
            metrics.retentionFilesDeleted += removed.filesDeleted
            metrics.retentionRowsDeleted += Number(removed.rowsDeleted)
            this.#options.onRetention?.(name, removed)
          }
        } catch (error) {
          metrics.expiryFailures++
          logger.warn({ err: error, table: `${namespace}.${name}` }, 'topic retention failed; the next pass retries')
        }
      }
      try {
        const result = await expireSnapshots(catalog, { namespace, name }, policy, nowMs)
        metrics.snapshotsExpired += result.snapshotsExpired
        metrics.expiredFilesDeleted += result.filesDeleted
        if (result.snapshotsExpired > 0) logger.info({ table: `${namespace}.${name}`, ...result }, 'expired old snapshots')
      } catch (error) {
        metrics.expiryFailures++
        logger.warn({ err: error, table: `${namespace}.${name}` }, 'snapshot expiry failed; the next pass retries')
      }
    }
  }
}
