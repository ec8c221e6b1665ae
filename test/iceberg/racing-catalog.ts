import type { LoadedTable, TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import type { TableMetadata } from '../../src/catalog/table-metadata.ts'

/** A catalog whose `beforeCommit` runs once ahead of the next commit (another writer getting in first). */
export class RacingCatalog extends FilesystemCatalog {
  beforeCommit: (() => Promise<void>) | null = null
  override async commit(table: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable> {
    const race = this.beforeCommit
    this.beforeCommit = null
    if (race !== null) await race()
    return super.commit(table, base, metadata)
  }
}
