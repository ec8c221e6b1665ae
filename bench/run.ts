// npm run bench [-- --quick] [--rounds N] [--revision REV|worktree]: produce and fetch throughput of Zombi with real clients
// (kcat/librdkafka and @platformatic/kafka), the target (ZOMBI_DURABILITY=fsync) against a reference
// (the same broker with durability none) started alternately, A B A B, so drift on a shared machine hits
// both. Prints medians and the ratio target/reference; asserts no speed. Exits non-zero if anything failed.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { readProcessUsage, type BrokerUnderTest, type RunningBroker } from './lib/broker.ts'
import { kcatLoad } from './lib/kcat.ts'
import { describeMachine } from './lib/machine.ts'
import { platformaticLoad } from './lib/platformatic.ts'
import { printResults, saveResults, failures, type BrokerRun, type Results, type Sample, type Side } from './lib/report.ts'
import { recordSizes, warmUpWorkload, workloadFor, type ClientLoad, type Measurement, type Workload } from './lib/scenarios.ts'
import { snapshotZombi, zombi } from './lib/zombi.ts'

const resultsDir = path.resolve(import.meta.dirname, '../.cache/bench')

const { values: options } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, revision: { type: 'string', default: 'HEAD' } },
})
const rounds = options.rounds === undefined ? (options.quick ? 1 : 3) : Number(options.rounds)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, got ${options.rounds}`)

const source = await snapshotZombi(options.revision)
const brokers: Record<Side, BrokerUnderTest> = {
  target: zombi(source, 'zombi fsync', { ZOMBI_DURABILITY: 'fsync' }),
  reference: zombi(source, 'zombi none', { ZOMBI_DURABILITY: 'none' }),
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))
const topicName = (prefix: string, load: ClientLoad, workload: Workload): string => `${prefix}-${load.client.replace(/\W/g, '')}-${workload.recordBytes}`

/** Runs one client step from a settled broker and charges the broker's CPU time during it to the sample. */
async function measure(broker: RunningBroker, base: Omit<Sample, 'measurement' | 'error'>, step: () => Promise<Measurement>): Promise<Sample> {
  try {
    await broker.settle().catch((error: unknown) => {
      throw new Error(`settling the broker before the run: ${errorText(error)}`)
    })
    const cpuBefore = readProcessUsage(broker.pid).cpuSeconds
    const measurement = await step()
    return { ...base, measurement, brokerCpuSeconds: readProcessUsage(broker.pid).cpuSeconds - cpuBefore }
  } catch (error) {
    return { ...base, error: errorText(error) }
  }
}

/**
 * Runs every load untimed on a small topic, so that neither side pays for warming up the JIT of the bench's
 * own client code (or the broker's). Returns what failed; the timed runs will report it too.
 */
async function warmUp(broker: RunningBroker, plan: [ClientLoad, Workload][]): Promise<string[]> {
  const errors: string[] = []
  for (const [load, workload] of plan) {
    const small = warmUpWorkload(workload.recordBytes)
    const topic = topicName('warm-up', load, workload)
    try {
      await load.produce(broker.bootstrap, topic, small)
      await load.fetch(broker.bootstrap, topic, small)
    } catch (error) {
      errors.push(`${load.client} ${workload.recordBytes} B: ${errorText(error)}`)
    }
  }
  return errors
}

/** Every client produces then fetches every record size against one fresh broker. */
async function runRound(side: Side, round: number, plan: [ClientLoad, Workload][], samples: Sample[]): Promise<BrokerRun> {
  const label = `round ${round + 1}/${rounds} ${brokers[side].name}`
  let broker: RunningBroker
  try {
    broker = await brokers[side].start()
  } catch (error) {
    return { side, round, error: `did not start: ${errorText(error)}` }
  }
  const run: BrokerRun = { side, round }
  const warmUpErrors = await warmUp(broker, plan)
  if (warmUpErrors.length > 0) run.error = `warm-up: ${warmUpErrors.join('; ')}`
  const cpuAtStart = readProcessUsage(broker.pid).cpuSeconds
  try {
    for (const [load, workload] of plan) {
      const topic = topicName('bench', load, workload)
      const base = { client: load.client, recordBytes: workload.recordBytes, side, round }
      const produced = await measure(broker, { ...base, scenario: 'produce' }, () => load.produce(broker.bootstrap, topic, workload))
      const fetched = produced.error === undefined
        ? await measure(broker, { ...base, scenario: 'fetch' }, () => load.fetch(broker.bootstrap, topic, workload))
        : { ...base, scenario: 'fetch' as const, error: 'not run: produce failed' }
      for (const sample of [produced, fetched]) {
        samples.push(sample)
        const outcome = sample.measurement
          ? `${Math.round(sample.measurement.records / sample.measurement.seconds).toLocaleString('en-US')} records/s in ${sample.measurement.seconds.toFixed(2)} s`
          : `FAILED: ${sample.error}`
        console.log(`${label}: ${sample.scenario} ${load.client} ${workload.recordBytes} B: ${outcome}`)
      }
    }
    const usage = readProcessUsage(broker.pid)
    run.cpuSeconds = usage.cpuSeconds - cpuAtStart
    run.peakRssBytes = usage.peakRssBytes
  } catch (error) {
    run.error = `${run.error ? `${run.error}; ` : ''}${errorText(error)}`
  }
  const stopping = performance.now()
  try {
    await broker.stop()
    run.stopSeconds = (performance.now() - stopping) / 1000
  } catch (error) {
    run.error = `${run.error ? `${run.error}; ` : ''}stop: ${errorText(error)}`
  }
  return run
}

async function main(): Promise<number> {
  const inputDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-input-'))
  const loads = [kcatLoad(inputDir), platformaticLoad()]
  const plan: [ClientLoad, Workload][] = loads.flatMap((load) => recordSizes.map((size): [ClientLoad, Workload] => [load, workloadFor(load.client, size, options.quick)]))
  const results: Results = {
    date: new Date().toISOString(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: describeMachine(),
    revision: source.revision,
    rounds,
    quick: options.quick,
    target: { name: brokers.target.name, settings: brokers.target.settings },
    reference: { name: brokers.reference.name, settings: brokers.reference.settings },
    samples: [],
    brokerRuns: [],
  }
  try {
    console.log('preparing client input...')
    for (const [load, workload] of plan) {
      await load.prepare(warmUpWorkload(workload.recordBytes))
      await load.prepare(workload)
    }
    for (let round = 0; round < rounds; round++) {
      for (const side of ['target', 'reference'] as const) {
        results.brokerRuns.push(await runRound(side, round, plan, results.samples))
      }
    }
  } finally {
    await rm(inputDir, { recursive: true, force: true })
    await source.dispose()
  }
  printResults(results)
  saveResults(resultsDir, results)
  console.log(`\nwritten to ${path.relative(process.cwd(), resultsDir)}/latest.{json,md}`)
  return failures(results).length > 0 ? 1 : 0
}

process.exitCode = await main()
