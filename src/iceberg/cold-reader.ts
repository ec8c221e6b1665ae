// Reads records of a topic back from its Iceberg table, for records that hot retention removed
// from the hot log (HTTP `stream` below the log start offset, `GET /tables/{t}?since`). Light
// queries: data files are pruned with the manifests' column bounds (partition, sequence,
// timestamp_ms) and only the files that can hold wanted rows are read.
import { tableFromIPC, type RecordBatch } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import type { Catalog } from '../catalog/catalog.ts'
import { ZombiError } from '../errors.ts'
import { binaryColumn, booleanAt, bytesAt, childData, fixedValues } from './arrow-columns.ts'
import { decodeManifest, decodeManifestList, type DataFileRecord, type IntMapEntry } from './avro.ts'
import { decodeIntBound, decodeLongBound } from './bounds.ts'
import { currentSnapshot, fileOfTopic } from './metadata.ts'
import { footerOf, rowGroupRanges } from './parquet-footer.ts'
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
  /**
   * Also every other wanted row of the row groups decoded to reach limit or maxBytes, up to the lowest
   * offset left unread (so they stay contiguous): a caller that caches what it reads saves decoding
   * those row groups again for its next read.
   */
  wholeRowGroups?: boolean
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

/**
 * Appends the rows of one decoded record batch that the query wants to `out`, reading Arrow's
 * buffers directly (per-value Vector.get costs ~10 times as much on a replay).
 */
function rowsOf(batch: RecordBatch, query: ColdQuery, out: ColdRecord[]): void {
  const sequence = fixedValues(batch, 'sequence', BigInt64Array)
  const partition = fixedValues(batch, 'partition', Int32Array)
  const timestampMs = fixedValues(batch, 'timestamp_ms', BigInt64Array)
  const payload = binaryColumn(childData(batch, 'payload'))
  const key = binaryColumn(childData(batch, 'key'))
  const nullValues = childData(batch, 'value_is_null')
  const headers = childData(batch, 'headers')
  // headers: list<struct<key: string, value: binary>>; the struct's children hold every header of the batch.
  const headerOffsets = headers?.valueOffsets as Int32Array | undefined
  const headerStruct = headers?.children[0]
  const headerKey = binaryColumn(headerStruct?.children[0])
  const headerValue = binaryColumn(headerStruct?.children[1])
  for (let row = 0; row < batch.numRows; row++) {
    if (partition[row] !== query.partition) continue
    const offset = Number(sequence[row]!)
    if (offset < query.fromOffset || offset >= query.toOffset) continue
    const timestamp = Number(timestampMs[row]!)
    if (query.sinceMs !== undefined && timestamp < query.sinceMs) continue
    const isNull = booleanAt(nullValues, row)
    const recordHeaders: ColdRecord['headers'] = []
    if (headerOffsets !== undefined && headerKey !== null) {
      for (let h = headerOffsets[row]!; h < headerOffsets[row + 1]!; h++) {
        const start = headerKey.offsets[h]!
        recordHeaders.push({
          key: Buffer.from(headerKey.values.buffer, headerKey.values.byteOffset + start, headerKey.offsets[h + 1]! - start).toString('utf8'),
          value: bytesAt(headerValue, h),
        })
      }
    }
    out.push({
      partition: query.partition,
      offset,
      timestampMs: timestamp,
      key: bytesAt(key, row),
      value: isNull ? null : bytesAt(payload, row) ?? Buffer.alloc(0),
      headers: recordHeaders,
    })
  }
}

/** A unit of decoding: one row group (index), or the whole file (null) when it has no statistics to choose by. */
interface RowGroupRead {
  index: number | null
  lowestOffset: number
}

/** The row groups whose partition and sequence statistics may hold rows the query wants, lowest offsets first. */
function wantedRowGroups(bytes: Uint8Array, query: ColdQuery): RowGroupRead[] {
  const footer = footerOf(bytes)
  if (footer === null) return [{ index: null, lowestOffset: 0 }]
  const partitions = rowGroupRanges(footer, FieldId.partition)
  const sequences = rowGroupRanges(footer, FieldId.sequence)
  const groups: RowGroupRead[] = []
  for (let i = 0; i < partitions.length; i++) {
    const partition = partitions[i]!
    const sequence = sequences[i]!
    if (partition.min !== null && partition.min > query.partition) continue
    if (partition.max !== null && partition.max < query.partition) continue
    if (sequence.min === null) return [{ index: null, lowestOffset: 0 }]
    if (sequence.min >= query.toOffset) continue
    if (sequence.max !== null && sequence.max < query.fromOffset) continue
    groups.push({ index: i, lowestOffset: sequence.min })
  }
  return groups.sort((a, b) => a.lowestOffset - b.lowestOffset)
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
    // Files are read lowest first and, within a file, row groups lowest first: once the wanted rows lie
    // below the lowest offset not read yet, nothing unread can change them.
    let unread = Infinity
    reading: for (let i = 0; i < candidates.length; i++) {
      const bytes = await this.#get(candidates[i]!.path)
      const groups = wantedRowGroups(bytes, query)
      const nextFile = candidates[i + 1]?.lowestOffset ?? Infinity
      for (let g = 0; g < groups.length; g++) {
        const group = groups[g]!
        const table = tableFromIPC(parquet.readParquet(bytes, { columns: READ_COLUMNS, ...(group.index === null ? {} : { rowGroups: [group.index] }) }).intoIPCStream())
        for (const batch of table.batches) rowsOf(batch, query, records)
        records.sort((a, b) => a.offset - b.offset)
        const count = wanted(records, query)
        if (count === query.limit || count < records.length) {
          unread = Math.min(groups[g + 1]?.lowestOffset ?? Infinity, nextFile)
          if (records[count - 1]!.offset < unread) break reading
        }
      }
      unread = Infinity
    }
    records.sort((a, b) => a.offset - b.offset)
    if (query.wholeRowGroups !== true) return records.slice(0, wanted(records, query))
    // Every row read, up to the lowest offset not read (rows past it may have gaps that unread rows fill).
    let end = records.length
    while (end > 0 && records[end - 1]!.offset >= unread) end--
    return end === records.length ? records : records.slice(0, end)
  }

  async #get(location: string): Promise<Buffer> {
    const store = this.#catalog.store
    const key = store.keyOf(location)
    const bytes = key === null ? null : await store.get(key)
    if (bytes === null) throw new ZombiError('ICEBERG_FILE_MISSING', `Iceberg file ${location} is missing`)
    return bytes
  }
}
