// The reader × catalog matrix for tables on S3 (moto): DuckDB (ATTACH ... TYPE ICEBERG), pyiceberg
// (a rest catalog) and Spark (Iceberg's Java SparkCatalog, type rest) each read exactly the records a
// Kafka client produced, found by name through a REST catalog: Zombi's embedded one (/iceberg, the S3
// keys vended by the broker or brought by the reader), and Iceberg's reference REST catalog server that
// a broker with ZOMBI_CATALOG_TYPE=rest commits its tables into. One moto, one Spark session and one
// reference server for the file; a broker per catalog setup, each in its own bucket. docs/compat.md
// lists the cells this file measures.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRows, produceRecords, type Produced, type ToProduce } from './fixtures/produced.ts'
import { startSpark, type Spark, type SparkS3Options } from './fixtures/spark.ts'
import { readRows, type RestCatalog } from '../iceberg/readers.ts'
import { createBucket, MOTO_CREDENTIALS, MOTO_REGION, startMoto, type Moto } from '../support/moto.ts'
import { startRestCatalogServer, type RestCatalogServer } from '../support/rest-catalog-server.ts'


// 2025-01-01 23:20 UTC: records 4 minutes apart cross the hour and midnight.
const baseTimestamp = Date.UTC(2025, 0, 1, 23, 20, 0)
const recordCount = 24

/** Keys (some null), binary values (some null: tombstones, one empty), headers (repeated names, a null value), 3 partitions. */
function records(): ToProduce[] {
  return Array.from({ length: recordCount }, (_, i) => ({
    partition: i % 3,
    timestamp: baseTimestamp + i * 4 * 60_000,
    key: i % 5 === 4 ? null : b64(`key-${i}`),
    value: i % 7 === 6 ? null : i === 10 ? '' : Buffer.from([i, 0, 0xff, ...Buffer.from(`value ${i}`)]).toString('base64'),
    headers: i % 4 === 0 ? [] : [['source', b64('matrix')], ['trace', i % 3 === 0 ? null : b64(String(i))], ['source', b64('again')]],
  }))
}



const sparkColumns = 'sequence, topic, `partition`, payload, timestamp_ms, idempotency_key, event_date, event_hour, key, headers, `timestamp` AS timestamp_us, value_is_null'
const quote = (identifier: string): string => `\`${identifier.replaceAll('`', '``')}\``

/** What a cell needs: the table's name, what was produced into it, and how each reader reaches it. */
interface Cell {
  topic: string
  produced: Produced[]
  /** For read_table.py (DuckDB and pyiceberg). */
  catalog: RestCatalog
  /** The Spark catalog the table is registered under. */
  sparkCatalog: string
}

/**
 * The three readers against one cell. Registered once per catalog setup below, so every column of the
 * matrix asks exactly the same question.
 */
function readersReadExactlyTheProducedRecords(cell: () => Cell, spark: () => Spark): void {
  test.each(['duckdb', 'pyiceberg'] as const)('%s reads exactly the produced records', async (reader) => {
    const { topic, produced, catalog } = cell()
    expect(await readRows(topic, reader, { catalog })).toEqual(expectedRows(topic, produced))
  })

  test('spark reads exactly the produced records', async () => {
    const { topic, produced, sparkCatalog } = cell()
    const rows = await spark().sql(`SELECT ${sparkColumns} FROM ${quote(sparkCatalog)}.zombi.${quote(topic)} ORDER BY \`partition\`, sequence`)
    expect(rows).toEqual(expectedRows(topic, produced))
  })
}

describe('Iceberg readers × catalogs, tables on S3 (moto)', () => {
  let moto: Moto
  let sparkStarting: Promise<Spark> | undefined
  let spark: Spark
  let referenceStarting: Promise<RestCatalogServer> | undefined
  const brokers: Broker[] = []
  const readerS3 = (): { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string } => ({ endpoint: moto.endpoint, region: MOTO_REGION, ...MOTO_CREDENTIALS })

  /** A broker keeping its tables in `bucket` on moto, with the broker's keys in its AWS environment, and one topic produced and flushed. */
  async function brokerWithTable(bucket: string, settings: Record<string, string>): Promise<{ broker: Broker; topic: string; produced: Produced[] }> {
    await createBucket(moto.endpoint, bucket)
    const broker = await startBroker({
      ZOMBI_DEFAULT_PARTITIONS: '3',
      // Only the explicit flush below commits: the table holds exactly one snapshot of every record.
      ZOMBI_FLUSH_INTERVAL_SECS: '0',
      ZOMBI_STORAGE: 's3',
      ZOMBI_S3_BUCKET: bucket,
      ZOMBI_S3_ENDPOINT: moto.endpoint,
      ZOMBI_S3_REGION: MOTO_REGION,
      ZOMBI_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      ...settings,
    })
    brokers.push(broker)
    // A dot in the name: readers must quote it, as users of real topic names do.
    const topic = uniqueTopic('matrix.orders')
    const produced = await produceRecords(broker, topic, records())
    const response = await fetch(`${broker.httpUrl}/tables/${encodeURIComponent(topic)}/flush`, { method: 'POST' })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { rows: number }).rows).toBe(produced.length)
    return { broker, topic, produced }
  }

  beforeAll(async () => {
    // The two JVMs (Spark, the reference catalog) start while the brokers of the first describes produce.
    sparkStarting = startSpark()
    sparkStarting.catch(() => {})
    moto = await startMoto()
    // It writes the metadata files Zombi commits through it into the tables' bucket, with S3FileIO.
    referenceStarting = startRestCatalogServer({ warehouse: 's3://zombi-external/reference', s3: readerS3() })
    referenceStarting.catch(() => {})
  }, 60_000)

  afterAll(async () => {
    // Also when a beforeAll failed before awaiting the starts: no JVM may outlive the file.
    const session = await sparkStarting?.catch(() => undefined)
    await session?.stop()
    for (const broker of brokers) await broker.cleanup()
    const reference = await referenceStarting?.catch(() => undefined)
    await reference?.stop()
    await moto?.stop()
  })

  describe("Zombi's embedded catalog, S3 keys vended by the broker (ZOMBI_ICEBERG_VEND_CREDENTIALS=true)", () => {
    let cell: Cell

    beforeAll(async () => {
      const { broker, topic, produced } = await brokerWithTable('zombi-vended', { ZOMBI_ICEBERG_VEND_CREDENTIALS: 'true' })
      // The readers get nothing but the catalog URI: endpoint, region, path style and keys come with each table load.
      cell = { topic, produced, catalog: { uri: `${broker.httpUrl}/iceberg` }, sparkCatalog: 'embedded_vended' }
      spark = await sparkStarting!
      await spark.addCatalog({ name: cell.sparkCatalog, type: 'rest', uri: cell.catalog.uri })
    }, 240_000)

    test("the table loads carry the broker's keys with where the files are", async () => {
      const response = await fetch(`${cell.catalog.uri}/v1/namespaces/zombi/tables/${encodeURIComponent(cell.topic)}`)
      const { config } = (await response.json()) as { config: Record<string, string> }
      expect(config).toEqual({
        's3.endpoint': moto.endpoint, 's3.region': MOTO_REGION, 'client.region': MOTO_REGION, 's3.path-style-access': 'true', 's3.force-virtual-addressing': 'false',
        's3.access-key-id': MOTO_CREDENTIALS.accessKeyId, 's3.secret-access-key': MOTO_CREDENTIALS.secretAccessKey,
      })
    })

    readersReadExactlyTheProducedRecords(() => cell, () => spark)
  })

  describe("Zombi's embedded catalog, the reader's own S3 keys (vending off)", () => {
    let cell: Cell

    beforeAll(async () => {
      const { broker, topic, produced } = await brokerWithTable('zombi-own-keys', {})
      cell = { topic, produced, catalog: { uri: `${broker.httpUrl}/iceberg`, s3: readerS3() }, sparkCatalog: 'embedded_own_keys' }
      spark = await sparkStarting!
      const s3: SparkS3Options = readerS3()
      await spark.addCatalog({ name: cell.sparkCatalog, type: 'rest', uri: cell.catalog.uri, s3 })
    }, 240_000)

    test('the table loads carry where the files are but no keys', async () => {
      const response = await fetch(`${cell.catalog.uri}/v1/namespaces/zombi/tables/${encodeURIComponent(cell.topic)}`)
      const { config } = (await response.json()) as { config: Record<string, string> }
      expect(config).toEqual({ 's3.endpoint': moto.endpoint, 's3.region': MOTO_REGION, 'client.region': MOTO_REGION, 's3.path-style-access': 'true', 's3.force-virtual-addressing': 'false' })
    })

    readersReadExactlyTheProducedRecords(() => cell, () => spark)
  })

  describe("Iceberg's reference REST catalog, which the broker commits to (ZOMBI_CATALOG_TYPE=rest)", () => {
    let reference: RestCatalogServer
    let throughReference: Cell
    let throughEmbedded: Cell

    beforeAll(async () => {
      reference = await referenceStarting!
      const { broker, topic, produced } = await brokerWithTable('zombi-external', {
        ZOMBI_CATALOG_TYPE: 'rest',
        ZOMBI_CATALOG_URL: reference.url,
        ZOMBI_ICEBERG_VEND_CREDENTIALS: 'true',
      })
      // The reference server hands out no storage settings: its readers bring endpoint, region and keys.
      throughReference = { topic, produced, catalog: { uri: reference.url, s3: readerS3() }, sparkCatalog: 'reference' }
      throughEmbedded = { topic, produced, catalog: { uri: `${broker.httpUrl}/iceberg` }, sparkCatalog: 'embedded_over_reference' }
      spark = await sparkStarting!
      await spark.addCatalog({ name: throughReference.sparkCatalog, type: 'rest', uri: reference.url, s3: readerS3() })
      await spark.addCatalog({ name: throughEmbedded.sparkCatalog, type: 'rest', uri: throughEmbedded.catalog.uri })
    }, 240_000)

    test('the table is the reference server\'s: its metadata file is the one Zombi\'s catalog serves', async () => {
      const { topic } = throughReference
      const load = async (uri: string): Promise<string> => {
        const response = await fetch(`${uri}/v1/namespaces/zombi/tables/${encodeURIComponent(topic)}`)
        expect(response.status).toBe(200)
        return ((await response.json()) as { 'metadata-location': string })['metadata-location']
      }
      const location = await load(reference.url)
      expect(location).toMatch(new RegExp(`^s3://zombi-external/zombi/${topic.replaceAll('.', '\\.')}/metadata/.+\\.metadata\\.json$`))
      expect(await load(throughEmbedded.catalog.uri)).toBe(location)
    })

    describe('through the reference server, with the reader\'s own S3 settings', () => {
      readersReadExactlyTheProducedRecords(() => throughReference, () => spark)
    })

    describe("through Zombi's embedded catalog in front of it, keys vended", () => {
      readersReadExactlyTheProducedRecords(() => throughEmbedded, () => spark)
    })
  })
})
