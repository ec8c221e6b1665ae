// Typed tables through the flusher, read back by DuckDB and pyiceberg: Avro values over two schema
// versions (a field added, int widened to long), undecodable records in the dead-letter table, field
// ids kept across the evolution, old rows null in new columns, and a filter on a nested field pruning
// files by their bounds.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import avro from 'avsc'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { LoadedTable, TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import type { TableMetadata } from '../../src/iceberg/metadata.ts'
import { Compactor } from '../../src/iceberg/compaction.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher, deadLetterTable } from '../../src/iceberg/flusher.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { Topic } from '../../src/log/topic.ts'
import { LocalObjectStore } from '../../src/objectstore/local.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { MemorySchemaLookup, framed } from '../support/memory-schema-lookup.ts'
import { plannedFiles, readColumns, readInfo } from './readers.ts'
import { TestLog, base } from './test-log.ts'
import { order, orderV1 } from './typed-fixtures.ts'

const orderV2 = {
  ...orderV1,
  fields: [
    ...orderV1.fields.map((field) => (field.name === 'customer'
      ? { name: 'customer', type: { type: 'record', name: 'Customer', fields: [{ name: 'name', type: 'string' }, { name: 'age', type: 'long' }] } }
      : field)),
    { name: 'coupon', type: ['null', 'string'], default: null },
  ],
}

let root: string
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'zombi-typed-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function append(log: TestLog, topic: Topic, values: Array<Buffer | null>): Promise<void> {
  const partition = topic.partitions[0]!
  const batch = encodeBatch(values.map((value, i) => ({ key: Buffer.from(`k${partition.nextOffset + i}`), value, timestamp: base + i })))
  const result = await log.append(topic, partition, batch)
  expect(result.errorCode).toBe(0)
}

test('a value_schema_id_prefix topic flushes typed columns that evolve with the schema, bad records to its dead-letter table', async () => {
  const log = await TestLog.open()
  const lookup = new MemorySchemaLookup()
  const created = await log.createTopic('orders', 1, { 'zombi.iceberg.mode': 'value_schema_id_prefix' })
  if (!(created instanceof Topic)) throw new Error(created.message)
  const topic = created
  const warehouse = path.join(root, 'warehouse')
  const catalog = new FilesystemCatalog(new LocalObjectStore(warehouse, { fsync: false }))
  const metrics = new FlushMetrics()
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(1), metrics, logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000, schemas: lookup,
  })
  try {
    await flusher.start()
    const v1 = lookup.register('orders-value', orderV1)
    const type1 = avro.Type.forSchema(orderV1 as avro.Schema)
    await append(log, topic, [
      framed(v1.id, type1.toBuffer(order(1, 30, 'a'))),
      framed(v1.id, type1.toBuffer(order(2, 35, null))),
      Buffer.from('{"not":"avro"}'),
      framed(v1.id, type1.toBuffer(order(3, 39, 'c'))),
    ])
    await flusher.flush('orders')

    const v2 = lookup.register('orders-value', orderV2)
    const type2 = avro.Type.forSchema(orderV2 as avro.Schema)
    await append(log, topic, [
      framed(v2.id, type2.toBuffer({ ...order(4, 50, null), coupon: 'SAVE' })),
      framed(77, Buffer.from([0])),
      framed(v2.id, type2.toBuffer({ ...order(5, 60, 'e'), coupon: null })),
      null,
    ])
    await flusher.flush('orders')

    const dir = path.join(warehouse, 'zombi', 'orders')
    const info = await readInfo(dir)
    const value = info.schema.find((field) => field.name === 'value')!
    expect(value.id).toBe(16)
    expect(JSON.stringify(value)).toMatch(/"coupon"/)

    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      const rows = await readColumns(dir, 'partition, sequence, value', reader)
      expect(rows.map((row) => row.sequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      const values = rows.map((row) => row.value as Record<string, unknown> | null)
      expect(values[0]).toMatchObject({ id: 1, customer: { name: 'c1', age: 30 }, tags: ['t1', 'x'], note: 'a', amount: '1.05', day: '2024-05-01', at: (order(1, 0, null).at as number) * 1000, status: 'PAID', coupon: null })
      expect(values[1]).toMatchObject({ id: 2, note: null, coupon: null })
      expect(values[2]).toBeNull()
      expect(values[4]).toMatchObject({ id: 4, customer: { age: 50 }, coupon: 'SAVE' })
      expect(values[5]).toBeNull()
      expect(values[6]).toMatchObject({ id: 5, coupon: null, note: 'e' })
      expect(values[7]).toBeNull()
      const letters = await readColumns(path.join(warehouse, 'zombi', deadLetterTable('orders')), 'partition, sequence, error, schema_id, payload', reader)
      expect(letters.map((row) => [row.sequence, row.schema_id])).toEqual([[2, null], [5, 77]])
      expect(letters[0]!.error).toMatch(/magic byte/)
      expect(letters[1]!.error).toMatch(/no schema has id 77/)
      expect(letters[0]!.payload).toBe(Buffer.from('{"not":"avro"}').toString('base64'))
    }
    expect(metrics.deadLetters.get('orders')).toBe(2)

    // The first flush's file holds ages 30..39, the second's 50..60: a filter on the nested field skips the first.
    expect(await plannedFiles(dir, 'value.customer.age >= 50')).toEqual({ planned: 1, data_files: 2 })

    // Compaction carries both files' value columns (the first written before the schema evolved) into one file of the current column.
    // So does the dead-letter table's: its two files become one with the same error and schema_id columns.
    const before = await readColumns(dir, 'partition, sequence, value', 'pyiceberg')
    const lettersDir = path.join(warehouse, 'zombi', deadLetterTable('orders'))
    const lettersColumns = 'topic, partition, sequence, key, payload, value_is_null, error, schema_id'
    const lettersBefore = await readColumns(lettersDir, lettersColumns, 'pyiceberg')
    const compactor = new Compactor({ catalog, namespace: 'zombi', pool: new EncodePool(0), logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: 64 << 20 })
    try {
      const compacted = await compactor.compact('orders')
      expect([compacted.filesIn, compacted.filesOut]).toEqual([2, 1])
      const letters = await compactor.compact(deadLetterTable('orders'))
      expect([letters.filesIn, letters.filesOut, letters.rows]).toEqual([2, 1, 2])
    } finally {
      await compactor.close()
    }
    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      expect(await readColumns(dir, 'partition, sequence, value', reader)).toEqual(before)
      expect(await readColumns(lettersDir, lettersColumns, reader)).toEqual(lettersBefore)
    }
    expect(lettersBefore.map((row) => [row.topic, row.sequence, row.schema_id])).toEqual([['orders', 2, null], ['orders', 5, 77]])
    expect(await plannedFiles(lettersDir, 'schema_id = 77')).toEqual({ planned: 1, data_files: 1 })
    expect(await plannedFiles(dir, 'value.customer.age >= 50')).toEqual({ planned: 1, data_files: 1 })
    expect(await plannedFiles(dir, 'value.customer.age > 60')).toEqual({ planned: 0, data_files: 1 })
  } finally {
    await flusher.close()
  }
})

/** Fails the next commits of one table after writing nothing (a crash between the dead-letter commit and the table's). */
class FailingTableCatalog extends FilesystemCatalog {
  failures = 0
  readonly #table: string

  constructor(store: LocalObjectStore, table: string) {
    super(store)
    this.#table = table
  }

  override async commit(id: TableIdentifier, base: LoadedTable | null, metadata: TableMetadata): Promise<LoadedTable> {
    if (id.name === this.#table && this.failures > 0) {
      this.failures--
      throw new Error('crash before the table commit')
    }
    return super.commit(id, base, metadata)
  }
}

test('a table commit lost after its dead letters committed repeats the table rows and writes no dead letter twice', async () => {
  const log = await TestLog.open()
  const lookup = new MemorySchemaLookup()
  const v1 = lookup.register('events-value', orderV1)
  const type1 = avro.Type.forSchema(orderV1 as avro.Schema)
  const created = await log.createTopic('events', 1, { 'zombi.iceberg.mode': 'value_schema_id_prefix' })
  if (!(created instanceof Topic)) throw new Error(created.message)
  const warehouse = path.join(root, 'crash-warehouse')
  const catalog = new FailingTableCatalog(new LocalObjectStore(warehouse, { fsync: false }), 'events')
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000, schemas: lookup,
  })
  try {
    await flusher.start()
    await append(log, created, [framed(v1.id, type1.toBuffer(order(1, 30, null))), Buffer.from('bad one'), framed(v1.id, type1.toBuffer(order(2, 31, null)))])
    catalog.failures = 1
    await expect(flusher.flush('events')).rejects.toThrow(/crash before the table commit/)
    await append(log, created, [Buffer.from('bad two'), framed(v1.id, type1.toBuffer(order(3, 32, null)))])
    await flusher.flush('events')
    const rows = await readColumns(path.join(warehouse, 'zombi', 'events'), 'partition, sequence', 'duckdb')
    expect(rows.map((row) => row.sequence)).toEqual([0, 1, 2, 3, 4])
    const letters = await readColumns(path.join(warehouse, 'zombi', deadLetterTable('events')), 'partition, sequence, payload', 'duckdb')
    expect(letters.map((row) => [row.sequence, Buffer.from(row.payload as string, 'base64').toString()])).toEqual([[1, 'bad one'], [3, 'bad two']])
  } finally {
    await flusher.close()
  }
})

test('a key_value topic turned typed gains the value column (old rows null); turned back, the column stays and new rows are null', async () => {
  const log = await TestLog.open()
  const lookup = new MemorySchemaLookup()
  const v1 = lookup.register('switch-value', orderV1)
  const type1 = avro.Type.forSchema(orderV1 as avro.Schema)
  const created = await log.createTopic('switch', 1, {})
  if (!(created instanceof Topic)) throw new Error(created.message)
  const warehouse = path.join(root, 'switch-warehouse')
  const catalog = new FilesystemCatalog(new LocalObjectStore(warehouse, { fsync: false }))
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000, schemas: lookup,
  })
  const dir = path.join(warehouse, 'zombi', 'switch')
  try {
    await flusher.start()
    const encoded = framed(v1.id, type1.toBuffer(order(1, 30, null)))
    await append(log, created, [encoded])
    await flusher.flush('switch')
    expect((await readInfo(dir)).schema.some((field) => field.name === 'value')).toBe(false)
    await log.alterTopicConfigs(created, { 'zombi.iceberg.mode': 'value_schema_id_prefix' })
    await append(log, created, [encoded])
    await flusher.flush('switch')
    await log.alterTopicConfigs(created, {})
    await append(log, created, [encoded])
    await flusher.flush('switch')
    const info = await readInfo(dir)
    expect(info.schema.find((field) => field.name === 'value')?.id).toBe(16)
    for (const reader of ['duckdb', 'pyiceberg'] as const) {
      const rows = await readColumns(dir, 'partition, sequence, value', reader)
      expect(rows.map((row) => [row.sequence, (row.value as { id?: number } | null)?.id ?? null])).toEqual([[0, null], [1, 1], [2, null]])
    }
  } finally {
    await flusher.close()
  }
})
