// librdkafka's KIP-848 consumer (confluent-kafka's bundled librdkafka, group.protocol=consumer;
// compat-tests/confluent-kafka-python/group_consume.py): two members with the broker's range
// assignor split a topic, commit every record, and when one is killed without leaving the other
// takes its partitions after the broker's session timeout, with no record read twice.
import { spawn, type ChildProcess } from 'node:child_process'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readConsumerGroupDescribeResponse, writeConsumerGroupDescribeRequest } from '../../src/protocol/generated/consumer-group-describe.ts'
import { readOffsetFetchResponse, writeOffsetFetchRequest } from '../../src/protocol/generated/offset-fetch.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { venvPython } from './fixtures/python.ts'
import { RawClient } from './fixtures/raw-client.ts'

const PARTITIONS = 4
const script = 'compat-tests/confluent-kafka-python/group_consume.py'
let broker: Broker
const children: ChildProcess[] = []

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_GROUP_CONSUMER_SESSION_TIMEOUT_MS: '4000', ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: '500' })
})

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await broker?.cleanup()
})

interface Line {
  type: string
  partition?: number
  offset?: number
  partitions?: number[]
}

/** A member in its own process (so it can be SIGKILLed), its output lines collected as they come. */
function member(group: string, topic: string): { lines: Line[]; owned(): Set<number>; child: ChildProcess } {
  const child = spawn(venvPython(), [script, '--bootstrap', broker.bootstrap, '--topic', topic, '--group', group, '--group-protocol', 'consumer', '--remote-assignor', 'range', '--hang'], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines: Line[] = []
  let pending = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    const parts = pending.split('\n')
    pending = parts.pop()!
    for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as Line)
  })
  child.stderr!.resume()
  // KIP-848 callbacks are incremental: what is held is every addition minus every revocation.
  const owned = (): Set<number> => {
    const held = new Set<number>()
    for (const line of lines) {
      if (line.type === 'assigned') for (const p of line.partitions!) held.add(p)
      if (line.type === 'revoked') for (const p of line.partitions!) held.delete(p)
    }
    return held
  }
  return { lines, owned, child }
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function produce(topic: string, perPartition: number, tag: string): Promise<void> {
  const producer = new Kafka({ clientId: 'kip848-librdkafka', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  try {
    for (let p = 0; p < PARTITIONS; p++) await producer.send({ topic, acks: -1, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `${tag}-${p}-${i}` })) })
  } finally {
    await producer.disconnect()
  }
}

async function committed(group: string, topic: string): Promise<number[]> {
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  try {
    const response = readOffsetFetchResponse(await client.request(ApiKey.OffsetFetch, 8, (w) => writeOffsetFetchRequest(w, 8, {
      groupId: '', topics: [], groups: [{ groupId: group, memberId: null, memberEpoch: -1, topics: [{ name: topic, partitionIndexes: [0, 1, 2, 3] }] }], requireStable: false,
    })), 8)
    return response.groups[0]!.topics[0]!.partitions.map((p) => p.committedOffset)
  } finally {
    client.close()
  }
}

function records(...members: Array<{ lines: Line[] }>): string[] {
  return members.flatMap((m) => m.lines.filter((l) => l.type === 'record').map((l) => `${l.partition}:${l.offset}`))
}

test('two librdkafka KIP-848 members split a topic; a killed one is removed after the session timeout', async () => {
  const topic = uniqueTopic('kip848-rdkafka')
  const group = `${topic}-g`
  const admin = new Kafka({ clientId: 'kip848-librdkafka', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] })
  await admin.disconnect()

  const a = member(group, topic)
  const b = member(group, topic)
  await until('both members hold two partitions', () => a.owned().size === 2 && b.owned().size === 2)
  expect([...a.owned(), ...b.owned()].sort()).toEqual([0, 1, 2, 3])

  // The group is described with the range assignor the members asked for.
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  const described = readConsumerGroupDescribeResponse(await client.request(ApiKey.ConsumerGroupDescribe, 1, (w) => writeConsumerGroupDescribeRequest(w, 1, { groupIds: [group], includeAuthorizedOperations: false })), 1)
  client.close()
  expect(described.groups[0]).toMatchObject({ errorCode: 0, groupState: 'Stable', assignorName: 'range' })
  expect(described.groups[0]!.members).toHaveLength(2)

  await produce(topic, 10, 'first')
  await until('40 records consumed', () => new Set(records(a, b)).size === 40)
  // Killed only once its last commit landed: the survivor must then read nothing twice.
  await until('every partition committed at 10', async () => (await committed(group, topic)).every((offset) => offset === 10))
  a.child.kill('SIGKILL')
  await until('the survivor holds every partition', () => b.owned().size === PARTITIONS)
  await produce(topic, 5, 'second')
  await until('60 records consumed', () => new Set(records(a, b)).size === 60)
  const all = records(a, b)
  expect(all.length).toBe(new Set(all).size)
  await until('every partition committed at 15', async () => (await committed(group, topic)).every((offset) => offset === 15))
}, 120_000)
