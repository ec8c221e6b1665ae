// Idempotent producers against a proxy that cuts their connections at random points: the log must end
// with every record exactly once, in order. The broker advertises the proxy's port, so producers
// reconnect through it after every cut. Producers: the Java client (kafka-clients 3.x and 4.x, the
// driver in compat-tests/java) and librdkafka (confluent-kafka from the test venv).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FaultProxy } from '../../compat-tests/faults/proxy.ts'
import { javaCommand } from '../../compat-tests/java/family.ts'
import { createTopic, readPartition } from '../../compat-tests/lib/reader.ts'
import { repoRoot, startBroker, uniqueTopic, type Broker } from '../e2e/fixtures/broker.ts'
import { report, runProcess, type ProcessResult } from '../e2e/fixtures/kcat.ts'
import { venvPython } from '../e2e/fixtures/python.ts'

const RECORDS = 100_000
/** Cut budget per producer run: enough to hit requests, responses and reconnects many times. */
const MAX_CUTS = 40
/** Reproduce a failing run with ZOMBI_FAULT_SEED=<seed from the failure message>. */
const seed = Number(process.env.ZOMBI_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31))
const runTimeoutMs = 240_000

let proxy: FaultProxy
let broker: Broker

beforeAll(async () => {
  // Builds the Java driver if it is not built yet (Maven Central; cached in compat-tests/java/.deps).
  const setup = await runProcess('bash', [join(repoRoot, 'compat-tests/java/setup.sh')], { timeoutMs: 600_000 })
  if (setup.code !== 0) throw new Error(`compat-tests/java/setup.sh failed\n${report(setup)}`)
  proxy = await FaultProxy.start({
    upstreamPort: 0,
    maxCuts: MAX_CUTS,
    // Requests: cut somewhere in the first 4-128 KiB a connection carries (one to ~30 produce
    // requests of 4 KiB batches); responses: in the first 0.2-6 KiB (a few to ~60 acknowledgements).
    // 100,000 records are ~2 MB of requests, so a run makes 15-40 cuts.
    requestCutBytes: [4 * 1024, 128 * 1024],
    responseCutBytes: [200, 6 * 1024],
    seed,
  })
  broker = await startBroker({ ZOMBI_ADVERTISED_HOST: '127.0.0.1', ZOMBI_ADVERTISED_KAFKA_PORT: String(proxy.port) })
  proxy.upstreamPort = broker.kafkaPort
}, 660_000)

afterAll(async () => {
  await proxy?.close()
  await broker?.cleanup()
})

function value(index: number): string {
  return `fault-${String(index).padStart(6, '0')}`
}

/** Runs one producer through the armed proxy, then checks the log holds record 0..N-1 once each, in order. */
async function produceThroughCuts(name: string, run: (bootstrap: string, topic: string) => Promise<ProcessResult>): Promise<void> {
  const topic = uniqueTopic(`faults-${name}`)
  await createTopic(`127.0.0.1:${proxy.port}`, topic, { partitions: 1, configs: {} })
  proxy.arm()
  let produced: ProcessResult
  try {
    produced = await run(`127.0.0.1:${proxy.port}`, topic)
  } finally {
    proxy.disarm()
  }
  const cuts = proxy.cuts
  const context = () =>
    `seed ${seed}, ${cuts.length} cuts (${cuts.filter((cut) => cut.direction === 'request').length} in requests, ` +
    `${cuts.filter((cut) => cut.direction === 'response').length} in responses) over ${proxy.connections} connections so far\n` +
    `producer: ${report(produced)}\nbroker log tail:\n${broker.logs().slice(-3000)}`
  expect(produced.code, `${name} producer failed; ${context()}`).toBe(0)
  // Without cuts the test proves nothing; the schedule makes them certain for this much traffic.
  expect(cuts.length, `too few cuts; ${context()}`).toBeGreaterThanOrEqual(5)
  // ... and at least one cut must have dropped acknowledgements of requests the broker had in full,
  // so the producer retried batches that were already appended (the duplicate path).
  expect(cuts.reduce((sum, cut) => sum + cut.unanswered, 0), `no cut left a request unanswered; ${context()}`).toBeGreaterThan(0)

  const stored = await readPartition(broker.bootstrap, topic, 0, 60_000)
  const values = stored.records.map((record) => record.value?.toString('utf8') ?? '<null>')
  const firstWrong = values.findIndex((got, index) => got !== value(index))
  if (values.length !== RECORDS || firstWrong !== -1) {
    const seen = new Map<string, number>()
    for (const got of values) seen.set(got, (seen.get(got) ?? 0) + 1)
    const duplicates = [...seen.values()].filter((count) => count > 1).length
    const missing = RECORDS - [...seen.keys()].filter((got) => got.startsWith('fault-')).length
    const around = firstWrong === -1 ? '' : `; at offset ${firstWrong}: ${values.slice(Math.max(0, firstWrong - 2), firstWrong + 3).join(', ')}`
    expect.fail(`log has ${values.length} records, ${duplicates} values duplicated, ${missing} missing${around}; ${context()}`)
  }
  stored.records.forEach((record, index) => {
    if (record.offset !== index) expect.fail(`record ${index} at offset ${record.offset}`)
  })
  const producerIds = new Set(stored.batches.map((batch) => `${batch.producerId}/${batch.producerEpoch}`))
  expect([...producerIds].every((id) => !id.startsWith('-1/')), `batches without producer id: ${[...producerIds].join(', ')}`).toBe(true)
  process.stdout.write(`faults ${name}: seed ${seed}, ${cuts.length} cuts (${cuts.map((cut) => `${cut.direction === 'request' ? '>' : '<'}${cut.afterBytes}${cut.reset ? 'R' : ''}/${cut.unanswered}`).join(' ')}), ` +
    `${stored.batches.length} batches from producer ${[...producerIds].join(', ')}; ${produced.stdout.toString('utf8').trim()}\n`)
}

describe('idempotent producers through a proxy that cuts their connections', () => {
  for (const line of ['3', '4'] as const) {
    it(`Java kafka-clients ${line}.x: 100,000 records end up in the log exactly once, in order`, async () => {
      await produceThroughCuts(`java-${line}`, (bootstrap, topic) => {
        const [command, ...args] = javaCommand(line)
        return runProcess(command!, [...args, 'fault-produce', bootstrap, topic, String(RECORDS)], { timeoutMs: runTimeoutMs })
      })
    }, runTimeoutMs + 120_000)
  }

  it('librdkafka (confluent-kafka): 100,000 records end up in the log exactly once, in order', async () => {
    await produceThroughCuts('librdkafka', (bootstrap, topic) =>
      runProcess(venvPython(), [join(repoRoot, 'compat-tests/faults/librdkafka_producer.py'), bootstrap, topic, String(RECORDS)], {
        timeoutMs: runTimeoutMs,
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
      }))
  }, runTimeoutMs + 120_000)
})
