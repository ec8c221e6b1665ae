// A table in a warehouse whose path has a space and non-ASCII characters, written by three flushes
// (three snapshots): DuckDB, pyiceberg, polars and Spark open it as written and return exactly the
// produced records; every metadata table pyiceberg and Spark offer loads and agrees with what was
// produced; a filter on the Kafka key prunes data files by their truncated key bounds.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { inspectTables, keyFiles, readRows, tableDir, type InspectSummary } from '../iceberg/readers.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { expectedRows, produceRecords, type Produced } from './fixtures/produced.ts'
import { startSpark, type Spark } from './fixtures/spark.ts'

const flushes = 3
const perFlush = 8
// Each flush's records in their own UTC hour: one file per flush, holding both Kafka partitions.
const baseTimestamp = Date.UTC(2024, 4, 1, 10, 0, 0)
const dataFiles = flushes
const recordCount = flushes * perFlush

/** Keys that sort by flush, longer than 16 bytes so their bounds are truncated. */
const keyOf = (flush: number, i: number): Buffer => Buffer.from(`flush-${flush}-key-${i}-${'x'.repeat(12)}`)

const quote = (identifier: string): string => `\`${identifier.replaceAll('`', '``')}\``

describe('Iceberg metadata in a warehouse path with a space and non-ASCII characters', () => {
  let parent: string
  let broker: Broker
  let sparkStarting: Promise<Spark> | undefined
  let spark: Spark
  let topic: string
  let dir: string
  let table: string
  const produced: Produced[] = []

  beforeAll(async () => {
    sparkStarting = startSpark()
    sparkStarting.catch(() => {})
    parent = await mkdtemp(join(tmpdir(), 'zombi-e2e-'))
    const dataDir = join(parent, 'Application Support', 'zöm bi')
    await mkdir(dataDir, { recursive: true })
    broker = await startBroker({ ZOMBI_DATA_DIR: dataDir, ZOMBI_DEFAULT_PARTITIONS: '2', ZOMBI_FLUSH_INTERVAL_SECS: '0' })
    topic = uniqueTopic('iceberg-metadata')
    for (let flush = 0; flush < flushes; flush++) {
      produced.push(...await produceRecords(broker, topic, Array.from({ length: perFlush }, (_, i) => ({
        partition: i % 2,
        timestamp: baseTimestamp + flush * 3_600_000 + i * 1000,
        key: keyOf(flush, i).toString('base64'),
        value: Buffer.from([flush, i, 0xff, ...Buffer.from(`value ☃ ${i}`)]).toString('base64'),
        headers: [['h', Buffer.from(String(i)).toString('base64')]],
      }))))
      const response = await fetch(`${broker.httpUrl}/tables/${encodeURIComponent(topic)}/flush`, { method: 'POST' })
      expect(response.status).toBe(200)
    }
    dir = tableDir(dataDir, topic)
    spark = await sparkStarting
    // Hadoop's Path takes the path as written (a percent-encoded URL would name other directories).
    await spark.addCatalog({ name: 'zombi_files', type: 'hadoop', warehouse: `file:${join(dataDir, 'warehouse')}` })
    table = `zombi_files.zombi.${quote(topic)}`
  }, 300_000)

  afterAll(async () => {
    const session = await sparkStarting?.catch(() => undefined)
    await session?.stop()
    await broker?.cleanup()
    if (parent !== undefined) await rm(parent, { recursive: true, force: true })
  })

  test('the metadata names files by their path as written, not percent-encoded', async () => {
    const [entry] = await spark.sql(`SELECT file_path FROM ${table}.files LIMIT 1`)
    expect(entry!.file_path).toContain('/Application Support/zöm bi/')
  })

  test.each(['duckdb', 'pyiceberg', 'polars'] as const)('%s returns exactly the produced records', async (reader) => {
    expect(await readRows(dir, reader)).toEqual(expectedRows(topic, produced))
  })

  test('Spark returns exactly the produced records', async () => {
    const rows = await spark.sql(`SELECT sequence, key, payload FROM ${table} ORDER BY \`partition\`, sequence`)
    expect(rows).toEqual(expectedRows(topic, produced).map((row) => ({ sequence: row.sequence, key: row.key, payload: row.payload })))
  })

  test('a filter on key plans only the files whose key bounds can hold it (pyiceberg and Spark)', async () => {
    // Flush 1's file spans keys flush-1-key-0.. to flush-1-key-7..: it may hold it; the other
    // flushes' files may not (their 16-byte key bounds start flush-0- and flush-2-).
    const key = keyOf(1, 3)
    const planned = await keyFiles(dir, key)
    expect(planned).toEqual({ planned: 1, data_files: dataFiles, rows: 1 })
    const { rows, scans } = await spark.sqlWithScans(`SELECT sequence FROM ${table} WHERE key = X'${key.toString('hex')}'`)
    expect(rows).toHaveLength(1)
    expect(scans[0]!.resultDataFiles).toBe(1)
    expect(scans[0]!.skippedDataFiles).toBe(dataFiles - 1)
  })

  test('every pyiceberg metadata table loads and agrees with what was produced', async () => {
    const inspected: InspectSummary = await inspectTables(dir)
    expect(Object.keys(inspected).sort()).toEqual(['all_data_files', 'all_delete_files', 'all_files', 'all_manifests', 'data_files', 'delete_files', 'entries',
      'files', 'history', 'manifests', 'metadata_log_entries', 'partitions', 'refs', 'snapshots'])
    expect(inspected.snapshots!.rows).toBe(flushes)
    expect(inspected.history!.rows).toBe(flushes)
    expect(inspected.metadata_log_entries!.rows).toBeGreaterThanOrEqual(flushes)
    expect(inspected.refs!.names).toEqual(['main'])
    for (const name of ['files', 'data_files', 'all_files', 'all_data_files', 'entries']) {
      expect({ name, rows: inspected[name]!.rows, records: inspected[name]!.record_count }).toEqual({ name, rows: dataFiles, records: recordCount })
    }
    // Every leaf column has a size (15 fields, 13 of them leaves).
    expect(inspected.entries!.column_sizes).toBe(13)
    expect(inspected.delete_files!.rows).toBe(0)
    expect(inspected.all_delete_files!.rows).toBe(0)
    expect(inspected.manifests!.added_data_files_count).toBe(dataFiles)
    expect(inspected.partitions).toMatchObject({ rows: flushes, record_count: recordCount, file_count: dataFiles })
  })

  test('every Spark metadata table loads and agrees with what was produced', async () => {
    const count = async (name: string, columns = ''): Promise<Record<string, unknown>> =>
      (await spark.sql(`SELECT count(*) AS n${columns} FROM ${table}.${name}`))[0]!
    expect(await count('snapshots')).toEqual({ n: flushes })
    expect(await count('history')).toEqual({ n: flushes })
    expect((await count('metadata_log_entries')).n).toBeGreaterThanOrEqual(flushes)
    expect(await spark.sql(`SELECT name, type FROM ${table}.refs`)).toEqual([{ name: 'main', type: 'BRANCH' }])
    for (const name of ['files', 'data_files', 'all_files', 'all_data_files']) {
      expect({ name, ...(await count(name, ', sum(record_count) AS records')) }).toEqual({ name, n: dataFiles, records: recordCount })
    }
    for (const name of ['entries', 'all_entries']) {
      expect({ name, ...(await count(name, ', sum(data_file.record_count) AS records, min(size(data_file.column_sizes)) AS sized')) })
        .toEqual({ name, n: dataFiles, records: recordCount, sized: 13 })
    }
    for (const name of ['delete_files', 'all_delete_files']) expect({ name, ...(await count(name)) }).toEqual({ name, n: 0 })
    expect(await count('manifests', ', sum(added_data_files_count) AS added')).toEqual({ n: flushes, added: dataFiles })
    expect((await count('all_manifests', ', sum(added_data_files_count) AS added')).n).toBeGreaterThanOrEqual(flushes)
    expect(await count('partitions', ', sum(record_count) AS records, sum(file_count) AS files')).toEqual({ n: flushes, records: recordCount, files: dataFiles })
  })
})
