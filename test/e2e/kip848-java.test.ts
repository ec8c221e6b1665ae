// The Java 4.x consumer with group.protocol=consumer (KIP-848; the driver of compat-tests/java in its
// group-members mode): three consumers share a six-partition topic with every record consumed once
// across them (each batch committed), one that leaves hands its partitions over, one killed without
// leaving is removed after the broker's session timeout, Kafka's kafka-consumer-groups --describe
// reads the group through ConsumerGroupDescribe, and after a broker restart a new member resumes at
// the committed offsets; a group id with classic members refuses consumer-protocol members and the
// reverse until it is empty. The steps share one broker and group, in order.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { javaCommand } from '../../compat-tests/java/family.ts'
import { freePort } from '../support/ports.ts'
import { repoRoot, startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kafkaLibs, runKafkaTool } from './fixtures/kafka-tools.ts'
import { report, runProcess } from './fixtures/kcat.ts'

const PARTITIONS = 6
const SESSION_TIMEOUT_MS = 6000
const WAIT_MS = 60_000
/** kafka-consumer-groups.sh's main class. */
const GROUP_COMMAND = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand'

interface MemberEvent {
  event: string
  member?: number
  partition?: number
  offset?: number
  partitions?: number[]
  detail?: string
}

/** One JVM running `count` group members; its stdout events are collected as they arrive. */
class Members {
  readonly events: MemberEvent[] = []
  readonly process: ChildProcessWithoutNullStreams
  readonly exited: Promise<number | null>
  #stderr = ''

  constructor(command: string[], bootstrap: string, topic: string, group: string, count: number, protocol: 'consumer' | 'classic' = 'consumer') {
    const [java, ...args] = command
    this.process = spawn(java!, [...args, 'group-members', bootstrap, topic, group, String(count), protocol])
    let pending = ''
    this.process.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8')
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) if (line.startsWith('{')) this.events.push(JSON.parse(line) as MemberEvent)
    })
    this.process.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-20_000)
    })
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)))
  }

  /** Each member's latest assignment. */
  assignments(): Map<number, number[]> {
    const latest = new Map<number, number[]>()
    for (const e of this.events) if (e.event === 'assigned') latest.set(e.member!, e.partitions!)
    return latest
  }

  records(): Array<{ member: number; partition: number; offset: number }> {
    return this.events.filter((e) => e.event === 'record').map((e) => ({ member: e.member!, partition: e.partition!, offset: e.offset! }))
  }

  send(command: string): void {
    this.process.stdin.write(`${command}\n`)
  }

  describe(): string {
    const errors = this.events.filter((e) => e.event === 'error').map((e) => e.detail)
    return `errors: ${JSON.stringify(errors)}\nstderr tail:\n${this.#stderr.slice(-4000)}`
  }
}

let broker: Broker
let producer: Producer
let java: string[]
const topic = uniqueTopic('kip848')
const group = `kip848-${topic}`
const running: Members[] = []
/** How many records each partition holds so far. */
const produced = new Array<number>(PARTITIONS).fill(0)

beforeAll(async () => {
  const setup = runProcess('bash', [join(repoRoot, 'compat-tests/java/setup.sh'), '4'], { timeoutMs: 600_000 })
  // A fixed Kafka port: the consumers reconnect to the same address after the restart.
  broker = await startBroker({
    ZOMBI_KAFKA_PORT: String(await freePort()),
    ZOMBI_GROUP_CONSUMER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: '500',
  })
  const kafka = new Kafka({ clientId: 'kip848', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] })
  await admin.disconnect()
  producer = kafka.producer()
  await producer.connect()
  const built = await setup
  if (built.code !== 0) throw new Error(`compat-tests/java/setup.sh failed\n${report(built)}`)
  java = javaCommand('4')
  kafkaLibs()
}, 660_000)

afterAll(async () => {
  for (const members of running) members.process.kill('SIGKILL')
  await producer?.disconnect().catch(() => {})
  await broker?.cleanup()
})

async function produce(perPartition: number): Promise<void> {
  const messages = []
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let i = 0; i < perPartition; i++) messages.push({ partition, key: `k${partition}`, value: `p${partition}-${produced[partition]! + i}` })
    produced[partition]! += perPartition
  }
  await producer.send({ topic, messages })
}

function start(count: number, groupId = group, protocol: 'consumer' | 'classic' = 'consumer'): Members {
  const members = new Members(java, broker.bootstrap, topic, groupId, count, protocol)
  running.push(members)
  return members
}

/** Polls `check` until it holds; fails with `what` and the members' errors when WAIT_MS passes first. */
async function until(what: string, check: () => boolean, members: Members[]): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${members.map((m) => m.describe()).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Every record of every partition consumed exactly once across `members`. */
function consumedOnce(members: Members[]): { total: number; duplicates: number } {
  const seen = new Set<string>()
  let duplicates = 0
  for (const m of members) {
    for (const r of m.records()) {
      const key = `${r.partition}:${r.offset}`
      if (seen.has(key)) duplicates++
      seen.add(key)
    }
  }
  return { total: seen.size, duplicates }
}

const totalProduced = (): number => produced.reduce((a, b) => a + b, 0)

function sortedUnion(assignments: Array<number[] | undefined>): number[] {
  return assignments.flatMap((a) => a ?? []).sort((a, b) => a - b)
}

let first: Members
let second: Members

test('three consumers share six partitions, two each, and consume every record once with commits', async () => {
  await produce(100)
  first = start(2)
  second = start(1)
  const members = [first, second]
  await until('each of the three consumers holds two partitions', () => {
    const a = first.assignments()
    const b = second.assignments()
    return [a.get(0), a.get(1), b.get(0)].every((p) => p?.length === 2) && sortedUnion([a.get(0), a.get(1), b.get(0)]).join() === '0,1,2,3,4,5'
  }, members)
  await until('every record is consumed', () => consumedOnce(members).total === totalProduced(), members)
  expect(consumedOnce(members)).toEqual({ total: 600, duplicates: 0 })
}, 120_000)

test('kafka-consumer-groups --describe reads the consumer group (ConsumerGroupDescribe)', async () => {
  // Commits follow the last records within a poll: describe until every partition shows them.
  let out: string
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const run = await runKafkaTool(GROUP_COMMAND, ['--bootstrap-server', broker.bootstrap, '--describe', '--group', group])
    out = run.stdout.toString('utf8')
    if (run.code !== 0) throw new Error(`kafka-consumer-groups failed\n${report(run)}`)
    const rows = out.split('\n').filter((line) => line.includes(topic))
    if (rows.length === PARTITIONS && rows.every((row) => /\s100\s+100\s+0\s/.test(row))) break
    if (Date.now() > deadline) throw new Error(`kafka-consumer-groups never showed every partition committed at 100\n${out}`)
  }
  const rows = out.split('\n').filter((line) => line.includes(topic))
  // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID: every partition has an owner.
  for (const row of rows) expect(row).toMatch(/member-\d/)
  const members = await runKafkaTool(GROUP_COMMAND, ['--bootstrap-server', broker.bootstrap, '--describe', '--group', group, '--members'])
  const memberRows = members.stdout.toString('utf8').split('\n').filter((line) => line.startsWith(group))
  expect(memberRows).toHaveLength(3)
  // --list --type reads ListGroups v5's group type.
  const listed = await runKafkaTool(GROUP_COMMAND, ['--bootstrap-server', broker.bootstrap, '--list', '--type'])
  const row = listed.stdout.toString('utf8').split('\n').find((line) => line.startsWith(`${group} `))
  expect(row, listed.stdout.toString('utf8')).toMatch(/\sconsumer\s*$/i)
}, 300_000)

test('a consumer that leaves hands its partitions to the other two', async () => {
  first.send('close 1')
  await until('consumer 1 has closed', () => first.events.some((e) => e.event === 'closed' && e.member === 1), [first])
  await until('the two others hold three partitions each', () => {
    const a = first.assignments().get(0)
    const b = second.assignments().get(0)
    return a?.length === 3 && b?.length === 3 && sortedUnion([a, b]).join() === '0,1,2,3,4,5'
  }, [first, second])
  await produce(10)
  await until('the new records are consumed', () => consumedOnce([first, second]).total === totalProduced(), [first, second])
  expect(consumedOnce([first, second])).toEqual({ total: 660, duplicates: 0 })
}, 120_000)

test('a consumer killed without leaving is removed after the session timeout and its partitions move', async () => {
  second.process.kill('SIGKILL')
  await second.exited
  await until('the remaining consumer holds all six partitions', () => first.assignments().get(0)?.length === PARTITIONS, [first])
  await produce(10)
  await until('the new records are consumed', () => consumedOnce([first, second]).total === totalProduced(), [first])
  expect(consumedOnce([first, second])).toEqual({ total: 720, duplicates: 0 })
}, 120_000)

test('after a broker restart a new member resumes at the committed offsets', async () => {
  first.send('exit')
  expect(await first.exited).toBe(0)
  await broker.restart()
  await produce(10)
  const third = start(1)
  await until('the new member consumes what was produced after the restart', () => third.records().length >= PARTITIONS * 10, [third])
  // Nothing older than the restart comes back: every partition resumes at its committed offset (120).
  const offsets = third.records().map((r) => `${r.partition}:${r.offset}`).sort()
  const expected = Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: 10 }, (_, i) => `${p}:${120 + i}`)).flat().sort()
  expect(offsets).toEqual(expected)
  third.send('exit')
  expect(await third.exited).toBe(0)
}, 180_000)

test('a group id serves one protocol while it has members; an emptied group switches', async () => {
  const mixed = `${group}-mixed`
  const classic = start(1, mixed, 'classic')
  await until('the classic member is assigned', () => classic.assignments().get(0)?.length === PARTITIONS, [classic])
  // Kafka answers GROUP_ID_NOT_FOUND to a consumer-protocol join of a classic group with members; the Java client gives up.
  const refused = start(1, mixed, 'consumer')
  await until('the consumer-protocol member fails', () => refused.events.some((e) => e.event === 'error'), [refused])
  expect(refused.events.find((e) => e.event === 'error')!.detail).toMatch(/GroupIdNotFoundException/)
  refused.send('exit')
  await refused.exited
  classic.send('exit')
  expect(await classic.exited).toBe(0)
  // Empty now (its offsets kept): the consumer protocol takes the group over, and the classic one is refused in turn.
  const member = start(1, mixed, 'consumer')
  await until('the consumer-protocol member is assigned', () => member.assignments().get(0)?.length === PARTITIONS, [member])
  const late = start(1, mixed, 'classic')
  await until('the classic member fails', () => late.events.some((e) => e.event === 'error'), [late])
  expect(late.events.find((e) => e.event === 'error')!.detail).toMatch(/InconsistentGroupProtocolException/)
  for (const m of [late, member]) {
    m.send('exit')
    await m.exited
  }
}, 180_000)
