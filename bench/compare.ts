// npm run bench:compare [-- --quick] [--rounds N] [--revision REV|worktree] [--out DIR] [--only tls]: Zombi beside Apache
// Kafka on this machine, same clients, same loads, started alternately (Zombi, Kafka, Zombi, Kafka …) so drift hits both.
// Two durability pairs: Zombi ZOMBI_DURABILITY=none vs Kafka as shipped (both acknowledge before fsync), and
// Zombi fsync vs Kafka with log.flush.interval.messages=1 (both fsync before acknowledging); and a TLS + SCRAM pair
// (both brokers with a SASL_SSL listener, one certificate, SCRAM-SHA-512; kcat on confluent-kafka's newer librdkafka,
// as Debian's 2.0.2 cannot log in to Kafka 4.x with SCRAM; 1 KiB records, ack before fsync). --only tls runs that
// pair and its plaintext twin (the same kcat without TLS) alone, so the cost of TLS is read from one run. The scale
// rows (bench/lib/scale.ts: 10 to 1,000 partitions, 50 producers and a 10-member group, 2,000 idle connections beside
// 100 active ones, Zombi's flush by ZOMBI_FLUSH_WORKERS) run once per invocation after the pairs; --only scale runs
// them alone. Prints the tables and,
// as the last line, the geometric mean of the Zombi/Kafka throughput ratios. Asserts no speed; exits non-zero if
// any scenario produced no numbers.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { readProcessUsage, takeStepPeakRss, type BrokerUnderTest, type RunningBroker } from './lib/broker.ts'
import { removeOnExit } from './lib/cleanup.ts'
import {
  failures, geometricMeanLine, printCompareResults, saveCompareResults, stepLabel,
  type BrokerKind, type CompareBrokerRun, type CompareResults, type CompareSample,
} from './lib/compare-report.ts'
import { httpFailures, httpTable, measureHttpRows } from './lib/compare-http.ts'
import { javaAckLatencyLoad, javaToolsLoad } from './lib/java-tools.ts'
import { apacheKafka, fetchKafka, kafkaVersion } from './lib/kafka.ts'
import { kcatLoad, wheelLibrdkafka } from './lib/kcat.ts'
import { describeMachine, javaVersion } from './lib/machine.ts'
import { createTopic } from './lib/topics.ts'
import { platformaticLatencyLoad } from './lib/platformatic-latency.ts'
import { platformaticLoad } from './lib/platformatic.ts'
import { buildScaleClient, franzGoLatencyLoad, measureScale, scaleFailures, scaleTables } from './lib/scale.ts'
import { median } from './lib/report.ts'
import { recordSizes, warmUpWorkload, type ClientLoad, type Compression, type LatencyLoad, type Measurement, type Workload } from './lib/scenarios.ts'
import { makeBenchSecurity, zombiSecureSettings } from './lib/secure.ts'
import { snapshotZombi, zombi } from './lib/zombi.ts'

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, revision: { type: 'string', default: 'HEAD' },
    // Where compare-latest.{json,md} go; the test points it at a temp dir so a full run's results stay.
    out: { type: 'string', default: path.resolve(import.meta.dirname, '../.cache/bench') },
    only: { type: 'string' },
  },
})
if (options.only !== undefined && options.only !== 'tls' && options.only !== 'scale') {
  throw new Error(`--only takes tls (the TLS + SCRAM pair and its plaintext twin) or scale (the scale rows), got ${options.only}`)
}
const resultsDir = path.resolve(options.out)
const rounds = options.rounds === undefined ? (options.quick ? 1 : 2) : Number(options.rounds)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, got ${options.rounds}`)

// Ctrl-C or a test runner's SIGTERM must not leave brokers behind: exiting runs the 'exit' handlers of
// zombi.ts and kafka.ts, which kill the children they started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

interface ProduceCase {
  recordBytes: number
  producers: number
  compression: Compression
}

interface Pair {
  id: string
  label: string
  brokers: Record<BrokerKind, BrokerUnderTest>
  cases: ProduceCase[]
  /** Consume rows (consuming does not depend on the durability mode, so one pair measures it). */
  consume: boolean
  /** The clients this pair measures. */
  loads: ClientLoad[]
  /** Whether the latency phase runs for this pair (it needs the Java and @platformatic/kafka loads). */
  latency: boolean
}

/**
 * Total records per produce measurement by client and record size, chosen so that one measurement takes about
 * 0.5–5 s on this project's 2-core machine (a 4-producer case splits the same total) and a full run of 2 rounds
 * about 12 minutes; --quick sends 2,000.
 */
const fullRecords: Record<string, Record<number, number>> = {
  // Kafka's Java producer is the slowest client here (a 1 KiB record every ~25 µs, 4 JVMs on 2 cores slower still).
  'kafka-tools (Java)': { 100: 400_000, 1024: 100_000 },
  kcat: { 100: 1_000_000, 1024: 240_000 },
  '@platformatic/kafka': { 100: 400_000, 1024: 160_000 },
}
/** Seconds each latency measurement sends for. */
const latencySeconds = options.quick ? 1 : 5

function workloadFor(client: string, produceCase: ProduceCase): Workload {
  const records = options.quick ? warmUpWorkload(produceCase.recordBytes).records : fullRecords[client]?.[produceCase.recordBytes]
  if (records === undefined) throw new Error(`no record count planned for ${client} with ${produceCase.recordBytes} B records`)
  return { recordBytes: produceCase.recordBytes, records, fetchPasses: 1, producers: produceCase.producers, compression: produceCase.compression }
}

/** Every size with 1 and 4 producers uncompressed, and 1 producer with lz4 and zstd. */
const allCases: ProduceCase[] = recordSizes.flatMap((recordBytes) => [
  { recordBytes, producers: 1, compression: 'none' as const },
  { recordBytes, producers: 4, compression: 'none' as const },
  { recordBytes, producers: 1, compression: 'lz4' as const },
  { recordBytes, producers: 1, compression: 'zstd' as const },
])
/** The case whose produce rate sets the latency rate and whose topic the consume rows read. */
const isPlain = (produceCase: ProduceCase): boolean => produceCase.producers === 1 && produceCase.compression === 'none'

/** The message with its causes: @platformatic/kafka says "Producing messages failed." and puts the reason in `errors`/`cause`. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const nested: unknown[] = []
  if (error.cause !== undefined) nested.push(error.cause)
  const { errors } = error as { errors?: unknown }
  if (Array.isArray(errors)) nested.push(...(errors as unknown[]))
  return nested.length === 0 ? error.message : `${error.message} (${nested.map(errorText).join('; ')})`
}
const topicName = (prefix: string, client: string, produceCase: ProduceCase): string =>
  `${prefix}-${client.replace(/\W/g, '')}-${produceCase.recordBytes}-${produceCase.producers}p-${produceCase.compression}`

/**
 * Runs one client step from a settled broker and charges the broker's CPU time during it to the sample. With
 * `topic`, creates it first (untimed). --quick skips settling: it times nothing worth settling for.
 */
async function measure(broker: RunningBroker, sample: CompareSample, step: () => Promise<Measurement>, topic?: string): Promise<CompareSample> {
  try {
    if (topic !== undefined) await createTopic(broker.adminBootstrap ?? broker.bootstrap, topic)
    if (!options.quick) {
      await broker.settle().catch((error: unknown) => {
        throw new Error(`settling the broker before the run: ${errorText(error)}`)
      })
    }
    sample.brokerPeakRssBeforeBytes = takeStepPeakRss(broker.pid)
    const cpuBefore = readProcessUsage(broker.pid).cpuSeconds
    sample.measurement = await step()
    sample.brokerCpuSeconds = readProcessUsage(broker.pid).cpuSeconds - cpuBefore
    sample.brokerPeakRssBytes = takeStepPeakRss(broker.pid)
  } catch (error) {
    sample.error = errorText(error)
  }
  return sample
}

function describe(sample: CompareSample, label: string): string {
  const what = stepLabel(sample)
  if (!sample.measurement) return `${label}: ${what}: FAILED: ${sample.error}`
  const rate = Math.round(sample.measurement.records / sample.measurement.seconds).toLocaleString('en-US')
  const latency = sample.measurement.latency ? `, p50 ${sample.measurement.latency.p50Ms.toFixed(2)} ms, p99 ${sample.measurement.latency.p99Ms.toFixed(2)} ms` : ''
  const flush = sample.flush ? `, Iceberg flush ${sample.flush.rows} rows in ${sample.flush.seconds.toFixed(2)} s` : ''
  return `${label}: ${what}: ${rate} records/s in ${sample.measurement.seconds.toFixed(2)} s${latency}${flush}${sample.error ? ` (${sample.error})` : ''}`
}

/** Starts one broker, runs `body` against it, records its CPU and peak RSS, stops it. */
async function withBroker(pair: Pair, side: BrokerKind, round: number, body: (broker: RunningBroker) => Promise<void>): Promise<CompareBrokerRun> {
  const run: CompareBrokerRun = { pair: pair.id, side, round }
  let broker: RunningBroker
  try {
    broker = await pair.brokers[side].start()
  } catch (error) {
    run.error = `did not start: ${errorText(error)}`
    return run
  }
  const cpuAtStart = readProcessUsage(broker.pid).cpuSeconds
  try {
    await body(broker)
    const usage = readProcessUsage(broker.pid)
    run.cpuSeconds = usage.cpuSeconds - cpuAtStart
    run.peakRssBytes = usage.peakRssBytes
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

/**
 * Which broker runs first in a round: each in turn. The one that runs second starts right after the
 * first removed gigabytes of log files, so its page-cache writes get memory the kernel has just
 * freed, where the first takes memory that has been free for a while; on a VM that hands free memory
 * back to its host (this project's machines do), first touching such memory costs the guest several
 * times more system time per byte written (docs/benchmarks.md).
 */
function sideOrder(round: number): readonly BrokerKind[] {
  return round % 2 === 0 ? ['zombi', 'kafka'] : ['kafka', 'zombi']
}

/** Every load once, small and untimed, so the broker's JIT (and the Node loads') is warm before the first timing. */
async function warmUp(broker: RunningBroker, loads: ClientLoad[]): Promise<void> {
  for (const load of loads) {
    for (const recordBytes of recordSizes) {
      const topic = `warm-up-${load.client.replace(/\W/g, '')}-${recordBytes}`
      await createTopic(broker.adminBootstrap ?? broker.bootstrap, topic)
      await load.produce(broker.bootstrap, topic, warmUpWorkload(recordBytes))
    }
  }
}

async function throughputRound(pair: Pair, side: BrokerKind, round: number, samples: CompareSample[]): Promise<CompareBrokerRun> {
  const label = `round ${round + 1}/${rounds} ${pair.brokers[side].name}`
  const { loads } = pair
  return withBroker(pair, side, round, async (broker) => {
    if (!options.quick) await warmUp(broker, loads)
    for (const produceCase of pair.cases) {
      for (const load of loads) {
        const workload = workloadFor(load.client, produceCase)
        const topic = topicName('bench', load.client, produceCase)
        const base = { pair: pair.id, client: load.client, recordBytes: produceCase.recordBytes, producers: produceCase.producers, compression: produceCase.compression, side, round }
        const produced = await measure(broker, { ...base, scenario: 'produce' }, () => load.produce(broker.bootstrap, topic, workload), topic)
        if (produced.measurement && broker.flushTable) {
          try {
            produced.flush = await broker.flushTable(topic)
          } catch (error) {
            produced.error = `Iceberg flush: ${errorText(error)}`
          }
        }
        samples.push(produced)
        console.log(describe(produced, label))
        if (!pair.consume || !isPlain(produceCase)) continue
        const consumed: CompareSample = produced.measurement
          ? await measure(broker, { ...base, scenario: 'consume' }, () => load.fetch(broker.bootstrap, topic, workload))
          : { ...base, scenario: 'consume', error: 'not run: produce failed' }
        samples.push(consumed)
        console.log(describe(consumed, label))
      }
    }
  })
}

/** The loads of the latency phase, as shares of the lower of the two brokers' max produce rates: light, and half way to saturation. */
const latencyShares = [0.1, 0.5] as const

/** `share` of the lower of the two brokers' median produce rates for this client and size (1 producer, uncompressed). */
function latencyRate(samples: CompareSample[], pair: Pair, client: string, recordBytes: number, share: number): number | undefined {
  const rates = (['zombi', 'kafka'] as const).map((side) => {
    const mine = samples.filter((s) => s.pair === pair.id && s.side === side && s.scenario === 'produce' && s.client === client &&
      s.recordBytes === recordBytes && s.producers === 1 && s.compression === 'none')
    if (mine.length === 0 || mine.some((s) => !s.measurement)) return undefined
    return median(mine.map((s) => s.measurement!.records / s.measurement!.seconds))
  })
  if (rates[0] === undefined || rates[1] === undefined) return undefined
  return share * Math.min(rates[0], rates[1])
}

async function latencyPhase(pair: Pair, side: BrokerKind, warmUpLoads: ClientLoad[], loads: LatencyLoad[], samples: CompareSample[]): Promise<CompareBrokerRun> {
  const label = `latency ${pair.brokers[side].name}`
  return withBroker(pair, side, -1, async (broker) => {
    if (!options.quick) await warmUp(broker, warmUpLoads)
    for (const recordBytes of recordSizes) {
      for (const load of loads) {
        for (const share of latencyShares) {
          const sample: CompareSample = { pair: pair.id, scenario: 'latency', client: `${load.client} (${load.measures})`, recordBytes, producers: 1, compression: 'none', side, round: -1, loadShare: share }
          const rate = latencyRate(samples, pair, load.rateFrom ?? load.client, recordBytes, share)
          if (rate === undefined) {
            sample.error = 'not run: no max produce rate measured on both brokers'
          } else {
            sample.ratePerSecond = rate
            const topic = `latency-${load.client.replace(/\W/g, '')}-${recordBytes}-${Math.round(share * 100)}`
            await measure(broker, sample, () => load.run(broker.bootstrap, topic, recordBytes, rate, latencySeconds), topic)
          }
          samples.push(sample)
          console.log(describe(sample, `${label} at ${Math.round(share * 100)} %`))
        }
      }
    }
  })
}

async function main(): Promise<number> {
  const started = performance.now()
  console.log('fetching Apache Kafka into .cache (once)...')
  const libs = fetchKafka()
  const source = await snapshotZombi(options.revision)
  const inputDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-input-'))
  removeOnExit(inputDir)
  // Kafka gets group.initial.rebalance.delay.ms=0 (bench/lib/kafka.ts); Zombi the same, so neither waits 3 s for
  // more members before a one-member group's first assignment.
  const zombiGroups = { ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' }
  const security = makeBenchSecurity()
  const loads: ClientLoad[] = [javaToolsLoad(libs, options.quick), kcatLoad(inputDir), platformaticLoad()]
  const latencyLoads: LatencyLoad[] = [javaAckLatencyLoad(libs, options.quick), platformaticLatencyLoad(), franzGoLatencyLoad(buildScaleClient())]
  // kcat with 1 KiB records: one producer row and one consumer row, the same over TLS + SCRAM and in plaintext.
  const tlsCases = allCases.filter((produceCase) => produceCase.recordBytes === 1024 && isPlain(produceCase))
  const plainKafka = apacheKafka(libs, 'kafka default', {})
  const plainZombi = zombi(source, 'zombi none', { ZOMBI_DURABILITY: 'none', ...zombiGroups })
  const librdkafka = wheelLibrdkafka()
  const tlsKcat = `kcat on librdkafka ${librdkafka.version}`
  const tlsPair: Pair = {
    id: 'tls-scram', label: `TLS + SCRAM-SHA-512 (SASL_SSL), ack before fsync, ${tlsKcat}`,
    brokers: {
      zombi: zombi(source, 'zombi none sasl_ssl', { ZOMBI_DURABILITY: 'none', ...zombiGroups, ...zombiSecureSettings(security) }),
      kafka: apacheKafka(libs, 'kafka default sasl_ssl', {}, security),
    },
    cases: tlsCases, consume: true, loads: [kcatLoad(inputDir, security.kcatArgs, librdkafka)], latency: false,
  }
  const allPairs: Pair[] = [
    {
      id: 'ack-before-fsync', label: 'ack before fsync',
      brokers: { zombi: plainZombi, kafka: plainKafka },
      cases: allCases, consume: true, loads, latency: true,
    },
    {
      id: 'fsync-before-ack', label: 'fsync before ack',
      brokers: {
        zombi: zombi(source, 'zombi fsync', { ZOMBI_DURABILITY: 'fsync', ...zombiGroups }),
        kafka: apacheKafka(libs, 'kafka flush each', { 'log.flush.interval.messages': '1' }),
      },
      // Compression does not change what fsync costs; one codec-free set keeps the full run under 15 minutes.
      cases: allCases.filter((produceCase) => produceCase.compression === 'none'), consume: false, loads, latency: true,
    },
    tlsPair,
  ]
  const pairs: Pair[] = options.only === 'scale' ? [] : options.only === 'tls'
    ? [
      // The plaintext twin: the same brokers without the SASL_SSL listener, the same kcat rows on the same librdkafka.
      {
        id: 'tls-plain-twin', label: `plaintext twin of the TLS pair, ack before fsync, ${tlsKcat}`, brokers: { zombi: plainZombi, kafka: plainKafka },
        cases: tlsCases, consume: true, loads: [kcatLoad(inputDir, [], librdkafka)], latency: false,
      },
      tlsPair,
    ]
    : allPairs
  const results: CompareResults = {
    date: new Date().toISOString(),
    command: ['npm run bench:compare', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: { ...describeMachine(), java: javaVersion() },
    kafkaVersion,
    revision: source.revision,
    rounds,
    quick: options.quick,
    pairs: pairs.map((pair) => ({
      id: pair.id, label: pair.label,
      zombi: { name: pair.brokers.zombi.name, settings: pair.brokers.zombi.settings },
      kafka: { name: pair.brokers.kafka.name, settings: pair.brokers.kafka.settings },
    })),
    samples: [],
    brokerRuns: [],
    extra: [],
    otherFailures: [],
  }
  try {
    console.log('preparing client input...')
    // Once per client and workload: the TLS pair's kcat reads the same input files as the plaintext one.
    const prepared = new Set<string>()
    for (const pair of pairs) {
      for (const load of pair.loads) {
        for (const workload of [...recordSizes.map(warmUpWorkload), ...pair.cases.map((produceCase) => workloadFor(load.client, produceCase))]) {
          const key = `${load.client} ${JSON.stringify(workload)}`
          if (prepared.has(key)) continue
          prepared.add(key)
          await load.prepare(workload)
        }
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const pair of pairs) {
        for (const side of sideOrder(round)) results.brokerRuns.push(await throughputRound(pair, side, round, results.samples))
      }
    }
    for (const pair of pairs.filter((candidate) => candidate.latency)) {
      for (const side of ['zombi', 'kafka'] as const) results.brokerRuns.push(await latencyPhase(pair, side, loads, latencyLoads, results.samples))
    }
    if (options.only === undefined || options.only === 'scale') {
      const zombiWithWorkers = (workers: number): BrokerUnderTest =>
        zombi(source, `zombi none, ${workers} flush worker${workers === 1 ? '' : 's'}`, { ZOMBI_DURABILITY: 'none', ...zombiGroups, ZOMBI_FLUSH_WORKERS: String(workers) })
      const scale = await measureScale({ zombi: plainZombi, kafka: plainKafka }, zombiWithWorkers, options.quick)
      results.scale = scale
      results.extra.push(...scaleTables(scale))
      results.otherFailures.push(...scaleFailures(scale))
    }
    if (options.only === undefined) {
      // HTTP writes on Zombi alone (Kafka has no HTTP door); --quick checks the fsync broker only.
      const httpBrokers = pairs.filter((pair) => pair.latency).map((pair) => pair.brokers.zombi)
        .filter((broker) => !options.quick || broker.settings.ZOMBI_DURABILITY === 'fsync')
      const http = await measureHttpRows(httpBrokers, options.quick)
      results.http = http
      results.extra.push(httpTable(http))
      results.otherFailures.push(...httpFailures(http))
    }
  } finally {
    security.cleanup()
    await rm(inputDir, { recursive: true, force: true })
    await source.dispose()
  }
  results.seconds = (performance.now() - started) / 1000
  printCompareResults(results)
  saveCompareResults(resultsDir, results)
  console.log(`\nwritten to ${path.relative(process.cwd(), resultsDir)}/compare-latest.{json,md} in ${Math.round(results.seconds)} s`)
  // The last line, for scripts and humans alike.
  console.log(geometricMeanLine(results))
  return failures(results).length > 0 ? 1 : 0
}

process.exitCode = await main()
