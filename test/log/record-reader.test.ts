import { describe, expect, it } from 'vitest'
import type { ColdQuery } from '../../src/iceberg/cold-reader.ts'
import { RecordReader, type LogRecord } from '../../src/log/record-reader.ts'
import { HotRetention } from '../../src/log/hot-retention.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { batchOf, topicOf } from '../support/log.ts'

/** A log whose first `flushed` records of partition 0 left the hot log (hot retention), with an Iceberg side that holds them. */
async function retained() {
  const store = new MemoryHotStore({ segmentBytes: 1 })
  await store.open()
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
  await log.open()
  const topic = await topicOf(log, 'reads')
  const partition = topic.partitions[0]!
  for (let i = 0; i < 6; i++) await log.append(topic, partition, batchOf([`v${i}`], 1_000 + i))
  await log.markFlushed(partition, 3)
  await new HotRetention({ store, logger: silentLogger, topics: () => log.topics(), retentionMs: 0, retentionBytes: -1 }).enforce()
  const queries: ColdQuery[] = []
  const cold = (offset: number): LogRecord => ({ partition: 0, offset, timestampMs: 1_000 + offset, key: null, value: Buffer.from(`v${offset}`), headers: [] })
  const reader = new RecordReader(async (_table, query) => {
    queries.push(query)
    const records: LogRecord[] = []
    for (let offset = query.fromOffset; offset < query.toOffset && records.length < query.limit; offset++) {
      if (query.sinceMs === undefined || 1_000 + offset >= query.sinceMs) records.push(cold(offset))
    }
    return records
  })
  return { log, topic, partition, reader, queries }
}

const values = (records: LogRecord[]): string[] => records.map((record) => record.value!.toString())

describe('RecordReader', () => {
  it('reads a partition from the Iceberg table below the log start offset, then on in the hot log', async () => {
    const { topic, partition, reader, queries } = await retained()
    expect(partition.logStartOffset).toBe(3)
    const page = await reader.readPartition(topic, partition, 1, 4)
    expect([values(page!.records), page!.nextOffset, page!.hasMore]).toEqual([['v1', 'v2', 'v3', 'v4'], 5, true])
    expect(queries).toEqual([{ topicId: topic.id, partition: 0, fromOffset: 1, toOffset: 3, limit: 4 }])
    const coldOnly = await reader.readPartition(topic, partition, 0, 2)
    expect([values(coldOnly!.records), coldOnly!.nextOffset, coldOnly!.hasMore]).toEqual([['v0', 'v1'], 2, true])
    const rest = await reader.readPartition(topic, partition, 5, 10)
    expect([values(rest!.records), rest!.nextOffset, rest!.hasMore]).toEqual([['v5'], 6, false])
  })

  it('says out of range below the log start offset without an Iceberg side', async () => {
    const { topic, partition } = await retained()
    expect(await new RecordReader(null).readPartition(topic, partition, 0, 10)).toBeNull()
  })

  it('reads records since a timestamp from both sides', async () => {
    const { topic, reader } = await retained()
    const { records, hasMore } = await reader.readSince(topic, 1_002, 10)
    expect([values(records), hasMore]).toEqual([['v2', 'v3', 'v4', 'v5'], false])
  })

  it('never reads records below a DeleteRecords cut back from the Iceberg table', async () => {
    const { log, topic, partition, reader, queries } = await retained()
    await log.deleteRecords(topic, partition, 2)
    expect(await reader.readPartition(topic, partition, 1, 10)).toBeNull()
    const page = await reader.readPartition(topic, partition, 2, 10)
    expect(values(page!.records)).toEqual(['v2', 'v3', 'v4', 'v5'])
    queries.length = 0
    expect(values((await reader.readSince(topic, 0, 10)).records)).toEqual(['v2', 'v3', 'v4', 'v5'])
    expect(queries.map((query) => query.fromOffset)).toEqual([2])
  })

  it('waits for an append at the end of the partition until the deadline', async () => {
    const { log, topic, partition, reader } = await retained()
    const page = reader.readPartition(topic, partition, 6, 10, Number.MAX_SAFE_INTEGER)
    await log.append(topic, partition, batchOf(['late']))
    expect(values((await page)!.records)).toEqual(['late'])
  })
})
