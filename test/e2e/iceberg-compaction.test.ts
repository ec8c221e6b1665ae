// Compaction read by independent readers: a table made of many small files (one flush per round,
// two Kafka partitions, two hours) is compacted through POST /tables/{t}/compact, and DuckDB and
// pyiceberg return exactly the same rows before and after, with fewer files; flushing more
// afterwards adds every new row once (the exactly-once ranges survive the replace snapshot).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRows, produceRecords, type Produced, type ToProduce } from './fixtures/produced.ts'
import { dataFiles, readInfo, readRows, tableDir } from '../iceberg/readers.ts'

// 2024-05-02 10:50 UTC; records 2 minutes apart, so rounds cross into 11:00.
const baseTimestamp = Date.UTC(2024, 4, 2, 10, 50, 0)

function records(round: number, count: number): ToProduce[] {
  return Array.from({ length: count }, (_, i) => {
    const n = round * 100 + i
    return {
      partition: i % 2,
      // Later rounds' timestamps interleave with earlier ones: the compacted file must sort them.
      timestamp: baseTimestamp + (i * 5 + round) * 60_000 + (i % 3 === 0 ? 7 : 0),
      key: i % 4 === 3 ? null : b64(`key-${n}`),
      value: i % 6 === 5 ? null : i % 7 === 6 ? '' : Buffer.from([n & 0xff, 0, ...Buffer.from(`value ${n} ☃`)]).toString('base64'),
      headers: i % 3 === 0 ? [] : [['round', b64(String(round))], ['maybe', i % 2 === 0 ? null : b64(String(n))]],
    }
  })
}

async function post(broker: Broker, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${broker.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

describe('compaction read by DuckDB and pyiceberg', () => {
  let broker: Broker
  let topic: string
  let dir: string
  const produced: Produced[] = []

  beforeAll(async () => {
    // Flushes only on request, compaction only on request: the test decides when files are made.
    broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '2', ZOMBI_FLUSH_INTERVAL_SECS: '0', ZOMBI_COMPACTION_INTERVAL_SECS: '0' })
    topic = uniqueTopic('compaction')
    dir = tableDir(broker.dataDir, topic)
    for (let round = 0; round < 5; round++) {
      produced.push(...(await produceRecords(broker, topic, records(round, 12))))
      expect((await post(broker, `/tables/${topic}/flush`)).status).toBe(200)
    }
  }, 180_000)

  afterAll(async () => {
    await broker?.cleanup()
  })

  test('the compacted table holds exactly the rows it held before, in fewer files; flushing more adds each new row once', async () => {
    const expected = expectedRows(topic, produced)
    const filesBefore = await dataFiles(dir)
    // 5 flushes x 2 hours (a file per hour holds both Kafka partitions).
    expect(filesBefore).toHaveLength(10)
    const duckdbBefore = await readRows(dir, 'duckdb')
    const pyicebergBefore = await readRows(dir, 'pyiceberg')
    expect(duckdbBefore).toEqual(expected)
    expect(pyicebergBefore).toEqual(expected)

    const compact = await post(broker, `/tables/${topic}/compact`)
    expect(compact.status).toBe(200)
    expect(compact.body).toMatchObject({ table: topic, files_in: 10, files_out: 2, rows: 60, commit_attempts: 1, snapshot_id: expect.stringMatching(/^\d+$/) })
    expect(compact.body.bytes_in).toBeGreaterThan(compact.body.bytes_out as number)
    expect(compact.body.seconds).toEqual(expect.any(Number))

    expect(await dataFiles(dir)).toHaveLength(2)
    expect(await readRows(dir, 'duckdb')).toEqual(duckdbBefore)
    expect(await readRows(dir, 'pyiceberg')).toEqual(pyicebergBefore)
    const info = await readInfo(dir)
    expect(info.current_snapshot).toBe(compact.body.snapshot_id)
    const replace = info.snapshots.find((snapshot) => snapshot.id === info.current_snapshot)!
    expect(replace.summary).toMatchObject({ operation: 'replace', 'deleted-data-files': '10', 'added-data-files': '2', 'total-records': '60', 'total-data-files': '2' })
    // The manifests pyiceberg plans from count every row in the new files.
    expect(info.files.map((file) => file.record_count).reduce((a, b) => a + b, 0)).toBe(60)

    // Nothing more to compact.
    expect((await post(broker, `/tables/${topic}/compact`)).body).toMatchObject({ files_in: 0, files_out: 0, snapshot_id: null })

    produced.push(...(await produceRecords(broker, topic, records(5, 12))))
    expect((await post(broker, `/tables/${topic}/flush`)).body).toMatchObject({ rows: 12 })
    const all = expectedRows(topic, produced)
    expect(await readRows(dir, 'duckdb')).toEqual(all)
    expect(await readRows(dir, 'pyiceberg')).toEqual(all)
  }, 240_000)
})
