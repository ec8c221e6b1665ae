// The broker's embedded Iceberg REST catalog (/iceberg on its HTTP port) as real readers use it: DuckDB
// (ATTACH ... TYPE ICEBERG) and pyiceberg (a rest catalog) list every topic as a table by name and read
// exactly the records produced by a Kafka client, with time travel; plus the raw HTTP answers readers
// depend on (Iceberg's error shapes, refused writes, ETag/304, pagination).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRows, produceRecords, type Produced, type ToProduce } from './fixtures/produced.ts'
import { listTables, readRows, type RestCatalog } from '../iceberg/readers.ts'


const baseTimestamp = Date.UTC(2025, 5, 30, 22, 30, 0)

function records(topic: string, round: number, count: number): ToProduce[] {
  return Array.from({ length: count }, (_, i) => ({
    partition: i % 2,
    // 11 minutes apart: the rows cross an hour and a date.
    timestamp: baseTimestamp + (round * count + i) * 11 * 60_000,
    key: i % 4 === 3 ? null : b64(`${topic}-key-${round}-${i}`),
    value: i % 6 === 5 ? null : b64(`${topic} value ${round}-${i}`),
    headers: i % 3 === 0 ? [] : [['round', b64(String(round))]],
  }))
}



describe('the embedded Iceberg REST catalog read by DuckDB and pyiceberg', () => {
  let broker: Broker
  let catalog: RestCatalog
  let base: string
  // Kafka topic names may hold ".", "_" and "-"; they are the table names as they are.
  const topics: string[] = []
  const firstRound = new Map<string, Produced[]>()
  const produced = new Map<string, Produced[]>()
  const firstSnapshot = new Map<string, string>()

  const flush = async (topic: string): Promise<void> => {
    const response = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
    expect(response.status).toBe(200)
  }

  beforeAll(async () => {
    // Flushes only when asked, so each round is exactly one snapshot.
    broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '2', ZOMBI_FLUSH_INTERVAL_SECS: '0' })
    catalog = { uri: `${broker.httpUrl}/iceberg` }
    base = `${broker.httpUrl}/iceberg/v1`
    topics.push(uniqueTopic('catalog.orders'), uniqueTopic('catalog_audit-log'))
    for (const topic of topics) {
      const first = await produceRecords(broker, topic, records(topic, 0, 12))
      await flush(topic)
      const metadata = await (await fetch(`${broker.httpUrl}/tables/${topic}/metadata`)).json() as { current_snapshot_id: string }
      firstRound.set(topic, first)
      firstSnapshot.set(topic, metadata.current_snapshot_id)
      produced.set(topic, [...first, ...(await produceRecords(broker, topic, records(topic, 1, 9)))])
      await flush(topic)
    }
  }, 240_000)

  afterAll(async () => {
    await broker?.cleanup()
  })

  test.each(['duckdb', 'pyiceberg'] as const)('%s lists every topic as a table of the namespace', async (reader) => {
    expect(await listTables(catalog, reader)).toEqual([...topics].sort())
  })

  test.each(['duckdb', 'pyiceberg'] as const)('%s reads exactly the produced records of each topic by name', async (reader) => {
    for (const topic of topics) expect(await readRows(topic, reader, { catalog })).toEqual(expectedRows(topic, produced.get(topic)!))
  })

  test.each(['duckdb', 'pyiceberg'] as const)('%s travels back to the first snapshot through the catalog', async (reader) => {
    const [topic] = topics
    expect(await readRows(topic!, reader, { catalog, snapshot: firstSnapshot.get(topic!)! })).toEqual(expectedRows(topic!, firstRound.get(topic!)!))
  })

  test('answers a missing table or namespace in Iceberg\'s error shape', async () => {
    const table = await fetch(`${base}/namespaces/zombi/tables/no-such-topic`)
    expect([table.status, await table.json()]).toEqual([404, { error: { message: expect.stringContaining('zombi.no-such-topic does not exist'), type: 'NoSuchTableException', code: 404 } }])
    const namespace = await fetch(`${base}/namespaces/elsewhere/tables`)
    expect([namespace.status, ((await namespace.json()) as { error: { type: string } }).error.type]).toEqual([404, 'NoSuchNamespaceException'])
    expect((await fetch(`${base}/namespaces/zombi/tables/no-such-topic`, { method: 'HEAD' })).status).toBe(404)
    expect((await fetch(`${base}/namespaces/zombi/tables/${topics[0]}`, { method: 'HEAD' })).status).toBe(204)
  })

  test('refuses a commit and a drop, and the table stays as it was', async () => {
    const url = `${base}/namespaces/zombi/tables/${topics[0]}`
    const before = (await fetch(url)).headers.get('etag')
    const commit = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requirements: [], updates: [{ action: 'remove-snapshots', 'snapshot-ids': [1] }] }) })
    expect([commit.status, ((await commit.json()) as { error: { type: string } }).error.type]).toEqual([406, 'UnsupportedOperationException'])
    const drop = await fetch(url, { method: 'DELETE' })
    expect(drop.status).toBe(406)
    expect((await fetch(url)).headers.get('etag')).toBe(before)
  })

  test('answers 304 while the table is unchanged and the new metadata once a flush committed', async () => {
    const [topic] = topics
    const url = `${base}/namespaces/zombi/tables/${topic}`
    const first = await fetch(url)
    const etag = first.headers.get('etag')!
    const { 'metadata-location': location } = await first.json() as { 'metadata-location': string }
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304)
    const more = await produceRecords(broker, topic!, records(topic!, 2, 2))
    await flush(topic!)
    produced.get(topic!)!.push(...more)
    const changed = await fetch(url, { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(((await changed.json()) as { 'metadata-location': string })['metadata-location']).not.toBe(location)
  })

  test('pages through the tables with pageSize and next-page-token', async () => {
    const first = await (await fetch(`${base}/namespaces/zombi/tables?pageSize=1`)).json() as { identifiers: Array<{ name: string }>; 'next-page-token': string }
    const second = await (await fetch(`${base}/namespaces/zombi/tables?pageSize=1&pageToken=${first['next-page-token']}`)).json() as { identifiers: Array<{ name: string }>; 'next-page-token'?: string }
    expect([...first.identifiers, ...second.identifiers].map((identifier) => identifier.name)).toEqual([...topics].sort())
    expect(second['next-page-token']).toBeUndefined()
  })
})
