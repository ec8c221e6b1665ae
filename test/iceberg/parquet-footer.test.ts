import { expect, test } from 'vitest'
import * as parquet from 'parquet-wasm/node'
import { FieldId, LEAF_COLUMNS } from '../../src/iceberg/schema.ts'
import { StreamTail, columnSizes, footerOf, rowGroupRanges } from '../../src/iceberg/parquet-footer.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { encodeInMemory } from './encode-in-memory.ts'

const base = Date.UTC(2024, 0, 31, 23, 5)

async function encodedFile() {
  const records = Array.from({ length: 500 }, (_, i) => ({
    key: i % 10 === 0 ? null : Buffer.from(`key-${String(i).padStart(4, '0')}-${'k'.repeat(i % 30)}`),
    value: Buffer.from(`value ${i} ${'v'.repeat(i % 50)}`),
    timestamp: base + i,
    headers: [{ key: 'h', value: Buffer.from(String(i)) }],
  }))
  const result = await encodeInMemory({
    topic: 'a-topic-name-longer-than-sixteen-characters', partition: 2, fromOffset: 0, batches: encodeBatch(records, { baseOffset: 0 }),
    maxRowBytes: 1 << 30, targetFileBytes: 1 << 27, rowGroupBytes: 4096,
  })
  expect(result.files).toHaveLength(1)
  return result.files[0]!
}

test('column sizes are the compressed sizes of every leaf column summed over the row groups, as the Parquet metadata says', async () => {
  const file = await encodedFile()
  const metadata = (await parquet.ParquetFile.fromFile(new Blob([file.bytes]))).metadata()
  expect(metadata.numRowGroups()).toBeGreaterThan(1)
  const expected = new Map<number, number>()
  for (const rowGroup of metadata.rowGroups()) {
    for (const column of rowGroup.columns()) {
      const leaf = LEAF_COLUMNS.find((candidate) => candidate.path === column.columnPath().join('.'))!
      expected.set(leaf.id, (expected.get(leaf.id) ?? 0) + column.compressedSize())
    }
  }
  expect(new Map(file.metrics.columnSizes)).toEqual(expected)
  expect(file.metrics.columnSizes.map(([id]) => id)).toEqual(LEAF_COLUMNS.map((leaf) => leaf.id).sort((a, b) => a - b))
  // The same from the footer alone, as kept from the tail of the stream.
  const tail = new StreamTail(64 * 1024)
  for (let at = 0; at < file.bytes.length; at += 1000) tail.add(file.bytes.subarray(at, at + 1000))
  expect(columnSizes(footerOf(tail.bytes)!)).toEqual(expected)
  expect(footerOf(file.bytes.subarray(file.bytes.length - 100))).toBeNull()
})

test('key, payload and topic bounds are truncated to 16 bytes; null keys count as nulls, not as bounds', async () => {
  const file = await encodedFile()
  const lower = new Map(file.metrics.lowerBounds.map(([id, value]) => [id, Buffer.from(value).toString('latin1')]))
  const upper = new Map(file.metrics.upperBounds.map(([id, value]) => [id, Buffer.from(value).toString('latin1')]))
  expect(lower.get(FieldId.key)).toBe('key-0001-k')
  expect(upper.get(FieldId.key)).toBe('key-0499-kkkkkkl')
  expect(lower.get(FieldId.payload)).toBe('value 0 ')
  expect(upper.get(FieldId.payload)).toBe('value 99 vvvvvvw')
  expect(lower.get(FieldId.topic)).toBe('a-topic-name-lon')
  expect(upper.get(FieldId.topic)).toBe('a-topic-name-loo')
  expect(lower.has(FieldId.idempotencyKey)).toBe(false)
  expect(new Map(file.metrics.nullValueCounts).get(FieldId.key)).toBe(50)
})

test('row group ranges of sequence and partition come from the footer statistics, one per row group in file order', async () => {
  const file = await encodedFile()
  const metadata = (await parquet.ParquetFile.fromFile(new Blob([file.bytes]))).metadata()
  const footer = footerOf(file.bytes)!
  const sequences = rowGroupRanges(footer, FieldId.sequence)
  expect(sequences.map((range) => range.rows)).toEqual(metadata.rowGroups().map((group) => group.numRows()))
  // Rows are in offset order: each row group covers the offsets after the previous one's.
  let next = 0
  for (const range of sequences) {
    expect(range).toEqual({ rows: range.rows, min: next, max: next + range.rows - 1 })
    next += range.rows
  }
  expect(next).toBe(500)
  expect(rowGroupRanges(footer, FieldId.partition).every((range) => range.min === 2 && range.max === 2)).toBe(true)
  expect(rowGroupRanges(footer, 999).every((range) => range.min === null && range.max === null)).toBe(true)
})
