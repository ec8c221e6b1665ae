// What the flusher needs from an Iceberg catalog: load a table's current metadata and swap it
// atomically for a new version. The filesystem catalog is the embedded default; a REST
// catalog client implements the same interface later.
import type { TableMetadata } from './table-metadata.ts'
import type { ObjectStore } from '../objectstore/object-store.ts'

export interface TableIdentifier {
  namespace: string
  name: string
}

export interface LoadedTable {
  metadata: TableMetadata
  /** Location of the metadata file `metadata` was read from. */
  metadataLocation: string
  /** The catalog's version token of that file (the N of vN.metadata.json here). */
  version: number
}

export interface Catalog {
  /** Where table files are written (data files, manifests). */
  readonly store: ObjectStore
  /** Object-store key prefix of a table's directory (no trailing slash). */
  tableKey(id: TableIdentifier): string
  /**
   * The table's current metadata, or null if the table does not exist. With `known`, returns
   * `known` itself when the table has not moved on (no re-read of the metadata file).
   */
  loadTable(id: TableIdentifier, known?: LoadedTable): Promise<LoadedTable | null>
  /**
   * Makes `metadata` the table's current metadata if the table is still at `base` (null: the
   * table must not exist yet); otherwise throws a ZombiError CATALOG_COMMIT_CONFLICT (someone else committed first:
   * reload, check, retry) and changes nothing. A failure that may have committed all the same (the
   * store lost the answer of the atomic write) is a CATALOG_COMMIT_UNKNOWN: only the table can tell,
   * and until it does the commit's files must stay (they may be referenced now).
   */
  commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable>
  listTables(namespace: string): Promise<string[]>
}
