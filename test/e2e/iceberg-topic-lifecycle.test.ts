// A topic's table over its life: POST /tables/{t}/flush commits at once, deleting the topic leaves
// the table, and a topic created again with the same name replaces the table's current state while
// the old snapshots stay reachable by time travel (ZOMBI_RECREATED_TOPIC_TABLE=replace, the default).
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs } from './fixtures/kcat.ts'
import { readInfo, readRows, tableDir } from '../iceberg/readers.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_FLUSH_INTERVAL_SECS: '0' })
})

afterAll(async () => {
  await broker?.cleanup()
})

async function flush(topic: string): Promise<{ rows: number; snapshots: number }> {
  const response = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
  expect(response.status).toBe(200)
  return (await response.json()) as { rows: number; snapshots: number }
}

const payloads = (rows: Array<{ payload: string }>): string[] => rows.map((row) => Buffer.from(row.payload, 'base64').toString())

test('deleting a topic leaves its table; recreating it replaces the current rows and keeps the old snapshots', async () => {
  const topic = uniqueTopic('iceberg-lifecycle')
  const dir = tableDir(broker.dataDir, topic)
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, ...kcatCommonArgs], { input: 'first\nsecond\n' })
  expect(await flush(topic)).toMatchObject({ rows: 2, snapshots: 1 })
  const oldSnapshot = (await readInfo(dir)).current_snapshot!

  const admin = new Kafka({ clientId: 'zombi-e2e-iceberg', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.deleteTopics({ topics: [topic] })
  } finally {
    await admin.disconnect()
  }
  expect(payloads(await readRows(dir, 'duckdb'))).toEqual(['first', 'second'])

  // Auto-created again by the next produce: a new topic id, offsets from 0.
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, ...kcatCommonArgs], { input: 'reborn\n' })
  expect(await flush(topic)).toMatchObject({ rows: 1, snapshots: 1 })
  for (const reader of ['duckdb', 'pyiceberg'] as const) {
    const rows = await readRows(dir, reader)
    expect(rows.map((row) => [row.sequence, Buffer.from(row.payload, 'base64').toString()])).toEqual([[0, 'reborn']])
    expect(payloads(await readRows(dir, reader, { snapshot: oldSnapshot }))).toEqual(['first', 'second'])
  }
  const info = await readInfo(dir)
  expect(info.snapshots).toHaveLength(2)
  expect(info.snapshots[1]!.parent).toBeNull()
  expect(info.snapshots[0]!.summary['zombi.topic-id']).not.toBe(info.snapshots[1]!.summary['zombi.topic-id'])
})
