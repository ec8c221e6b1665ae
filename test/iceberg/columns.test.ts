import { tableFromIPC } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import { expect, it } from 'vitest'
import { encodeInMemory } from './encode-in-memory.ts'
import { Compression } from '../../src/protocol/compression.ts'
import { IDEMPOTENCY_KEY } from '../../src/protocol/record-cursor.ts'
import { decodeBatch } from '../../src/protocol/records.ts'
import { ESCAPED_HEADER_KEYS, edgeCaseBatch } from '../protocol/edge-case-batch.ts'

interface Comparable {
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: Array<[string, string | null]>
}

const hex = (bytes: Uint8Array | null): string | null => (bytes === null ? null : Buffer.from(bytes).toString('hex'))

/** The records as the HTTP door reads them (decodeBatch). */
function fromDecodeBatch(batch: Buffer): Comparable[] {
  return decodeBatch(batch).records.map((record) => ({
    offset: record.offset,
    timestamp: record.timestamp,
    key: hex(record.key),
    value: hex(record.value),
    headers: record.headers.map((header) => [header.key, hex(header.value)]),
  }))
}

/** The same records as the flusher writes them into the table's Parquet files. */
async function fromTable(batch: Buffer): Promise<{ records: Comparable[]; idempotencyKeys: unknown[] }> {
  const result = await encodeInMemory({ topic: 't', partition: 0, fromOffset: 0, batches: batch, maxRowBytes: 1 << 30, targetFileBytes: 1 << 27 })
  const rows = result.files
    .flatMap((file) => [...tableFromIPC(parquet.readParquet(file.bytes).intoIPCStream())].map((row) => row.toJSON() as Record<string, unknown>))
    .sort((a, b) => Number(a.sequence as bigint) - Number(b.sequence as bigint))
  const records = rows.map((row) => ({
    offset: Number(row.sequence as bigint),
    timestamp: Number(row.timestamp_ms as bigint),
    key: hex(row.key as Uint8Array | null),
    value: row.value_is_null === true ? null : hex(row.payload as Uint8Array),
    headers: ((row.headers as { toArray(): Array<{ key: string; value: Uint8Array | null }> } | null)?.toArray() ?? [])
      .map((header): [string, string | null] => [header.key, hex(header.value)]),
  }))
  return { records, idempotencyKeys: rows.map((row) => row[IDEMPOTENCY_KEY]) }
}

it.each(Object.entries(Compression))('the HTTP reads and the Iceberg columns decode one batch alike, edge cases included (%s)', async (_name, codec) => {
  const batch = edgeCaseBatch(codec)
  const table = await fromTable(batch)
  const http = fromDecodeBatch(batch)
  expect(table.records).toEqual(http)
  // The comparison covers the cases that used to differ: clamped timestamps and escaped header keys.
  expect(http.flatMap((record) => record.headers.map(([key]) => key)).filter((key) => key.includes('\\x'))).toEqual(ESCAPED_HEADER_KEYS)
  expect(new Set(http.map((record) => record.timestamp)).size).toBe(3)
  expect(table.idempotencyKeys).toEqual(['order-1', null, null])
})
