// The filesystem ("Hadoop") catalog: <warehouse>/<namespace>/<table>/metadata/vN.metadata.json
// and version-hint.text. A commit is the create-exclusive of the next vN.metadata.json (the
// atomic step: of two writers of the same N exactly one wins); the hint follows and may lag
// after a crash, so loading probes past it. DuckDB's iceberg_scan and pyiceberg read this layout.
import { PROPERTY_DELETE_AFTER_COMMIT, serializeTableMetadata, parseTableMetadata, type TableMetadata } from './table-metadata.ts'
import type { ObjectStore } from '../objectstore/object-store.ts'
import { ZombiError } from '../errors.ts'
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.ts'

const VERSION_FILE = /^v(\d+)\.metadata\.json$/

export class FilesystemCatalog implements Catalog {
  readonly store: ObjectStore

  constructor(store: ObjectStore) {
    this.store = store
  }

  tableKey(id: TableIdentifier): string {
    return `${id.namespace}/${id.name}`
  }

  #metadataKey(id: TableIdentifier, version: number): string {
    return `${this.tableKey(id)}/metadata/v${version}.metadata.json`
  }

  #hintKey(id: TableIdentifier): string {
    return `${this.tableKey(id)}/metadata/version-hint.text`
  }

  /** The newest committed version, or 0 if the table does not exist; `listed` ignores the hint. */
  async #currentVersion(id: TableIdentifier, listed = false): Promise<number> {
    const hint = listed ? null : await this.store.get(this.#hintKey(id))
    let version = hint === null ? NaN : Number(hint.toString('utf8').trim())
    if (!Number.isSafeInteger(version) || version < 1) {
      // No (or a damaged) hint: the highest vN present.
      version = 0
      for (const key of await this.store.list(`${this.tableKey(id)}/metadata/v`)) {
        const match = VERSION_FILE.exec(key.slice(key.lastIndexOf('/') + 1))
        if (match !== null) version = Math.max(version, Number(match[1]))
      }
      if (version === 0) return 0
    }
    // The hint is written after the commit and may lag by a crash.
    while (await this.store.exists(this.#metadataKey(id, version + 1))) version++
    return version
  }

  async loadTable(id: TableIdentifier, known?: LoadedTable): Promise<LoadedTable | null> {
    let version = await this.#currentVersion(id)
    if (version === 0) return null
    if (known !== undefined && known.version === version) return known
    let key = this.#metadataKey(id, version)
    let bytes = await this.store.get(key)
    if (bytes === null) {
      // A hint that lagged (failed writes) behind versions since deleted after commit: ask the listing.
      version = await this.#currentVersion(id, true)
      if (known !== undefined && known.version === version) return known
      key = this.#metadataKey(id, version)
      bytes = version === 0 ? null : await this.store.get(key)
    }
    if (bytes === null) throw new ZombiError('ICEBERG_FILE_MISSING', `table ${id.namespace}.${id.name}: ${key} disappeared while loading`)
    return { metadata: parseTableMetadata(bytes.toString('utf8')), metadataLocation: this.store.location(key), version }
  }

  async commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable> {
    const baseVersion = base === null ? 0 : base.version
    if (typeof baseVersion !== 'number') throw new ZombiError('INVALID_ARGUMENT', `table ${id.namespace}.${id.name}: base ${base!.metadataLocation} was not loaded by a filesystem catalog`)
    const version = baseVersion + 1
    const key = this.#metadataKey(id, version)
    let created: boolean
    try {
      created = await this.store.putIfAbsent(key, Buffer.from(serializeTableMetadata(metadata), 'utf8'))
    } catch (error) {
      // A write whose every answer was lost (S3: reset after the PUT, 5xx through the retries) may have landed.
      throw new ZombiError('CATALOG_COMMIT_UNKNOWN', `table ${id.namespace}.${id.name}: writing v${version}.metadata.json failed and may have landed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    if (!created) {
      throw new ZombiError('CATALOG_COMMIT_CONFLICT', `table ${id.namespace}.${id.name}: v${version}.metadata.json already exists (another commit won)`)
    }
    // The commit is done: the hint only saves loads a probe, and a lagging one is probed past. Failing
    // here would make the caller treat a committed snapshot as failed and delete the files it references.
    // No trailing newline: some readers parse the whole file as the number.
    await this.store.put(this.#hintKey(id), Buffer.from(String(version), 'utf8')).catch(() => undefined)
    if (base !== null && metadata.properties[PROPERTY_DELETE_AFTER_COMMIT]?.toLowerCase() === 'true') await this.#deleteDroppedVersions(id, base.metadata, metadata, key)
    return { metadata, metadataLocation: this.store.location(key), version }
  }

  /**
   * write.metadata.delete-after-commit.enabled, as Iceberg's own catalogs do it: the metadata files the
   * commit dropped from the metadata log (bounded by write.metadata.previous-versions-max) are deleted.
   * Only this table's vN.metadata.json files, never the new one; a failed delete leaves garbage, not a
   * broken table, so it does not fail the commit.
   */
  async #deleteDroppedVersions(id: TableIdentifier, before: TableMetadata, after: TableMetadata, currentKey: string): Promise<void> {
    const kept = new Set(after['metadata-log'].map((entry) => entry['metadata-file']))
    const prefix = `${this.tableKey(id)}/metadata/`
    for (const entry of before['metadata-log']) {
      if (kept.has(entry['metadata-file'])) continue
      const key = this.store.keyOf(entry['metadata-file'])
      if (key === null || key === currentKey || !key.startsWith(prefix) || !VERSION_FILE.test(key.slice(prefix.length))) continue
      await this.store.delete(key).catch(() => undefined)
    }
  }

  async listTables(namespace: string): Promise<string[]> {
    const names = new Set<string>()
    for (const key of await this.store.list(`${namespace}/`)) {
      const rest = key.slice(namespace.length + 1)
      const match = /^([^/]+)\/metadata\/v\d+\.metadata\.json$/.exec(rest)
      if (match !== null) names.add(match[1]!)
    }
    return [...names].sort()
  }
}
