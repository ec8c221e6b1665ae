// Kafka Streams 4.4.0 on the broker under test: a word count with a state store ("counts") and its changelog topic,
// run as Streams runs it (test/support/frameworks/WordCount.java, one instance per JVM). at_least_once must give the
// exact final count of every word; exactly_once_v2, with the Streams JVM killed (kill -9) mid-run and restarted,
// must show every count of every word exactly once to a read_committed consumer. The second needs transactions:
// it runs when the broker advertises EndTxn, so it switches on by itself once Zombi has them. Run against Apache
// Kafka with E2E_BROKER_MAIN=test/support/apache-kafka-main.ts.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import {
  advertisedApiKeys, createTopics, driverClasses, endTxnApiKey, jvmOptions, Jvm, kafkajs, killRemainingJvms, produceLines, streamsLibs, waitUntil,
} from './fixtures/frameworks.ts'

const streamsTimeoutMs = 240_000

const broker: Broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '2' })
const brokerSupportsTransactions = (await advertisedApiKeys(broker)).has(endTxnApiKey)
const classpath = `${driverClasses()}:${streamsLibs()}/*`
const stateRoot = await mkdtemp(join(tmpdir(), 'zombi-streams-'))

interface CountRecord { topic: string; partition: number; offset: number; key: string; value: number }

/** One read_committed consumer JVM for the file; every output topic it is told of is read from its start. */
const reader = new Jvm('read-counts', [...jvmOptions('256m'), '-cp', classpath, 'WordCount', 'read-counts', broker.bootstrap], { stdin: 'pipe' })
const read = new Map<string, CountRecord[]>()
reader.onLine((line) => {
  if (!line.startsWith('{')) return
  const record = JSON.parse(line) as CountRecord
  let records = read.get(record.topic)
  if (records === undefined) read.set(record.topic, records = [])
  records.push(record)
})
await reader.waitForLine(/^ready$/, 120_000)

afterAll(async () => {
  reader.child.stdin!.end()
  await reader.stop()
  await killRemainingJvms()
  await broker.cleanup()
  await rm(stateRoot, { recursive: true, force: true })
})

const vocabulary = ['zombi', 'kafka', 'iceberg', 'stream', 'table', 'topic', 'record', 'offset', 'commit', 'partition', 'broker', 'state']

/** `count` lines of 1–6 words from the vocabulary, the same every run (a linear congruential sequence from `seed`). */
function makeLines(count: number, seed: number): string[] {
  let state = seed
  // The high bits: the low bits of a power-of-two linear congruential generator repeat with short periods.
  const next = (): number => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) >>> 16
  const lines: string[] = []
  for (let i = 0; i < count; i++) {
    const words: string[] = []
    for (let n = 1 + (next() % 6); n > 0; n--) words.push(vocabulary[next() % vocabulary.length]!)
    lines.push(i % 3 === 0 ? words.join(' ').toUpperCase() : words.join(', '))
  }
  return lines
}

function expectedCounts(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of lines) {
    for (const word of line.toLowerCase().split(/\W+/)) if (word !== '') counts.set(word, (counts.get(word) ?? 0) + 1)
  }
  return counts
}

/** The last count of each word in `records`, in the order the output holds them. */
function lastCounts(records: readonly CountRecord[]): Map<string, number> {
  const last = new Map<string, number>()
  for (const record of records) last.set(record.key, record.value)
  return last
}

function sameCounts(actual: Map<string, number>, expected: Map<string, number>): boolean {
  return actual.size === expected.size && [...expected].every(([word, count]) => actual.get(word) === count)
}

interface Application { applicationId: string; input: string; output: string; stateDir: string }

async function newApplication(name: string): Promise<Application> {
  const applicationId = uniqueTopic(name)
  const input = `${applicationId}-lines`
  const output = `${applicationId}-counts`
  await createTopics(broker, [{ topic: input, numPartitions: 2 }, { topic: output, numPartitions: 2 }])
  reader.child.stdin!.write(`${output}\n`)
  return { applicationId, input, output, stateDir: join(stateRoot, applicationId) }
}

/** Starts one Streams instance and waits until it is RUNNING (an instance that fails on its way there fails the test). */
async function startStreams(application: Application, guarantee: string): Promise<Jvm> {
  const streams = new Jvm(`streams ${guarantee}`, [
    ...jvmOptions('512m'), '-cp', classpath, 'WordCount', 'streams', broker.bootstrap, application.applicationId, guarantee,
    application.input, application.output, application.stateDir,
  ])
  try {
    const state = await streams.waitForLine(/^state (RUNNING|PENDING_ERROR|ERROR)$/, streamsTimeoutMs)
    if (state !== 'state RUNNING') throw new Error(`Streams (${guarantee}) went to ${state.slice(6)} before RUNNING; its output:\n${streams.output()}`)
  } catch (error) {
    await streams.kill9()
    throw error
  }
  return streams
}

/** Each topic's cleanup.policy as DescribeConfigs reports it. */
async function cleanupPolicies(topics: string[]): Promise<Record<string, string | undefined>> {
  const admin = kafkajs(broker).admin()
  await admin.connect()
  try {
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: 2, name, configNames: ['cleanup.policy'] })) })
    return Object.fromEntries(described.resources.map((resource) =>
      [resource.resourceName, resource.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue]))
  } finally {
    await admin.disconnect()
  }
}

/** ERROR lines a Streams instance logged: a clean run has none, even where the instance recovered by itself. */
function errorLines(streams: Jvm): string[] {
  return streams.output().split('\n').filter((line) => / ERROR /.test(line))
}

async function waitForCounts(application: Application, expected: Map<string, number>, streams: Jvm): Promise<CountRecord[]> {
  await waitUntil(() => sameCounts(lastCounts(read.get(application.output) ?? []), expected), streamsTimeoutMs, () =>
    `final counts ${JSON.stringify([...lastCounts(read.get(application.output) ?? [])])}, expected ${JSON.stringify([...expected])}; ` +
    `streams output:\n${streams.output()}\nbroker logs:\n${broker.logs().slice(-20_000)}`)
  return read.get(application.output)!
}

test('at_least_once word count: the final count of every word is exact; the state store has its compacted changelog', { timeout: 2 * streamsTimeoutMs }, async () => {
  const application = await newApplication('wordcount-alos')
  const lines = makeLines(400, 17)
  await produceLines(broker, application.input, lines)
  const streams = await startStreams(application, 'at_least_once')
  try {
    const records = await waitForCounts(application, expectedCounts(lines), streams)
    expect(lastCounts(records)).toEqual(expectedCounts(lines))
    expect(errorLines(streams)).toEqual([])
    // The state store's changelog and the repartition topic, as Streams created them.
    const changelog = `${application.applicationId}-counts-changelog`
    const repartition = `${application.applicationId}-words-repartition`
    expect(await cleanupPolicies([changelog, repartition])).toEqual({ [changelog]: 'compact', [repartition]: 'delete' })
  } finally {
    const exit = await streams.stop()
    expect(exit.code, streams.output()).toBe(143)
  }
})

test.skipIf(!brokerSupportsTransactions)(
  'exactly_once_v2 word count killed with kill -9 mid-run and restarted: every count once to read_committed, final counts exact',
  { timeout: 3 * streamsTimeoutMs },
  async () => {
    const application = await newApplication('wordcount-eos')
    const firstLines = makeLines(1500, 29)
    const secondLines = makeLines(500, 31)
    await produceLines(broker, application.input, firstLines)
    const first = await startStreams(application, 'exactly_once_v2')
    // Killed as soon as a first transaction is visible, while (on these sizes) most input still waits.
    await waitUntil(() => (read.get(application.output)?.length ?? 0) > 0, streamsTimeoutMs, () => `no committed output; streams:\n${first.output()}`)
    await first.kill9()
    const seenAtKill = read.get(application.output)?.length ?? 0
    await produceLines(broker, application.input, secondLines)

    const second = await startStreams(application, 'exactly_once_v2')
    try {
      const expected = expectedCounts([...firstLines, ...secondLines])
      const total = [...expected.values()].reduce((sum, count) => sum + count, 0)
      // Recorded, not asserted: how far the killed instance had got depends on the machine's speed.
      console.info(`${seenAtKill} of ${total} counts were visible to read_committed when the first instance was killed`)
      const records = await waitForCounts(application, expected, second)
      // A word is a key, so all its counts are in one partition in the order they were committed: 1, 2, 3, ...
      const sequences = new Map<string, number[]>()
      for (const record of records) {
        let sequence = sequences.get(record.key)
        if (sequence === undefined) sequences.set(record.key, sequence = [])
        sequence.push(record.value)
      }
      for (const [word, total] of expected) {
        expect(sequences.get(word), `counts of "${word}" (${seenAtKill} output records were visible at the kill)`)
          .toEqual(Array.from({ length: total }, (_, i) => i + 1))
      }
      expect(lastCounts(records)).toEqual(expected)
    } finally {
      await second.stop()
    }
  },
)
