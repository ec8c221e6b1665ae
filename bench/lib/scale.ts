// Scale rows of npm run bench:compare: Zombi beside Apache Kafka with many partitions, producers, group members and
// connections, driven by one Go program on franz-go (bench/scale/main.go, cheap beside the brokers it loads).
// - partition curve: 10 topics of 1, 10 and 100 partitions (10, 100, 1,000 in all), 50 producers of keyed 100 B
//   records, then a 10-member classic consumer group reading everything; a fresh broker per point, so its peak RSS is
//   that point's.
// - connections: 50 producing + 50 fetching clients, without and then with 2,000 idle connections open.
// - Zombi's Iceberg flush at the largest point with ZOMBI_FLUSH_WORKERS 1 and 2.
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { readProcessUsage, type BrokerUnderTest, type RunningBroker } from './broker.ts'
import type { BrokerKind, ExtraTable } from './compare-report.ts'
import { formatNumber, median } from './report.ts'
import type { Latency, LatencyLoad } from './scenarios.ts'

const setupScript = path.resolve(import.meta.dirname, '../scale/setup.sh')
const topics = 10
const producers = 50
const members = 10
/**
 * 100 B records: the per-record and per-batch work (what grows with partitions, as each producer's batches spread
 * over more of them) dominates, rather than copying bytes; 1 KiB rows of the throughput table already cover bytes.
 */
const recordBytes = 100

export interface ScalePlan {
  /** Partitions per topic at each point of the curve. */
  partitionsPerTopic: number[]
  /** Records per point, over all producers. */
  records: number
  connections: { idle: number; active: number; partitions: number; records: number }
  /** ZOMBI_FLUSH_WORKERS values measured at the largest point, each `flushRepeats` times (alternated). */
  flushWorkers: number[]
  flushRepeats: number
}

export function scalePlan(quick: boolean): ScalePlan {
  return quick
    ? { partitionsPerTopic: [1, 10], records: 5_000, connections: { idle: 200, active: 100, partitions: 50, records: 5_000 }, flushWorkers: [1, 2], flushRepeats: 1 }
    : { partitionsPerTopic: [1, 10, 100], records: 500_000, connections: { idle: 2_000, active: 100, partitions: 50, records: 200_000 }, flushWorkers: [1, 2], flushRepeats: 2 }
}

interface Produced { records: number; bytes: number; seconds: number; latency: Latency }
interface Consumed { records: number; seconds: number; joinSeconds: number; members: number }

/** Zombi's Iceberg flush right after a produce: POST /tables/{t}/flush of every topic at once, and /metrics counters. */
export interface ScaleFlush {
  /** From the flush requests to the last commit. */
  seconds: number
  rows: number
  /** Data files and commits (snapshots) the flusher made for these topics since before the produce. */
  files: number
  commits: number
  /** Broker CPU seconds during the flush requests. */
  cpuSeconds: number
}

export interface ScaleCurveRun {
  side: BrokerKind
  broker: string
  partitions: number
  produce?: Produced
  produceCpuSeconds?: number
  flush?: ScaleFlush
  consume?: Consumed
  consumeCpuSeconds?: number
  peakRssBytes?: number
  error?: string
}

interface Phase {
  idleConnections: number
  produce: Produced
  endToEndSeconds: number
  brokerCpuSeconds: number
  brokerRssBytes: number
}

export interface ConnectionsResult {
  phases: Phase[]
  idleOpenSeconds: number
  rssBeforeIdleBytes: number
  rssWithIdleBytes: number
  idleAliveAfter: number
  brokerPeakRssBytes: number
  activeClients: number
  recordsPerPhase: number
  partitions: number
}

export interface ScaleConnectionsRun {
  side: BrokerKind
  broker: string
  idle: number
  result?: ConnectionsResult
  error?: string
}

export interface ScaleFlushRun {
  workers: number
  partitions: number
  produce?: Produced
  flush?: ScaleFlush
  error?: string
}

export interface ScaleResults {
  client: string
  plan: ScalePlan
  curve: ScaleCurveRun[]
  connections: ScaleConnectionsRun[]
  flushWorkers: ScaleFlushRun[]
}

/** Builds the Go client (a no-op when it is up to date) and returns its path. */
export function buildScaleClient(): string {
  const built = spawnSync('bash', [setupScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const binary = built.stdout?.trim().split('\n').at(-1)
  if (built.status !== 0 || !binary) throw new Error(`bench/scale/setup.sh failed (exit ${built.status})`)
  return binary
}

/** Runs one subcommand of the Go client and parses the JSON line it prints. */
function runClient<T>(binary: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8192) })
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`scale ${args[0]} exited with ${code}: ${stderr.trim()}`))
        return
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T)
      } catch {
        reject(new Error(`scale ${args[0]} printed no result: ${stdout.slice(-500)} ${stderr.slice(-500)}`))
      }
    })
  })
}

/**
 * Produce-to-consume latency through franz-go (`scale latency`): a Go client adds well under a millisecond of its
 * own, so its p99 is the broker's. The Node client's row beside it carries that client's event-loop stalls (about
 * 10 ms at p99 against either broker). The rate is @platformatic/kafka's, so the two rows share one.
 */
export function franzGoLatencyLoad(binary: string): LatencyLoad {
  return {
    client: 'franz-go',
    rateFrom: '@platformatic/kafka',
    measures: 'produce to consume',
    async run(bootstrap, topic, recordBytes, ratePerSecond, seconds) {
      return runClient<Produced>(binary, ['latency', '-bootstrap', bootstrap, '-topic', topic,
        '-rate', String(ratePerSecond), '-seconds', String(seconds), '-bytes', String(recordBytes)])
    },
  }
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

async function metricTotal(httpUrl: string, names: string[]): Promise<number[]> {
  const response = await fetch(`${httpUrl}/metrics`)
  if (!response.ok) throw new Error(`GET /metrics: HTTP ${response.status}`)
  const text = await response.text()
  return names.map((name) => {
    const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
    if (!line) throw new Error(`/metrics has no ${name}`)
    return Number(line[1])
  })
}

const flushCounters = ['zombi_flush_files_total', 'zombi_iceberg_commits_total']

/** Flushes every topic of `names` at once (each answer comes once its commit is done). */
async function flushTopics(broker: RunningBroker, names: string[], countersBefore: number[]): Promise<ScaleFlush> {
  const httpUrl = broker.httpUrl!
  const cpuBefore = readProcessUsage(broker.pid).cpuSeconds
  const started = performance.now()
  const answers = await Promise.all(names.map(async (name) => {
    const flushed = await fetch(`${httpUrl}/tables/${encodeURIComponent(name)}/flush`, { method: 'POST' })
    if (!flushed.ok) throw new Error(`POST /tables/${name}/flush: HTTP ${flushed.status} ${await flushed.text()}`)
    return (await flushed.json()) as { rows: number }
  }))
  const seconds = (performance.now() - started) / 1000
  const cpuSeconds = readProcessUsage(broker.pid).cpuSeconds - cpuBefore
  const after = await metricTotal(httpUrl, flushCounters)
  return {
    seconds, cpuSeconds, rows: answers.reduce((sum, answer) => sum + answer.rows, 0),
    files: after[0]! - countersBefore[0]!, commits: after[1]! - countersBefore[1]!,
  }
}

const topicNames = (prefix: string): string[] => Array.from({ length: topics }, (_, i) => `${prefix}-${i}`)

/** Starts a fresh broker, runs `body` on it and stops it; a failure to start, in `body` or to stop is recorded in `run.error`. */
async function onFreshBroker<Run extends { error?: string }>(config: BrokerUnderTest, run: Run, body: (broker: RunningBroker) => Promise<void>): Promise<Run> {
  let broker: RunningBroker
  try {
    broker = await config.start()
  } catch (error) {
    run.error = `did not start: ${message(error)}`
    return run
  }
  try {
    await body(broker)
  } catch (error) {
    run.error = message(error)
  }
  try {
    await broker.stop()
  } catch (error) {
    run.error = `${run.error ? `${run.error}; ` : ''}stop: ${message(error)}`
  }
  return run
}

/** One point of the curve on a fresh broker: create (untimed), produce, Zombi's flush, consume. */
async function curvePoint(binary: string, config: BrokerUnderTest, side: BrokerKind, partitionsPerTopic: number, plan: ScalePlan, quick: boolean): Promise<ScaleCurveRun> {
  const run: ScaleCurveRun = { side, broker: config.name, partitions: topics * partitionsPerTopic }
  const prefix = `scale-${partitionsPerTopic}`
  const common = ['-prefix', prefix, '-topics', String(topics)]
  return onFreshBroker(config, run, async (broker) => {
    await runClient(binary, ['create', '-bootstrap', broker.bootstrap, ...common, '-partitions', String(partitionsPerTopic)])
    if (!quick) await broker.settle()
    const counters = broker.httpUrl === undefined ? [] : await metricTotal(broker.httpUrl, flushCounters)
    let before = readProcessUsage(broker.pid).cpuSeconds
    run.produce = await runClient<Produced>(binary, ['produce', '-bootstrap', broker.bootstrap, ...common,
      '-producers', String(producers), '-records', String(plan.records), '-bytes', String(recordBytes)])
    run.produceCpuSeconds = readProcessUsage(broker.pid).cpuSeconds - before
    if (broker.httpUrl !== undefined) run.flush = await flushTopics(broker, topicNames(prefix), counters)
    if (!quick) await broker.settle()
    before = readProcessUsage(broker.pid).cpuSeconds
    run.consume = await runClient<Consumed>(binary, ['consume', '-bootstrap', broker.bootstrap, ...common,
      '-members', String(members), '-records', String(plan.records), '-group', `${prefix}-group`])
    run.consumeCpuSeconds = readProcessUsage(broker.pid).cpuSeconds - before
    run.peakRssBytes = readProcessUsage(broker.pid).peakRssBytes
  })
}

async function connectionsRun(binary: string, config: BrokerUnderTest, side: BrokerKind, plan: ScalePlan): Promise<ScaleConnectionsRun> {
  const { idle, active, partitions, records } = plan.connections
  const run: ScaleConnectionsRun = { side, broker: config.name, idle }
  return onFreshBroker(config, run, async (broker) => {
    run.result = await runClient<ConnectionsResult>(binary, ['connections', '-bootstrap', broker.bootstrap, '-topic', 'scale-connections',
      '-partitions', String(partitions), '-idle', String(idle), '-active', String(active), '-records', String(records),
      '-bytes', String(recordBytes), '-pid', String(broker.pid)])
    if (run.result.idleAliveAfter !== idle) run.error = `${idle - run.result.idleAliveAfter} of ${idle} idle connections no longer answered after the active load`
  })
}

/** Zombi alone at the largest point: produce, then the timed flush, with `workers` encode workers. */
async function flushWorkersRun(binary: string, config: BrokerUnderTest, workers: number, plan: ScalePlan): Promise<ScaleFlushRun> {
  const partitionsPerTopic = Math.max(...plan.partitionsPerTopic)
  const run: ScaleFlushRun = { workers, partitions: topics * partitionsPerTopic }
  const prefix = `flush-${partitionsPerTopic}`
  const common = ['-prefix', prefix, '-topics', String(topics)]
  return onFreshBroker(config, run, async (broker) => {
    await runClient(binary, ['create', '-bootstrap', broker.bootstrap, ...common, '-partitions', String(partitionsPerTopic)])
    const counters = await metricTotal(broker.httpUrl!, flushCounters)
    run.produce = await runClient<Produced>(binary, ['produce', '-bootstrap', broker.bootstrap, ...common,
      '-producers', String(producers), '-records', String(plan.records), '-bytes', String(recordBytes)])
    run.flush = await flushTopics(broker, topicNames(prefix), counters)
    if (run.flush.rows !== plan.records) run.error = `the flush committed ${run.flush.rows} rows of ${plan.records}`
  })
}

/**
 * Every scale row, Zombi and Kafka alternated point by point on fresh brokers. `zombiWithWorkers` makes the Zombi
 * configuration with ZOMBI_FLUSH_WORKERS set.
 */
export async function measureScale(brokers: Record<BrokerKind, BrokerUnderTest>, zombiWithWorkers: (workers: number) => BrokerUnderTest, quick: boolean): Promise<ScaleResults> {
  const binary = buildScaleClient()
  const version = spawnSync(binary, ['version'], { encoding: 'utf8' }).stdout.trim()
  const plan = scalePlan(quick)
  const results: ScaleResults = { client: `franz-go ${version}`, plan, curve: [], connections: [], flushWorkers: [] }
  for (const partitionsPerTopic of plan.partitionsPerTopic) {
    for (const side of ['zombi', 'kafka'] as const) {
      const run = await curvePoint(binary, brokers[side], side, partitionsPerTopic, plan, quick)
      results.curve.push(run)
      console.log(`scale ${run.broker} ${run.partitions} partitions: ${run.error ? `FAILED: ${run.error}` : describeCurveRun(run)}`)
    }
  }
  for (const side of ['zombi', 'kafka'] as const) {
    const run = await connectionsRun(binary, brokers[side], side, plan)
    results.connections.push(run)
    console.log(`scale ${run.broker} connections: ${run.error ? `FAILED: ${run.error}` : run.result!.phases.map((phase) =>
      `${phase.idleConnections} idle: ${formatNumber(phase.produce.records / phase.produce.seconds)} records/s, p99 ${phase.produce.latency.p99Ms} ms`).join('; ')}`)
  }
  for (let repeat = 0; repeat < plan.flushRepeats; repeat++) {
    for (const workers of plan.flushWorkers) {
      const run = await flushWorkersRun(binary, zombiWithWorkers(workers), workers, plan)
      results.flushWorkers.push(run)
      console.log(`scale flush ${run.partitions} partitions, ${workers} workers: ${run.error ? `FAILED: ${run.error}` : `${run.flush!.rows} rows in ${run.flush!.seconds.toFixed(2)} s, ${run.flush!.files} files, ${run.flush!.commits} commits`}`)
    }
  }
  return results
}

function describeCurveRun(run: ScaleCurveRun): string {
  const produce = run.produce!
  const flush = run.flush ? `, Iceberg flush ${run.flush.rows} rows in ${run.flush.seconds.toFixed(2)} s (${run.flush.files} files, ${run.flush.commits} commits)` : ''
  return `produce ${formatNumber(produce.records / produce.seconds)} records/s (p50 ${produce.latency.p50Ms} ms, p99 ${produce.latency.p99Ms} ms), ` +
    `consume ${formatNumber(run.consume!.records / run.consume!.seconds)} records/s${flush}`
}

const integer = (value: number): string => Math.round(value).toLocaleString('en-US')
const mebibytes = (bytes: number): string => formatNumber(bytes / 2 ** 20)
const perMillion = (cpuSeconds: number | undefined, records: number): string => (cpuSeconds === undefined ? '-' : ((cpuSeconds * 1e6) / records).toFixed(2))
const rateOf = (run: { records: number; seconds: number } | undefined): number | undefined => (run === undefined ? undefined : run.records / run.seconds)
const cell = (value: number | undefined): string => (value === undefined ? 'failed' : formatNumber(value))
const milliseconds = (value: number): string => (value >= 100 ? Math.round(value).toString() : value >= 10 ? value.toFixed(1) : value.toFixed(2))
const percentiles = (latency: Latency): string => `${milliseconds(latency.p50Ms)} / ${milliseconds(latency.p99Ms)}`

export function scaleTables(results: ScaleResults): ExtraTable[] {
  const points = [...new Set(results.curve.map((run) => run.partitions))]
  const find = (side: BrokerKind, partitions: number): ScaleCurveRun | undefined =>
    results.curve.find((run) => run.side === side && run.partitions === partitions && run.error === undefined)
  const curveRows = points.map((partitions) => {
    const zombi = find('zombi', partitions)
    const kafka = find('kafka', partitions)
    const zombiRate = rateOf(zombi?.produce)
    const kafkaRate = rateOf(kafka?.produce)
    const acks = (run: ScaleCurveRun | undefined): string => (run?.produce ? percentiles(run.produce.latency) : '-')
    const cpu = (run: ScaleCurveRun | undefined): string => (run?.produce
      ? `${perMillion(run.produceCpuSeconds, run.produce.records)} + ${perMillion(run.consumeCpuSeconds, run.produce.records)}`
      : '-')
    const flush = zombi?.flush
    return [
      integer(partitions),
      cell(zombiRate), cell(kafkaRate), zombiRate === undefined || kafkaRate === undefined ? '-' : (zombiRate / kafkaRate).toFixed(2),
      acks(zombi), acks(kafka),
      cell(rateOf(zombi?.consume)), cell(rateOf(kafka?.consume)),
      cpu(zombi), cpu(kafka),
      zombi?.peakRssBytes === undefined ? '-' : mebibytes(zombi.peakRssBytes), kafka?.peakRssBytes === undefined ? '-' : mebibytes(kafka.peakRssBytes),
      flush === undefined ? '-' : `${flush.seconds.toFixed(2)} (${formatNumber(flush.rows / flush.seconds)}/s)`,
      flush === undefined ? '-' : `${flush.files} / ${flush.commits}`,
    ]
  })
  const plan = results.plan
  const connectionRows = results.connections.flatMap((run) => (run.result?.phases ?? []).map((phase) => {
    const withIdle = phase.idleConnections > 0
    const result = run.result!
    return [
      run.broker, integer(phase.idleConnections),
      formatNumber(phase.produce.records / phase.produce.seconds), percentiles(phase.produce.latency),
      phase.endToEndSeconds.toFixed(2), phase.brokerCpuSeconds.toFixed(2), mebibytes(phase.brokerRssBytes),
      withIdle ? result.idleOpenSeconds.toFixed(2) : '',
      withIdle ? formatNumber((result.rssWithIdleBytes - result.rssBeforeIdleBytes) / 1024 / phase.idleConnections) : '',
      withIdle ? `${result.idleAliveAfter} / ${phase.idleConnections}` : '',
    ]
  }))
  const workers = [...new Set(results.flushWorkers.map((run) => run.workers))]
  const flushRows = workers.map((count) => {
    const runs = results.flushWorkers.filter((run) => run.workers === count && run.error === undefined && run.flush !== undefined)
    const medianOf = (value: (run: ScaleFlushRun) => number): number | undefined => (runs.length === 0 ? undefined : median(runs.map(value)))
    return [
      String(count), `${runs.length} of ${results.flushWorkers.filter((run) => run.workers === count).length}`,
      cell(medianOf((run) => run.produce!.records / run.produce!.seconds)),
      medianOf((run) => run.flush!.seconds)?.toFixed(2) ?? 'failed', cell(medianOf((run) => run.flush!.rows / run.flush!.seconds)),
      medianOf((run) => run.flush!.cpuSeconds)?.toFixed(2) ?? 'failed',
      runs.map((run) => `${run.flush!.files} / ${run.flush!.commits}`).join(', '),
    ]
  })
  const largest = Math.max(...plan.partitionsPerTopic) * topics
  return [
    {
      title: `Scale: partition curve (${results.client}; ${topics} topics, ${producers} producers of keyed ${recordBytes} B records, ` +
        `${integer(plan.records)} records per point, then a ${members}-member classic consumer group; ack before fsync; a fresh broker per point). ` +
        'CPU = broker CPU s per million records, produce + consume; Iceberg flush = all topics after the produce, seconds (rows/s); files / commits it made',
      table: {
        columns: ['partitions', 'Zombi produce records/s', 'Kafka produce records/s', 'Zombi/Kafka', 'Zombi ack p50/p99 ms', 'Kafka ack p50/p99 ms',
          'Zombi consume records/s', 'Kafka consume records/s', 'Zombi CPU s/M', 'Kafka CPU s/M', 'Zombi peak RSS MiB', 'Kafka peak RSS MiB',
          'Zombi Iceberg flush s', 'Zombi files / commits'],
        rows: curveRows,
      },
      textColumns: 1,
    },
    {
      title: `Scale: connections (${results.client}; ${plan.connections.active} active clients, half producing to their own partition of a ` +
        `${plan.connections.partitions}-partition topic and half fetching it, ${integer(plan.connections.records)} ${recordBytes} B records per phase; ` +
        `the same load once untimed, then without and with ${integer(plan.connections.idle)} idle connections that did ApiVersions + Metadata). ` +
        'RSS = broker resident memory at the end of the phase',
      table: {
        columns: ['broker', 'idle connections', 'produce records/s', 'ack p50/p99 ms', 'produce to all fetched s', 'broker CPU s', 'broker RSS MiB',
          'opening idle s', 'RSS per idle connection KiB', 'idle still answering'],
        rows: connectionRows,
      },
      textColumns: 1,
    },
    {
      title: `Scale: Zombi's Iceberg flush at ${integer(largest)} partitions by ZOMBI_FLUSH_WORKERS (produce as in the curve, then every topic flushed; medians)`,
      table: {
        columns: ['workers', 'runs ok', 'produce records/s', 'flush s', 'flush rows/s', 'broker CPU s in the flush', 'files / commits per run'],
        rows: flushRows,
      },
      textColumns: 1,
    },
  ]
}

export function scaleFailures(results: ScaleResults): string[] {
  return [
    ...results.curve.filter((run) => run.error).map((run) => `scale, ${run.broker}, ${run.partitions} partitions: ${run.error}`),
    ...results.connections.filter((run) => run.error).map((run) => `scale, ${run.broker}, connections: ${run.error}`),
    ...results.flushWorkers.filter((run) => run.error).map((run) => `scale, zombi flush with ${run.workers} workers: ${run.error}`),
  ]
}
