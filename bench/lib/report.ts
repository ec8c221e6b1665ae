// Turns the samples of all rounds into the results table (medians and the target/reference ratio),
// prints it, and writes it as JSON and markdown.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Machine } from './machine.ts'
import type { Measurement } from './scenarios.ts'

export type Side = 'target' | 'reference'

/** One scenario run against one broker in one round. */
export interface Sample {
  scenario: 'produce' | 'fetch'
  client: string
  recordBytes: number
  side: Side
  round: number
  measurement?: Measurement
  /** Broker CPU seconds spent while the client ran. */
  brokerCpuSeconds?: number
  error?: string
}

/** One broker process, started for one round. */
export interface BrokerRun {
  side: Side
  round: number
  cpuSeconds?: number
  peakRssBytes?: number
  /** From SIGTERM to exit (Zombi flushes to Iceberg on shutdown). */
  stopSeconds?: number
  error?: string
}

export interface Results {
  date: string
  command: string
  machine: Machine
  /** Commit of the broker code measured (see snapshotZombi). */
  revision: string
  rounds: number
  quick: boolean
  target: { name: string; settings: Readonly<Record<string, string>> }
  reference: { name: string; settings: Readonly<Record<string, string>> }
  samples: Sample[]
  brokerRuns: BrokerRun[]
}

export interface Table {
  columns: string[]
  rows: string[][]
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`
}

export function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US')
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** Median records/s of one side of a row, or undefined if any round failed or none ran. */
function medianRate(samples: Sample[]): number | undefined {
  if (samples.length === 0 || samples.some((sample) => sample.measurement === undefined)) return undefined
  return median(samples.map((sample) => sample.measurement!.records / sample.measurement!.seconds))
}

export function throughputTable(results: Results): Table {
  const keys = [...new Set(results.samples.map((s) => `${s.scenario}\0${s.client}\0${s.recordBytes}`))]
  const rows = keys.map((key) => {
    const [scenario, client, size] = key.split('\0') as [string, string, string]
    const samplesOf = (side: Side): Sample[] =>
      results.samples.filter((s) => s.side === side && s.scenario === scenario && s.client === client && s.recordBytes === Number(size))
    const target = medianRate(samplesOf('target'))
    const reference = medianRate(samplesOf('reference'))
    const megabytes = (rate: number): number => (rate * Number(size)) / 1e6
    return [
      scenario, client, sizeLabel(Number(size)),
      target === undefined ? 'failed' : formatNumber(target),
      target === undefined ? '-' : formatNumber(megabytes(target)),
      reference === undefined ? 'failed' : formatNumber(reference),
      reference === undefined ? '-' : formatNumber(megabytes(reference)),
      target === undefined || reference === undefined ? '-' : (target / reference).toFixed(2),
    ]
  })
  return {
    columns: ['scenario', 'client', 'size', 'target records/s', 'target MB/s', 'reference records/s', 'reference MB/s', 'ratio target/reference'],
    rows,
  }
}

/** Broker CPU seconds per scenario (medians): steadier than throughput on a shared machine. */
export function brokerCpuTable(results: Results): Table {
  const keys = [...new Set(results.samples.map((s) => `${s.scenario}\0${s.client}\0${s.recordBytes}`))]
  const rows = keys.map((key) => {
    const [scenario, client, size] = key.split('\0') as [string, string, string]
    const cpu = (side: Side): string => {
      const samples = results.samples.filter((s) => s.side === side && s.scenario === scenario && s.client === client && s.recordBytes === Number(size))
      if (samples.length === 0 || samples.some((s) => s.brokerCpuSeconds === undefined)) return 'failed'
      return median(samples.map((s) => s.brokerCpuSeconds!)).toFixed(2)
    }
    return [scenario, client, sizeLabel(Number(size)), cpu('target'), cpu('reference')]
  })
  return { columns: ['scenario', 'client', 'size', 'target broker CPU s', 'reference broker CPU s'], rows }
}

export function brokerTable(results: Results): Table {
  const rows = (['target', 'reference'] as const).map((side) => {
    const runs = results.brokerRuns.filter((run) => run.side === side && run.cpuSeconds !== undefined)
    return [
      side, results[side].name,
      runs.length === 0 ? '-' : median(runs.map((run) => run.cpuSeconds!)).toFixed(1),
      runs.length === 0 ? '-' : formatNumber(median(runs.map((run) => run.peakRssBytes! / 2 ** 20))),
    ]
  })
  return { columns: ['side', 'broker', 'broker CPU s per round', 'broker peak RSS MiB'], rows }
}

export function failures(results: Results): string[] {
  return [
    ...results.brokerRuns.filter((run) => run.error).map((run) => `round ${run.round + 1}, ${results[run.side].name}: ${run.error}`),
    ...results.samples.filter((s) => s.error).map((s) => `round ${s.round + 1}, ${results[s.side].name}, ${s.scenario} ${s.client} ${s.recordBytes} B: ${s.error}`),
  ]
}

/** Renders `table` aligned for a terminal; the first `textColumns` columns are left-aligned, numbers right-aligned. */
export function renderText(table: Table, textColumns = 3): string {
  const widths = table.columns.map((column, i) => Math.max(column.length, ...table.rows.map((row) => row[i]!.length)))
  const line = (cells: string[]): string => cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  return [line(table.columns), widths.map((width) => '-'.repeat(width)).join('  '), ...table.rows.map(line)].join('\n')
}

export function renderMarkdown(table: Table, textColumns = 3): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(table.columns), line(table.columns.map((_, i) => (i < textColumns ? '---' : '---:'))), ...table.rows.map(line)].join('\n')
}

function heading(results: Results): string {
  const { machine } = results
  return `${results.date.slice(0, 10)}, ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
    `kcat ${machine.kcat}, @platformatic/kafka ${machine.platformaticKafka}, commit ${results.revision}, ` +
    `${results.rounds} round${results.rounds === 1 ? '' : 's'}${results.quick ? ' (--quick)' : ''}. ` +
    `target = ${results.target.name}, reference = ${results.reference.name}; MB = 10^6 bytes of record values.`
}

export function printResults(results: Results): void {
  console.log(`\n${heading(results)}\n`)
  console.log(renderText(throughputTable(results)))
  console.log(`\n${renderText(brokerCpuTable(results))}`)
  console.log(`\n${renderText(brokerTable(results))}`)
  const failed = failures(results)
  if (failed.length > 0) console.log(`\nFailures:\n${failed.map((f) => `- ${f}`).join('\n')}`)
}

/** Writes `latest.json` (every sample) and `latest.md` (the tables) into `dir`. */
export function saveResults(dir: string, results: Results): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  const failed = failures(results)
  const markdown = [
    heading(results), '',
    renderMarkdown(throughputTable(results)), '',
    renderMarkdown(brokerCpuTable(results)), '',
    renderMarkdown(brokerTable(results)),
    ...(failed.length > 0 ? ['', 'Failures:', ...failed.map((f) => `- ${f.replaceAll('\n', ' ')}`)] : []),
  ]
  writeFileSync(path.join(dir, 'latest.md'), `${markdown.join('\n')}\n`)
}
