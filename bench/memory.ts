// npm run bench:memory [-- --revision REV|worktree] [--reference REV] [--minutes N] [--interval SECS] [--quick]
//   [--set ZOMBI_X=V ...]: where the broker's memory goes under the bench's heaviest loads. Starts Zombi with default
// settings (ack before fsync aside: durability is the default, fsync), drives kcat and @platformatic/kafka produce then
// consume at 100 B and 1 KiB, then produce 1 KiB in lz4 and snappy (bench:compare's record counts, the Iceberg
// flusher live), and samples the broker every
// --interval seconds: VmRSS and VmHWM from /proc, and from /metrics the process's V8 heap, external and ArrayBuffer
// bytes and every zombi_memory_used_bytes{budget} beside its zombi_memory_budget_bytes. Prints, per broker, the peak
// RSS and what each part held at the sample of the peak. --reference REV runs the same load on that revision first
// (e.g. main), so one invocation gives the before/after. --minutes N repeats the load cycle until N minutes have passed
// (the soak) and prints the RSS curve. Asserts nothing; exits non-zero if a load failed.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Admin } from '@platformatic/kafka'
import { removeOnExit } from './lib/cleanup.ts'
import { kcatLoad } from './lib/kcat.ts'
import { platformaticLoad } from './lib/platformatic.ts'
import { renderText, type Table } from './lib/report.ts'
import { warmUpWorkload, type ClientLoad, type Compression, type Workload } from './lib/scenarios.ts'
import { createTopic } from './lib/topics.ts'
import { snapshotZombi, startZombi, type ZombiProcess } from './lib/zombi.ts'

const { values: options } = parseArgs({
  options: {
    revision: { type: 'string', default: 'worktree' },
    reference: { type: 'string' },
    minutes: { type: 'string', default: '0' },
    interval: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
  },
})
const soakMinutes = Number(options.minutes)
const intervalSeconds = Number(options.interval)
if (!(soakMinutes >= 0)) throw new Error(`--minutes wants a number >= 0, got ${options.minutes}`)
if (!(intervalSeconds > 0)) throw new Error(`--interval wants seconds > 0, got ${options.interval}`)
const extraSettings: Record<string, string> = {}
for (const pair of options.set) {
  const equals = pair.indexOf('=')
  if (equals < 1 || !pair.startsWith('ZOMBI_')) throw new Error(`--set wants ZOMBI_NAME=value, got ${pair}`)
  extraSettings[pair.slice(0, equals)] = pair.slice(equals + 1)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

/** bench:compare's record counts (bench/compare.ts fullRecords) for the two clients measured here. */
const records: Record<string, Record<number, number>> = {
  kcat: { 100: 1_000_000, 1024: 240_000 },
  '@platformatic/kafka': { 100: 400_000, 1024: 160_000 },
}
interface Step { client: string; recordBytes: number; producers: number; compression: Compression }
/**
 * One cycle: each client produces with 1 and 4 producers, then reads its 1-producer topic back, per size;
 * then both clients' 1 KiB records compressed with lz4 and snappy, whose batches the flusher decompresses
 * through native addons (their memory is not V8's).
 */
const steps: Step[] = [
  ...[100, 1024].flatMap((recordBytes) =>
    ['kcat', '@platformatic/kafka'].flatMap((client) => [1, 4].map((producers) => ({ client, recordBytes, producers, compression: 'none' as const })))),
  ...(['lz4', 'snappy'] as const).flatMap((compression) => ['kcat', '@platformatic/kafka'].map((client) => ({ client, recordBytes: 1024, producers: 1, compression }))),
]
const stepName = (step: Step): string => `${step.client} produce ${step.recordBytes} B ×${step.producers}${step.compression === 'none' ? '' : ` ${step.compression}`}`

function workloadOf(step: Step): Workload {
  if (options.quick) return { ...warmUpWorkload(step.recordBytes), producers: step.producers, records: 2_000 * step.producers, compression: step.compression }
  return { recordBytes: step.recordBytes, records: records[step.client]![step.recordBytes]!, fetchPasses: 1, producers: step.producers, compression: step.compression }
}

interface Sample {
  seconds: number
  rss: number
  hwm: number
  /** Values read from /metrics: the process parts and `used <budget>` / `budget <budget>` per budget. */
  parts: Map<string, number>
  phase: string
}

async function readProc(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') }
}

/** The memory series of /metrics; older revisions have only prom-client's process and V8 defaults. */
async function readMetrics(httpUrl: string): Promise<Map<string, number>> {
  const parts = new Map<string, number>()
  const response = await fetch(`${httpUrl}/metrics`)
  if (!response.ok) return parts
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#')) continue
    const budget = /^zombi_memory_(used|budget)_bytes\{budget="([^"]+)"\} (\S+)$/.exec(line)
    if (budget) {
      parts.set(`${budget[1]} ${budget[2]}`, Number(budget[3]))
      continue
    }
    const process = /^zombi_memory_process_bytes\{part="([^"]+)"\} (\S+)$/.exec(line)
    if (process) {
      parts.set(process[1]!, Number(process[2]))
      continue
    }
    const ended = /^zombi_memory_workers_ended_total\{reason="([^"]+)"\} (\S+)$/.exec(line)
    if (ended) {
      parts.set(`workers ended (${ended[1]})`, Number(ended[2]))
      continue
    }
    const compaction = /^zombi_iceberg_(compactions|compacted_files_in|compacted_files_out)_total (\S+)$/.exec(line)
    if (compaction) {
      parts.set(compaction[1]!, Number(compaction[2]))
      continue
    }
    // prom-client's defaults, present on every revision.
    const fallback = /^zombi_process_nodejs_(heap_size_used|heap_size_total|external_memory)_bytes (\S+)$/.exec(line)
    if (fallback) parts.set({ heap_size_used: 'heap_used', heap_size_total: 'heap_total', external_memory: 'external' }[fallback[1]!]!, Number(fallback[2]))
  }
  return parts
}

const mib = (bytes: number | undefined): string => bytes === undefined || Number.isNaN(bytes) ? '–' : (bytes / 1048576).toFixed(0)

/** One load step's cost to the broker: its CPU (user + system, every thread) and wall time. */
interface StepCost {
  step: string
  records: number
  wallSeconds: number
  cpuSeconds: number
}

interface BrokerReport {
  label: string
  samples: Sample[]
  failures: string[]
  steps: StepCost[]
  /** The broker's CPU seconds over the whole run (every step and the final flush). */
  cpuSeconds: number
  /** CPU seconds of the final flush (POST /tables/{t}/flush of every table). */
  flushCpuSeconds: number
  /** CPU seconds per kind of thread still alive at the end (by thread name; the main thread apart). */
  threads: Map<string, number>
}

/** CPU seconds of each live thread of the process, summed by thread name (the main thread as "main"). */
async function readThreadCpu(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>()
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100)
    } catch {
      // The thread ended meanwhile.
    }
  }
  return byName
}

/** CPU seconds the process has used so far, user and system, all threads (/proc/<pid>/stat, clock ticks of 1/100 s). */
async function readCpu(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function deleteTopics(bootstrap: string, topics: string[]): Promise<void> {
  const admin = new Admin({ clientId: 'zombi-bench-memory', bootstrapBrokers: [bootstrap] })
  try {
    await admin.deleteTopics({ topics })
  } finally {
    await admin.close()
  }
}

async function runBroker(label: string, revision: string, loads: ClientLoad[]): Promise<BrokerReport> {
  const source = await snapshotZombi(revision)
  const report: BrokerReport = { label: `${label} (${source.revision})`, samples: [], failures: [], steps: [], cpuSeconds: 0, flushCpuSeconds: 0, threads: new Map() }
  let broker: ZombiProcess | undefined
  let phase = 'start'
  let sampling = true
  let sampler: Promise<void> = Promise.resolve()
  const started = performance.now()
  try {
    broker = await startZombi(source.main, { ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', ...extraSettings })
    const running = broker
    sampler = (async () => {
      while (sampling) {
        try {
          const [proc, parts] = await Promise.all([readProc(running.pid), readMetrics(running.httpUrl)])
          report.samples.push({ seconds: (performance.now() - started) / 1000, ...proc, parts, phase })
        } catch {
          // The broker is stopping; the last sample stands.
        }
        await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000))
      }
    })()
    const deadline = started + soakMinutes * 60_000
    let cycle = 0
    // A soak keeps a constant working set: each cycle's topics are deleted once the next cycle has begun
    // (so their flushes are done), else the broker's RSS would grow with the number of topics, not with time.
    let previousTopics: string[] = []
    do {
      cycle++
      const topics: string[] = []
      for (const step of steps) {
        const load = loads.find((candidate) => candidate.client === step.client)!
        const workload = workloadOf(step)
        const topic = `memory-${cycle}-${step.client.replace(/\W/g, '')}-${step.recordBytes}-${step.producers}p-${step.compression}`
        topics.push(topic)
        phase = `${cycle}: ${stepName(step)}`
        try {
          await createTopic(running.bootstrap, topic)
          const measured = async (name: string, run: () => Promise<unknown>): Promise<void> => {
            const [cpu, wall] = [await readCpu(running.pid), performance.now()]
            await run()
            report.steps.push({ step: name, records: workload.records, wallSeconds: (performance.now() - wall) / 1000, cpuSeconds: await readCpu(running.pid) - cpu })
          }
          await measured(stepName(step), () => load.produce(running.bootstrap, topic, workload))
          if (step.producers === 1 && step.compression === 'none') {
            phase = `${cycle}: ${step.client} consume ${step.recordBytes} B`
            await measured(`${step.client} consume ${step.recordBytes} B`, () => load.fetch(running.bootstrap, topic, workload))
          }
        } catch (error) {
          report.failures.push(`${phase}: ${error instanceof Error ? error.message : String(error)}`)
        }
        console.log(`${report.label} ${phase}: RSS ${mib(report.samples.at(-1)?.rss)} MiB, peak ${mib(report.samples.at(-1)?.hwm)} MiB`)
      }
      if (previousTopics.length > 0) await deleteTopics(running.bootstrap, previousTopics)
      previousTopics = topics
    } while (performance.now() < deadline)
    phase = 'flush'
    const flushStart = await readCpu(running.pid)
    await fetch(`${running.httpUrl}/tables`).then(async (listing) => {
      const { tables } = (await listing.json()) as { tables: { name: string }[] }
      for (const { name } of tables) await fetch(`${running.httpUrl}/tables/${encodeURIComponent(name)}/flush`, { method: 'POST' })
    })
    report.cpuSeconds = await readCpu(running.pid)
    report.flushCpuSeconds = report.cpuSeconds - flushStart
    report.threads = await readThreadCpu(running.pid)
  } catch (error) {
    report.failures.push(`${phase}: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    sampling = false
    await sampler
    await broker?.stop().catch((error: unknown) => report.failures.push(`stop: ${String(error)}`))
    await source.dispose()
  }
  return report
}

/** What the encode workers reported holding (heap, external, wasm), when the revision reports it. */
function workerBytes(sample: Sample): number | undefined {
  const parts = ['worker_heap', 'worker_external', 'worker_wasm'].map((part) => sample.parts.get(part))
  return parts.some((part) => part === undefined) ? undefined : parts.reduce((sum, part) => sum! + part!, 0)
}

function show(table: Table & { title: string }): void {
  console.log(`\n${table.title}\n${renderText(table, 1)}`)
}

/** Peak RSS, the parts at the sample of the peak, and the curve. */
function printReport(report: BrokerReport): void {
  const peak = report.samples.reduce<Sample | undefined>((best, sample) => best === undefined || sample.rss > best.rss ? sample : best, undefined)
  const hwm = report.samples.reduce((max, sample) => Math.max(max, sample.hwm), 0)
  console.log(`\n${report.label}: peak RSS ${mib(hwm)} MiB (VmHWM); highest sampled VmRSS ${mib(peak?.rss)} MiB at ${peak?.seconds.toFixed(0)} s during "${peak?.phase}"`)
  if (peak) {
    const rows = [...peak.parts.entries()].filter(([key]) => !key.startsWith('budget ') && !key.startsWith('workers ended')).map(([key, value]) => {
      const budget = key.startsWith('used ') ? peak.parts.get(`budget ${key.slice(5)}`) : undefined
      return [key, mib(value), budget === undefined ? '' : mib(budget)]
    })
    show({ title: 'at the peak (MiB)', columns: ['part', 'held', 'budget'], rows })
  }
  if (report.samples.length > 0) {
    // About 20 points of the curve, whatever the run's length.
    const every = Math.max(1, Math.floor(report.samples.length / 20))
    const curve = report.samples.filter((_, index) => index % every === 0 || index === report.samples.length - 1)
    show({
      title: 'RSS over time (MiB)', columns: ['seconds', 'VmRSS', 'heap used', 'external', 'workers', 'phase'],
      rows: curve.map((sample) => [sample.seconds.toFixed(0), mib(sample.rss), mib(sample.parts.get('heap_used')), mib(sample.parts.get('external')), mib(workerBytes(sample)), sample.phase]),
    })
  }
  const last = report.samples.at(-1)
  if (last?.parts.has('workers ended (memory)')) console.log(`encode workers ended: ${last.parts.get('workers ended (memory)')} for their memory, ${last.parts.get('workers ended (idle)')} idle`)
  if (last?.parts.has('compactions')) console.log(`compaction: ${last.parts.get('compactions')} replace snapshots, ${last.parts.get('compacted_files_in')} data files rewritten into ${last.parts.get('compacted_files_out')}`)
  for (const failure of report.failures) console.log(`FAILED: ${failure}`)
}

/**
 * Each step's broker CPU per record and rate, summed over the soak's cycles; beside the reference's when
 * there is one. A step's CPU includes whatever the broker did meanwhile (a flush of the previous step's
 * records, compaction), so the total over the run is the figure to compare.
 */
function printCosts(reports: BrokerReport[]): void {
  const names = [...new Set(reports.flatMap((report) => report.steps.map((step) => step.step)))]
  const total = (report: BrokerReport, name: string): StepCost => report.steps.filter((step) => step.step === name).reduce(
    (sum, step) => ({ step: name, records: sum.records + step.records, wallSeconds: sum.wallSeconds + step.wallSeconds, cpuSeconds: sum.cpuSeconds + step.cpuSeconds }),
    { step: name, records: 0, wallSeconds: 0, cpuSeconds: 0 })
  const columns = ['step', ...reports.flatMap((report) => [`${report.label} CPU µs/record`, 'records/s'])]
  const rows = names.map((name) => [name, ...reports.flatMap((report) => {
    const cost = total(report, name)
    return cost.records === 0 ? ['–', '–'] : [(cost.cpuSeconds / cost.records * 1e6).toFixed(2), (cost.records / cost.wallSeconds).toFixed(0)]
  })])
  rows.push(['whole run (broker CPU s)', ...reports.flatMap((report) => [report.cpuSeconds.toFixed(1), ''])])
  rows.push(['final flush (broker CPU s)', ...reports.flatMap((report) => [report.flushCpuSeconds.toFixed(1), ''])])
  const threadNames = [...new Set(reports.flatMap((report) => [...report.threads.keys()]))].sort()
  for (const name of threadNames) rows.push([`threads "${name}" (CPU s, live at the end)`, ...reports.flatMap((report) => [(report.threads.get(name) ?? 0).toFixed(1), ''])])
  show({ title: 'broker CPU per record and rate, per step (load average at the end: ' + loadavg().map((n) => n.toFixed(2)).join(' ') + ')', columns, rows })
}

async function main(): Promise<number> {
  const inputDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-memory-'))
  removeOnExit(inputDir)
  const loads = [kcatLoad(inputDir), platformaticLoad()]
  try {
    for (const step of steps) await loads.find((load) => load.client === step.client)!.prepare(workloadOf(step))
    const reports: BrokerReport[] = []
    if (options.reference !== undefined) reports.push(await runBroker('reference', options.reference, loads))
    reports.push(await runBroker('zombi', options.revision, loads))
    for (const report of reports) printReport(report)
    printCosts(reports)
    const summary = reports.map((report) => {
      const hwm = report.samples.reduce((max, sample) => Math.max(max, sample.hwm), 0)
      const rss = report.samples.map((sample) => sample.rss)
      return [report.label, mib(hwm), mib(rss[0]), mib(rss.at(-1)), report.failures.length === 0 ? 'ok' : `${report.failures.length} failed`]
    })
    show({ title: `peak RSS (MiB), ${soakMinutes > 0 ? `${soakMinutes}-minute soak` : 'one load cycle'}`, columns: ['broker', 'peak', 'first sample', 'last sample', 'loads'], rows: summary })
    return reports.some((report) => report.failures.length > 0) ? 1 : 0
  } finally {
    await rm(inputDir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
