// Consumer groups with real clients: kafkajs, confluent-kafka (librdkafka) and kcat -G, plus
// session expiry of a killed member, a broker kill -9 under a stable group, and bad input.
import { spawn } from 'node:child_process'
import { Consumer as PlatformaticConsumer } from '@platformatic/kafka'
import { Kafka, logLevel, type Consumer as KafkaJsConsumer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readJoinGroupResponse, writeJoinGroupRequest } from '../../src/protocol/generated/join-group.ts'
import { readOffsetCommitResponse, writeOffsetCommitRequest } from '../../src/protocol/generated/offset-commit.ts'
import { readOffsetFetchResponse, writeOffsetFetchRequest } from '../../src/protocol/generated/offset-fetch.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { runKcat } from './fixtures/kcat.ts'
import { venvPython } from './fixtures/python.ts'
import { RawClient } from './fixtures/raw-client.ts'
import { freePort } from '../support/ports.ts'

const GROUP_SETTINGS = { ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '300', ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS: '1000', ZOMBI_DEFAULT_PARTITIONS: '6' }
const scripts = 'compat-tests/confluent-kafka-python'

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ clientId: 'zombi-e2e-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
  } finally {
    await admin.disconnect()
  }
}

async function produceSpread(bootstrap: string, topic: string, partitions: number, perPartition: number, tag: string): Promise<string[]> {
  const producer = new Kafka({ clientId: 'zombi-e2e-groups', brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  const values: string[] = []
  try {
    for (let p = 0; p < partitions; p++) {
      const messages = Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `${tag}-p${p}-${i}` }))
      values.push(...messages.map((m) => m.value))
      await producer.send({ topic, acks: -1, messages })
    }
  } finally {
    await producer.disconnect()
  }
  return values
}

interface Member {
  consumer: KafkaJsConsumer
  assignment: number[]
  consumed: string[]
}

/** A kafkajs group member that records what it consumes and its latest assignment. */
async function kafkajsMember(bootstrap: string, groupId: string, topic: string, into: string[]): Promise<Member> {
  const kafka = new Kafka({ clientId: 'zombi-e2e-member', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100 } })
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200 })
  const member: Member = { consumer, assignment: [], consumed: [] }
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    member.assignment = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommitThreshold: 1,
    eachMessage: async ({ message }) => {
      const value = message.value!.toString()
      member.consumed.push(value)
      into.push(value)
    },
  })
  return member
}

function sorted(values: string[]): string[] {
  return [...values].sort()
}

describe('consumer groups', () => {
  let broker: Broker

  beforeAll(async () => {
    broker = await startBroker(GROUP_SETTINGS)
  })

  afterAll(async () => {
    await broker?.cleanup()
  })

  test('kafkajs: three members share six partitions, consume everything once, and hand partitions over', async () => {
    const topic = uniqueTopic('group-kafkajs')
    const groupId = `${topic}-g`
    await createTopic(broker.bootstrap, topic, 6)
    const consumed: string[] = []
    const members = [await kafkajsMember(broker.bootstrap, groupId, topic, consumed)]
    members.push(await kafkajsMember(broker.bootstrap, groupId, topic, consumed))
    members.push(await kafkajsMember(broker.bootstrap, groupId, topic, consumed))
    // Stable with three members: each partition owned by exactly one.
    await until('three members with two partitions each', () => members.every((m) => m.assignment.length === 2))
    expect(sorted(members.flatMap((m) => m.assignment).map(String))).toEqual(['0', '1', '2', '3', '4', '5'])

    const first = await produceSpread(broker.bootstrap, topic, 6, 20, 'a')
    await until('120 records consumed', () => consumed.length >= first.length)
    expect(sorted(consumed)).toEqual(sorted(first))

    // One member leaves: its partitions move to the other two.
    await members[0]!.consumer.disconnect()
    await until('two members own all six partitions', () => members[1]!.assignment.length + members[2]!.assignment.length === 6 && members[1]!.assignment.length > 2)
    expect(sorted([...members[1]!.assignment, ...members[2]!.assignment].map(String))).toEqual(['0', '1', '2', '3', '4', '5'])
    const second = await produceSpread(broker.bootstrap, topic, 6, 10, 'b')
    await until('the second round consumed', () => consumed.length >= first.length + second.length)
    expect(sorted(consumed)).toEqual(sorted([...first, ...second]))

    // The whole group stops; a new member of the same group resumes at the committed offsets.
    await members[1]!.consumer.disconnect()
    await members[2]!.consumer.disconnect()
    const third = await produceSpread(broker.bootstrap, topic, 6, 5, 'c')
    const resumed: string[] = []
    const member = await kafkajsMember(broker.bootstrap, groupId, topic, resumed)
    await until('the third round consumed after resume', () => resumed.length >= third.length)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(sorted(resumed)).toEqual(sorted(third))
    await member.consumer.disconnect()
  })

  test('@platformatic/kafka: two members split the partitions, commit, hand over, and a new member resumes', async () => {
    const topic = uniqueTopic('group-platformatic')
    const groupId = `${topic}-g`
    await createTopic(broker.bootstrap, topic, 4)
    const consumed: string[] = []
    const start = async () => {
      const consumer = new PlatformaticConsumer({ clientId: 'zombi-e2e-platformatic', bootstrapBrokers: [broker.bootstrap], groupId, sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 10_000, retries: 20, retryDelay: 100 })
      const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 200 })
      stream.on('data', (message) => {
        consumed.push(Buffer.from(message.value as Buffer).toString())
        void message.commit()
      })
      return { consumer, stream, partitions: () => (consumer.assignments ?? []).flatMap((a) => a.partitions) }
    }
    const a = await start()
    const b = await start()
    await until('two members with two partitions each', () => a.partitions().length === 2 && b.partitions().length === 2)
    expect([...a.partitions(), ...b.partitions()].sort()).toEqual([0, 1, 2, 3])
    const first = await produceSpread(broker.bootstrap, topic, 4, 10, 'pa')
    await until('first round consumed', () => consumed.length >= first.length)
    await a.stream.close()
    await a.consumer.close()
    await until('b owns all four partitions', () => b.partitions().length === 4)
    const second = await produceSpread(broker.bootstrap, topic, 4, 5, 'pb')
    await until('second round consumed', () => consumed.length >= first.length + second.length)
    expect(sorted(consumed)).toEqual(sorted([...first, ...second]))
    await b.stream.close()
    await b.consumer.close()
    const third = await produceSpread(broker.bootstrap, topic, 4, 3, 'pc')
    const c = await start()
    await until('third round consumed after resume', () => consumed.length >= first.length + second.length + third.length)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(sorted(consumed)).toEqual(sorted([...first, ...second, ...third]))
    await c.stream.close()
    await c.consumer.close()
  })

  test('confluent-kafka: subscribe, commit, close, and a new member resumes where it left off (range and cooperative-sticky)', async () => {
    for (const assignor of ['range', 'cooperative-sticky']) {
      const topic = uniqueTopic(`group-confluent-${assignor}`)
      await createTopic(broker.bootstrap, topic, 3)
      const all = await produceSpread(broker.bootstrap, topic, 3, 40, assignor)
      const run = async (count: number) => {
        const output = await runPythonLines(`${scripts}/group_consume.py`, ['--bootstrap', broker.bootstrap, '--topic', topic, '--group', `${topic}-g`, '--count', String(count), '--assignor', assignor, '--idle', '4'])
        return output.filter((line) => line.type === 'record').map((line) => Buffer.from(line.value as string, 'base64').toString())
      }
      const firstHalf = await run(60)
      expect(firstHalf).toHaveLength(60)
      const rest = await run(1000)
      expect(sorted([...firstHalf, ...rest]), assignor).toEqual(sorted(all))
    }
  })

  test('kcat -G: a balanced consumer reads every record of every partition', async () => {
    const topic = uniqueTopic('group-kcat')
    await createTopic(broker.bootstrap, topic, 3)
    const all = await produceSpread(broker.bootstrap, topic, 3, 30, 'k')
    const result = await runKcat(['-b', broker.bootstrap, '-G', `${topic}-g`, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%s\n', topic])
    expect(result.code).toBe(0)
    expect(sorted(result.stdout.toString().split('\n').filter(Boolean))).toEqual(sorted(all))
  })

  test('a member killed without LeaveGroup is evicted after its session timeout and its partitions move', async () => {
    const topic = uniqueTopic('group-evict')
    const groupId = `${topic}-g`
    await createTopic(broker.bootstrap, topic, 4)
    const common = ['--bootstrap', broker.bootstrap, '--topic', topic, '--group', groupId, '--session-timeout-ms', '2000']
    const victim = pythonMember([...common, '--hang'])
    let survivor: ReturnType<typeof pythonMember> | undefined
    try {
      await until('the victim holds all four partitions', () => victim.output().includes('"type":"assigned","partitions":[0,1,2,3]'))
      survivor = pythonMember([...common, '--count', '20', '--idle', '60'])
      await until('the survivor got two partitions', () => /"type":"assigned","partitions":\[\d,\d\]/.test(survivor!.output()))
      victim.kill()
      // No LeaveGroup: only the session timeout (2 s) can free the victim's partitions.
      await until('the survivor owns all four partitions', () => survivor!.output().split('\n').filter((l) => l.includes('"type":"assigned"')).pop()?.includes('[0,1,2,3]') === true)
      const records = await produceSpread(broker.bootstrap, topic, 4, 5, 'e')
      await until('the survivor consumed everything and closed', () => survivor!.output().includes('"type":"closed"'))
      const consumed = survivor.output().split('\n').filter((l) => l.includes('"type":"record"')).map((l) => Buffer.from((JSON.parse(l) as { value: string }).value, 'base64').toString())
      expect(sorted(consumed)).toEqual(sorted(records))
      await until('the broker logged the expiry', () => /member session expired/.test(broker.logs()), 5000)
    } finally {
      victim.kill()
      survivor?.kill()
    }
  })
})

describe('a stable group across a broker kill -9', () => {
  test('consumers rejoin and continue; no committed offset is lost', async () => {
    const port = await freePort()
    const broker = await startBroker({ ...GROUP_SETTINGS, ZOMBI_KAFKA_PORT: String(port) })
    try {
      const topic = uniqueTopic('group-crash')
      const groupId = `${topic}-g`
      await createTopic(broker.bootstrap, topic, 4)
      const consumed: string[] = []
      const members = [await kafkajsMember(broker.bootstrap, groupId, topic, consumed), await kafkajsMember(broker.bootstrap, groupId, topic, consumed)]
      await until('two members with two partitions each', () => members.every((m) => m.assignment.length === 2))
      const before = await produceSpread(broker.bootstrap, topic, 4, 25, 'pre')
      await until('first records consumed', () => consumed.length >= before.length)
      const committedBefore = await committedOffsets(broker, groupId, topic, 4)
      expect(committedBefore).toEqual([25, 25, 25, 25])

      await broker.kill9()
      await broker.restart()
      expect(broker.kafkaPort).toBe(port)
      expect(await committedOffsets(broker, groupId, topic, 4)).toEqual(committedBefore)
      const after = await produceSpread(broker.bootstrap, topic, 4, 10, 'post')
      await until('records after the restart consumed', () => after.every((v) => consumed.includes(v)), 90_000)
      // Nothing before the crash was read twice: consumers resumed at their commits.
      expect(sorted(consumed)).toEqual(sorted([...before, ...after]))
      for (const member of members) await member.consumer.disconnect()
    } finally {
      await broker.cleanup()
    }
  })
})

describe('bad group input', () => {
  let broker: Broker
  let client: RawClient

  beforeAll(async () => {
    broker = await startBroker({ ...GROUP_SETTINGS, ZOMBI_GROUP_MAX_SIZE: '100' })
    client = await RawClient.connect(broker.host, broker.kafkaPort)
  })

  afterAll(async () => {
    client?.close()
    await broker?.cleanup()
  })

  async function join(groupId: string, memberId: string) {
    return readJoinGroupResponse(await client.request(ApiKey.JoinGroup, 5, (w) => writeJoinGroupRequest(w, 5, {
      groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }], reason: null,
    })), 5)
  }

  async function commit(groupId: string, generationId: number, memberId: string, topic: string, partition: number, metadata: string | null = null) {
    const response = readOffsetCommitResponse(await client.request(ApiKey.OffsetCommit, 8, (w) => writeOffsetCommitRequest(w, 8, {
      groupId, generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: metadata }] }],
    })), 8)
    return response.topics[0]!.partitions[0]!.errorCode
  }

  test('commits for unknown topics or partitions, stale generations, unknown members and oversized metadata are refused', async () => {
    const topic = uniqueTopic('bad-commit')
    await createTopic(broker.bootstrap, topic, 2)
    expect(await commit('simple-group', -1, '', 'no-such-topic', 0)).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(await commit('simple-group', -1, '', topic, 9)).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(await commit('simple-group', -1, '', topic, 0, 'x'.repeat(5000))).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE)
    expect(await commit('simple-group', -1, '', topic, 0, 'ok')).toBe(ErrorCode.NONE)
    const first = await join('active-group', '')
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED)
    const joined = await join('active-group', first.memberId)
    expect(joined.errorCode).toBe(ErrorCode.NONE)
    expect(await commit('active-group', joined.generationId + 5, joined.memberId, topic, 0)).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect(await commit('active-group', joined.generationId, 'stranger', topic, 0)).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    const fetched = readOffsetFetchResponse(await client.request(ApiKey.OffsetFetch, 5, (w) => writeOffsetFetchRequest(w, 5, {
      groupId: 'simple-group', topics: [{ name: topic, partitionIndexes: [0, 1] }], groups: [], requireStable: false,
    })), 5)
    expect(fetched.topics[0]!.partitions.map((p) => [p.committedOffset, p.metadata, p.errorCode])).toEqual([[1, 'ok', 0], [-1, '', 0]])
  })

  test('thousands of empty joins are bounded and the broker keeps serving', async () => {
    const codes = new Map<number, number>()
    for (let i = 0; i < 2000; i++) {
      const { errorCode } = await join('flooded-group', '')
      codes.set(errorCode, (codes.get(errorCode) ?? 0) + 1)
    }
    expect(codes.get(ErrorCode.MEMBER_ID_REQUIRED)).toBe(100)
    expect(codes.get(ErrorCode.GROUP_MAX_SIZE_REACHED)).toBe(1900)
    const other = await join('another-group', '')
    expect(other.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED)
  })
})

async function committedOffsets(broker: Broker, groupId: string, topic: string, partitions: number): Promise<number[]> {
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  try {
    const response = readOffsetFetchResponse(await client.request(ApiKey.OffsetFetch, 8, (w) => writeOffsetFetchRequest(w, 8, {
      groupId: '', topics: [], groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }] }], requireStable: false,
    })), 8)
    return response.groups[0]!.topics[0]!.partitions.map((p) => p.committedOffset)
  } finally {
    client.close()
  }
}

/** A confluent-kafka group member in its own process (so it can be SIGKILLed). */
function pythonMember(args: string[]): { output(): string; kill(): void } {
  const child = spawn(venvPython(), [`${scripts}/group_consume.py`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  return { output: () => output, kill: () => void child.kill('SIGKILL') }
}


async function runPythonLines(script: string, args: string[]): Promise<Array<Record<string, unknown>>> {
  const child = spawn(venvPython(), [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`${script} exited ${code}: ${stderr.slice(-3000)}`)
  return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
}
