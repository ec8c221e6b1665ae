// Start-up hygiene for the warehouse: removes what writes interrupted by a crash left behind, i.e.
// temporary files (`*.zombi-tmp` of the local object store) and data files, manifests and manifest
// lists that the table's current metadata no longer reaches (a kill between writing a flush's files
// and committing its snapshot; a kill between a snapshot expiry's commit and its deletes, which leaves
// the files only the expired snapshots reached). Only files older than a grace period go: at start no
// flush of this process is running, but another writer may be (a second broker pointed at the same
// warehouse by mistake, an external Iceberg tool appending to the table), and its files are
// unreferenced until its commit. A file is "referenced" if a snapshot of the table's current metadata
// (as the catalog answers it) reaches it, as in Iceberg's own orphan-file removal: older metadata
// versions still on disk hold only those snapshots plus expired ones, whose files snapshot expiry
// deletes anyway (keeping them would make a crash during expiry leak them until those versions roll
// off). Only for a directory the catalog knows no table at, while metadata files are in it, is every
// such file read and whatever any of them reaches kept. A table whose metadata cannot be read
// completely is left alone. The hot store writes no temporary files (its segments are appended in
// place and recovered at open), so only the warehouse needs this.
import type { Catalog, TableIdentifier } from '../catalog/catalog.ts'
import type { ObjectInfo, Removed } from '../objectstore/object-store.ts'
import type { Logger } from '../observability/logger.ts'
import { decodeManifest, decodeManifestList } from './avro.ts'
import { DELETED } from './file-removal.ts'

export interface OrphanCleanupOptions {
  catalog: Catalog
  namespace: string
  /** Files last written less than this long ago are kept. */
  graceMs: number
  logger: Logger
  now?: number
}

export interface OrphanCleanupReport {
  temporaries: Removed
  orphans: Removed
  /** Tables whose metadata could not be read completely: nothing of theirs was deleted. */
  skippedTables: string[]
}

/** Metadata files of both catalog layouts: vN.metadata.json (filesystem) and NNNNN-uuid.metadata.json (REST). */
const METADATA_FILE = /\.metadata\.json$/

/** Thrown when a table's references cannot be established; the table is skipped. */
class UnreadableTableError extends Error {
  override name = 'UnreadableTableError'
}

/** Removes temporaries and unreferenced table files older than the grace period; logs what went. */
export async function removeInterruptedWrites(options: OrphanCleanupOptions): Promise<OrphanCleanupReport> {
  const { catalog, namespace, logger } = options
  const store = catalog.store
  const cutoff = (options.now ?? Date.now()) - options.graceMs
  const temporaries = await store.removeAbandonedUploads(`${namespace}/`, cutoff)
  const orphans = { count: 0, bytes: 0 }
  const skippedTables: string[] = []
  for (const [table, files] of filesByTable(namespace, await store.listInfo(`${namespace}/`))) {
    try {
      // Listed before the metadata is read: a file committed after the listing is young, so the grace keeps it.
      for (const file of await unreferenced(catalog, { namespace, name: table }, files.filter((file) => file.modifiedMs < cutoff && isRemovable(namespace, table, file.key)), files)) {
        await store.delete(file.key)
        orphans.count++
        orphans.bytes += file.sizeBytes
      }
    } catch (error) {
      skippedTables.push(table)
      logger.warn({ err: error, table: `${namespace}.${table}` }, 'not removing unreferenced files of a table whose metadata could not be read completely')
    }
  }
  if (temporaries.count > 0 || orphans.count > 0) {
    logger.info({
      temporaryFiles: temporaries.count, temporaryBytes: temporaries.bytes, orphanFiles: orphans.count, orphanBytes: orphans.bytes, graceMs: options.graceMs,
    }, 'removed files left in the warehouse by interrupted writes')
  }
  return { temporaries, orphans, skippedTables }
}

function filesByTable(namespace: string, files: readonly ObjectInfo[]): Map<string, ObjectInfo[]> {
  const tables = new Map<string, ObjectInfo[]>()
  for (const file of files) {
    const table = file.key.slice(namespace.length + 1).split('/')[0]!
    let list = tables.get(table)
    if (list === undefined) tables.set(table, (list = []))
    list.push(file)
  }
  return tables
}

/** Only the kinds of file a flush writes before its commit: Parquet under data/, Avro under metadata/. */
function isRemovable(namespace: string, table: string, key: string): boolean {
  const rest = key.slice(namespace.length + table.length + 2)
  return (rest.startsWith('data/') && rest.endsWith('.parquet')) || (rest.startsWith('metadata/') && rest.endsWith('.avro'))
}

/**
 * The candidates that the table's current metadata does not reach. For a table the catalog does not
 * know (or knows at another location), its metadata files on disk are read instead, newest first, and the walk stops once every
 * candidate is found referenced.
 */
async function unreferenced(catalog: Catalog, id: TableIdentifier, candidates: readonly ObjectInfo[], files: readonly ObjectInfo[]): Promise<readonly ObjectInfo[]> {
  if (candidates.length === 0) return candidates
  const references = new References(catalog)
  const current = await catalog.loadTable(id)
  // Only a table that lives in this directory speaks for its files (not one recreated elsewhere under the name).
  if (current !== null && catalog.store.keyOf(current.metadata.location) === catalog.tableKey(id)) {
    await references.addManifestLists(current.metadata.snapshots.map((snapshot) => snapshot['manifest-list']), false)
    return candidates.filter((candidate) => !references.has(candidate.key))
  }
  let left = candidates
  const metadataFiles = files.filter((file) => METADATA_FILE.test(file.key)).sort((a, b) => metadataVersion(b.key) - metadataVersion(a.key))
  for (const [i, file] of metadataFiles.entries()) {
    if (left.length === 0) break
    // Older versions may name files snapshot expiry deleted since; only the newest must be complete.
    await references.addMetadata(file.key, i > 0)
    left = left.filter((candidate) => !references.has(candidate.key))
  }
  return left
}

/** N of vN.metadata.json (or of NNNNN-uuid.metadata.json); -1 if the name has none. */
function metadataVersion(key: string): number {
  const match = /\/v?(\d+)[.-][^/]*$/.exec(key)
  return match === null ? -1 : Number(match[1])
}

/** Keys of every manifest list, manifest and live data file reachable from the metadata added so far. */
class References {
  readonly #catalog: Catalog
  readonly #keys = new Set<string>()

  constructor(catalog: Catalog) {
    this.#catalog = catalog
  }

  has(key: string): boolean {
    return this.#keys.has(key)
  }

  /**
   * `missingOk`: a missing manifest list or manifest references nothing (snapshot expiry deleted it with
   * every file only it reached; what kept snapshots share, the newest version reaches).
   */
  async addMetadata(key: string, missingOk = false): Promise<void> {
    const bytes = await this.#catalog.store.get(key)
    if (bytes === null) {
      if (missingOk) return
      throw new UnreadableTableError(`${key} disappeared while it was read`)
    }
    await this.addManifestLists(manifestLists(key, bytes), missingOk)
  }

  /** Every manifest list at `locations`, the manifests they list and the data files those hold. */
  async addManifestLists(locations: readonly string[], missingOk: boolean): Promise<void> {
    for (const manifestList of locations) {
      if (!this.#add(manifestList)) continue
      const list = await this.#read(manifestList, 'manifest list', missingOk)
      for (const manifest of list === null ? [] : await decodeManifestList(list)) {
        if (!this.#add(manifest.manifest_path)) continue
        const entries = await this.#read(manifest.manifest_path, 'manifest', missingOk)
        // A deleted entry names a file its snapshot removed: a snapshot that still holds the file reaches it through its own manifests.
        for (const entry of entries === null ? [] : (await decodeManifest(entries)).entries) if (entry.status !== DELETED) this.#add(entry.data_file.file_path)
      }
    }
  }

  /** Records a location; false if it was known already or lies outside the store (not ours to delete, and it references nothing of ours). */
  #add(location: string): boolean {
    const key = this.#catalog.store.keyOf(location)
    if (key === null || this.#keys.has(key)) return false
    this.#keys.add(key)
    return true
  }

  /** Reads a location #add accepted (so it lies in the store). */
  async #read(location: string, what: string, missingOk: boolean): Promise<Buffer | null> {
    const store = this.#catalog.store
    const bytes = await store.get(store.keyOf(location)!)
    if (bytes === null && !missingOk) throw new UnreadableTableError(`${what} ${location} is missing`)
    return bytes
  }
}

/**
 * The manifest-list locations of a metadata file's snapshots. Plain JSON.parse: only strings are
 * needed (64-bit ids may lose precision here, unused), and it is much faster than the lossless
 * reader on the large metadata files of long-lived tables.
 */
function manifestLists(key: string, bytes: Buffer): string[] {
  const metadata = JSON.parse(bytes.toString('utf8')) as { snapshots?: unknown }
  const snapshots = metadata.snapshots ?? []
  if (!Array.isArray(snapshots)) throw new UnreadableTableError(`${key}: snapshots is not an array`)
  return snapshots.map((snapshot: unknown) => {
    const location = typeof snapshot === 'object' && snapshot !== null ? (snapshot as Record<string, unknown>)['manifest-list'] : undefined
    if (typeof location !== 'string') throw new UnreadableTableError(`${key}: a snapshot has no manifest-list`)
    return location
  })
}
