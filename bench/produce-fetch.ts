// npm run bench: produce and fetch throughput with real clients (kcat/librdkafka and
// @platformatic/kafka), Zombi with ZOMBI_DURABILITY=fsync (target) against the same broker
// with durability none (reference), alternating A B A B so machine drift hits both.
// The ratio target/reference is the cost of fsync-before-ack. No speed is asserted.
import os from 'node:os'
import path from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { startZombi, type RunningBroker } from './lib/broker.ts'
import { kcatConsume, kcatProduce, platformaticConsume, platformaticProduce, writeRecordFile, type LoadResult } from './lib/loads.ts'
import { printTable, saveResults, type Row } from './lib/table.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const roundsArg = args.indexOf('--rounds')
const rounds = roundsArg !== -1 ? Number(args[roundsArg + 1]) : quick ? 1 : 3

const sizes = [100, 1024]
const recordsFor = (size: number): number => (quick ? 2000 : size <= 100 ? 200_000 : 50_000)

interface Scenario {
  name: string
  client: string
  size: number
  run(broker: RunningBroker, topic: string, file: string): Promise<LoadResult>
}

const scenarios: Scenario[] = sizes.flatMap((size): Scenario[] => [
  { name: 'produce', client: 'kcat', size, run: (b, topic, file) => kcatProduce(b.bootstrap, `${topic}-k`, file, recordsFor(size), size) },
  { name: 'fetch', client: 'kcat', size, run: (b, topic) => kcatConsume(b.bootstrap, `${topic}-k`, recordsFor(size), size) },
  { name: 'produce', client: '@platformatic/kafka', size, run: (b, topic) => platformaticProduce(b.bootstrap, `${topic}-p`, recordsFor(size), size) },
  { name: 'fetch', client: '@platformatic/kafka', size, run: (b, topic) => platformaticConsume(b.bootstrap, `${topic}-p`, recordsFor(size) + 1, size) },
])

const targets = [
  { label: 'target', settings: { ZOMBI_DURABILITY: 'fsync' } },
  { label: 'reference', settings: { ZOMBI_DURABILITY: 'none' } },
] as const

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'zombi-bench-files-'))
  const files = new Map<number, string>()
  for (const size of sizes) {
    const file = path.join(workDir, `records-${size}.txt`)
    await writeRecordFile(file, recordsFor(size), size)
    files.set(size, file)
  }
  // rates[label][scenario index] = records/s per round
  const rates = { target: scenarios.map((): number[] => []), reference: scenarios.map((): number[] => []) }
  const usage = { target: { cpu: [] as number[], rss: [] as number[] }, reference: { cpu: [] as number[], rss: [] as number[] } }
  let failures = 0
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const broker = await startZombi(target.settings)
      const cpuBefore = broker.cpuSeconds()
      try {
        for (let i = 0; i < scenarios.length; i++) {
          const scenario = scenarios[i]!
          const topic = `bench-${round}-${scenario.size}`
          try {
            const result = await scenario.run(broker, topic, files.get(scenario.size)!)
            rates[target.label][i]!.push(result.records / result.seconds)
          } catch (error) {
            failures++
            console.error(`${target.label} ${scenario.name} ${scenario.client} ${scenario.size} B failed: ${(error as Error).message}`)
          }
        }
        usage[target.label].cpu.push(broker.cpuSeconds() - cpuBefore)
        usage[target.label].rss.push(broker.peakRssMiB())
      } finally {
        await broker.stop()
      }
    }
  }
  await rm(workDir, { recursive: true, force: true })

  const rows: Row[] = scenarios.map((scenario, i) => {
    const target = median(rates.target[i]!)
    const reference = median(rates.reference[i]!)
    const mb = (rate: number): number => (rate * scenario.size) / 1e6
    return {
      scenario: scenario.name,
      client: scenario.client,
      'record B': scenario.size,
      'fsync rec/s': Number.isNaN(target) ? 'failed' : Math.round(target),
      'fsync MB/s': Number.isNaN(target) ? '-' : mb(target),
      'none rec/s': Number.isNaN(reference) ? 'failed' : Math.round(reference),
      'none MB/s': Number.isNaN(reference) ? '-' : mb(reference),
      'ratio fsync/none': Number.isNaN(target / reference) ? '-' : target / reference,
    }
  })
  printTable(rows)
  const cpu = (label: 'target' | 'reference'): string => `${median(usage[label].cpu).toFixed(1)} s CPU, peak RSS ${Math.round(median(usage[label].rss))} MiB`
  console.log(`\nbroker per round (median): fsync ${cpu('target')}; none ${cpu('reference')}`)
  console.log(`rounds: ${rounds}; machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`)
  saveResults(path.resolve(import.meta.dirname, '../.cache/bench'), 'produce-fetch', rows, { date: new Date().toISOString(), rounds, quick, usage })
  if (failures > 0) process.exit(1)
}

await main()
