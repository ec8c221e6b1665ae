import { afterEach, expect, test } from 'vitest'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { ColdReader, type ColdQuery } from '../../src/iceberg/cold-reader.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { TestLog, base } from './test-log.ts'

/** Counts reads of Parquet data files, to see pruning. */
class CountingStore extends MemoryObjectStore {
  dataReads = 0
  override async get(key: string): Promise<Buffer | null> {
    if (key.endsWith('.parquet')) this.dataReads++
    return super.get(key)
  }
}

const flushers: Flusher[] = []
afterEach(async () => {
  for (const flusher of flushers.splice(0)) await flusher.close()
})

async function flushedTable(policy: 'replace' | 'continue' = 'replace', rowGroupBytes?: number) {
  const store = new CountingStore()
  const catalog = new FilesystemCatalog(store)
  const log = await TestLog.open()
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: policy, checkIntervalMs: 60_000, rowGroupBytes,
  })
  flushers.push(flusher)
  await flusher.start()
  return { store, catalog, log, flusher, reader: new ColdReader(catalog, 'zombi') }
}

const values = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `v${from + i}`)

test('reads one partition in offset order, bounded by the offset range, since and limit, with keys and timestamps', async () => {
  const { log, flusher, reader } = await flushedTable()
  const topic = await log.addTopic('events', 2)
  // Three flushes (three files per partition), timestamps one hour apart so since can cut.
  for (let round = 0; round < 3; round++) {
    await log.add(topic, 0, values(round * 10, 10), base + round * 3_600_000)
    await log.add(topic, 1, values(100 + round * 10, 10), base + round * 3_600_000)
    await flusher.flush('events')
  }
  const query = (partial: Partial<ColdQuery>): ColdQuery => ({ topicId: topic.id, partition: 0, fromOffset: 0, toOffset: 30, limit: 1000, ...partial })
  const all = await reader.read('events', query({}))
  expect(all.map((record) => record.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i))
  expect(all[3]).toMatchObject({ partition: 0, key: Buffer.from('k3'), value: Buffer.from('v3'), timestampMs: base + 3 })
  expect((await reader.read('events', query({ partition: 1, fromOffset: 5, toOffset: 12 }))).map((r) => r.value!.toString())).toEqual(values(105, 7))
  expect((await reader.read('events', query({ fromOffset: 8, limit: 4 }))).map((r) => r.offset)).toEqual([8, 9, 10, 11])
  expect((await reader.read('events', query({ sinceMs: base + 3_600_000 + 5 }))).map((r) => r.offset)).toEqual([15, 16, 17, 18, 19, ...Array.from({ length: 10 }, (_, i) => 20 + i)])
  expect(await reader.read('missing', query({}))).toEqual([])
})

test('reads only the data files whose bounds can hold the wanted rows', async () => {
  const { store, log, flusher, reader } = await flushedTable()
  const topic = await log.addTopic('pruned', 2)
  for (let round = 0; round < 4; round++) {
    await log.add(topic, 0, values(round * 5, 5))
    await log.add(topic, 1, values(round * 5, 5))
    await flusher.flush('pruned')
  }
  store.dataReads = 0
  expect((await reader.read('pruned', { topicId: topic.id, partition: 1, fromOffset: 10, toOffset: 15, limit: 100 })).map((r) => r.offset)).toEqual([10, 11, 12, 13, 14])
  expect(store.dataReads).toBe(1)
  store.dataReads = 0
  // A limit met by the first file stops before the next one.
  expect(await reader.read('pruned', { topicId: topic.id, partition: 0, fromOffset: 0, toOffset: 20, limit: 3 })).toHaveLength(3)
  expect(store.dataReads).toBe(1)
})

test('a topic recreated into the same table (continue) reads only its own rows', async () => {
  const { log, flusher, reader } = await flushedTable('continue')
  const first = await log.addTopic('reborn', 1)
  await log.add(first, 0, ['old-0', 'old-1'])
  await flusher.flush('reborn')
  const second = await log.addTopic('reborn', 1)
  await log.add(second, 0, ['new-0'])
  await flusher.flush('reborn')
  const read = async (topicId: string): Promise<string[]> =>
    (await reader.read('reborn', { topicId, partition: 0, fromOffset: 0, toOffset: 10, limit: 10 })).map((record) => record.value!.toString())
  expect(await read(second.id)).toEqual(['new-0'])
  expect(await read(first.id)).toEqual(['old-0', 'old-1'])
})

test('stops at a byte budget of keys, values and headers, across files, lowest offsets first', async () => {
  const { log, flusher, reader } = await flushedTable()
  const topic = await log.addTopic('budget', 1)
  for (let round = 0; round < 3; round++) {
    await log.add(topic, 0, values(round * 10, 10), base + round)
    await flusher.flush('budget')
  }
  // Each record: key "kN" and value "vN" (2 or 3 bytes each, 4 to 6 in all).
  const read = await reader.read('budget', { topicId: topic.id, partition: 0, fromOffset: 5, toOffset: 30, limit: 1000, maxBytes: 60 })
  expect(read.map((record) => record.offset)).toEqual(Array.from({ length: 12 }, (_, i) => 5 + i))
  expect((await reader.read('budget', { topicId: topic.id, partition: 0, fromOffset: 5, toOffset: 30, limit: 1000, maxBytes: 1 })).map((r) => r.offset)).toEqual([5])
})

test('decodes only the row groups that can hold wanted rows; whole row groups keep the rest of what they decoded', async () => {
  // Row groups of a few rows each (~100 decoded bytes): one file of 2 partitions × 40 rows holds many.
  const { log, flusher, reader } = await flushedTable('replace', 100)
  const topic = await log.addTopic('groups', 2)
  await log.add(topic, 0, values(0, 40))
  await log.add(topic, 1, values(100, 40))
  await flusher.flush('groups')
  const query: ColdQuery = { topicId: topic.id, partition: 1, fromOffset: 17, toOffset: 40, limit: 5 }
  expect((await reader.read('groups', query)).map((r) => r.value!.toString())).toEqual(values(117, 5))
  // With wholeRowGroups the answer may go past the limit, but only by a contiguous run of the wanted rows.
  const whole = await reader.read('groups', { ...query, wholeRowGroups: true })
  expect(whole.length).toBeGreaterThanOrEqual(5)
  expect(whole.map((r) => r.offset)).toEqual(Array.from({ length: whole.length }, (_, i) => 17 + i))
  expect(whole.every((r) => r.partition === 1 && r.value!.toString() === `v${100 + r.offset}`)).toBe(true)
  // Without a limit that bites, both read everything in range.
  expect((await reader.read('groups', { ...query, limit: 1000, wholeRowGroups: true })).map((r) => r.offset)).toEqual(Array.from({ length: 23 }, (_, i) => 17 + i))
})
