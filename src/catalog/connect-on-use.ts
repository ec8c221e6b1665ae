// A catalog behind the network (a REST catalog) may be down when the broker starts. Kafka and the
// hot log must not wait for it: this catalog connects at its first use, and again at each later use
// until a connection succeeds. Until then every operation fails with the connect error, so flushes
// fail, /health names the cause and the flusher retries, while the hot log keeps every record.
import type { ObjectStore } from '../objectstore/object-store.ts'
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.ts'
import type { TableMetadata } from './table-metadata.ts'

export class ConnectOnUse implements Catalog {
  readonly store: ObjectStore
  readonly #connect: () => Promise<Catalog>
  #catalog: Catalog | null = null
  /** The attempt in progress, shared by every caller that arrives meanwhile. */
  #connecting: Promise<Catalog> | null = null

  constructor(store: ObjectStore, connect: () => Promise<Catalog>) {
    this.store = store
    this.#connect = connect
  }

  /** The connected catalog; one attempt at a time, a failed one is tried again by the next caller. */
  connected(): Promise<Catalog> {
    if (this.#catalog !== null) return Promise.resolve(this.#catalog)
    this.#connecting ??= this.#connect().then(
      (catalog) => {
        this.#catalog = catalog
        return catalog
      },
    ).finally(() => {
      this.#connecting = null
    })
    return this.#connecting
  }

  /** Table files live under the same key in every catalog (namespace/table in the store). */
  tableKey(id: TableIdentifier): string {
    return `${id.namespace}/${id.name}`
  }

  async loadTable(id: TableIdentifier, known?: LoadedTable): Promise<LoadedTable | null> {
    return (await this.connected()).loadTable(id, known)
  }

  async commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable> {
    return (await this.connected()).commit(id, base, metadata)
  }

  async listTables(namespace: string): Promise<string[]> {
    return (await this.connected()).listTables(namespace)
  }
}
