// Table maintenance benchmark (issue 15): what a trickle of records makes of a topic's Iceberg table with
// and without compaction and snapshot expiry, how soon an acknowledged record is visible in the table
// (ack → visible) at several flush intervals, and how fast a Kafka consumer replays a topic from offset 0
// when it is served from the table instead of the hot log.
//
// Phase 1 runs every broker at once (the trickles are light, and concurrent runs share the machine's drift):
// - "real time": 50 records/s to 4 partitions for --minutes at default settings, maintenance on and off
//   (ZOMBI_COMPACTION_INTERVAL_SECS=0, ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS=0), plus maintenance-on runs at
//   the candidate flush intervals (--intervals) for freshness and cost;
// - "1 hour simulated": the commits, records and event hours one hour at the defaults makes, in 1/F of
//   the time. A flush starts the moment its oldest record is as old as the interval, so commits come every
//   interval + the flush's own time (~0.1 s here): ~10 s at the default 10 s, ~1 s at 1 s. So the simulation
//   flushes every 1 s and time runs F = 10 times faster: 3600/10 s = 6 min of wall time, 50·F records/s
//   (every commit holds what a default commit holds), record timestamps advancing F times faster than the
//   clock (rows land in the event hours an hour of traffic fills), compaction and expiry every 300/F s.
//   Snapshot retention is wall-clock time: nothing expires by age within the run, real or simulated (as
//   within the first hour at the 1 h default).
// Ack → visible: per acknowledged record batch, the first moment the table's newest metadata.json on disk
// (polled every 50 ms, no broker CPU) records its offsets as committed (zombi.offsets.<partition> summaries).
// Phase 2 reads every table with DuckDB and pyiceberg (bench/lib/table_health.py, median of --runs).
// Phase 3 replays a topic with @platformatic/kafka from offset 0, once from a broker whose hot segments were
// deleted (1 MiB segments, ZOMBI_HOT_RETENTION_MS=0: served from Iceberg) and once from one that keeps
// them (the reference), alternating over --replay-rounds.
//   npm run bench:maintenance [-- --quick] [--minutes 10] [--intervals 1,2,5] [--runs 5]
//     [--replay-records 200000] [--replay-rounds 2] [--only health,replay]
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Producer, type MessageToProduce } from '@platformatic/kafka'
import { ApiKey } from '../src/protocol/generated/api-keys.ts'
import { readListOffsetsResponse, writeListOffsetsRequest } from '../src/protocol/generated/list-offsets.ts'
import { RawClient } from '../test/e2e/fixtures/raw-client.ts'
import { python } from '../test/e2e/fixtures/python.ts'
import { readProcessUsage } from './lib/broker.ts'
import { removeOnExit } from './lib/cleanup.ts'
import { TableWatcher, type Metadata } from './lib/table-watcher.ts'
import { describeMachine } from './lib/machine.ts'
import { platformaticLoad } from './lib/platformatic.ts'
import { fillRecord, type Workload } from './lib/scenarios.ts'
import { startZombi, type ZombiProcess } from './lib/zombi.ts'

const main = path.resolve(import.meta.dirname, '../src/main.ts')
const quick = process.argv.includes('--quick')

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name)
  if (at < 0) return fallback
  const value = process.argv[at + 1]
  if (value === undefined) throw new Error(`${name} needs a value`)
  return value
}

const minutes = Number(option('--minutes', quick ? '0.5' : '10'))
const intervals = option('--intervals', '1,2,5').split(',').map(Number)
const queryRuns = Number(option('--runs', quick ? '1' : '5'))
const replayRecords = Number(option('--replay-records', quick ? '5000' : '200000'))
const replayRounds = Number(option('--replay-rounds', quick ? '1' : '2'))
const only = new Set(option('--only', 'health,replay').split(','))
if (![minutes, queryRuns, replayRecords, replayRounds].every((n) => Number.isFinite(n) && n > 0) || intervals.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error('--minutes takes a positive number, --intervals positive integers (1,2,5), --runs, --replay-records and --replay-rounds positive integers')
}

const PARTITIONS = 4
const RATE = 50
const RECORD_BYTES = 200
const DEFAULT_FLUSH_SECS = 10
const DEFAULT_MAINTENANCE_SECS = 300
const namespace = 'zombi'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}
const median = (values: number[]): number => quantile(values, 0.5)
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const kb = (bytes: number): string => `${fmt(bytes / 1000, 1)} KB`
const ms = (seconds: number): string => fmt(seconds * 1000, 0)

interface RunSpec {
  name: string
  settings: Record<string, string>
  rate: number
  seconds: number
  /** How many times faster than the clock record timestamps advance (1: real time). */
  speed: number
  /** Printed in the freshness table. */
  freshness: boolean
  /** Health table row group and side. */
  health?: { group: string; maintenance: boolean }
  flushSecs: number
}

const off = { ZOMBI_COMPACTION_INTERVAL_SECS: '0', ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '0' }
/** Commits come every interval + the flush's own time (a tenth of a second here): the interval ratio is the speed-up. */
const simFlushSecs = 1
const speed = DEFAULT_FLUSH_SECS / simFlushSecs
const simMinutes = quick ? 0.5 : 60 / speed
const simMaintenanceSecs = String(Math.max(1, Math.round(DEFAULT_MAINTENANCE_SECS / speed)))
const realGroup = `${minutes} min real time, defaults`
const simGroup = `1 h simulated in ${fmt(simMinutes, 1)} min (flush ${simFlushSecs} s, ${Math.round(RATE * speed)} rec/s)`
const specs: RunSpec[] = [
  { name: 'real-on', settings: {}, rate: RATE, seconds: minutes * 60, speed: 1, freshness: true, health: { group: realGroup, maintenance: true }, flushSecs: DEFAULT_FLUSH_SECS },
  { name: 'real-off', settings: off, rate: RATE, seconds: minutes * 60, speed: 1, freshness: false, health: { group: realGroup, maintenance: false }, flushSecs: DEFAULT_FLUSH_SECS },
  {
    name: 'sim-on', rate: RATE * speed, seconds: simMinutes * 60, speed, freshness: false, health: { group: simGroup, maintenance: true }, flushSecs: simFlushSecs,
    settings: { ZOMBI_FLUSH_INTERVAL_SECS: String(simFlushSecs), ZOMBI_COMPACTION_INTERVAL_SECS: simMaintenanceSecs, ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: simMaintenanceSecs },
  },
  { name: 'sim-off', rate: RATE * speed, seconds: simMinutes * 60, speed, freshness: false, health: { group: simGroup, maintenance: false }, flushSecs: simFlushSecs, settings: { ZOMBI_FLUSH_INTERVAL_SECS: String(simFlushSecs), ...off } },
  ...intervals.filter((secs) => secs !== DEFAULT_FLUSH_SECS).map((secs): RunSpec => ({
    name: `interval-${secs}s`, settings: { ZOMBI_FLUSH_INTERVAL_SECS: String(secs) }, rate: RATE, seconds: minutes * 60, speed: 1, freshness: true, flushSecs: secs,
  })),
]

interface Ack {
  partition: number
  lastOffset: number
  ackedAt: number
  visibleAt?: number
}

interface RunResult {
  spec: RunSpec
  acks: Ack[]
  records: number
  cpuSeconds: number
  wallSeconds: number
  snapshots: number
  /** Bytes a kept snapshot adds to every metadata.json (slope over the run). */
  bytesPerSnapshot: number
  health?: Health
}

interface Health {
  rows: number
  hour_rows: number
  table_partitions: number
  data_files: number
  avg_file_bytes: number
  snapshots: number
  manifests: number
  metadata_json_bytes: number
  metadata_json_files: number
  metadata_log: number
  duckdb_full_s: number
  duckdb_hour_s: number
  pyiceberg_full_s: number
  pyiceberg_hour_s: number
}

/** Produces `spec.rate` records/s round-robin over the partitions, one send() per 100 ms tick (a record batch per partition), acks=all. */
async function trickle(broker: ZombiProcess, topic: string, spec: RunSpec, acks: Ack[]): Promise<number> {
  const producer = new Producer({ clientId: 'zombi-bench-maintenance', bootstrapBrokers: [broker.bootstrap], acks: -1, maxInflights: 16, timeout: 30_000, retries: 0 })
  try {
    await producer.metadata({ topics: [topic], autocreateTopics: true })
    const value = Buffer.allocUnsafe(RECORD_BYTES)
    const started = Date.now()
    const pending: Promise<void>[] = []
    let sent = 0
    for (;;) {
      const elapsed = Date.now() - started
      if (elapsed >= spec.seconds * 1000) break
      const due = Math.floor((elapsed / 1000) * spec.rate)
      if (due > sent) {
        const timestamp = BigInt(Math.round(timestampBase + elapsed * spec.speed))
        const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = []
        const counts = new Map<number, number>()
        for (let i = sent; i < due; i++) {
          fillRecord(value, i)
          const partition = i % PARTITIONS
          counts.set(partition, (counts.get(partition) ?? 0) + 1)
          messages.push({ topic, partition, key: Buffer.from(`key-${i % 1000}`), value: Buffer.from(value), timestamp })
        }
        sent = due
        pending.push(producer.send({ messages }).then((result) => {
          const ackedAt = performance.now()
          for (const { partition, offset } of result.offsets ?? []) {
            acks.push({ partition, lastOffset: Number(offset) + (counts.get(partition) ?? 1) - 1, ackedAt })
          }
        }))
      }
      await sleep(100 - ((Date.now() - started) % 100))
    }
    await Promise.all(pending)
    return sent
  } finally {
    await producer.close(true)
  }
}

/** Record timestamps start at the top of an hour two hours ago, so a simulated hour fills whole event hours. */
const timestampBase = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000 + (Date.now() % 3_600_000) / 10

async function runTrickle(spec: RunSpec): Promise<{ result: RunResult; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `zombi-bench-maint-${spec.name}-`))
  removeOnExit(dataDir)
  const broker = await startZombi(main, { ZOMBI_DEFAULT_PARTITIONS: String(PARTITIONS), ...spec.settings }, { dataDir })
  const topic = 'trickle'
  const watcher = new TableWatcher(path.join(dataDir, 'warehouse', namespace, topic))
  const acks: Ack[] = []
  let watching = true
  const watch = (async () => {
    while (watching) {
      if (watcher.poll()) {
        const now = performance.now()
        for (const ack of acks) if (ack.visibleAt === undefined && watcher.committed(ack.partition) > ack.lastOffset) ack.visibleAt = now
      }
      await sleep(50)
    }
  })()
  try {
    const cpuBefore = readProcessUsage(broker.pid).cpuSeconds
    const wallStarted = performance.now()
    const records = await trickle(broker, topic, spec, acks)
    const cpuSeconds = readProcessUsage(broker.pid).cpuSeconds - cpuBefore
    const wallSeconds = (performance.now() - wallStarted) / 1000
    // Let the last batches reach the table (one interval, a check and the commit), for their freshness samples.
    const deadline = performance.now() + (spec.flushSecs + 15) * 1000
    while (acks.some((ack) => ack.visibleAt === undefined) && performance.now() < deadline) await sleep(100)
    watching = false
    await watch
    // The table as the run left it: no final flush at shutdown, no more maintenance.
    await broker.kill9()
    const metadata = await (async () => {
      const hint = Number(readFileSync(path.join(watcher.dir, 'metadata', 'version-hint.text'), 'utf8').trim())
      let version = hint
      while (existsSync(path.join(watcher.dir, 'metadata', `v${version + 1}.metadata.json`))) version++
      return JSON.parse(readFileSync(path.join(watcher.dir, 'metadata', `v${version}.metadata.json`), 'utf8')) as Metadata
    })()
    const { first, last } = watcher
    const bytesPerSnapshot = first === undefined || last === undefined || last.snapshots <= first.snapshots ? 0 : (last.bytes - first.bytes) / (last.snapshots - first.snapshots)
    return { result: { spec, acks, records, cpuSeconds, wallSeconds, snapshots: metadata.snapshots?.length ?? 0, bytesPerSnapshot }, dataDir }
  } catch (error) {
    watching = false
    await broker.kill9().catch(() => undefined)
    throw error
  }
}

async function tableHealth(dir: string): Promise<Health> {
  const result = await python('bench/lib/table_health.py', [dir, '--runs', String(queryRuns)], { timeoutMs: 900_000 })
  return JSON.parse(result.stdout.toString('utf8')) as Health
}


const machine = describeMachine()
console.log(`maintenance benchmark (${quick ? 'quick, numbers meaningless' : 'full'}), ${new Date().toISOString()}, ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}`)

if (only.has('health')) {
  console.log(`phase 1: ${specs.length} brokers at once: ${specs.map((spec) => spec.name).join(', ')} (${fmt(Math.max(minutes, simMinutes), 1)} min)`)
  const runs = await Promise.all(specs.map((spec) => runTrickle(spec)))
  console.log('phase 2: reading the tables with DuckDB and pyiceberg')
  for (const run of runs) {
    if (run.result.spec.health !== undefined || run.result.spec.freshness) run.result.health = await tableHealth(path.join(run.dataDir, 'warehouse', namespace, 'trickle'))
    await rm(run.dataDir, { recursive: true, force: true })
  }
  const results = runs.map((run) => run.result)
  printHealth(results)
  printFreshness(results)
}

function printHealth(results: RunResult[]): void {
  console.log(`\nTable health: ${RATE} records/s of ${RECORD_BYTES} B to ${PARTITIONS} partitions; "on" = compaction and snapshot expiry at their defaults (${DEFAULT_MAINTENANCE_SECS} s; ${simMaintenanceSecs} s in the simulated hour), "off" = both 0. Query times: median of ${queryRuns}, ms.\n`)
  const metrics: Array<[string, (h: Health) => string, ((h: Health) => number) | null]> = [
    ['rows', (h) => fmt(h.rows), null],
    ['table partitions (event hours)', (h) => fmt(h.table_partitions), null],
    ['data files', (h) => fmt(h.data_files), (h) => h.data_files],
    ['data files per table partition', (h) => fmt(h.data_files / h.table_partitions, 1), null],
    ['average data file', (h) => kb(h.avg_file_bytes), (h) => h.avg_file_bytes],
    ['snapshots', (h) => fmt(h.snapshots), (h) => h.snapshots],
    ['manifest files (current snapshot)', (h) => fmt(h.manifests), (h) => h.manifests],
    ['newest metadata.json', (h) => kb(h.metadata_json_bytes), (h) => h.metadata_json_bytes],
    ['metadata.json files on disk', (h) => fmt(h.metadata_json_files), (h) => h.metadata_json_files],
    ['DuckDB full scan, ms', (h) => ms(h.duckdb_full_s), (h) => h.duckdb_full_s],
    ['DuckDB one-hour filter, ms', (h) => ms(h.duckdb_hour_s), (h) => h.duckdb_hour_s],
    ['pyiceberg full scan, ms', (h) => ms(h.pyiceberg_full_s), (h) => h.pyiceberg_full_s],
    ['pyiceberg one-hour filter, ms', (h) => ms(h.pyiceberg_hour_s), (h) => h.pyiceberg_hour_s],
  ]
  const groups = [...new Set(results.flatMap((r) => r.spec.health === undefined ? [] : [r.spec.health.group]))]
  const side = (group: string, maintenance: boolean): Health | undefined => results.find((r) => r.spec.health?.group === group && r.spec.health.maintenance === maintenance)?.health
  console.log(`| metric | ${groups.map((g) => `${g}: on | off | on/off`).join(' | ')} |`)
  console.log(`|---|${groups.map(() => '---:|---:|---:').join('|')}|`)
  for (const [label, show, ratio] of metrics) {
    const cells = groups.map((group) => {
      const on = side(group, true)
      const offSide = side(group, false)
      if (on === undefined || offSide === undefined) return '— | — | —'
      const r = ratio === null ? '' : (ratio(on) / ratio(offSide)).toFixed(2)
      return `${show(on)} | ${show(offSide)} | ${r}`
    })
    console.log(`| ${label} | ${cells.join(' | ')} |`)
  }
}

function printFreshness(results: RunResult[]): void {
  console.log(`\nFreshness and cost at ${RATE} records/s to ${PARTITIONS} partitions, maintenance on (defaults otherwise): ack → the table's metadata.json on disk records the batch's offsets, per record batch.\n`)
  console.log('| flush interval | record batches | p50 ack → visible, s | p99, s | max, s | never visible | snapshots in the run | commits per day (extrapolated) | bytes a kept snapshot adds to metadata.json | newest metadata.json | est. metadata.json at 24 h retention | metadata written per day at 24 h | est. metadata.json at 1 h retention | written per day at 1 h | broker CPU s per minute |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  const rows = results.filter((r) => r.spec.freshness).sort((a, b) => a.spec.flushSecs - b.spec.flushSecs)
  for (const r of rows) {
    const seen = r.acks.filter((ack) => ack.visibleAt !== undefined).map((ack) => (ack.visibleAt! - ack.ackedAt) / 1000)
    const perDay = (r.snapshots / r.wallSeconds) * 86_400
    const h = r.health
    // Kept snapshots repeat in every metadata.json: at steady state (retention full) it holds a retention's worth
    // of commits, and every commit writes it whole again.
    const base = h === undefined ? 0 : Math.max(0, h.metadata_json_bytes - r.bytesPerSnapshot * h.snapshots)
    const at = (hours: number): number => base + r.bytesPerSnapshot * perDay * hours / 24
    const size = (bytes: number): string => bytes >= 1e9 ? `${fmt(bytes / 1e9, 1)} GB` : `${fmt(bytes / 1e6, 1)} MB`
    console.log(`| ${r.spec.flushSecs} s${r.spec.flushSecs === DEFAULT_FLUSH_SECS ? ' (default)' : ''} | ${fmt(r.acks.length)} | ${quantile(seen, 0.5).toFixed(2)} | ${quantile(seen, 0.99).toFixed(2)} | ${Math.max(...seen).toFixed(2)} | ${r.acks.length - seen.length} | ${fmt(r.snapshots)} | ${fmt(perDay)} | ${fmt(r.bytesPerSnapshot)} | ${h === undefined ? '—' : kb(h.metadata_json_bytes)} | ${size(at(24))} | ${size(at(24) * perDay)} | ${size(at(1))} | ${size(at(1) * perDay)} | ${(r.cpuSeconds / r.wallSeconds * 60).toFixed(2)} |`)
  }
}

// Replay: a topic read from offset 0, served from Iceberg (hot segments deleted) and from the hot log.
async function hotStart(broker: ZombiProcess, topic: string): Promise<number> {
  const [host, port] = broker.bootstrap.split(':') as [string, string]
  const client = await RawClient.connect(host, Number(port))
  try {
    const reader = await client.request(ApiKey.ListOffsets, 9, (w) => writeListOffsetsRequest(w, 9, {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -4, maxNumOffsets: 1 }] }],
    }))
    return Number(readListOffsetsResponse(reader, 9).topics[0]!.partitions[0]!.offset)
  } finally {
    client.socket.destroy()
  }
}

interface Replay {
  cold: boolean
  rowsPerSecond: number
  /** Records below the hot log's start when the replay began (served from the table). */
  coldShare: number
  brokerCpuSeconds: number
}

async function replay(cold: boolean): Promise<Replay> {
  const broker = await startZombi(main, {
    ZOMBI_SEGMENT_BYTES: String(1024 * 1024), ZOMBI_HOT_RETENTION_MS: cold ? '0' : '-1', ZOMBI_HOT_RETENTION_CHECK_SECS: '1', ZOMBI_FLUSH_INTERVAL_SECS: '0',
  })
  try {
    const load = platformaticLoad()
    const topic = 'replay'
    const workload: Workload = { recordBytes: RECORD_BYTES, records: replayRecords, fetchPasses: 1, payload: 'filler' }
    await load.produce(broker.bootstrap, topic, workload)
    const flushed = await broker.flushTable!(topic)
    if (flushed.rows !== replayRecords) throw new Error(`flushed ${flushed.rows} rows, produced ${replayRecords}`)
    let start = await hotStart(broker, topic)
    // Hot retention runs after the commit and every second: wait until it deleted what it will.
    for (let i = 0; cold && i < 100; i++) {
      await sleep(100)
      const next = await hotStart(broker, topic)
      if (next === start && next > 0) break
      start = next
    }
    if (cold && start === 0) throw new Error('hot retention deleted no segment')
    const cpuBefore = readProcessUsage(broker.pid).cpuSeconds
    const measured = await load.fetch(broker.bootstrap, topic, workload)
    const brokerCpuSeconds = readProcessUsage(broker.pid).cpuSeconds - cpuBefore
    return { cold, rowsPerSecond: measured.records / measured.seconds, coldShare: start / replayRecords, brokerCpuSeconds }
  } finally {
    await broker.stop()
  }
}

if (only.has('replay')) {
  const replays: Replay[] = []
  for (let round = 0; round < replayRounds; round++) {
    // Alternating order, so neither side always runs first.
    for (const cold of round % 2 === 0 ? [true, false] : [false, true]) replays.push(await replay(cold))
  }
  const of = (cold: boolean): Replay[] => replays.filter((r) => r.cold === cold)
  const coldRate = median(of(true).map((r) => r.rowsPerSecond))
  const hotRate = median(of(false).map((r) => r.rowsPerSecond))
  console.log(`\nReplay from offset 0 with @platformatic/kafka (Fetch loop, 1 MiB per partition), ${fmt(replayRecords)} records of ${RECORD_BYTES} B in 1 partition, median of ${replayRounds}:\n`)
  console.log('| served from | rows/s | MB/s of values | broker CPU s per replay | records below the hot log start | ratio to the hot log |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const cold of [true, false]) {
    const rate = cold ? coldRate : hotRate
    console.log(`| ${cold ? 'Iceberg (hot segments deleted)' : 'hot log'} | ${fmt(rate)} | ${fmt(rate * RECORD_BYTES / 1e6, 1)} | ${median(of(cold).map((r) => r.brokerCpuSeconds)).toFixed(2)} | ${(median(of(cold).map((r) => r.coldShare)) * 100).toFixed(1)} % | ${(rate / hotRate).toFixed(2)} |`)
  }
}

