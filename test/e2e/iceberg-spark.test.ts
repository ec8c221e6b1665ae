// Spark with Iceberg's own Java runtime reads a topic's table through a catalog (no Zombi code in the
// read path): exactly the produced records, keys, null values, headers, three partitions, two dates;
// filters on partition, offset and event date; the metadata tables. One Spark session for the file.
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRow, produceRecords, sortedByOffset, type Produced, type ToProduce } from './fixtures/produced.ts'
import { startSpark, type Spark, type SparkRow } from './fixtures/spark.ts'


// 2024-03-09 22:05 UTC: records 7 minutes apart cross midnight into 2024-03-10.
const baseTimestamp = Date.UTC(2024, 2, 9, 22, 5, 0)
const recordCount = 36

function records(): ToProduce[] {
  return Array.from({ length: recordCount }, (_, i) => ({
    partition: i % 3,
    timestamp: baseTimestamp + i * 7 * 60_000,
    key: i % 5 === 4 ? null : b64(`key-${i}`),
    // Binary values with bytes that are not UTF-8, an empty value and null values (tombstones).
    value: i % 7 === 6 ? null : i % 11 === 10 ? '' : Buffer.from([i, 0, 0xff, ...Buffer.from(`value ${i} ☃`)]).toString('base64'),
    headers: i % 4 === 0 ? [] : [['source', b64('spark-test')], ['trace', i % 3 === 0 ? null : b64(String(i))], ['source', b64('repeated')]],
  }))
}


/** A row as Spark's reader prints it: read_table.py's row with the timestamp column under its own name (epoch microseconds). */
function sparkRow(topic: string, record: Produced): SparkRow {
  const { timestamp_us: timestamp, ...row } = expectedRow(topic, record)
  return { ...row, timestamp }
}

function eventDate(record: Produced): string {
  return new Date(record.timestamp).toISOString().slice(0, 10)
}


const quote = (identifier: string): string => `\`${identifier.replaceAll('`', '``')}\``

interface ReaderContext {
  spark: Spark
  /** The Spark catalog name the table is reached through. */
  catalog: string
  namespace: string
  topic: string
  produced: Produced[]
}

/**
 * The assertions every catalog must pass: registered once per catalog (hadoop here; the REST catalogs
 * below reuse them), against the same produced records.
 */
function sparkReadsTheTopic(context: () => ReaderContext): void {
  const table = (): string => {
    const { catalog, namespace, topic } = context()
    return `${quote(catalog)}.${quote(namespace)}.${quote(topic)}`
  }

  test('returns exactly the produced records: keys, values, null values, headers, partitions, offsets', async () => {
    const { spark, topic, produced } = context()
    const rows = await spark.sql(`SELECT * FROM ${table()} ORDER BY \`partition\`, sequence`)
    expect(rows).toEqual(sortedByOffset(produced).map((record) => sparkRow(topic, record)))
  })

  test('SHOW TABLES lists the topic', async () => {
    const { spark, catalog, namespace, topic } = context()
    expect(await spark.tables(catalog, namespace)).toContain(topic)
  })

  test('a filter on partition and offset returns exactly that range and skips files by their bounds', async () => {
    const { spark, produced } = context()
    const partition1 = sortedByOffset(produced).filter((record) => record.partition === 1)
    const from = partition1[3]!.offset
    const to = partition1[7]!.offset
    const { rows, scans } = await spark.sqlWithScans(`SELECT \`partition\`, sequence FROM ${table()} WHERE \`partition\` = 1 AND sequence BETWEEN ${from} AND ${to} ORDER BY sequence`)
    expect(rows).toEqual(partition1.slice(3, 8).map((record) => ({ partition: 1, sequence: record.offset })))
    // \`partition\` is not an Iceberg partition column: only the files' column bounds let Iceberg skip the
    // files of partitions 0 and 2.
    expect(scans).toHaveLength(1)
    expect(scans[0]!.skippedDataFiles).toBeGreaterThan(0)
  })

  test('a filter on the event date (a partition column) returns the records of that UTC day and skips the other day', async () => {
    const { spark, produced } = context()
    const { rows, scans } = await spark.sqlWithScans(`SELECT \`partition\`, sequence FROM ${table()} WHERE event_date = DATE '2024-03-10' ORDER BY \`partition\`, sequence`)
    const expected = sortedByOffset(produced).filter((record) => eventDate(record) === '2024-03-10')
    // The records cross midnight: the filter must keep some and drop some.
    expect(expected.length).toBeGreaterThan(0)
    expect(expected.length).toBeLessThan(produced.length)
    expect(rows).toEqual(expected.map((record) => ({ partition: record.partition, sequence: record.offset })))
    // The manifests' partition values let Iceberg skip the files of 2024-03-09 without opening them.
    expect(scans).toHaveLength(1)
    expect(scans[0]!.skippedDataFiles).toBeGreaterThan(0)
  })

  test('the files and snapshots metadata tables account for every record', async () => {
    const { spark, produced } = context()
    const [files] = await spark.sql(`SELECT count(*) AS files, sum(record_count) AS records FROM ${table()}.files`)
    expect(files!.records).toBe(produced.length)
    // One file per partition and hour at least: the records span 3 partitions and 5 hours.
    expect(files!.files).toBeGreaterThanOrEqual(5)
    const snapshots = await spark.sql(`SELECT operation, summary FROM ${table()}.snapshots ORDER BY committed_at`)
    expect(snapshots.length).toBeGreaterThan(0)
    let added = 0
    for (const snapshot of snapshots) {
      expect(snapshot.operation).toBe('append')
      added += Number((snapshot.summary as Record<string, string>)['added-records'])
    }
    expect(added).toBe(produced.length)
  })
}

describe('Iceberg table read by Spark', () => {
  let broker: Broker
  let sparkStarting: Promise<Spark> | undefined
  let spark: Spark
  let topic: string
  let produced: Produced[] = []

  beforeAll(async () => {
    // Spark's start (a JVM, seconds to tens of seconds) overlaps the broker's and the produce. No interval
    // flush (0): the table holds exactly what the explicit flush below committed.
    sparkStarting = startSpark()
    // Until it is awaited below: a failure before that is reported by the broker's error, not as unhandled.
    sparkStarting.catch(() => {})
    broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '3', ZOMBI_FLUSH_INTERVAL_SECS: '0' })
    topic = uniqueTopic('iceberg-spark')
    produced = await produceRecords(broker, topic, records())
    const response = await fetch(`${broker.httpUrl}/tables/${encodeURIComponent(topic)}/flush`, { method: 'POST' })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { rows: number }).rows).toBe(produced.length)
    spark = await sparkStarting
    await spark.addCatalog({ name: 'zombi_files', type: 'hadoop', warehouse: pathToFileURL(join(broker.dataDir, 'warehouse')).href })
  }, 300_000)

  afterAll(async () => {
    // Also when beforeAll failed before awaiting the start: no JVM may outlive the file.
    const session = await sparkStarting?.catch(() => undefined)
    await session?.stop()
    await broker?.cleanup()
  })

  describe('through a hadoop catalog on the warehouse directory', () => {
    sparkReadsTheTopic(() => ({ spark, catalog: 'zombi_files', namespace: 'zombi', topic, produced }))
  })

  describe("through Zombi's embedded REST catalog (http://127.0.0.1:<httpPort>/iceberg)", () => {
    beforeAll(async () => {
      // The table locations are file:// paths on this machine: Spark opens them with its default FileIO.
      await spark.addCatalog({ name: 'zombi_rest', type: 'rest', uri: `${broker.httpUrl}/iceberg` })
    })

    sparkReadsTheTopic(() => ({ spark, catalog: 'zombi_rest', namespace: 'zombi', topic, produced }))
  })

  // Tables on S3 through REST catalogs (the embedded one and Iceberg's reference server) are measured
  // for Spark, DuckDB and pyiceberg together by iceberg-catalog-matrix.test.ts.
})
