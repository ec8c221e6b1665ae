// Reads a table back through its own metadata (manifest list -> manifests -> Parquet) for unit
// tests; the end-to-end tests use DuckDB and pyiceberg instead.
import { tableFromIPC } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.ts'
import { decodeManifest, decodeManifestList, type ManifestEntryRecord } from '../../src/iceberg/avro.ts'
import { currentSnapshot, type TableMetadata } from '../../src/iceberg/metadata.ts'

export interface Row {
  partition: number
  sequence: number
  timestampMs: number
  key: string | null
  payload: string
  valueIsNull: boolean
  headers: Array<[string, string | null]>
}

async function read(catalog: Catalog, location: string): Promise<Buffer> {
  const bytes = await catalog.store.get(catalog.store.keyOf(location)!)
  if (bytes === null) throw new Error(`${location} missing`)
  return bytes
}

export async function dataFiles(catalog: Catalog, metadata: TableMetadata, snapshotId?: bigint): Promise<ManifestEntryRecord[]> {
  const snapshot = snapshotId === undefined ? currentSnapshot(metadata) : metadata.snapshots.find((s) => s['snapshot-id'] === snapshotId)
  if (snapshot === undefined) return []
  const entries: ManifestEntryRecord[] = []
  for (const manifest of await decodeManifestList(await read(catalog, snapshot['manifest-list']))) {
    entries.push(...(await decodeManifest(await read(catalog, manifest.manifest_path))).entries)
  }
  return entries
}

export async function readTable(catalog: Catalog, id: TableIdentifier): Promise<Row[]> {
  const loaded = await catalog.loadTable(id)
  if (loaded === null) return []
  const rows: Row[] = []
  for (const entry of await dataFiles(catalog, loaded.metadata)) {
    // A file a replace (compaction) deleted is no longer part of the table.
    if (entry.status === 2) continue
    const table = tableFromIPC(parquet.readParquet(await read(catalog, entry.data_file.file_path)).intoIPCStream())
    for (const row of table) {
      const value = row.toJSON() as Record<string, unknown>
      const headers = value.headers as { toArray(): Array<{ key: string; value: Uint8Array | null }> } | null
      rows.push({
        partition: value.partition as number,
        sequence: Number(value.sequence as bigint),
        timestampMs: Number(value.timestamp_ms as bigint),
        key: value.key === null ? null : Buffer.from(value.key as Uint8Array).toString(),
        payload: Buffer.from(value.payload as Uint8Array).toString(),
        valueIsNull: value.value_is_null as boolean,
        headers: (headers?.toArray() ?? []).map((header) => [String(header.key), header.value === null ? null : Buffer.from(header.value).toString()]),
      })
    }
  }
  return rows.sort((a, b) => a.partition - b.partition || a.sequence - b.sequence)
}
