// Kafka Connect in distributed mode on the broker under test (4.3.1, the newest whose file connectors are on Maven
// Central: see test/support/frameworks/fetch-connect.sh): one worker (ConnectDistributed; its config, offset and status
// topics created by Connect itself), a FileStreamSource connector reading a file into a topic and a FileStreamSink
// connector writing that topic to another file, both created through Connect's REST API. Lines come out exactly as
// they went in; after the worker is killed (kill -9) and lines are appended while it is down, the restarted worker
// resumes at the stored source offset and the sink file ends as exactly the input.
//
// The first kill falls once both connectors' offsets are committed (Connect's REST API shows them): then nothing may be
// lost or repeated. The second falls while lines flow: Connect's file source and sink are at-least-once, so lines
// written but not yet committed are written again after the restart, on Apache Kafka as well; there every line must
// arrive in order, and a repeat must be a re-delivery. Run against Apache Kafka with
// E2E_BROKER_MAIN=test/support/apache-kafka-main.ts.
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { freePort } from '../support/ports.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { connectLibs, createTopics, jvmOptions, Jvm, kafkajs, killRemainingJvms } from './fixtures/frameworks.ts'

const connectTimeoutMs = 240_000
const connectFileJar = /^connect-file-.*\.jar$/

let broker: Broker
let dir: string
let restPort: number
let workerProperties: string
let worker: Jvm | undefined
let groupId: string

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: '1' })
  dir = await mkdtemp(join(tmpdir(), 'zombi-connect-'))
  const libs = connectLibs()
  // connect-file is a plugin: on plugin.path, not on the worker's classpath.
  const jars = await readdir(libs)
  const pluginDir = join(dir, 'plugins', 'connect-file')
  await mkdir(pluginDir, { recursive: true })
  for (const jar of jars.filter((name) => connectFileJar.test(name))) await symlink(join(libs, jar), join(pluginDir, jar))
  restPort = await freePort()
  groupId = uniqueTopic('connect-cluster')
  const properties: Record<string, string> = {
    'bootstrap.servers': broker.bootstrap,
    'group.id': groupId,
    'config.storage.topic': `${groupId}-configs`,
    'offset.storage.topic': `${groupId}-offsets`,
    'status.storage.topic': `${groupId}-status`,
    'config.storage.replication.factor': '1',
    'offset.storage.replication.factor': '1',
    'status.storage.replication.factor': '1',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    listeners: `http://127.0.0.1:${restPort}`,
    'rest.advertised.host.name': '127.0.0.1',
    'rest.advertised.port': String(restPort),
    'plugin.path': join(dir, 'plugins'),
    // The plugin jars carry their ServiceLoader manifests, so the worker need not scan every class.
    'plugin.discovery': 'service_load',
    // Offsets are committed every second, so a test waits seconds, not a minute, for them.
    'offset.flush.interval.ms': '1000',
    // A worker that left (killed) gets its connectors and tasks back at once on its return, not after 5 minutes.
    'scheduled.rebalance.max.delay.ms': '0',
    // A killed worker's memberships (the worker group and the sink's consumer group) expire in seconds.
    'session.timeout.ms': '10000',
    'heartbeat.interval.ms': '1000',
    'consumer.session.timeout.ms': '10000',
    'consumer.heartbeat.interval.ms': '1000',
  }
  workerProperties = join(dir, 'worker.properties')
  await writeFile(workerProperties, Object.entries(properties).map(([key, value]) => `${key}=${value}\n`).join(''))
  await startWorker()
}, 2 * connectTimeoutMs)

afterAll(async () => {
  if (worker) await worker.stop()
  await killRemainingJvms()
  await broker?.cleanup()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The worker's classpath: every jar fetched but the connect-file plugin. */
async function workerClasspath(): Promise<string> {
  const libs = connectLibs()
  return (await readdir(libs)).filter((name) => name.endsWith('.jar') && !connectFileJar.test(name)).map((name) => join(libs, name)).join(':')
}

async function startWorker(): Promise<void> {
  worker = new Jvm('connect worker', [...jvmOptions('768m'), '-cp', await workerClasspath(), 'org.apache.kafka.connect.cli.ConnectDistributed', workerProperties])
  const started = worker
  const deadline = Date.now() + connectTimeoutMs
  for (let restReady = false; !restReady;) {
    if (!started.running) throw new Error(`the Connect worker exited before its REST API answered; its output:\n${started.output()}\nbroker logs:\n${broker.logs().slice(-20_000)}`)
    if (Date.now() > deadline) throw new Error(`the Connect worker's GET /health did not answer 200 within ${connectTimeoutMs} ms; its output:\n${started.output()}`)
    try {
      // GET /health (KIP-1017) answers 200 only once the worker has finished starting: joined its group, created and
      // read its internal topics.
      restReady = (await fetch(`${restUrl()}/health`)).status === 200
    } catch {
      // not listening yet
    }
    if (!restReady) await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

function restUrl(): string {
  return `http://127.0.0.1:${restPort}`
}

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${restUrl()}${path}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  try {
    return { status: response.status, json: text === '' ? undefined : JSON.parse(text) }
  } catch {
    // Jetty's own error pages, while the worker starts, are HTML.
    return { status: response.status, json: text }
  }
}

/** Creates a connector through the REST API; asks again while the worker group rebalances (409) or is busy (503). */
async function createConnector(name: string, config: Record<string, string>): Promise<void> {
  let last: { status: number; json: unknown } | undefined
  for (const deadline = Date.now() + connectTimeoutMs; Date.now() < deadline;) {
    last = await rest('POST', '/connectors', { name, config })
    if (last.status === 201) return
    if (last.status !== 409 && last.status !== 503) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`POST /connectors ${name}: ${JSON.stringify(last)}; worker output:\n${worker?.output()}`)
}

interface ConnectorStatus { connector: { state: string }; tasks: Array<{ id: number; state: string; trace?: string }> }

async function waitRunning(name: string): Promise<void> {
  const deadline = Date.now() + connectTimeoutMs
  for (;;) {
    const { json } = await rest('GET', `/connectors/${name}/status`)
    const status = json as Partial<ConnectorStatus> | undefined
    if (status?.connector?.state === 'RUNNING' && status.tasks?.length === 1 && status.tasks[0]!.state === 'RUNNING') return
    if (status?.tasks?.[0]?.state === 'FAILED') throw new Error(`task of ${name} failed: ${status.tasks[0].trace}; broker logs:\n${broker.logs().slice(-20_000)}`)
    if (Date.now() > deadline) throw new Error(`${name} not RUNNING within ${connectTimeoutMs} ms: ${JSON.stringify(json)}; worker output:\n${worker?.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** The offsets Connect has committed for a connector (KIP-875's GET /connectors/{name}/offsets). */
async function committedOffsets(name: string): Promise<Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> }>> {
  const { status, json } = await rest('GET', `/connectors/${name}/offsets`)
  if (status !== 200) return []
  return (json as { offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> }> }).offsets
}

async function readLines(file: string): Promise<string[]> {
  try {
    const text = await readFile(file, 'utf8')
    return text === '' ? [] : text.replace(/\n$/, '').split('\n')
  } catch {
    return []
  }
}

/** The number of records in the (one-partition) topic. */
async function topicSize(topic: string): Promise<number> {
  const admin = kafkajs(broker).admin()
  await admin.connect()
  try {
    const [partition] = await admin.fetchTopicOffsets(topic)
    return Number(partition!.high) - Number(partition!.low)
  } finally {
    await admin.disconnect()
  }
}

/**
 * Waits until the source's committed offset covers the whole input file, the sink's committed offset covers the whole
 * topic, and the sink file holds at least as many lines as the input: everything written has gone through.
 */
async function waitDelivered(source: string, sink: string, input: string, output: string, topic: string): Promise<void> {
  // The source's position counts characters (the same as bytes for the ASCII lines here).
  const inputText = await readFile(input, 'utf8')
  const inputLines = inputText.split('\n').length - 1
  const deadline = Date.now() + connectTimeoutMs
  for (;;) {
    const lines = await readLines(output)
    const sourcePosition = Number((await committedOffsets(source))[0]?.offset.position ?? -1)
    const sinkOffset = Number((await committedOffsets(sink))[0]?.offset.kafka_offset ?? -1)
    const records = await topicSize(topic)
    const state = `sink file ${lines.length}/${inputLines} lines, source offset ${sourcePosition}/${inputText.length} characters, ` +
      `sink offset ${sinkOffset}/${records} records`
    if (lines.length >= inputLines && sourcePosition === inputText.length && sinkOffset === records) return
    if (Date.now() > deadline) throw new Error(`not delivered within ${connectTimeoutMs} ms: ${state}; worker output:\n${worker?.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/**
 * ASCII only: FileStreamSourceTask stores its position in characters read but resumes with InputStream.skip, which
 * counts bytes, so on a file with multi-byte UTF-8 characters a restarted source starts at the wrong place (seen on
 * Apache Kafka with Connect 4.3.1: 200 lines with 4 two-byte characters each stored position 5954 of 6754 bytes).
 */
function numberedLines(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `line ${from + i}: ${'x'.repeat((from + i) % 17)} {"n": ${from + i}}`)
}

test("Connect's internal topics are created compacted", async () => {
  const admin = kafkajs(broker).admin()
  await admin.connect()
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: ['configs', 'offsets', 'status'].map((kind) => ({ type: 2, name: `${groupId}-${kind}`, configNames: ['cleanup.policy'] })),
    })
    const policies = Object.fromEntries(described.resources.map((resource) => [resource.resourceName, resource.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue]))
    expect(policies).toEqual({ [`${groupId}-configs`]: 'compact', [`${groupId}-offsets`]: 'compact', [`${groupId}-status`]: 'compact' })
  } finally {
    await admin.disconnect()
  }
})

test('file source to topic to file sink: lines out in order; after a kill -9 of the worker it resumes at the stored offsets, nothing lost or repeated', { timeout: 4 * connectTimeoutMs }, async () => {
  const topic = uniqueTopic('connect-lines')
  await createTopics(broker, [{ topic, numPartitions: 1 }])
  const input = join(dir, `${topic}.in.txt`)
  const output = join(dir, `${topic}.out.txt`)
  const first = numberedLines(0, 200)
  await writeFile(input, first.map((line) => `${line}\n`).join(''))
  const source = `${topic}-source`
  const sink = `${topic}-sink`
  await createConnector(source, { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector', 'tasks.max': '1', file: input, topic })
  await createConnector(sink, { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector', 'tasks.max': '1', file: output, topics: topic })
  await waitRunning(source)
  await waitRunning(sink)
  await waitDelivered(source, sink, input, output, topic)
  expect(await readLines(output)).toEqual(first)

  await worker!.kill9()
  const second = numberedLines(first.length, 100)
  await appendFile(input, second.map((line) => `${line}\n`).join(''))
  await startWorker()
  await waitRunning(source)
  await waitRunning(sink)
  await waitDelivered(source, sink, input, output, topic)
  expect(await readLines(output)).toEqual([...first, ...second])
  // The source resumed where its stored offset said: the topic holds each line once.
  expect(await topicSize(topic)).toBe(first.length + second.length)
})

test('a kill -9 of the worker while lines flow: every line reaches the sink file, in order, repeats only as re-deliveries (at-least-once)', { timeout: 4 * connectTimeoutMs }, async () => {
  const topic = uniqueTopic('connect-crash')
  await createTopics(broker, [{ topic, numPartitions: 1 }])
  const input = join(dir, `${topic}.in.txt`)
  const output = join(dir, `${topic}.out.txt`)
  const lines = numberedLines(0, 20_000)
  await writeFile(input, lines.map((line) => `${line}\n`).join(''))
  const source = `${topic}-source`
  const sink = `${topic}-sink`
  await createConnector(source, { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector', 'tasks.max': '1', file: input, topic })
  await createConnector(sink, { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector', 'tasks.max': '1', file: output, topics: topic })
  const deadline = Date.now() + connectTimeoutMs
  while ((await readLines(output)).length === 0) {
    if (Date.now() > deadline) throw new Error(`no line reached the sink within ${connectTimeoutMs} ms; worker output:\n${worker?.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await worker!.kill9()
  const atKill = (await readLines(output)).length
  await startWorker()
  await waitRunning(source)
  await waitRunning(sink)
  await waitDelivered(source, sink, input, output, topic)

  // Connect promises at-least-once here, as on Apache Kafka: what was written but not yet committed when the worker
  // died is written again. So the sink file, with each line kept at its first appearance, is exactly the input, and
  // every later appearance repeats a line already written.
  const written = await readLines(output)
  const firstAppearances = [...new Set(written)]
  expect(firstAppearances).toEqual(lines)
  // Recorded, not asserted: how many lines the crash repeated depends on where the kill fell.
  console.info(`${atKill} of ${lines.length} lines were in the sink file at the kill; ${written.length - lines.length} repeated after the restart`)
})
