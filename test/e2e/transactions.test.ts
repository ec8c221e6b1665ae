// Kafka transactions with the Java client (kafka-clients 4.x, compat-tests/java's driver in its
// txn-shell mode, one JVM for the file): commit and abort, read_committed against read_uncommitted,
// fencing by a second producer of the same transactional id, consume-transform-produce with the
// group's offsets in the transaction, the admin client's transaction APIs, kill -9 of the broker in
// the middle of a transaction and right after EndTxn was sent, and the Iceberg table (read with
// DuckDB) holding exactly the committed records; confluent-kafka's (librdkafka's) transactional
// producer; and Apache Kafka's kafka-transactions tool.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { javaCommand } from '../../compat-tests/java/family.ts'
import { readRows, tableDir } from '../iceberg/readers.ts'
import { repoRoot, startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { report, runProcess } from './fixtures/kcat.ts'
import { runKafkaTool } from './fixtures/kafka-tools.ts'
import { listOffset } from './fixtures/log-probes.ts'
import { pythonJsonLines } from './fixtures/python.ts'

interface Answer {
  ok: boolean
  error?: string
  records?: Array<[number, string]>
  offset?: number
  state?: string
  producerId?: number
  epoch?: number
  partitions?: number
  transactions?: Array<{ id: string; state: string }>
  producers?: Array<{ producerId: number; epoch: number; txnStartOffset: number }>
}

/** The Java txn-shell: one command line in, one JSON answer line out, in order. */
class Shell {
  readonly #process: ChildProcessWithoutNullStreams
  readonly #waiting: Array<(answer: Answer) => void> = []
  #stderr = ''

  constructor() {
    const [command, ...args] = javaCommand('4')
    this.#process = spawn(command!, [...args, 'txn-shell'], { stdio: 'pipe' })
    this.#process.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-20_000)
    })
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return
      this.#waiting.shift()?.(JSON.parse(line) as Answer)
    })
  }

  /** Sends a command; the promise settles with its answer (commands are answered in order). */
  send(command: string): Promise<Answer> {
    const answer = new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to "${command}" within 120 s\n${this.#stderr}`)), 120_000)
      this.#waiting.push((a) => {
        clearTimeout(timer)
        resolve(a)
      })
    })
    this.#process.stdin.write(`${command}\n`)
    return answer
  }

  /** Sends a command that must succeed. */
  async ok(command: string): Promise<Answer> {
    const answer = await this.send(command)
    if (!answer.ok) throw new Error(`"${command}" failed: ${answer.error}`)
    return answer
  }

  close(): void {
    this.#process.stdin.end()
    this.#process.kill('SIGKILL')
  }
}

let broker: Broker
let shell: Shell

async function createTopics(...topics: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'txn-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })) })
  } finally {
    await admin.disconnect()
  }
}

const values = (answer: Answer): string[] => (answer.records ?? []).map(([, value]) => value)
const numbered = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`)

/** The values the topic's Iceberg table holds (after a flush), in offset order. */
async function tableValues(topic: string): Promise<Array<[number, string]>> {
  const flushed = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
  expect(flushed.status).toBe(200)
  const rows = await readRows(tableDir(broker.dataDir, topic), 'duckdb')
  return rows.map((row) => [row.sequence, Buffer.from(row.payload, 'base64').toString('utf8')])
}

/** Asks until the read_committed end offset reaches `offset` (a timed-out transaction is aborted by the broker's timer). */
async function committedEndReaches(topic: string, offset: number): Promise<number> {
  for (let attempt = 0; attempt < 120; attempt++) {
    const end = (await shell.ok(`end read_committed ${topic} 0`)).offset!
    if (end >= offset) return end
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`the last stable offset of ${topic} never reached ${offset}`)
}

beforeAll(async () => {
  const built = runProcess('bash', [join(repoRoot, 'compat-tests/java/setup.sh'), '4'], { timeoutMs: 600_000 })
  broker = await startBroker({ ZOMBI_FLUSH_INTERVAL_SECS: '0' })
  const setup = await built
  if (setup.code !== 0) throw new Error(`compat-tests/java/setup.sh failed\n${report(setup)}`)
  shell = new Shell()
  await shell.ok(`bootstrap ${broker.bootstrap}`)
}, 660_000)

afterAll(async () => {
  shell?.close()
  await broker?.cleanup()
})

test('committed records reach read_committed consumers, aborted ones only read_uncommitted, and the table holds the committed ones', async () => {
  const topic = uniqueTopic('txn-basic')
  await createTopics(topic)
  await shell.ok('producer p1 tx-basic 60000')
  await shell.ok('begin p1')
  await shell.ok(`send p1 ${topic} 0 c 3`)
  await shell.ok('commit p1')
  await shell.ok('begin p1')
  await shell.ok(`send p1 ${topic} 0 a 2`)
  await shell.ok('abort p1')
  await shell.ok('begin p1')
  await shell.ok(`send p1 ${topic} 0 d 2`)
  await shell.ok('commit p1')
  // Offsets: c 0-2, commit marker 3, a 4-5, abort marker 6, d 7-8, commit marker 9.
  const committed = await shell.ok(`read read_committed ${topic} 0`)
  expect(committed.records).toEqual([[0, 'c0'], [1, 'c1'], [2, 'c2'], [7, 'd0'], [8, 'd1']])
  expect(values(await shell.ok(`read read_uncommitted ${topic} 0`))).toEqual(['c0', 'c1', 'c2', 'a0', 'a1', 'd0', 'd1'])
  expect((await shell.ok(`end read_committed ${topic} 0`)).offset).toBe(10)

  // An open transaction holds read_committed consumers (and the table) at its first offset.
  await shell.ok('begin p1')
  await shell.ok(`send p1 ${topic} 0 o 2`)
  expect((await shell.ok(`end read_committed ${topic} 0`)).offset).toBe(10)
  expect((await shell.ok(`end read_uncommitted ${topic} 0`)).offset).toBe(12)
  expect(values(await shell.ok(`read read_committed ${topic} 0`))).toEqual(['c0', 'c1', 'c2', 'd0', 'd1'])
  expect(await tableValues(topic)).toEqual([[0, 'c0'], [1, 'c1'], [2, 'c2'], [7, 'd0'], [8, 'd1']])

  // What kafka-transactions shows comes from the same state.
  expect(await shell.ok('describe tx-basic')).toMatchObject({ state: 'Ongoing', epoch: 0, timeoutMs: 60000, partitions: 1 })
  expect((await shell.ok('list')).transactions).toContainEqual({ id: 'tx-basic', state: 'Ongoing' })
  const producers = (await shell.ok(`producers ${topic} 0`)).producers!
  expect(producers).toEqual([expect.objectContaining({ epoch: 0, txnStartOffset: 10 })])

  await shell.ok('commit p1')
  expect((await shell.ok(`end read_committed ${topic} 0`)).offset).toBe(13)
  expect(await tableValues(topic)).toEqual([[0, 'c0'], [1, 'c1'], [2, 'c2'], [7, 'd0'], [8, 'd1'], [10, 'o0'], [11, 'o1']])
  expect(await shell.ok('describe tx-basic')).toMatchObject({ state: 'CompleteCommit', partitions: 0 })
  await shell.ok('drop p1')
}, 300_000)

test('a second producer with the same transactional id fences the first and aborts what it left open', async () => {
  const topic = uniqueTopic('txn-fence')
  await createTopics(topic)
  await shell.ok('producer old tx-fence 60000')
  await shell.ok('begin old')
  await shell.ok(`send old ${topic} 0 z 2`)
  await shell.ok('producer new tx-fence 60000')
  // The open transaction was aborted under the new epoch; the id waits for the new producer's first one.
  expect(await shell.ok('describe tx-fence')).toMatchObject({ state: 'Empty', epoch: 1 })
  const late = await shell.send('commit old')
  expect(late.ok).toBe(false)
  expect(late.error).toMatch(/Fenced|InvalidProducerEpoch/)
  await shell.ok('begin new')
  await shell.ok(`send new ${topic} 0 n 2`)
  await shell.ok('commit new')
  expect(values(await shell.ok(`read read_committed ${topic} 0`))).toEqual(['n0', 'n1'])
  expect(values(await shell.ok(`read read_uncommitted ${topic} 0`))).toEqual(['z0', 'z1', 'n0', 'n1'])
  await shell.ok('drop old')
  await shell.ok('drop new')
}, 300_000)

test('consume-transform-produce commits the output and the group\'s offsets together', async () => {
  const input = uniqueTopic('txn-in')
  const output = uniqueTopic('txn-out')
  await createTopics(input, output)
  await shell.ok('producer feed tx-feed 60000')
  await shell.ok('begin feed')
  await shell.ok(`send feed ${input} 0 x 5`)
  await shell.ok('commit feed')
  await shell.ok('producer ctp tx-ctp 60000')
  await shell.ok(`transform ctp ctp-group ${input} ${output} 5`)
  expect(values(await shell.ok(`read read_committed ${output} 0`))).toEqual(numbered('X', 5))
  expect((await shell.ok(`committed ctp-group ${input} 0`)).offset).toBe(5)
  await shell.ok('drop feed')
  await shell.ok('drop ctp')
}, 300_000)

test('kill -9 in the middle of a transaction and right after EndTxn: committed records once, the rest never, in Kafka and in the table', async () => {
  const topic = uniqueTopic('txn-crash')
  await createTopics(topic)
  await shell.ok('producer k1 tx-crash 4000 5000')
  await shell.ok('begin k1')
  await shell.ok(`send k1 ${topic} 0 k 3`)
  await shell.ok('commit k1')
  // In flight at the crash: produced, never ended.
  await shell.ok('begin k1')
  await shell.ok(`send k1 ${topic} 0 u 2`)
  await broker.kill9()
  await broker.restart()
  await shell.ok(`bootstrap ${broker.bootstrap}`)
  await shell.send('drop k1')
  // Still open after the restart, then aborted by its 4 s timeout: read_committed never sees it.
  expect(values(await shell.ok(`read read_committed ${topic} 0`))).toEqual(['k0', 'k1', 'k2'])
  await committedEndReaches(topic, 7)
  expect(await shell.ok('describe tx-crash')).toMatchObject({ state: 'CompleteAbort' })
  expect(values(await shell.ok(`read read_committed ${topic} 0`))).toEqual(['k0', 'k1', 'k2'])

  // EndTxn sent, the broker killed before (or after) it finished: all of the transaction or none of it.
  await shell.ok('producer k2 tx-crash 4000 5000')
  await shell.ok('begin k2')
  await shell.ok(`send k2 ${topic} 0 e 3`)
  const ending = shell.send('commit k2')
  await broker.kill9()
  await broker.restart()
  await ending
  await shell.ok(`bootstrap ${broker.bootstrap}`)
  await shell.send('drop k2')
  const highWatermark = (await shell.ok(`end read_uncommitted ${topic} 0`)).offset!
  await committedEndReaches(topic, highWatermark)
  const after = values(await shell.ok(`read read_committed ${topic} 0`))
  expect([['k0', 'k1', 'k2'], ['k0', 'k1', 'k2', 'e0', 'e1', 'e2']]).toContainEqual(after)

  // The id goes on with a new producer; the table holds exactly what read_committed shows.
  await shell.ok('producer k3 tx-crash 60000')
  await shell.ok('begin k3')
  await shell.ok(`send k3 ${topic} 0 m 2`)
  await shell.ok('commit k3')
  const committed = await shell.ok(`read read_committed ${topic} 0`)
  expect(values(committed)).toEqual([...after, 'm0', 'm1'])
  expect(await tableValues(topic)).toEqual(committed.records)
  await shell.ok('drop k3')
}, 300_000)

test('confluent-kafka\'s transactional producer: commit, abort and fencing, read back at both isolation levels', async () => {
  const topic = uniqueTopic('txn-librdkafka')
  await createTopics(topic)
  const [result] = (await pythonJsonLines('compat-tests/confluent-kafka-python/transactions.py', ['--bootstrap', broker.bootstrap, '--topic', topic, '--transactional-id', `${topic}-tx`], { timeoutMs: 180_000 })) as Array<{ committed: string[]; uncommitted: string[]; fenced: string }>
  expect(result!.committed).toEqual(['c0', 'c1', 'c2', 'd0', 'd1', 'n0', 'n1'])
  expect(result!.uncommitted).toEqual(['c0', 'c1', 'c2', 'a0', 'a1', 'd0', 'd1', 'z0', 'n0', 'n1'])
  expect(result!.fenced).toMatch(/FENCED|INVALID_PRODUCER_EPOCH/)
  expect(await tableValues(topic)).toEqual((await shell.ok(`read read_committed ${topic} 0`)).records)
}, 300_000)

test('after hot retention, read_committed consumers replay committed records from the table, gaps where markers and aborted records were', async () => {
  const cold = await startBroker({
    ZOMBI_FLUSH_INTERVAL_SECS: '0', ZOMBI_SEGMENT_BYTES: String(1024 * 1024), ZOMBI_HOT_RETENTION_MS: '0', ZOMBI_HOT_RETENTION_CHECK_SECS: '1',
  })
  try {
    await shell.ok(`bootstrap ${cold.bootstrap}`)
    const topic = uniqueTopic('txn-cold')
    const admin = new Kafka({ clientId: 'txn-e2e', brokers: [cold.bootstrap], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()
    // 300 KB values: the 1 MiB segments roll while the transactions run.
    await shell.ok('producer cold tx-cold 60000')
    await shell.ok('begin cold')
    await shell.ok(`send cold ${topic} 0 c 3 300000`)
    await shell.ok('commit cold')
    await shell.ok('begin cold')
    await shell.ok(`send cold ${topic} 0 a 2 300000`)
    await shell.ok('abort cold')
    await shell.ok('begin cold')
    await shell.ok(`send cold ${topic} 0 d 4 300000`)
    await shell.ok('commit cold')
    expect((await fetch(`${cold.httpUrl}/tables/${topic}/flush`, { method: 'POST' })).status).toBe(200)
    // Offsets: c 0-2, marker 3, a 4-5, marker 6, d 7-10, marker 11. Retention drops flushed segments.
    let hotStart = 0
    for (let i = 0; i < 100 && hotStart <= 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      hotStart = await listOffset(cold, topic, -4)
    }
    expect(hotStart).toBeGreaterThan(6)
    const committed = [[0, 'c0'], [1, 'c1'], [2, 'c2'], [7, 'd0'], [8, 'd1'], [9, 'd2'], [10, 'd3']]
    expect((await shell.ok(`read read_committed ${topic} 0`)).records).toEqual(committed)
    // Below the hot log the table answers, which holds committed records only, whatever the isolation level.
    expect((await shell.ok(`read read_uncommitted ${topic} 0`)).records).toEqual(committed)
    expect((await readRows(tableDir(cold.dataDir, topic), 'duckdb')).map((row) => row.sequence)).toEqual([0, 1, 2, 7, 8, 9, 10])
    await shell.ok('drop cold')
  } finally {
    await shell.ok(`bootstrap ${broker.bootstrap}`)
    await cold.cleanup()
  }
}, 300_000)

test('Apache Kafka\'s kafka-transactions tool lists, describes and shows the producers of an open transaction', async () => {
  const topic = uniqueTopic('txn-tool')
  await createTopics(topic)
  await shell.ok('producer tool tx-tool 60000')
  await shell.ok('begin tool')
  await shell.ok(`send tool ${topic} 0 t 2`)
  const tool = async (...args: string[]): Promise<string> => {
    const run = await runKafkaTool('org.apache.kafka.tools.TransactionsCommand', ['--bootstrap-server', broker.bootstrap, ...args])
    if (run.code !== 0) throw new Error(`kafka-transactions ${args.join(' ')} failed\n${report(run)}`)
    return run.stdout.toString('utf8')
  }
  expect(await tool('list')).toMatch(/tx-tool\s+\S+\s+\d+\s+Ongoing/)
  const described = await tool('describe', '--transactional-id', 'tx-tool')
  expect(described).toMatch(/Ongoing/)
  expect(described).toContain(`${topic}-0`)
  const producers = await tool('describe-producers', '--topic', topic, '--partition', '0')
  // ProducerId ProducerEpoch LatestCoordinatorEpoch LastSequence LastTimestamp CurrentTransactionStartOffset
  expect(producers).toMatch(/\d+\s+0\s+\S+\s+1\s+\d+\s+0/)
  await shell.ok('commit tool')
  expect(await tool('describe', '--transactional-id', 'tx-tool')).toMatch(/CompleteCommit/)
  await shell.ok('drop tool')
}, 300_000)
