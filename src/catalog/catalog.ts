// What the flusher needs from an Iceberg catalog: load a table's current metadata and swap it
// atomically for a new version. The filesystem catalog is the embedded default; the REST catalog
// client (rest.ts) implements the same interface against an Iceberg REST catalog.
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
  /**
   * The catalog's version token of that file, opaque: compare with === only (the filesystem
   * catalog's N of vN.metadata.json; a REST catalog's metadata location).
   */
  version: number | string
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
   * reload, check, retry) and changes nothing. "Still at base" is at least: the same table, its
   * main branch at the same snapshot (a REST catalog checks no more for a change that adds no
   * snapshot, schema or spec; every commit of Zombi's adds a snapshot). A failure that may have
   * committed all the same (the catalog's or the store's answer lost through every retry) is a
   * CATALOG_COMMIT_UNKNOWN: only the table can tell, and until it does the commit's files must stay.
   */
  commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable>
  listTables(namespace: string): Promise<string[]>
}
