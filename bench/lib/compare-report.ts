// The results of npm run bench:compare: Zombi beside Apache Kafka per scenario (medians over rounds and the ratio
// Zombi/Kafka), latency at a fixed rate, broker CPU and memory, printed and written as JSON and markdown.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Machine } from './machine.ts'
import { formatNumber, median, renderMarkdown, renderText, sizeLabel, type Table } from './report.ts'
import type { ScaleResults } from './scale.ts'
import type { Compression, Measurement } from './scenarios.ts'

export type BrokerKind = 'zombi' | 'kafka'

/** One scenario run against one broker in one round. */
export interface CompareSample {
  /** Which durability pair (see CompareResults.pairs). */
  pair: string
  scenario: 'produce' | 'consume' | 'latency'
  client: string
  recordBytes: number
  producers: number
  compression: Compression
  side: BrokerKind
  round: number
  measurement?: Measurement
  /** Broker CPU seconds spent while the client ran. */
  brokerCpuSeconds?: number
  /** The broker's peak RSS while the client ran. */
  brokerPeakRssBytes?: number
  /** The broker's peak RSS from the end of the step before (its Iceberg flush, settling) to the start of this one. */
  brokerPeakRssBeforeBytes?: number
  /** Zombi after a produce: rows its POST /tables/{t}/flush committed to Iceberg, and the seconds that took. */
  flush?: { rows: number; seconds: number }
  /** Latency scenarios: the records/s asked for (the same for both brokers). */
  ratePerSecond?: number
  /** Latency scenarios: the asked rate as a share of the lower of the two brokers' max rates (0.1, 0.5). */
  loadShare?: number
  error?: string
}

/** One broker process. `round` is -1 for the latency phase. */
export interface CompareBrokerRun {
  pair: string
  side: BrokerKind
  round: number
  cpuSeconds?: number
  peakRssBytes?: number
  error?: string
}

export interface PairDescription {
  id: string
  label: string
  zombi: { name: string; settings: Readonly<Record<string, string>> }
  kafka: { name: string; settings: Readonly<Record<string, string>> }
}

/** Extra rows from other benchmarks of the same invocation (e.g. the HTTP door), printed as given. */
export interface ExtraTable {
  title: string
  table: Table
  /** Leading columns that hold text (left-aligned). */
  textColumns: number
}

export interface CompareResults {
  date: string
  command: string
  machine: Machine
  kafkaVersion: string
  /** Commit of the Zombi code measured (see snapshotZombi). */
  revision: string
  rounds: number
  quick: boolean
  pairs: PairDescription[]
  samples: CompareSample[]
  brokerRuns: CompareBrokerRun[]
  extra: ExtraTable[]
  /** Raw results of the HTTP rows (bench/lib/compare-http.ts). */
  http?: unknown[]
  /** Raw results of the scale rows (bench/lib/scale.ts). */
  scale?: ScaleResults
  /** Failures of the extra rows, listed with the others. */
  otherFailures: string[]
  /** Seconds the whole invocation took. */
  seconds?: number
}

const codecLabel = (compression: Compression): string => compression

function rowKey(sample: CompareSample): string {
  return [sample.pair, sample.scenario, sample.client, sample.recordBytes, sample.producers, sample.compression, sample.loadShare ?? ''].join('\0')
}

function groups(results: CompareResults, scenarios: CompareSample['scenario'][]): CompareSample[][] {
  const byKey = new Map<string, CompareSample[]>()
  for (const sample of results.samples) {
    if (!scenarios.includes(sample.scenario)) continue
    const key = rowKey(sample)
    const list = byKey.get(key)
    if (list) list.push(sample)
    else byKey.set(key, [sample])
  }
  return [...byKey.values()]
}

/** Median of `value` over one side's samples; undefined if any round failed or none ran. */
function medianOf(samples: CompareSample[], side: BrokerKind, value: (sample: CompareSample) => number | undefined): number | undefined {
  const mine = samples.filter((sample) => sample.side === side)
  if (mine.length === 0 || mine.some((sample) => sample.error !== undefined)) return undefined
  const values = mine.map(value)
  if (values.some((v) => v === undefined || !Number.isFinite(v))) return undefined
  return median(values as number[])
}

const rate = (sample: CompareSample): number | undefined => sample.measurement && sample.measurement.records / sample.measurement.seconds
const cpu = (sample: CompareSample): number | undefined => sample.brokerCpuSeconds
const pairLabel = (results: CompareResults, id: string): string => results.pairs.find((pair) => pair.id === id)?.label ?? id
const cell = (value: number | undefined, format: (v: number) => string = formatNumber): string => (value === undefined ? 'failed' : format(value))
const milliseconds = (value: number): string => (value >= 100 ? Math.round(value).toString() : value >= 10 ? value.toFixed(1) : value.toFixed(2))

/** Throughput ratios Zombi/Kafka, one per produce and consume row that has numbers on both sides. */
export function throughputRatios(results: CompareResults): number[] {
  return groups(results, ['produce', 'consume']).flatMap((samples) => {
    const zombi = medianOf(samples, 'zombi', rate)
    const kafka = medianOf(samples, 'kafka', rate)
    return zombi !== undefined && kafka !== undefined ? [zombi / kafka] : []
  })
}

export function geometricMean(values: number[]): number {
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length)
}

export function throughputTable(results: CompareResults): Table {
  const rows = groups(results, ['produce', 'consume']).map((samples) => {
    const first = samples[0]!
    const zombi = medianOf(samples, 'zombi', rate)
    const kafka = medianOf(samples, 'kafka', rate)
    const megabytes = (value: number): string => formatNumber((value * first.recordBytes) / 1e6)
    const latency = (side: BrokerKind): string => {
      const p50 = medianOf(samples, side, (sample) => sample.measurement?.latency?.p50Ms)
      const p99 = medianOf(samples, side, (sample) => sample.measurement?.latency?.p99Ms)
      return p50 === undefined || p99 === undefined ? '-' : `${milliseconds(p50)} / ${milliseconds(p99)}`
    }
    const flush = first.scenario === 'produce'
      ? medianOf(samples, 'zombi', (sample) => (sample.flush && sample.flush.rows > 0 ? sample.flush.rows / sample.flush.seconds : undefined))
      : undefined
    return [
      pairLabel(results, first.pair), first.scenario, first.client, sizeLabel(first.recordBytes), String(first.producers), codecLabel(first.compression),
      cell(zombi), zombi === undefined ? '-' : megabytes(zombi),
      cell(kafka), kafka === undefined ? '-' : megabytes(kafka),
      zombi === undefined || kafka === undefined ? '-' : (zombi / kafka).toFixed(2),
      cell(medianOf(samples, 'zombi', cpu), (v) => v.toFixed(2)), cell(medianOf(samples, 'kafka', cpu), (v) => v.toFixed(2)),
      latency('zombi'), latency('kafka'),
      first.scenario === 'produce' ? (flush === undefined ? '-' : formatNumber(flush)) : '',
    ]
  })
  return {
    columns: [
      'durability', 'scenario', 'client', 'size', 'producers', 'codec',
      'Zombi records/s', 'Zombi MB/s', 'Kafka records/s', 'Kafka MB/s', 'Zombi/Kafka',
      'Zombi CPU s', 'Kafka CPU s', 'Zombi p50/p99 ms', 'Kafka p50/p99 ms', 'Zombi Iceberg flush rows/s',
    ],
    rows,
  }
}

export function latencyTable(results: CompareResults): Table {
  const rows = groups(results, ['latency']).map((samples) => {
    const first = samples[0]!
    const percentiles = (side: BrokerKind): string => {
      const values = [
        medianOf(samples, side, (sample) => sample.measurement?.latency?.p50Ms),
        medianOf(samples, side, (sample) => sample.measurement?.latency?.p99Ms),
        medianOf(samples, side, (sample) => sample.measurement?.latency?.p999Ms),
      ]
      return values.some((value) => value === undefined) ? 'failed' : values.map((value) => milliseconds(value!)).join(' / ')
    }
    const zombiP99 = medianOf(samples, 'zombi', (sample) => sample.measurement?.latency?.p99Ms)
    const kafkaP99 = medianOf(samples, 'kafka', (sample) => sample.measurement?.latency?.p99Ms)
    const asked = samples.find((sample) => sample.ratePerSecond !== undefined)?.ratePerSecond
    return [
      pairLabel(results, first.pair), first.client, sizeLabel(first.recordBytes),
      first.loadShare === undefined ? '-' : `${Math.round(first.loadShare * 100)} %`,
      asked === undefined ? '-' : formatNumber(asked),
      cell(medianOf(samples, 'zombi', rate)), cell(medianOf(samples, 'kafka', rate)),
      percentiles('zombi'), percentiles('kafka'),
      zombiP99 === undefined || kafkaP99 === undefined || kafkaP99 === 0 ? '-' : (zombiP99 / kafkaP99).toFixed(2),
      cell(medianOf(samples, 'zombi', cpu), (v) => v.toFixed(2)), cell(medianOf(samples, 'kafka', cpu), (v) => v.toFixed(2)),
    ]
  })
  return {
    // Achieved: records over the time from the first send to the last ack or receipt. Well below the asked rate, the
    // broker did not keep up and its percentiles measure a growing queue.
    columns: ['durability', 'client (what is timed)', 'size', 'load', 'asked records/s', 'Zombi achieved/s', 'Kafka achieved/s', 'Zombi p50/p99/p99.9 ms', 'Kafka p50/p99/p99.9 ms', 'p99 Zombi/Kafka', 'Zombi CPU s', 'Kafka CPU s'],
    rows,
  }
}

export function brokerTable(results: CompareResults): Table {
  const rows = results.pairs.flatMap((pair) => (['zombi', 'kafka'] as const).map((side) => {
    const runs = results.brokerRuns.filter((run) => run.pair === pair.id && run.side === side && run.round >= 0 && run.cpuSeconds !== undefined)
    const all = results.brokerRuns.filter((run) => run.pair === pair.id && run.side === side && run.peakRssBytes !== undefined)
    return [
      pair.label, pair[side].name,
      runs.length === 0 ? '-' : median(runs.map((run) => run.cpuSeconds!)).toFixed(1),
      all.length === 0 ? '-' : formatNumber(Math.max(...all.map((run) => run.peakRssBytes! / 2 ** 20))),
      peakStep(results.samples.filter((sample) => sample.pair === pair.id && sample.side === side)),
    ]
  }))
  return { columns: ['durability', 'broker', 'broker CPU s per round', 'broker peak RSS MiB', 'peak during'], rows }
}

/** Which step's window (the client's run, or the flush and settling before it) held the highest peak RSS. */
function peakStep(samples: CompareSample[]): string {
  let best: { bytes: number; what: string } | undefined
  for (const sample of samples) {
    const what = stepLabel(sample) + (sample.round < 0 ? ` at ${Math.round((sample.loadShare ?? 0) * 100)} %` : '')
    for (const [bytes, window] of [[sample.brokerPeakRssBytes, what], [sample.brokerPeakRssBeforeBytes, `before ${what}`]] as const) {
      if (bytes !== undefined && (best === undefined || bytes > best.bytes)) best = { bytes, what: window }
    }
  }
  return best === undefined ? '-' : `${best.what} (${formatNumber(best.bytes / 2 ** 20)} MiB)`
}

/** A sample's step as the bench prints it: `produce kcat 1024 B ×4 none`. */
export function stepLabel(sample: CompareSample): string {
  return `${sample.scenario} ${sample.client} ${sample.recordBytes} B ×${sample.producers} ${sample.compression}`
}

export function failures(results: CompareResults): string[] {
  const brokerName = (pair: string, side: BrokerKind): string => results.pairs.find((p) => p.id === pair)?.[side].name ?? side
  const round = (value: number): string => (value < 0 ? 'latency phase' : `round ${value + 1}`)
  return [
    ...results.brokerRuns.filter((run) => run.error).map((run) => `${round(run.round)}, ${brokerName(run.pair, run.side)}: ${run.error}`),
    ...results.samples.filter((s) => s.error).map((s) =>
      `${round(s.round)}, ${brokerName(s.pair, s.side)}, ${stepLabel(s)}: ${s.error}`),
    ...results.otherFailures,
  ]
}

function heading(results: CompareResults): string {
  const { machine } = results
  return `${results.date.slice(0, 10)}, ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
    `Apache Kafka ${results.kafkaVersion} (${machine.java ?? 'java'}), kcat ${machine.kcat}, @platformatic/kafka ${machine.platformaticKafka}, ` +
    `Zombi commit ${results.revision}, ${results.rounds} round${results.rounds === 1 ? '' : 's'}${results.quick ? ' (--quick: numbers meaningless)' : ''}` +
    `${results.seconds === undefined ? '' : `, ${Math.round(results.seconds)} s`}. MB = 10^6 bytes of record values; ` +
    'ratio Zombi/Kafka > 1 means Zombi moved more records per second; CPU = broker CPU seconds during the step.'
}

export function geometricMeanLine(results: CompareResults): string {
  const ratios = throughputRatios(results)
  return ratios.length === 0
    ? 'geometric mean of Zombi/Kafka throughput ratios: none measured'
    : `geometric mean of Zombi/Kafka throughput ratios over ${ratios.length} rows: ${geometricMean(ratios).toFixed(2)}`
}

function sections(results: CompareResults, render: (table: Table, textColumns: number) => string): string[] {
  const pairs = results.pairs.map((pair) => `${pair.label}: ${pair.zombi.name} vs ${pair.kafka.name}`).join('; ')
  // --only scale measures no pair: only its own tables follow the heading.
  const pairSections = results.pairs.length === 0 ? [] : [
    '', `Durability pairs: ${pairs}.`, '',
    'Throughput', '', render(throughputTable(results), 6), '',
    'Latency at 10 % and 50 % of the lower of the two brokers\' measured max rate (same rate for both)', '', render(latencyTable(results), 3), '',
    'Broker processes', '', render(brokerTable(results), 2),
  ]
  return [
    heading(results), ...pairSections,
    ...results.extra.flatMap((extra) => ['', extra.title, '', render(extra.table, extra.textColumns)]),
  ]
}

/** Prints the tables; the geometric mean is printed last by the caller, after everything else. */
export function printCompareResults(results: CompareResults): void {
  console.log(`\n${sections(results, renderText).join('\n')}`)
  const failed = failures(results)
  if (failed.length > 0) console.log(`\nFailures:\n${failed.map((f) => `- ${f}`).join('\n')}`)
}

/** Writes `compare-latest.json` (every sample) and `compare-latest.md` (the tables) into `dir`. */
export function saveCompareResults(dir: string, results: CompareResults): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'compare-latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  const failed = failures(results)
  const markdown = [
    ...sections(results, renderMarkdown),
    ...(failed.length > 0 ? ['', 'Failures:', ...failed.map((f) => `- ${f.replaceAll('\n', ' ')}`)] : []),
    '', geometricMeanLine(results),
  ]
  writeFileSync(path.join(dir, 'compare-latest.md'), `${markdown.join('\n')}\n`)
}
