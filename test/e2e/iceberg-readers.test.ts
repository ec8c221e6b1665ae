// Records produced by real clients become rows of the topic's Iceberg table, read back by DuckDB's
// iceberg extension and pyiceberg (no Zombi code in the read path): every codec, keys, headers,
// null values, three partitions, timestamps over several hours and two dates, two snapshots.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { b64, expectedRows, produceRecords, sortedByOffset, type Produced, type ToProduce } from './fixtures/produced.ts'
import { kcat, kcatCommonArgs } from './fixtures/kcat.ts'
import { filesScanned, readInfo, readRows, tableDir, waitForRecords } from '../iceberg/readers.ts'


// 2024-03-09 21:10 UTC: records 23 minutes apart cross midnight into 2024-03-10.
const baseTimestamp = Date.UTC(2024, 2, 9, 21, 10, 0)
const minutes = 60_000

function records(round: number, count: number): ToProduce[] {
  return Array.from({ length: count }, (_, i) => {
    const n = round * 1000 + i
    return {
      partition: i % 3,
      timestamp: baseTimestamp + (round * count + i) * 23 * minutes,
      key: i % 5 === 4 ? null : b64(`key-${n}`),
      value: i % 7 === 6 ? null : i % 11 === 10 ? '' : Buffer.from([n & 0xff, 0, 0xff, ...Buffer.from(`value ${n} ☃`)]).toString('base64'),
      headers: i % 4 === 0 ? [] : [['source', b64(`round-${round}`)], ['trace', i % 3 === 0 ? null : b64(String(n))], ['source', b64('repeated')]],
    }
  })
}




describe('Iceberg table read by DuckDB and pyiceberg', () => {
  let broker: Broker
  let topic: string
  let dir: string
  const first: Produced[] = []
  const all: Produced[] = []
  let firstSnapshot: string

  beforeAll(async () => {
    broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '3', ZOMBI_FLUSH_INTERVAL_SECS: '1' })
    topic = uniqueTopic('iceberg-readers')
    dir = tableDir(broker.dataDir, topic)
    // Round 1: uncompressed and gzip; flushed into the first snapshot(s).
    first.push(...(await produceRecords(broker, topic, records(0, 30), { compression: 'none' })))
    first.push(...(await produceRecords(broker, topic, records(1, 30), { compression: 'gzip' })))
    await waitForRecords(dir, first.length)
    const info = await readInfo(dir)
    firstSnapshot = info.current_snapshot!
    all.push(...first)
    // Round 2: snappy, lz4, zstd, and kcat (librdkafka's CLI) with a header and the current time.
    all.push(...(await produceRecords(broker, topic, records(2, 30), { compression: 'snappy' })))
    all.push(...(await produceRecords(broker, topic, records(3, 30), { compression: 'lz4' })))
    all.push(...(await produceRecords(broker, topic, records(4, 30), { compression: 'zstd' })))
    const before = Date.now()
    await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '1', '-K', ':', '-H', 'via=kcat', '-z', 'zstd', ...kcatCommonArgs], { input: 'k1:from kcat\nk2:second\n' })
    // kcat does not report offsets: they follow the round-3 records of partition 1.
    const lastOffset = Math.max(...all.filter((record) => record.partition === 1).map((record) => record.offset))
    for (const [i, [key, value]] of [['k1', 'from kcat'], ['k2', 'second']].entries()) {
      all.push({ partition: 1, offset: lastOffset + 1 + i, timestamp: -1, key: b64(key!), value: b64(value!), headers: [['via', b64('kcat')]] })
    }
    await waitForRecords(dir, all.length)
    // kcat's records carry the producer's clock: take it from the table, bounded by the test's clock.
    const rows = await readRows(dir, 'duckdb', { where: `partition = 1 AND sequence > ${lastOffset}` })
    for (const row of rows) {
      expect(row.timestamp_ms).toBeGreaterThanOrEqual(before - 1000)
      expect(row.timestamp_ms).toBeLessThanOrEqual(Date.now())
      all.find((record) => record.partition === 1 && record.offset === row.sequence)!.timestamp = row.timestamp_ms
    }
  }, 240_000)

  afterAll(async () => {
    await broker?.cleanup()
  })

  test.each(['duckdb', 'pyiceberg'] as const)('%s returns exactly the produced records', async (reader) => {
    const rows = await readRows(dir, reader)
    expect(rows).toEqual(expectedRows(topic, all))
  })

  test.each(['duckdb', 'pyiceberg'] as const)('%s time travel to the first snapshot returns the first round only', async (reader) => {
    const rows = await readRows(dir, reader, { snapshot: firstSnapshot })
    expect(rows).toEqual(expectedRows(topic, first))
  })

  test('schema field ids, partition spec and sort order are declared', async () => {
    const info = await readInfo(dir)
    expect(info.format_version).toBe(2)
    expect(info.schema.map((field) => [field.id, field.name, field.required, field.type])).toEqual([
      [1, 'sequence', true, 'long'], [2, 'topic', true, 'string'], [3, 'partition', true, 'int'], [4, 'payload', true, 'binary'],
      [5, 'timestamp_ms', true, 'long'], [6, 'idempotency_key', false, 'string'], [7, 'event_date', true, 'date'],
      [8, 'event_hour', true, 'int'], [9, 'key', false, 'binary'],
      [10, 'headers', false, 'list<struct<12: key: required string, 13: value: optional binary>>'],
      [14, 'timestamp', true, 'timestamptz'], [15, 'value_is_null', true, 'boolean'],
    ])
    expect(info.schema[9]!.element!.id).toBe(11)
    expect(info.spec).toEqual([
      { name: 'event_date', transform: 'identity', source_id: 7, field_id: 1000 },
      { name: 'event_hour', transform: 'identity', source_id: 8, field_id: 1001 },
    ])
    expect(info.sort_order).toEqual([{ source_id: 3, direction: 'ASC' }, { source_id: 1, direction: 'ASC' }])
  })

  test('several flushes made several snapshots, each recording its offset ranges', async () => {
    const info = await readInfo(dir)
    expect(info.snapshots.length).toBeGreaterThanOrEqual(2)
    for (const snapshot of info.snapshots) {
      expect(snapshot.summary.operation).toBe('append')
      const ranges = Object.keys(snapshot.summary).filter((key) => key.startsWith('zombi.offsets.'))
      expect(ranges.length).toBeGreaterThan(0)
      for (const key of ranges) expect(snapshot.summary[key]).toMatch(/^\d+-\d+$/)
    }
    // Ranges of one partition follow each other without gap or overlap.
    for (const partition of [0, 1, 2]) {
      const ranges = info.snapshots
        .map((snapshot) => snapshot.summary[`zombi.offsets.${partition}`])
        .filter((range): range is string => range !== undefined)
        .map((range) => range.split('-').map(Number) as [number, number])
      let next = 0
      for (const [from, to] of ranges) {
        expect(from).toBe(next)
        next = to + 1
      }
      expect(next).toBe(Math.max(...all.filter((record) => record.partition === partition).map((record) => record.offset)) + 1)
    }
  })

  test('manifests carry bounds for sequence, partition and timestamp_ms, and counts for every leaf column', async () => {
    const info = await readInfo(dir)
    expect(info.files.length).toBeGreaterThan(3)
    for (const file of info.files) {
      for (const id of ['1', '3', '5', '7', '8', '14']) {
        expect(file.lower_bounds[id]).toBeDefined()
        expect(file.upper_bounds[id]).toBeDefined()
      }
      for (const id of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '12', '13', '14', '15']) {
        expect(file.value_counts[id]).toBeDefined()
        expect(file.null_value_counts[id]).toBeDefined()
      }
      expect(file.value_counts['1']).toBe(file.record_count)
      expect(file.path).toMatch(/\/data\/event_date=\d{4}-\d{2}-\d{2}\/event_hour=\d{2}\/[0-9a-f-]+\.parquet$/)
    }
  })

  test('DuckDB skips files by sequence and timestamp bounds', async () => {
    const partition0 = sortedByOffset(all).filter((record) => record.partition === 0)
    const bySequence = await filesScanned(dir, `partition = 0 AND sequence >= ${partition0.at(-2)!.offset}`)
    expect(bySequence.rows).toBe(2)
    expect(bySequence.files_read).toBeLessThan(bySequence.data_files)
    const hour = Date.UTC(2024, 2, 9, 23, 0, 0)
    const byTimestamp = await filesScanned(dir, `timestamp_ms >= ${hour} AND timestamp_ms < ${hour + 3_600_000}`)
    expect(byTimestamp.rows).toBe(all.filter((record) => record.timestamp >= hour && record.timestamp < hour + 3_600_000).length)
    expect(byTimestamp.files_read).toBeLessThan(byTimestamp.data_files)
  })
})
