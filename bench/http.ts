// npm run bench:http [-- --quick] [--rounds N] [--duration S] [--durability fsync,none] [--revision REV|worktree] [--url URL]:
// writes per second through Zombi's HTTP API (POST /tables/{t} and POST /tables/{t}/bulk, ~100 B events, autocannon)
// beside the Zombi v2 specification's figures. Each durability mode gets a fresh broker per round, alternating
// (A B A B) so drift on a shared machine hits both; medians are printed. --url measures a server already running
// (e.g. one started with --cpu-prof) instead. Asserts no speed; exits non-zero if a run failed or lost a write.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { readProcessUsage, type RunningBroker } from './lib/broker.ts'
import { defaultHttpBenchOptions, measureHttp, type HttpBenchOptions, type HttpMeasurement } from './lib/http.ts'
import { median } from './lib/report.ts'
import { snapshotZombi, zombi } from './lib/zombi.ts'
import { freePort } from '../test/support/ports.ts'

/** The Zombi v2 specification's published HTTP figures (t3.micro: 2 vCPUs, burstable). */
const specification = { singleRequestsPerSecond: 13_590, bulkEventsPerSecond: '166K–324K', machine: 't3.micro' }

const resultsDir = path.resolve(import.meta.dirname, '../.cache/bench')

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    durability: { type: 'string', default: 'fsync,none' },
    revision: { type: 'string', default: 'HEAD' },
    url: { type: 'string' },
  },
})
const rounds = Number(args.rounds ?? 1)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, got ${args.rounds}`)
const durabilities = args.durability.split(',').map((mode) => mode.trim())
for (const mode of durabilities) if (mode !== 'fsync' && mode !== 'none') throw new Error(`--durability takes fsync and/or none, got ${mode}`)
const duration = Number(args.duration ?? (args.quick ? 2 : defaultHttpBenchOptions.durationSeconds))
if (!(duration > 0)) throw new Error(`--duration wants seconds > 0, got ${args.duration}`)
const benchOptions: Partial<HttpBenchOptions> = { durationSeconds: duration, warmUpSeconds: args.quick ? 0.5 : defaultHttpBenchOptions.warmUpSeconds }

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))
const whole = (value: number): string => Math.round(value).toLocaleString('en-US')


interface Run {
  durability: string
  round: number
  measurement?: HttpMeasurement
  /** Broker CPU seconds over the timed and untimed load of the round. */
  brokerCpuSeconds?: number
  error?: string
}

function printRun(run: Run): void {
  const label = `round ${run.round + 1}/${rounds} durability ${run.durability}`
  if (run.measurement === undefined) {
    console.log(`${label}: FAILED: ${run.error}`)
    return
  }
  for (const s of run.measurement.scenarios) {
    const what = s.scenario === 'single' ? 'single' : `bulk ${s.eventsPerRequest}`
    const rejected = s.non2xx + s.errors > 0 ? `, ${s.non2xx} non-2xx, ${s.errors} errors` : ''
    const cpu = s.brokerCpuMicrosPerEvent === undefined ? '' : `, broker CPU ${s.brokerCpuMicrosPerEvent.toFixed(1)} µs/event`
    console.log(`${label}: ${what}: ${whole(s.requestsPerSecond)} req/s, ${whole(s.eventsPerSecond)} events/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms${cpu}${rejected}`)
  }
}

async function measureBroker(durability: string, round: number, source: Awaited<ReturnType<typeof snapshotZombi>>): Promise<Run> {
  const port = await freePort()
  let broker: RunningBroker
  try {
    broker = await zombi(source, `zombi ${durability}`, { ZOMBI_DURABILITY: durability, ZOMBI_PORT: String(port) }).start()
  } catch (error) {
    return { durability, round, error: `did not start: ${errorText(error)}` }
  }
  const run: Run = { durability, round }
  try {
    const cpuBefore = readProcessUsage(broker.pid).cpuSeconds
    // Settled before each timed run: the previous scenario's tables flushed to Iceberg, the broker idle.
    run.measurement = await measureHttp(`http://127.0.0.1:${port}`, { ...benchOptions, beforeEach: () => broker.settle(), brokerPid: broker.pid })
    run.brokerCpuSeconds = readProcessUsage(broker.pid).cpuSeconds - cpuBefore
  } catch (error) {
    run.error = errorText(error)
  }
  try {
    await broker.stop()
  } catch (error) {
    run.error = `${run.error ? `${run.error}; ` : ''}stop: ${errorText(error)}`
  }
  return run
}

/** Median of one figure over the rounds of one durability mode. */
function medianOf(runs: Run[], durability: string, pick: (m: HttpMeasurement) => number | undefined): number | undefined {
  const values = runs.filter((r) => r.durability === durability && r.measurement !== undefined).map((r) => pick(r.measurement!)).filter((v): v is number => v !== undefined)
  return values.length === 0 ? undefined : median(values)
}

function table(runs: Run[], columns: string[]): string {
  const scenarioRows = (runs.find((r) => r.measurement)?.measurement?.scenarios ?? []).map((s, index) => {
    const name = s.scenario === 'single' ? 'single event, `POST /tables/{t}`' : `bulk, ${s.eventsPerRequest} events per \`POST /tables/{t}/bulk\``
    const cells = columns.map((durability) => {
      const eventsPerSecond = medianOf(runs, durability, (m) => m.scenarios[index]?.eventsPerSecond)
      const p50 = medianOf(runs, durability, (m) => m.scenarios[index]?.p50Ms)
      const p99 = medianOf(runs, durability, (m) => m.scenarios[index]?.p99Ms)
      const cpu = medianOf(runs, durability, (m) => m.scenarios[index]?.brokerCpuMicrosPerEvent)
      if (eventsPerSecond === undefined) return 'failed'
      const unit = s.scenario === 'single' ? 'req/s' : 'events/s'
      return `${whole(eventsPerSecond)} ${unit} (p50 ${p50} ms, p99 ${p99} ms${cpu === undefined ? '' : `, broker CPU ${cpu.toFixed(1)} µs/event`})`
    })
    const reference = s.scenario === 'single' ? `${whole(specification.singleRequestsPerSecond)} req/s` : `${specification.bulkEventsPerSecond} events/s`
    return `| ${name} | ${s.connections} | ${cells.join(' | ')} | ${reference} |`
  })
  return [
    `| scenario | connections | ${columns.map((d) => `Zombi, ZOMBI_DURABILITY=${d}`).join(' | ')} | Zombi v2 specification (${specification.machine}) |`,
    `|---|---|${columns.map(() => '---|').join('')}---|`,
    ...scenarioRows,
  ].join('\n')
}

async function main(): Promise<number> {
  const runs: Run[] = []
  const command = ['npm run bench:http', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ')
  let revision = 'external server'
  let columns = durabilities
  if (args.url !== undefined) {
    columns = ['as configured']
    const run: Run = { durability: 'as configured', round: 0 }
    try {
      run.measurement = await measureHttp(args.url, benchOptions)
    } catch (error) {
      run.error = errorText(error)
    }
    printRun(run)
    runs.push(run)
  } else {
    const source = await snapshotZombi(args.revision)
    revision = source.revision
    try {
      for (let round = 0; round < rounds; round++) {
        for (const durability of durabilities) {
          const run = await measureBroker(durability, round, source)
          printRun(run)
          runs.push(run)
        }
      }
    } finally {
      await source.dispose()
    }
  }
  const payloadBytes = runs.find((r) => r.measurement)?.measurement?.options.payloadBytes ?? defaultHttpBenchOptions.payloadBytes
  console.log(`\nZombi ${revision}, ${rounds} round(s) of ${duration} s per scenario, ${payloadBytes} B payloads, load generator (autocannon) on the same ${os.availableParallelism()}-core machine; medians:\n`)
  console.log(table(runs, columns))
  mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `http-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), command, revision, rounds, duration, specification, runs }, null, 2)}\n`)
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`)
  const failed = runs.filter((r) => r.error !== undefined || r.measurement?.scenarios.some((s) => s.non2xx + s.errors > 0))
  for (const run of failed) console.error(`round ${run.round + 1} durability ${run.durability}: ${run.error ?? 'non-2xx answers or connection errors'}`)
  return failed.length === 0 ? 0 : 1
}

process.exitCode = await main()
