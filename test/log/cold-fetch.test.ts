import { describe, expect, it } from 'vitest'
import type { ColdQuery } from '../../src/iceberg/cold-reader.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { endOffsetOf } from '../../src/log/cold-batches.ts'
import { HotRetention } from '../../src/log/hot-retention.ts'
import type { LogRecord } from '../../src/log/record-reader.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { baseOffsetOf } from '../../src/protocol/record-batch.ts'
import { decodeBatch } from '../../src/protocol/records.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { batchOf, topicOf } from '../support/log.ts'

const VALUE_BYTES = 1000

/**
 * A log whose first `flushed` of `total` records left the hot log, over a table that holds offsets from
 * `tableStart` on (what came before was never in it): every table read is recorded.
 */
async function retained(total: number, flushed: number, cacheBytes: number, tableStart = 0) {
  const store = new MemoryHotStore({ segmentBytes: 1 })
  await store.open()
  const queries: ColdQuery[] = []
  const row = (offset: number): LogRecord => ({ partition: 0, offset, timestampMs: 1_000 + offset, key: null, value: Buffer.alloc(VALUE_BYTES, offset % 26 + 97), headers: [] })
  const log = new BrokerLog({
    store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0, coldFetchCacheBytes: cacheBytes,
    readCold: async (_table, query) => {
      queries.push(query)
      const records: LogRecord[] = []
      let bytes = 0
      for (let offset = Math.max(query.fromOffset, tableStart); offset < query.toOffset && records.length < query.limit; offset++) {
        if (query.sinceMs !== undefined && 1_000 + offset < query.sinceMs) continue
        records.push(row(offset))
        bytes += VALUE_BYTES
        if (query.maxBytes !== undefined && bytes >= query.maxBytes) break
      }
      return records
    },
  })
  await log.open()
  const topic = await topicOf(log, 'cold')
  const partition = topic.partitions[0]!
  for (let i = 0; i < total; i++) await log.append(topic, partition, batchOf([`hot${i}`], 1_000 + i))
  await log.markFlushed(partition, flushed)
  await new HotRetention({ store, logger: silentLogger, topics: () => log.topics(), retentionMs: 0, retentionBytes: -1 }).enforce()
  return { log, topic, partition, queries, cold: log.cold! }
}

const offsetsOf = (batches: Buffer[]): number[] => batches.flatMap((batch) => decodeBatch(batch).records.map((record) => record.offset))

describe('ColdFetch', () => {
  it('serves offsets below the hot log from the table, in batches within max bytes, and reads each stretch of the table once', async () => {
    const { topic, partition, queries, cold } = await retained(10, 8, 1 << 20)
    expect(partition.logStartOffset).toBe(8)
    const out: Buffer[] = []
    const first = await cold.read(topic, partition, 2, 3 * (VALUE_BYTES + 100), true, out)
    expect(offsetsOf(out)).toEqual([2, 3, 4, 5, 6, 7])
    expect(first.nextOffset).toBe(8)
    expect(queries).toHaveLength(1)
    expect(queries[0]).toMatchObject({ fromOffset: 2, toOffset: 8, maxBytes: 256 * 1024 })
    // Cached: from the middle of it, without a second table read; the limit cuts at a whole batch.
    out.length = 0
    const again = await cold.read(topic, partition, 4, 1, true, out)
    expect(queries).toHaveLength(1)
    expect(out.map((batch) => baseOffsetOf(batch))).toEqual([2]) // a batch is sent whole even if it starts before the offset
    expect(again.nextOffset).toBe(endOffsetOf(out[0]!))
    out.length = 0
    expect((await cold.read(topic, partition, 4, 1, false, out)).bytes).toBe(0)
  })

  it('reads the table in chunks of a quarter of the cache and keeps the cache within its budget', async () => {
    // 256 KiB of cache: 64 KiB chunks, about 64 records each.
    const { topic, partition, queries, cold } = await retained(400, 390, 256 * 1024)
    const seen: number[] = []
    for (let next = 0; next < partition.logStartOffset;) {
      const out: Buffer[] = []
      next = (await cold.read(topic, partition, next, 1 << 30, true, out)).nextOffset
      seen.push(...offsetsOf(out))
      expect(cold.usedBytes).toBeLessThanOrEqual(256 * 1024)
    }
    expect(seen).toEqual(Array.from({ length: partition.logStartOffset }, (_, i) => i))
    expect(queries.length).toBeGreaterThanOrEqual(5)
    for (const query of queries) expect(query.maxBytes).toBe(64 * 1024)
  })

  it('reports the table\'s first offset as the log start, and finds offsets by timestamp in the table', async () => {
    const { log, topic, partition, cold } = await retained(10, 8, 1 << 20, 3)
    expect(log.knownLogStartOffset(topic, partition)).toBe(8) // not read yet
    expect(await log.logStartOffset(topic, partition)).toBe(3)
    expect(log.knownLogStartOffset(topic, partition)).toBe(3)
    expect(await cold.offsetForTimestamp(topic, partition, 1_005)).toEqual({ offset: 5, timestamp: 1_005 })
    expect(await cold.offsetForTimestamp(topic, partition, 1_009)).toBeNull() // past the table: the hot log answers
  })

  it('moves the log start to a DeleteRecords cut inside the table, and looks up timestamps only from it', async () => {
    const { log, topic, partition, queries } = await retained(10, 8, 1 << 20)
    expect(await log.logStartOffset(topic, partition)).toBe(0)
    expect(await log.deleteRecords(topic, partition, 3)).toEqual({ errorCode: 0, lowWatermark: 3 })
    expect(await log.logStartOffset(topic, partition)).toBe(3)
    expect(log.knownLogStartOffset(topic, partition)).toBe(3)
    queries.length = 0
    expect(await log.cold!.offsetForTimestamp(topic, partition, 0)).toEqual({ offset: 3, timestamp: 1_003 })
    expect(queries[0]).toMatchObject({ fromOffset: 3, toOffset: 8 })
    await log.deleteRecords(topic, partition, 9)
    expect(await log.cold!.offsetForTimestamp(topic, partition, 0)).toBeNull()
  })

  it('steps over offsets the table does not hold to the hot log\'s start', async () => {
    const { topic, partition, cold } = await retained(10, 8, 1 << 20, 8)
    const out: Buffer[] = []
    expect(await cold.read(topic, partition, 2, 1 << 20, true, out)).toEqual({ bytes: 0, nextOffset: 8 })
  })
})
