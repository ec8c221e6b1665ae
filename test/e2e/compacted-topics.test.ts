// Compacted topics end to end with librdkafka's kcat: many versions per key with tombstones go in, the
// log cleaner runs once they are in Iceberg, and a consumer from the beginning reads exactly the latest
// record per key at its original offset; the Iceberg table still holds every version; a keyless record
// is refused; the result survives kill -9 and hot retention deleting the segments that held the
// originals (compacted records are never served from the table).
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcatCommonArgs, kcatConsume, runKcat, kcat, type KcatRecord } from './fixtures/kcat.ts'
import { readRows, tableDir } from '../iceberg/readers.ts'
import { listOffset } from './fixtures/log-probes.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({
    ZOMBI_SEGMENT_BYTES: String(1024 * 1024),
    ZOMBI_HOT_RETENTION_MS: '0',
    ZOMBI_HOT_RETENTION_CHECK_SECS: '1',
    ZOMBI_LOG_CLEANER_BACKOFF_MS: '200',
    // Flushed only when the test asks: the cleaner never touches what is not in Iceberg.
    ZOMBI_FLUSH_INTERVAL_SECS: '0',
  })
})

afterAll(async () => {
  await broker?.cleanup()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

interface Written {
  offset: number
  key: string
  value: string | null
}

/** What a consumer from the beginning must read: the latest record per key (tombstones kept), in offset order. */
function latestPerKey(written: readonly Written[]): Written[] {
  const latest = new Map<string, Written>()
  for (const record of written) latest.set(record.key, record)
  return [...latest.values()].sort((a, b) => a.offset - b.offset)
}

function asWritten(records: readonly KcatRecord[]): Written[] {
  return records.map((r) => ({ offset: r.offset, key: r.key!.toString(), value: r.value === null ? null : r.value.toString() }))
}

test('a compacted topic reads back the latest record per key at its offset, after cleaning, kill -9 and hot retention', async () => {
  const topic = uniqueTopic('compacted')
  const admin = new Kafka({ clientId: 'zombi-e2e-compacted', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{
        topic, numPartitions: 1,
        // A small active segment and a low dirty ratio, so the test needs no gigabyte of records.
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2048' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' }, { name: 'delete.retention.ms', value: '86400000' },
        ],
      }],
    })
  } finally {
    await admin.disconnect()
  }
  // 30 keys, 40 versions each, every 7th version a tombstone; one kcat run per round, so many batches.
  const written: Written[] = []
  for (let round = 0; round < 40; round++) {
    const lines: string[] = []
    for (let k = 0; k < 30; k++) {
      const key = `key-${String(k).padStart(2, '0')}`
      const tombstone = (round + k) % 7 === 0
      written.push({ offset: written.length, key, value: tombstone ? null : `${key}@${round}` })
      lines.push(`${key}:${tombstone ? '' : `${key}@${round}`}`)
    }
    // -Z: an empty value is sent as null (a tombstone).
    await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-K', ':', '-Z', ...kcatCommonArgs], { input: lines.join('\n') + '\n' })
  }
  // A record without a key is refused (INVALID_RECORD), as Kafka does; nothing is stored.
  const keyless = await runKcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', ...kcatCommonArgs, '-X', 'message.timeout.ms=5000', '-X', 'retries=0'], { input: 'no key\n' })
  expect(keyless.stderr).toMatch(/failed to validate record/)
  expect(await listOffset(broker, topic, -1)).toBe(written.length)

  // Before the flush nothing is cleanable: every version is served.
  await sleep(600)
  expect(asWritten(await kcatConsume(broker.bootstrap, topic, { partition: 0, extraArgs: ['-Z'] }))).toEqual(written)

  expect((await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })).status).toBe(200)
  await eventually(async () => (await metric('zombi_log_cleaner_cleanings_total')) >= 1, 'a cleaning')
  expect(await metric('zombi_log_cleaner_reclaimed_bytes_total')).toBeGreaterThan(0)

  const check = async (): Promise<void> => {
    const served = asWritten(await kcatConsume(broker.bootstrap, topic, { partition: 0, extraArgs: ['-Z'] }))
    // Each record exactly as written at its offset; far fewer than written; the latest of every key there.
    const byOffset = new Map(written.map((r) => [r.offset, r]))
    for (const record of served) expect(record).toEqual(byOffset.get(record.offset))
    expect(served.length).toBeLessThan(written.length / 4)
    const lastServed = new Map(served.map((r) => [r.key, r]))
    for (const latest of latestPerKey(written)) expect(lastServed.get(latest.key)).toEqual(latest)
    // The cleaned part (all but the active segment) holds one record per key.
    const keys = served.map((r) => r.key)
    expect(keys.length - new Set(keys).size).toBeLessThan(90)
    expect(await listOffset(broker, topic, -2)).toBe(0)
    expect(await listOffset(broker, topic, -1)).toBe(written.length)
  }
  await check()

  // Iceberg keeps every version (the flusher ran before the cleaner), tombstones included.
  const rows = await readRows(tableDir(broker.dataDir, topic), 'duckdb')
  expect(rows.map((row) => row.sequence)).toEqual(written.map((r) => r.offset))

  // kill -9 and restart: the cleaned state is durable.
  await broker.kill9()
  await broker.restart()
  await check()

  // Hot retention (0 ms) wants every flushed segment: the cleaner moves the compacted batches out of them, then they go.
  const segments = async (): Promise<string[]> => (await readdir(join(broker.dataDir, 'log'))).filter((name) => name.endsWith('.seg'))
  const before = await segments()
  // Another topic's records roll the shared log past its first segment.
  const filler = uniqueTopic('filler')
  await kcat(['-P', '-b', broker.bootstrap, '-t', filler, '-p', '0', ...kcatCommonArgs], { input: Array.from({ length: 1500 }, (_, i) => String(i).padEnd(1000, '.')).join('\n') + '\n' })
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-K', ':', ...kcatCommonArgs], { input: 'key-00:after\n' })
  written.push({ offset: written.length, key: 'key-00', value: 'after' })
  for (const name of [filler, topic]) expect((await fetch(`${broker.httpUrl}/tables/${name}/flush`, { method: 'POST' })).status).toBe(200)
  await eventually(async () => !(await segments()).includes(before[0]!), 'the first segment to go')
  await check()
}, 240_000)
