import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { tableFromIPC } from 'apache-arrow'
import * as parquet from 'parquet-wasm/node'
import { encodeInMemory } from './encode-in-memory.ts'
import { ATTR_CONTROL } from '../../src/protocol/record-batch.ts'
import { encodeBatch } from '../../src/protocol/records.ts'

const hour = 3_600_000
const base = Date.UTC(2024, 0, 31, 23, 30)

function job(batches: Buffer[], fromOffset = 0, options: { maxRowBytes?: number; targetFileBytes?: number; rowGroupBytes?: number } = {}) {
  return encodeInMemory({
    topic: 't', partition: 4, fromOffset, batches: Buffer.concat(batches), maxRowBytes: options.maxRowBytes ?? 1 << 30,
    targetFileBytes: options.targetFileBytes ?? 1 << 27, rowGroupBytes: options.rowGroupBytes,
  })
}

function rowsOf(bytes: Uint8Array): Array<Record<string, unknown>> {
  return [...tableFromIPC(parquet.readParquet(bytes).intoIPCStream())].map((row) => row.toJSON() as Record<string, unknown>)
}

test('every codec decodes; rows are sorted by partition then sequence, one file per UTC hour (the first row\'s hour first)', async () => {
  const batches = [0, 1, 2, 3, 4].map((codec) => encodeBatch([
    { key: null, value: Buffer.from(`late ${codec}`), timestamp: base + hour },
    { key: Buffer.from('k'), value: Buffer.from(`early ${codec}`), timestamp: base },
  ], { baseOffset: codec * 2, compression: codec }))
  const result = await job(batches)
  expect(result.endOffset).toBe(10)
  expect(result.rows).toBe(10)
  // The job streams its first row's hour (the later one here), then writes the other hours' rows.
  expect(result.files.map((file) => [file.eventDate, file.eventHour, file.recordCount])).toEqual([
    [Math.floor(base / 86_400_000) + 1, 0, 5],
    [Math.floor(base / 86_400_000), 23, 5],
  ])
  const first = rowsOf(result.files[1]!.bytes)
  expect(first.map((row) => Number(row.sequence as bigint))).toEqual([1, 3, 5, 7, 9])
  const second = rowsOf(result.files[0]!.bytes)
  expect(second.map((row) => Number(row.sequence as bigint))).toEqual([0, 2, 4, 6, 8])
  expect(second.every((row) => row.event_hour === 0)).toBe(true)
})

test('records below fromOffset and control batches are not rows; endOffset covers them', async () => {
  const data = encodeBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }, { key: null, value: Buffer.from('c') }], { baseOffset: 0, baseTimestamp: base })
  const control = encodeBatch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], { baseOffset: 3, baseTimestamp: base, attributes: ATTR_CONTROL })
  const result = await job([data, control], 1)
  expect(result.endOffset).toBe(4)
  expect(rowsOf(result.files[0]!.bytes).map((row) => Buffer.from(row.payload as Uint8Array).toString())).toEqual(['b', 'c'])
})

test('a job stops after the batch that crosses maxRowBytes and says where', async () => {
  const batches = Array.from({ length: 10 }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(1000, 97), timestamp: base }], { baseOffset: i }))
  const result = await job(batches, 0, { maxRowBytes: 2500 })
  expect(result.endOffset).toBe(3)
  expect(result.rows).toBe(3)
})

test('a job of several partitions that reaches maxRowBytes leaves the parts it did not reach at their fromOffset', async () => {
  const batchesOf = (count: number, from: number): Buffer => Buffer.concat(Array.from({ length: count }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(1000, 97), timestamp: base }], { baseOffset: from + i })))
  const first = batchesOf(3, 10)
  const second = batchesOf(3, 0)
  const result = await encodeInMemory({
    topic: 't', batches: Buffer.concat([first, second]), maxRowBytes: 2500, targetFileBytes: 1 << 27,
    parts: [{ partition: 0, fromOffset: 10, batchBytes: first.length }, { partition: 1, fromOffset: 0, batchBytes: second.length }],
  })
  expect(result.endOffsets).toEqual([13, 0])
  expect(result.rows).toBe(3)
})

test('an hour bigger than the target file size is split into several files', async () => {
  const batches = Array.from({ length: 10 }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(1000, 97), timestamp: base + i }], { baseOffset: i }))
  const result = await job(batches, 0, { targetFileBytes: 3000 })
  expect(result.files.length).toBeGreaterThan(2)
  expect(result.files.reduce((sum, file) => sum + file.recordCount, 0)).toBe(10)
})

test('a file is written one row group at a time: several groups, every row in order, field ids and file metrics over all groups', async () => {
  // Two partitions given out of partition order, timestamps out of offset order: the sort spans the groups.
  const batchesOf = (offsets: number[]): Buffer => Buffer.concat(offsets.map((i) => encodeBatch([{ key: null, value: Buffer.alloc(1000, 97 + (i % 26)), timestamp: base + ((i * 7) % 50) }], { baseOffset: i })))
  const high = batchesOf(Array.from({ length: 25 }, (_, i) => i + 25))
  const low = batchesOf(Array.from({ length: 25 }, (_, i) => i))
  const result = await encodeInMemory({
    topic: 't', batches: Buffer.concat([high, low]), maxRowBytes: 1 << 30, targetFileBytes: 1 << 27, rowGroupBytes: 10_000,
    parts: [{ partition: 7, fromOffset: 25, batchBytes: high.length }, { partition: 3, fromOffset: 0, batchBytes: low.length }],
  })
  expect(result.files).toHaveLength(1)
  const [file] = result.files
  const parquetFile = await parquet.ParquetFile.fromFile(new Blob([file!.bytes]))
  expect(parquetFile.metadata().fileMetadata().numRows()).toBe(50)
  expect(parquetFile.metadata().numRowGroups()).toBeGreaterThanOrEqual(5)
  const table = tableFromIPC(parquet.readParquet(file!.bytes).intoIPCStream())
  expect(table.schema.fields.map((field) => field.metadata.get('PARQUET:field_id'))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '14', '15'])
  const rows = [...table].map((row) => row.toJSON() as Record<string, unknown>)
  expect(rows.map((row) => [row.partition, Number(row.sequence as bigint)])).toEqual(Array.from({ length: 50 }, (_, i) => [i < 25 ? 3 : 7, i]))
  expect(result.endOffsets).toEqual([50, 25])
  expect([file!.minOffset, file!.maxOffset, file!.recordCount]).toEqual([0, 49, 50])
  const bound = (bounds: Array<[number, Uint8Array]>, id: number): bigint => Buffer.from(bounds.find(([field]) => field === id)![1]).readBigInt64LE(0)
  expect([bound(file!.metrics.lowerBounds, 5), bound(file!.metrics.upperBounds, 5)]).toEqual([BigInt(base), BigInt(base + 49)])
  const intBound = (bounds: Array<[number, Uint8Array]>, id: number): number => Buffer.from(bounds.find(([field]) => field === id)![1]).readInt32LE(0)
  expect([intBound(file!.metrics.lowerBounds, 3), intBound(file!.metrics.upperBounds, 3)]).toEqual([3, 7])
  expect(file!.metrics.valueCounts.find(([field]) => field === 4)).toEqual([4, 50])
})

test('null values, null keys, empty values and headers with null values keep their meaning', async () => {
  const batch = encodeBatch([
    { key: null, value: null, headers: [{ key: 'h', value: null }, { key: 'h', value: Buffer.from('2') }], timestamp: base },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: base },
  ])
  const [file] = (await job([batch])).files
  const rows = rowsOf(file!.bytes)
  expect(rows[0]!.value_is_null).toBe(true)
  expect(rows[0]!.key).toBeNull()
  expect(rows[1]!.value_is_null).toBe(false)
  expect(Buffer.from(rows[1]!.key as Uint8Array).length).toBe(0)
  const nulls = Object.fromEntries(file!.metrics.nullValueCounts)
  expect(nulls).toMatchObject({ 9: 1, 13: 1, 6: 2 })
  expect(Object.fromEntries(file!.metrics.valueCounts)).toMatchObject({ 1: 2, 12: 2, 13: 2 })
})

test('the idempotency_key header the HTTP door writes fills the idempotency_key column', async () => {
  const batch = encodeBatch([
    { key: null, value: Buffer.from('a'), headers: [{ key: 'idempotency_key', value: Buffer.from('order-17') }], timestamp: base },
    { key: null, value: Buffer.from('b'), headers: [{ key: 'other', value: Buffer.from('x') }], timestamp: base },
  ])
  const [file] = (await job([batch])).files
  const rows = rowsOf(file!.bytes)
  expect(rows.map((row) => row.idempotency_key)).toEqual(['order-17', null])
  expect(Object.fromEntries(file!.metrics.nullValueCounts)[6]).toBe(1)
  expect((rows[0]!.headers as { toArray(): Array<{ key: string }> }).toArray().map((header) => header.key)).toEqual(['idempotency_key'])
})

test('a record whose own timestamp lies outside years 1..9999 (an inconsistent batch) is stored at the nearest bound', async () => {
  // The batch header says base..base+1; the records' deltas say otherwise.
  const batch = encodeBatch([
    { key: null, value: Buffer.from('far future'), timestamp: base + 2 ** 52 },
    { key: null, value: Buffer.from('far past'), timestamp: base - 2 ** 52 },
  ], { baseTimestamp: base })
  const result = await job([batch])
  expect(result.rows).toBe(2)
  const timestamps = result.files.flatMap((file) => rowsOf(file.bytes)).map((row) => Number(row.timestamp_ms as bigint)).sort((a, b) => a - b)
  expect(timestamps).toEqual([-62_135_596_800_000, 253_402_300_799_999])
})

test('a job given file ranges reads the stored batches itself (the worker, not the event loop, copies them)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zombi-encode-'))
  try {
    const batches = [0, 1, 2].map((i) => encodeBatch([{ key: null, value: Buffer.from(`from file ${i}`), timestamp: base + i }], { baseOffset: i }))
    // Batches lie between other bytes (frame headers, other partitions), in two files.
    const first = Buffer.concat([Buffer.from('header-a'), batches[0]!, Buffer.from('other partition'), batches[1]!])
    const second = Buffer.concat([Buffer.from('h'), batches[2]!])
    await writeFile(join(dir, '1.seg'), first)
    await writeFile(join(dir, '2.seg'), second)
    const files = [
      { path: join(dir, '1.seg'), position: 8, size: batches[0]!.length },
      { path: join(dir, '1.seg'), position: 8 + batches[0]!.length + 15, size: batches[1]!.length },
      { path: join(dir, '2.seg'), position: 1, size: batches[2]!.length },
    ]
    const result = await encodeInMemory({ topic: 't', partition: 0, fromOffset: 1, batches: new Uint8Array(0), files, maxRowBytes: 1 << 20, targetFileBytes: 1 << 20 })
    expect(result.endOffset).toBe(3)
    expect(rowsOf(result.files[0]!.bytes).map((row) => Buffer.from(row.payload as Uint8Array).toString())).toEqual(['from file 1', 'from file 2'])
    await expect(encodeInMemory({ topic: 't', partition: 0, fromOffset: 0, batches: new Uint8Array(0), files: [{ ...files[2]!, size: 10_000 }], maxRowBytes: 1 << 20, targetFileBytes: 1 << 20 }))
      .rejects.toThrow(/bytes short of the stored batch/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('jobs running together in one thread keep their own read buffers and columns, and later jobs reuse them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zombi-encode-'))
  try {
    // Many row groups per job, so the two jobs take turns at every group boundary.
    const jobOf = async (name: string) => {
      const batches = Array.from({ length: 40 }, (_, i) => encodeBatch([{ key: null, value: Buffer.from(`${name}-${i}`.padEnd(300, '.')), timestamp: base }], { baseOffset: i }))
      const path = join(dir, `${name}.seg`)
      await writeFile(path, Buffer.concat(batches))
      let position = 0
      const files = batches.map((batch) => ({ path, position: (position += batch.length) - batch.length, size: batch.length }))
      return { topic: 't', partition: 0, fromOffset: 0, batches: new Uint8Array(0), files, maxRowBytes: 1 << 20, targetFileBytes: 1 << 20, rowGroupBytes: 1000 }
    }
    const payloads = (result: Awaited<ReturnType<typeof encodeInMemory>>): string[] =>
      result.files.flatMap((file) => rowsOf(file.bytes)).map((row) => Buffer.from(row.payload as Uint8Array).toString().replace(/\.+$/, ''))
    const expected = (name: string): string[] => Array.from({ length: 40 }, (_, i) => `${name}-${i}`)
    const [a, b] = await Promise.all([encodeInMemory(await jobOf('a')), encodeInMemory(await jobOf('b'))])
    expect(payloads(a)).toEqual(expected('a'))
    expect(payloads(b)).toEqual(expected('b'))
    expect(payloads(await encodeInMemory(await jobOf('c')))).toEqual(expected('c'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a job over an hour\'s turn: each hour\'s file holds its rows of every partition in partition then sequence order', async () => {
  // Each partition goes from the first hour to the next and back (a late record), so both passes see rows of both parts.
  const times = [base, base + hour, base + 1, base + hour + 1, base + 2]
  const batchesOf = (offsets: number[]): Buffer => Buffer.concat(offsets.map((i) => encodeBatch([{ key: null, value: Buffer.alloc(500, 97 + i), timestamp: times[i % 5]! }], { baseOffset: i })))
  const low = batchesOf([0, 1, 2, 3, 4])
  const high = batchesOf([0, 1, 2, 3, 4])
  const result = await encodeInMemory({
    topic: 't', batches: Buffer.concat([low, high]), maxRowBytes: 1 << 30, targetFileBytes: 1 << 27, rowGroupBytes: 1000,
    parts: [{ partition: 2, fromOffset: 0, batchBytes: low.length }, { partition: 5, fromOffset: 0, batchBytes: high.length }],
  })
  expect(result.endOffsets).toEqual([5, 5])
  expect(result.rows).toBe(10)
  expect(result.files.map((file) => [file.eventHour, file.recordCount])).toEqual([[23, 6], [0, 4]])
  const sequences = result.files.map((file) => rowsOf(file.bytes).map((row) => [row.partition, Number(row.sequence as bigint)]))
  expect(sequences).toEqual([
    [[2, 0], [2, 2], [2, 4], [5, 0], [5, 2], [5, 4]],
    [[2, 1], [2, 3], [5, 1], [5, 3]],
  ])
})

test('a streamed job stops at its decoded-bytes cap, and the other hour\'s rows go no further than the first hour\'s', async () => {
  const batches = Array.from({ length: 10 }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(1000, 97), timestamp: base + (i % 2) * hour }], { baseOffset: i }))
  const result = await job(batches, 0, { maxRowBytes: 4000, rowGroupBytes: 1000 })
  // Four rows of about 1 KB reach the cap: offsets 0-3, two per hour.
  expect(result.endOffset).toBe(4)
  expect(result.rows).toBe(4)
  expect(result.files.map((file) => rowsOf(file.bytes).map((row) => Number(row.sequence as bigint)))).toEqual([[0, 2], [1, 3]])
})

test('one hour in many row groups: files end at the target size, rows stay in order across files', async () => {
  const batches = Array.from({ length: 40 }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(1000, 97 + (i % 26)), timestamp: base + i }], { baseOffset: i }))
  const result = await job(batches, 0, { targetFileBytes: 10_500, rowGroupBytes: 2500 })
  expect(result.endOffset).toBe(40)
  expect(result.files.length).toBeGreaterThanOrEqual(4)
  for (const file of result.files) expect(file.recordCount).toBeLessThanOrEqual(11)
  expect(result.files.flatMap((file) => rowsOf(file.bytes).map((row) => Number(row.sequence as bigint)))).toEqual(Array.from({ length: 40 }, (_, i) => i))
})

test('a part\'s file ranges over several read slices are all decoded, in order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zombi-encode-'))
  try {
    // 20 batches of 512 KiB: 10 MiB, more than one 8 MiB read slice.
    const batches = Array.from({ length: 20 }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(512 * 1024, 97 + i), timestamp: base + i }], { baseOffset: i }))
    await writeFile(join(dir, '1.seg'), Buffer.concat(batches))
    let position = 0
    const files = batches.map((batch) => {
      const range = { path: join(dir, '1.seg'), position, size: batch.length }
      position += batch.length
      return range
    })
    const result = await encodeInMemory({ topic: 't', partition: 0, fromOffset: 0, batches: new Uint8Array(0), files, maxRowBytes: 1 << 30, targetFileBytes: 1 << 27 })
    expect(result.endOffset).toBe(20)
    const rows = result.files.flatMap((file) => rowsOf(file.bytes))
    expect(rows.map((row) => [Number(row.sequence as bigint), (row.payload as Uint8Array)[0]])).toEqual(Array.from({ length: 20 }, (_, i) => [i, 97 + i]))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('groups of other hours only, between the first hour\'s groups, leave the group being written intact', async () => {
  // One row per group: the first hour's rows 0 and 6 with five rows of the next hour between them.
  const batches = Array.from({ length: 7 }, (_, i) => encodeBatch([{ key: null, value: Buffer.alloc(500, 97 + i), timestamp: base + (i === 0 || i === 6 ? 0 : hour) }], { baseOffset: i }))
  const result = await job(batches, 0, { rowGroupBytes: 500 })
  expect(result.files.map((file) => rowsOf(file.bytes).map((row) => [Number(row.sequence as bigint), (row.payload as Uint8Array)[0]]))).toEqual([
    [[0, 97], [6, 103]],
    [[1, 98], [2, 99], [3, 100], [4, 101], [5, 102]],
  ])
})
