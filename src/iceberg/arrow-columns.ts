// Columns of a decoded record batch read straight from Arrow's buffers (values, offsets, validity
// bits), for the loops that walk every row of a data file (cold reads, compaction's rewrite): a
// Vector.get per value costs several times as much (chunk search, objects per call).
import type { Data, RecordBatch } from 'apache-arrow'
import { ZombiError } from '../errors.ts'

/** A binary or string column as Arrow lays it out: value i is values[offsets[i]..offsets[i+1]). */
export interface BinaryColumn {
  offsets: Int32Array
  values: Uint8Array
  /** Validity bits (1 = present), indexed from `bitOffset`; null when nothing is null. */
  validity: Uint8Array | null
  bitOffset: number
}

/** The column `name` of a batch (undefined when the file has none). */
export function childData(batch: RecordBatch, name: string): Data | undefined {
  const index = batch.schema.fields.findIndex((field) => field.name === name)
  return index < 0 ? undefined : batch.data.children[index]
}

function invalid(what: string): ZombiError {
  return new ZombiError('ICEBERG_METADATA_INVALID', `a data file column ${what}`)
}

/** A binary or string column (null when `data` is undefined). */
export function binaryColumn(data: Data | undefined): BinaryColumn | null {
  if (data === undefined) return null
  const offsets = data.valueOffsets as unknown
  if (!(offsets instanceof Int32Array)) throw invalid(`of type ${String(data.type)} is not a binary column with 32-bit offsets`)
  return { offsets, values: data.values as Uint8Array, validity: data.nullCount > 0 ? data.nullBitmap ?? null : null, bitOffset: data.offset }
}

/** The values of a fixed-width column of the batch (Int32Array for int and date columns, BigInt64Array for longs and timestamps). */
export function fixedValues<T extends BigInt64Array | Int32Array>(batch: RecordBatch, name: string, type: new (...args: never[]) => T): T {
  const values = childData(batch, name)?.values as unknown
  if (!(values instanceof type)) throw invalid(`${name} is missing or not held in a ${type.name}`)
  return values
}

/** Whether value `bit` of a column with these validity bits is present. */
export function present(validity: Uint8Array | null, bit: number): boolean {
  return validity === null || (validity[bit >> 3]! & (1 << (bit & 7))) !== 0
}

/** Value `row` of a boolean column (false when null). */
export function booleanAt(data: Data | undefined, row: number): boolean {
  if (data === undefined) return false
  const bit = data.offset + row
  return present(data.nullCount > 0 ? data.nullBitmap ?? null : null, bit) && ((data.values as Uint8Array)[bit >> 3]! & (1 << (bit & 7))) !== 0
}

/** Value `row` of a binary column as a Buffer over the decoded data (no copy), or null. */
export function bytesAt(column: BinaryColumn | null, row: number): Buffer | null {
  if (column === null || !present(column.validity, column.bitOffset + row)) return null
  const start = column.offsets[row]!
  return Buffer.from(column.values.buffer, column.values.byteOffset + start, column.offsets[row + 1]! - start)
}
