// Durability across restarts: every acknowledged record is read back after kill -9 or a graceful stop,
// offsets stay dense from 0, and new records continue after the last offset (never reused).
import { afterEach, describe, expect, test } from 'vitest'
import { Producer, ProduceAcks } from '@platformatic/kafka'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs } from './fixtures/kcat.ts'
import { readPartition } from './fixtures/platformatic.ts'

interface Written {
  key: Buffer
  value: Buffer
}

// Several broker starts and a few hundred fsynced requests per test: generous, never a performance check.
const restartTestTimeoutMs = 180_000

const brokers: Broker[] = []

afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.cleanup()
})

async function start(settings: Record<string, string> = {}): Promise<Broker> {
  const broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '2', ...settings })
  brokers.push(broker)
  return broker
}

function record(topic: string, partition: number, index: number): Written {
  // Varied sizes so batches do not all look alike on disk.
  return { key: Buffer.from(`${topic}/${partition}/${index}`), value: Buffer.from(`value ${index} `.repeat(1 + (index % 7))) }
}

/**
 * Produces `count` records to `partition`, numbered from `from`, in requests of `perRequest` records, each
 * acknowledged by all replicas (acks=all) before the next is sent. Returns what was written.
 */
async function produceWithPlatformatic(broker: Broker, topic: string, partition: number, from: number, count: number, perRequest: number): Promise<Written[]> {
  const producer = new Producer({ clientId: 'zombi-e2e-restart', bootstrapBrokers: [broker.bootstrap], retries: 3, autocreateTopics: true })
  const written: Written[] = []
  try {
    for (let first = from; first < from + count; first += perRequest) {
      const batch = Array.from({ length: Math.min(perRequest, from + count - first) }, (_, offset) => record(topic, partition, first + offset))
      const result = await producer.send({ acks: ProduceAcks.ALL, messages: batch.map((entry) => ({ ...entry, topic, partition })) })
      // The broker says where the batch went: right after what we wrote before.
      expect(result.offsets).toEqual([{ topic, partition, offset: BigInt(first) }])
      written.push(...batch)
    }
  } finally {
    await producer.close()
  }
  return written
}

/** One kcat invocation (librdkafka, acks=all by default, zstd) writing `count` records to `partition`. */
async function produceWithKcat(broker: Broker, topic: string, partition: number, from: number, count: number): Promise<Written[]> {
  const written = Array.from({ length: count }, (_, offset) => record(topic, partition, from + offset))
  const input = written.map((entry) => `${entry.key.toString()}\x1f${entry.value.toString()}\x1e`).join('')
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, ...kcatCommonArgs, '-X', 'acks=all', '-p', String(partition), '-z', 'zstd', '-D', '\\x1e', '-K', '\\x1f'], { input })
  return written
}

async function expectPartition(broker: Broker, topic: string, partition: number, expected: Written[]): Promise<void> {
  const stored = await readPartition(broker.bootstrap, topic, partition)
  expect(stored.highWatermark).toBe(expected.length)
  expect(stored.records.map((entry) => entry.offset)).toEqual(expected.map((_, offset) => offset))
  expect(stored.records.map((entry) => ({ key: entry.key, value: entry.value }))).toEqual(expected)
}

describe.each([
  { how: 'kill -9', halt: (broker: Broker) => broker.kill9() },
  { how: 'graceful stop (SIGTERM)', halt: (broker: Broker) => broker.stop() },
])('restart after $how', ({ halt }) => {
  test('every acknowledged record is read back, offsets dense from 0, and new offsets continue after them', async () => {
    const broker = await start()
    const topic = uniqueTopic('restart')
    const partition0 = await produceWithPlatformatic(broker, topic, 0, 0, 200, 20)
    const partition1 = await produceWithKcat(broker, topic, 1, 0, 50)
    await expectPartition(broker, topic, 0, partition0)

    await halt(broker)
    await broker.restart()

    await expectPartition(broker, topic, 0, partition0)
    await expectPartition(broker, topic, 1, partition1)

    // Offsets are never reused: the next records land after the recovered ones.
    partition0.push(...(await produceWithPlatformatic(broker, topic, 0, 200, 30, 10)))
    partition1.push(...(await produceWithKcat(broker, topic, 1, 50, 5)))
    await expectPartition(broker, topic, 0, partition0)
    await expectPartition(broker, topic, 1, partition1)

    // And once more, so recovery also works on a log that was itself recovered.
    await halt(broker)
    await broker.restart()
    await expectPartition(broker, topic, 0, partition0)
    await expectPartition(broker, topic, 1, partition1)
    partition0.push(...(await produceWithPlatformatic(broker, topic, 0, 230, 1, 1)))
    await expectPartition(broker, topic, 0, partition0)
  }, restartTestTimeoutMs)
})

test('topics created before a restart keep their partition count and id', async () => {
  const broker = await start({ ZOMBI_DEFAULT_PARTITIONS: '3' })
  const topic = uniqueTopic('restart-metadata')
  await produceWithPlatformatic(broker, topic, 2, 0, 1, 1)
  const before = await topicMetadata(broker, topic)
  await broker.kill9()
  await broker.restart()
  const after = await topicMetadata(broker, topic)
  expect(after).toEqual(before)
  expect(after.partitions).toBe(3)
  expect(after.id).not.toBe('00000000-0000-0000-0000-000000000000')
}, restartTestTimeoutMs)

async function topicMetadata(broker: Broker, topic: string): Promise<{ id: string; partitions: number }> {
  const producer = new Producer({ clientId: 'zombi-e2e-restart', bootstrapBrokers: [broker.bootstrap], retries: 3 })
  try {
    const metadata = await producer.metadata({ topics: [topic] })
    const entry = metadata.topics.get(topic)
    if (!entry) throw new Error(`no metadata for ${topic}`)
    return { id: entry.id, partitions: entry.partitionsCount }
  } finally {
    await producer.close()
  }
}
