import { afterEach, expect, test } from 'vitest'
import { tableFromIPC } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { footerOf, rowGroupRanges } from '../../src/iceberg/parquet-footer.ts'
import { runRewriteJob } from '../../src/iceberg/rewrite.ts'
import { FieldId } from '../../src/iceberg/schema.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { encodeInMemory } from './encode-in-memory.ts'

const base = Date.UTC(2024, 0, 31, 23, 0)
const pools: EncodePool[] = []
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close()
})

/** The Parquet file a flush writes of `count` records of `partition` from `fromOffset`, in row groups of about `rowGroupBytes`. */
async function flushedFile(partition: number, fromOffset: number, count: number, valueBytes: number, rowGroupBytes: number): Promise<Uint8Array> {
  const batches: Buffer[] = []
  for (let start = 0; start < count; start += 1000) {
    const records = Array.from({ length: Math.min(1000, count - start) }, (_, i) => {
      const offset = fromOffset + start + i
      // Repetitive values: the file compresses to a small share of what it holds decoded.
      return { key: Buffer.from(`k${offset % 10}`), value: Buffer.alloc(valueBytes, `p${partition}-o${offset}|`), timestamp: base + offset }
    })
    batches.push(encodeBatch(records, { baseOffset: fromOffset + start }))
  }
  const result = await encodeInMemory({ topic: 't', partition, fromOffset, batches: Buffer.concat(batches), maxRowBytes: 1 << 30, targetFileBytes: 1 << 30, rowGroupBytes })
  expect(result.files).toHaveLength(1)
  return result.files[0]!.bytes
}

function rowGroupsOf(file: Uint8Array): number {
  return rowGroupRanges(footerOf(file)!, FieldId.sequence).length
}

test('inputs of many row groups are read whole: every row is carried, in Kafka partition then sequence order', async () => {
  const inputs = [await flushedFile(1, 0, 3000, 100, 64 << 10), await flushedFile(0, 0, 2000, 100, 64 << 10), await flushedFile(1, 3000, 1000, 100, 64 << 10)]
  expect(inputs.map(rowGroupsOf).every((groups) => groups > 2)).toBe(true)
  const chunks: Uint8Array[] = []
  const result = await runRewriteJob({ kind: 'rewrite', topic: 't', inputs }, { beginFile() {}, write: (chunk) => void chunks.push(chunk), endFile() {} })
  expect(result.rows).toBe(6000)
  const table = tableFromIPC(parquet.readParquet(Buffer.concat(chunks)).intoIPCStream())
  const rows = Array.from({ length: table.numRows }, (_, row) => [table.getChild('partition')!.get(row) as number, Number(table.getChild('sequence')!.get(row) as bigint)])
  expect(rows).toEqual([...Array.from({ length: 2000 }, (_, i) => [0, i]), ...Array.from({ length: 4000 }, (_, i) => [1, i])])
  const payload = table.getChild('payload')!
  expect(Buffer.from(payload.get(2000) as Uint8Array).toString()).toBe(Buffer.alloc(100, 'p1-o0|').toString())
  expect(Buffer.from(payload.get(5999) as Uint8Array).toString()).toBe(Buffer.alloc(100, 'p1-o3999|').toString())
})

test('a rewrite decodes one row group of its input at a time: the worker\'s wasm memory stays below the input decoded whole', async () => {
  // 40,000 records of 1 KiB in 1 MiB row groups: ~40 MiB decoded, a small share of that as a file.
  const input = await flushedFile(0, 0, 40_000, 1024, 1 << 20)
  expect(input.length).toBeLessThan(8 << 20)
  expect(rowGroupsOf(input)).toBeGreaterThan(30)
  const pool = new EncodePool(1)
  pools.push(pool)
  const run = pool.run({ kind: 'rewrite', topic: 't', inputs: [input], rowGroupBytes: 1 << 20 })
  const file = await run.nextFile()
  let bytes = 0
  for await (const chunk of file!.chunks()) bytes += chunk.length
  expect(await run.nextFile()).toBeNull()
  expect(file!.file.recordCount).toBe(40_000)
  expect(bytes).toBe(file!.file.sizeBytes)
  await run.settled
  // Decoded whole, the input alone would take ~40 MiB of wasm memory, and as much again for its IPC stream.
  expect(pool.memory().wasmBytes).toBeLessThan(32 << 20)
})
