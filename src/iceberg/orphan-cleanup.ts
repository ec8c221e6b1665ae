// Start-up hygiene for the warehouse: removes what writes interrupted by a crash left behind, i.e.
// temporary files (`*.zombi-tmp` of the local object store) and data files, manifests and manifest
// lists that no metadata file of their table references (a kill between writing a flush's files
// and committing its snapshot). Only files older than a grace period go: at start no flush of this
// process is running, but another writer may be (a second broker pointed at the same warehouse by
// mistake, an external Iceberg tool appending to the table), and its files are unreferenced until
// its commit. A file is "referenced" if any vN.metadata.json still on disk reaches it through a
// snapshot (time travel may use old versions), so a referenced file is never deleted; a table whose
// metadata cannot be read completely is left alone. The hot store writes no temporary files (its
// segments are appended in place and recovered at open), so only the warehouse needs this.
import type { Catalog } from '../catalog/catalog.ts'
import type { ObjectInfo, Removed } from '../objectstore/object-store.ts'
import type { Logger } from '../observability/logger.ts'
import { decodeManifest, decodeManifestList } from './avro.ts'
import { parseTableMetadata } from './metadata.ts'

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
      const referenced = await referencedKeys(catalog, files)
      for (const file of files) {
        if (file.modifiedMs >= cutoff || referenced.has(file.key) || !isRemovable(namespace, table, file.key)) continue
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

/** Keys of every manifest list, manifest and data file reachable from any metadata file of the table. */
async function referencedKeys(catalog: Catalog, files: readonly ObjectInfo[]): Promise<Set<string>> {
  const store = catalog.store
  const read = async (location: string, what: string): Promise<Buffer> => {
    const key = store.keyOf(location)
    // A file outside this store is not ours to delete, and does not reference ours.
    const bytes = key === null ? null : await store.get(key)
    if (bytes === null) throw new UnreadableTableError(`${what} ${location} is missing`)
    return bytes
  }
  const referenced = new Set<string>()
  const add = (location: string): boolean => {
    const key = store.keyOf(location)
    if (key === null || referenced.has(key)) return false
    referenced.add(key)
    return true
  }
  for (const file of files) {
    if (!METADATA_FILE.test(file.key)) continue
    const bytes = await store.get(file.key)
    if (bytes === null) throw new UnreadableTableError(`${file.key} disappeared while it was read`)
    for (const snapshot of parseTableMetadata(bytes.toString('utf8')).snapshots) {
      if (!add(snapshot['manifest-list'])) continue
      for (const manifest of await decodeManifestList(await read(snapshot['manifest-list'], 'manifest list'))) {
        if (!add(manifest.manifest_path)) continue
        for (const entry of (await decodeManifest(await read(manifest.manifest_path, 'manifest'))).entries) add(entry.data_file.file_path)
      }
    }
  }
  return referenced
}
