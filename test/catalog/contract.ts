// The contract every Iceberg catalog passes (filesystem; the REST client against Iceberg's reference
// server). `open()` gives a catalog over an empty warehouse. Commits mark themselves with a table
// property, not a timestamp or a new uuid: a REST server keeps its own last-updated-ms and refuses to
// change a table's uuid, while a property is what any catalog stores as given.
import { describe, expect, it } from 'vitest'
import { type Catalog, type LoadedTable, type TableIdentifier } from '../../src/catalog/catalog.ts'
import { newSnapshotId, newTableMetadata, withAppendedSnapshot, withValueField, type TableMetadata } from '../../src/iceberg/metadata.ts'
import type { IcebergField } from '../../src/iceberg/typed-schema.ts'

export function catalogContract(name: string, open: () => Promise<Catalog>): void {
  describe(`${name} catalog contract`, () => {
    const orders: TableIdentifier = { namespace: 'zombi', name: 'orders' }

    const MARK = 'zombi.test.mark'

    function metadataFor(catalog: Catalog, id: TableIdentifier, mark = 1): TableMetadata {
      return newTableMetadata(catalog.store.location(catalog.tableKey(id)), { [MARK]: String(mark) }, 1)
    }

    /**
     * The table's metadata moved on from `base` as Zombi's commits move it, by a snapshot (its
     * manifest list need not exist for a catalog), marked `mark`.
     */
    function moved(base: LoadedTable, mark: number): TableMetadata {
      const marked = { ...base.metadata, properties: { ...base.metadata.properties, [MARK]: String(mark) } }
      const manifestList = `${base.metadata.location}/metadata/snap-${mark}.avro`
      return withAppendedSnapshot(marked, { snapshotId: newSnapshotId(), sequenceNumber: base.metadata['last-sequence-number'] + 1n, manifestList, summary: { operation: 'append' }, timestampMs: Date.now() }, base.metadataLocation)
    }

    const markOf = (loaded: LoadedTable | null): string | undefined => loaded?.metadata.properties[MARK]

    async function created(catalog: Catalog, id = orders): Promise<LoadedTable> {
      return catalog.commit(id, null, metadataFor(catalog, id))
    }

    it('loads a table that does not exist as null', async () => {
      const catalog = await open()
      expect(await catalog.loadTable(orders)).toBeNull()
      expect(await catalog.listTables('zombi')).toEqual([])
    })

    it('creates a table with a commit from no base and loads back the committed metadata', async () => {
      const catalog = await open()
      const metadata = metadataFor(catalog, orders)
      const committed = await catalog.commit(orders, null, metadata)
      const loaded = (await catalog.loadTable(orders))!
      expect(loaded.metadata['table-uuid']).toBe(metadata['table-uuid'])
      expect(loaded.metadata.location).toBe(metadata.location)
      expect([loaded.version, loaded.metadataLocation]).toEqual([committed.version, committed.metadataLocation])
    })

    it('keeps each commit\'s metadata in its own file in the table\'s store, named *.metadata.json', async () => {
      const catalog = await open()
      const first = await created(catalog)
      const second = await catalog.commit(orders, first, moved(first, 2))
      expect(second.metadataLocation).not.toBe(first.metadataLocation)
      for (const { metadataLocation } of [first, second]) {
        expect(metadataLocation).toMatch(/\.metadata\.json$/)
        const key = catalog.store.keyOf(metadataLocation)
        expect(key).not.toBeNull()
        expect(key!.startsWith(`${catalog.tableKey(orders)}/`)).toBe(true)
        expect(await catalog.store.exists(key!)).toBe(true)
      }
    })

    it('moves the table on with a commit from its current state', async () => {
      const catalog = await open()
      const first = await created(catalog)
      const second = await catalog.commit(orders, first, moved(first, 2))
      expect(second.version).not.toBe(first.version)
      expect(markOf(second)).toBe('2')
      const loaded = (await catalog.loadTable(orders))!
      expect(markOf(loaded)).toBe('2')
      expect(loaded.version).toBe(second.version)
    })

    it('refuses to create a table that exists, with CATALOG_COMMIT_CONFLICT, and changes nothing', async () => {
      const catalog = await open()
      const first = await created(catalog)
      await expect(catalog.commit(orders, null, metadataFor(catalog, orders, 9))).rejects.toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
      const loaded = (await catalog.loadTable(orders))!
      expect([loaded.version, markOf(loaded)]).toEqual([first.version, '1'])
    })

    it('refuses a commit from a stale base with CATALOG_COMMIT_CONFLICT and keeps the newer state', async () => {
      const catalog = await open()
      const first = await created(catalog)
      const second = await catalog.commit(orders, first, moved(first, 2))
      await expect(catalog.commit(orders, first, moved(first, 3))).rejects.toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
      expect((await catalog.loadTable(orders))!.metadataLocation).toBe(second.metadataLocation)
    })

    it('lets exactly one of two commits racing from the same base win; the other conflicts', async () => {
      const catalog = await open()
      const first = await created(catalog)
      const results = await Promise.allSettled([2, 3].map((mark) => catalog.commit(orders, first, moved(first, mark))))
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r) => r.status === 'rejected')
      expect([won.length, lost.length]).toEqual([1, 1])
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
      const winner = (won[0] as PromiseFulfilledResult<LoadedTable>).value
      expect(markOf(await catalog.loadTable(orders))).toBe(markOf(winner))
    })

    it('lets exactly one of two creations of the same table win', async () => {
      const catalog = await open()
      const results = await Promise.allSettled([created(catalog), created(catalog)])
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      const lost = results.find((r) => r.status === 'rejected')!
      expect(lost.reason).toMatchObject({ code: 'CATALOG_COMMIT_CONFLICT' })
      const won = results.find((r) => r.status === 'fulfilled')!
      expect((await catalog.loadTable(orders))!.metadata['table-uuid']).toBe(won.value.metadata['table-uuid'])
    })

    it('returns the known state itself when the table has not moved on, and the new one when it has', async () => {
      const catalog = await open()
      const first = await created(catalog)
      expect(await catalog.loadTable(orders, first)).toBe(first)
      const second = await catalog.commit(orders, first, moved(first, 2))
      expect((await catalog.loadTable(orders, first))!.version).toBe(second.version)
    })

    it('lists the tables of a namespace, sorted, and only those', async () => {
      const catalog = await open()
      for (const id of [{ namespace: 'zombi', name: 'payments' }, orders, { namespace: 'zombi', name: 'orders.v2' }, { namespace: 'other', name: 'elsewhere' }]) await created(catalog, id)
      expect(await catalog.listTables('zombi')).toEqual(['orders', 'orders.v2', 'payments'])
      expect(await catalog.listTables('other')).toEqual(['elsewhere'])
      expect(await catalog.listTables('zom')).toEqual([])
    })

    it('keeps tables of the same name in different namespaces apart', async () => {
      const catalog = await open()
      const elsewhere = { namespace: 'other', name: 'orders' }
      await created(catalog)
      expect(await catalog.loadTable(elsewhere)).toBeNull()
      expect(catalog.tableKey(elsewhere)).not.toBe(catalog.tableKey(orders))
    })

    it('evolves a table\'s schema as typed tables do: a new schema made current, older ones kept, last-column-id raised', async () => {
      const catalog = await open()
      const first = await created(catalog)
      const v1: IcebergField = { id: 16, name: 'value', required: false, type: { type: 'struct', fields: [{ id: 17, name: 'n', required: true, type: 'int' }] } }
      const typed = await catalog.commit(orders, first, withValueField(moved(first, 2), v1, 17))
      const v2: IcebergField = { ...v1, type: { type: 'struct', fields: [{ id: 17, name: 'n', required: true, type: 'long' }, { id: 18, name: 'added', required: false, type: 'string' }] } }
      await catalog.commit(orders, typed, withValueField(moved(typed, 3), v2, 18))
      const loaded = (await catalog.loadTable(orders))!.metadata
      expect(loaded['last-column-id']).toBe(18)
      expect(loaded.schemas).toHaveLength(3)
      const current = loaded.schemas.find((schema) => Number((schema as { 'schema-id': number })['schema-id']) === loaded['current-schema-id']) as { fields: IcebergField[] }
      expect(current.fields.find((field) => field.name === 'value')).toEqual(v2)
      expect(current.fields).toHaveLength(13)
    })
  })
}
