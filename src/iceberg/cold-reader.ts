// Reads records of a topic back from its Iceberg table, for records that hot retention removed
// from the hot log (HTTP `stream` below the log start offset, `GET /tables/{t}?since`). Light
// queries: data files are pruned with the manifests' column bounds (partition, sequence,
// timestamp_ms) and only the files that can hold wanted rows are read.
import { tableFromIPC, type Table, type Vector } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import type { Catalog } from '../catalog/catalog.ts'
import { ZombiError } from '../errors.ts'
import { decodeManifest, decodeManifestList, type DataFileRecord, type IntMapEntry } from './avro.ts'
import { decodeIntBound, decodeLongBound } from './bounds.ts'
import { currentSnapshot, fileOfTopic } from './metadata.ts'
import { FieldId } from './schema.ts'

export interface ColdRecord {
  partition: number
  offset: number
  timestampMs: number
  key: Buffer | null
  /** null for a Kafka record with a null value. */
  value: Buffer | null
  headers: Array<{ key: string; value: Buffer | null }>
}

export interface ColdQuery {
  /** The topic id whose snapshots count (a recreated topic may share the table). */
  topicId: string
  partition: number
  /** Offsets in [fromOffset, toOffset). */
  fromOffset: number
  toOffset: number
  /** Only records with timestamp_ms >= this. */
  sinceMs?: number
  /** At most this many records, the lowest offsets first. */
  limit: number
  /** Stop once the records' keys, values and headers reach this many bytes (at least one record comes back). */
  maxBytes?: number
}

/** The columns a record is rebuilt from: the rest (topic, dates, idempotency key, timestamp) are never read back. */
const READ_COLUMNS = ['sequence', 'partition', 'timestamp_ms', 'payload', 'key', 'headers', 'value_is_null']

/** Bytes a record's key, value and headers hold (what maxBytes counts). */
export function recordBytes(record: ColdRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0)
  for (const header of record.headers) bytes += header.key.length + (header.value?.length ?? 0)
  return bytes
}

/** How many of the sorted records a query takes: `limit`, or fewer once they reach `maxBytes`. */
function wanted(records: readonly ColdRecord[], query: ColdQuery): number {
  const count = Math.min(records.length, query.limit)
  if (query.maxBytes === undefined) return count
  let bytes = 0
  for (let i = 0; i < count; i++) {
    bytes += recordBytes(records[i]!)
    if (bytes >= query.maxBytes) return i + 1
  }
  return count
}

interface Candidate {
  path: string
  lowestOffset: number
}

function bound(bounds: Array<IntMapEntry<Buffer>> | null, fieldId: number): Buffer | undefined {
  return bounds?.find((entry) => entry.key === fieldId)?.value
}

/** Whether a data file's bounds say it may hold rows the query wants (missing bounds: maybe). */
function mayMatch(file: DataFileRecord, query: ColdQuery): { match: boolean; lowestOffset: number } {
  const lowerPartition = bound(file.lower_bounds, FieldId.partition)
  const upperPartition = bound(file.upper_bounds, FieldId.partition)
  if (lowerPartition !== undefined && decodeIntBound(lowerPartition) > query.partition) return { match: false, lowestOffset: 0 }
  if (upperPartition !== undefined && decodeIntBound(upperPartition) < query.partition) return { match: false, lowestOffset: 0 }
  const lowerSequence = bound(file.lower_bounds, FieldId.sequence)
  const upperSequence = bound(file.upper_bounds, FieldId.sequence)
  const lowestOffset = lowerSequence === undefined ? 0 : Number(decodeLongBound(lowerSequence))
  if (lowestOffset >= query.toOffset) return { match: false, lowestOffset }
  if (upperSequence !== undefined && Number(decodeLongBound(upperSequence)) < query.fromOffset) return { match: false, lowestOffset }
  const upperTimestamp = bound(file.upper_bounds, FieldId.timestampMs)
  if (query.sinceMs !== undefined && upperTimestamp !== undefined && Number(decodeLongBound(upperTimestamp)) < query.sinceMs) return { match: false, lowestOffset }
  return { match: true, lowestOffset }
}

function bytesAt(vector: Vector | null, row: number): Buffer | null {
  const value = vector?.get(row) as Uint8Array | null | undefined
  return value === null || value === undefined ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

interface HeaderStruct {
  key: string
  value: Uint8Array | null
}

function rowsOf(table: Table, query: ColdQuery, out: ColdRecord[]): void {
  const sequence = table.getChild('sequence')!
  const partition = table.getChild('partition')!
  const timestampMs = table.getChild('timestamp_ms')!
  const payload = table.getChild('payload')
  const key = table.getChild('key')
  const headers = table.getChild('headers')
  const valueIsNull = table.getChild('value_is_null')
  for (let row = 0; row < table.numRows; row++) {
    if (partition.get(row) !== query.partition) continue
    const offset = Number(sequence.get(row) as bigint)
    if (offset < query.fromOffset || offset >= query.toOffset) continue
    const timestamp = Number(timestampMs.get(row) as bigint)
    if (query.sinceMs !== undefined && timestamp < query.sinceMs) continue
    const headerList = headers?.get(row) as { toArray(): HeaderStruct[] } | null | undefined
    out.push({
      partition: query.partition,
      offset,
      timestampMs: timestamp,
      key: bytesAt(key, row),
      value: valueIsNull?.get(row) === true ? null : bytesAt(payload, row) ?? Buffer.alloc(0),
      headers: (headerList?.toArray() ?? []).map((header) => ({
        key: String(header.key),
        value: header.value === null ? null : Buffer.from(header.value.buffer, header.value.byteOffset, header.value.byteLength),
      })),
    })
  }
}

export class ColdReader {
  readonly #catalog: Catalog
  readonly #namespace: string

  constructor(catalog: Catalog, namespace: string) {
    this.#catalog = catalog
    this.#namespace = namespace
  }

  /** Records of one partition from the table, ascending by offset; [] when there is no table. */
  async read(table: string, query: ColdQuery): Promise<ColdRecord[]> {
    if (query.limit <= 0 || query.fromOffset >= query.toOffset) return []
    const loaded = await this.#catalog.loadTable({ namespace: this.#namespace, name: table })
    if (loaded === null) return []
    const snapshot = currentSnapshot(loaded.metadata)
    if (snapshot === undefined) return []
    // Files of this topic id only: a recreated topic starts its offsets again.
    const ofTopic = fileOfTopic(loaded.metadata, query.topicId)
    const candidates: Candidate[] = []
    for (const manifest of await decodeManifestList(await this.#get(snapshot['manifest-list']))) {
      for (const entry of (await decodeManifest(await this.#get(manifest.manifest_path))).entries) {
        if (entry.status === 2 || !ofTopic(entry.snapshot_id)) continue
        const { match, lowestOffset } = mayMatch(entry.data_file, query)
        if (match) candidates.push({ path: entry.data_file.file_path, lowestOffset })
      }
    }
    candidates.sort((a, b) => a.lowestOffset - b.lowestOffset)
    const records: ColdRecord[] = []
    for (let i = 0; i < candidates.length; i++) {
      const bytes = await this.#get(candidates[i]!.path)
      rowsOf(tableFromIPC(parquet.readParquet(bytes, { columns: READ_COLUMNS }).intoIPCStream()), query, records)
      // Files are read lowest first: once the wanted rows lie below the next file's lowest offset, no later file can change them.
      records.sort((a, b) => a.offset - b.offset)
      const count = wanted(records, query)
      if (count === query.limit || count < records.length) {
        const next = candidates[i + 1]
        if (next === undefined || records[count - 1]!.offset < next.lowestOffset) break
      }
    }
    records.sort((a, b) => a.offset - b.offset)
    return records.slice(0, wanted(records, query))
  }

  async #get(location: string): Promise<Buffer> {
    const store = this.#catalog.store
    const key = store.keyOf(location)
    const bytes = key === null ? null : await store.get(key)
    if (bytes === null) throw new ZombiError('ICEBERG_FILE_MISSING', `Iceberg file ${location} is missing`)
    return bytes
  }
}
