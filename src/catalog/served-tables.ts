// What the embedded Iceberg REST catalog (/iceberg on the HTTP port) serves of the broker's own catalog:
// the topic tables of its one namespace, each table's current metadata as JSON text (64-bit ids stay
// exact: the text is written from the lossless model, never through JSON.parse), and the storage
// properties a reader needs to open the files.
import type { Catalog } from './catalog.ts'
import { serializeTableMetadata, type TableMetadata } from './table-metadata.ts'

/** Iceberg's `snapshots` query parameter of loadTable: every valid snapshot, or those a branch or tag points at. */
export type SnapshotsMode = 'all' | 'refs'

export interface StorageCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface ReaderStorage {
  storage: 'local' | 's3'
  /** Custom S3 endpoint (MinIO, R2, ...), or null for AWS. */
  endpoint: string | null
  region: string
  pathStyle: boolean
  /** The broker's credentials when the operator lets them be handed out (ZOMBI_ICEBERG_VEND_CREDENTIALS), else null. */
  credentials: (() => Promise<StorageCredentials>) | null
}

/**
 * FileIO properties for readers of the tables, in the names Iceberg's clients read (Java's S3FileIO, pyiceberg,
 * DuckDB). Local files need none. Path style is given both ways because Java reads `s3.path-style-access` and
 * pyiceberg (pyarrow) `s3.force-virtual-addressing`; the region too, because Java's S3FileIO ignores
 * `s3.region` and reads `client.region` (without it Spark fails with "Unable to load region" off EC2).
 */
export async function readerStorageConfig(storage: ReaderStorage): Promise<Record<string, string>> {
  if (storage.storage === 'local') return {}
  const config: Record<string, string> = {
    's3.region': storage.region,
    'client.region': storage.region,
    's3.path-style-access': String(storage.pathStyle),
    's3.force-virtual-addressing': String(!storage.pathStyle),
  }
  if (storage.endpoint !== null) config['s3.endpoint'] = storage.endpoint
  if (storage.credentials !== null) {
    // Resolved per load: temporary credentials (instance roles, web identity) rotate.
    const credentials = await storage.credentials()
    config['s3.access-key-id'] = credentials.accessKeyId
    config['s3.secret-access-key'] = credentials.secretAccessKey
    if (credentials.sessionToken !== undefined) config['s3.session-token'] = credentials.sessionToken
  }
  return config
}

/**
 * Keeps only the snapshots a branch or tag points at, as Iceberg's `snapshots=refs` asks: a reader of the
 * current state gets a small document however long the history. The snapshot log stays whole (it is history,
 * and readers accept entries whose snapshot is not listed, as after expiry).
 */
export function referencedSnapshotsOnly(metadata: TableMetadata): TableMetadata {
  const referenced = new Set(Object.values(metadata.refs).map((ref) => ref['snapshot-id']))
  return { ...metadata, snapshots: metadata.snapshots.filter((snapshot) => referenced.has(snapshot['snapshot-id'])) }
}

/** The read-only view of a catalog's namespace that the HTTP layer's Iceberg REST routes are given. */
export function servedTables(catalog: Catalog, namespace: string, storage: ReaderStorage): {
  namespace: string
  listTables(): Promise<string[]>
  loadTable(name: string, snapshots: SnapshotsMode): Promise<{ metadataLocation: string; metadataJson: string } | null>
  storageConfig(): Promise<Record<string, string>>
} {
  return {
    namespace,
    listTables: () => catalog.listTables(namespace),
    loadTable: async (name, snapshots) => {
      const loaded = await catalog.loadTable({ namespace, name })
      if (loaded === null) return null
      const metadata = snapshots === 'refs' ? referencedSnapshotsOnly(loaded.metadata) : loaded.metadata
      return { metadataLocation: loaded.metadataLocation, metadataJson: serializeTableMetadata(metadata) }
    },
    storageConfig: () => readerStorageConfig(storage),
  }
}
