// Compaction under load (issue 15): does compacting a table starve the producers writing to it, or the
// flusher committing behind them? Each run starts a fresh broker, builds a table of many small files (a
// few thousand records, then POST /tables/{t}/flush, --files times), lets the broker go idle, then sends
// records at a fixed rate (acks=all, @platformatic/kafka) for --seconds. In the "compaction" runs,
// POST /tables/{t}/compact is called --compact-after seconds into the load and rewrites the small files
// while the load goes on; the "reference" runs send the same load without it. Runs alternate over --rounds.
// Measured per run, over the load window: produce throughput (records acknowledged per second), produce
// latency (the time a send was due -> its ack: a broker that falls behind makes later sends late), flush lag
// (acknowledged records not yet committed to the table, sampled every 100 ms from the metadata.json on disk,
// which costs the broker nothing), ack -> visible per send, broker RSS (sampled, peak) and broker CPU (whole
// window, and while the compaction ran).
//   npm run bench:compaction [-- --quick] [--files 60] [--file-records 20000] [--rate 40000] [--seconds 30]
//     [--compact-after 2] [--rounds 2] [--record-bytes 200] [--max-read-mb N]
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Producer, type MessageToProduce } from '@platformatic/kafka'
import { readProcessUsage, waitUntilIdle } from './lib/broker.ts'
import { describeMachine } from './lib/machine.ts'
import { fillRecord } from './lib/scenarios.ts'
import { TableWatcher } from './lib/table-watcher.ts'
import { startZombi, type ZombiProcess } from './lib/zombi.ts'

const main = path.resolve(import.meta.dirname, '../src/main.ts')
const quick = process.argv.includes('--quick')

function option(name: string, fallback: string): number {
  const at = process.argv.indexOf(name)
  const text = at < 0 ? fallback : process.argv[at + 1]
  const value = Number(text)
  if (text === undefined || !Number.isFinite(value) || value <= 0) throw new Error(`${name} takes a positive number`)
  return value
}

const files = option('--files', quick ? '8' : '60')
const fileRecords = option('--file-records', quick ? '2000' : '20000')
const rate = option('--rate', quick ? '5000' : '40000')
const seconds = option('--seconds', quick ? '6' : '30')
const compactAfter = option('--compact-after', quick ? '1' : '2')
const rounds = option('--rounds', quick ? '1' : '2')
const recordBytes = option('--record-bytes', '200')
/** ZOMBI_COMPACTION_MAX_READ_MB for both sides (the default when absent). */
const maxReadMb = process.argv.includes('--max-read-mb') ? option('--max-read-mb', '256') : undefined
const PARTITIONS = 4
/** Sends per second of the fixed-rate load (each send: one record batch per partition). */
const TICKS_PER_SECOND = 20
const SAMPLE_MS = 100
const TOPIC = 'compacted'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const quantile = (values: number[], q: number): number => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`/proc/${pid}/status has no VmRSS line`)
  return Number(match[1]) * 1024
}

interface Compaction {
  filesIn: number
  filesOut: number
  bytesIn: number
  bytesOut: number
  rows: number
  seconds: number
}

interface Run {
  compaction: boolean
  recordsPerSecond: number
  latencyP50Ms: number
  latencyP99Ms: number
  latencyMaxMs: number
  visibleP50S: number
  visibleP99S: number
  visibleMaxS: number
  /** Acknowledged records not in the table yet: the largest and the 99th percentile of the samples. */
  lagMax: number
  lagP99: number
  rssBeforeMb: number
  rssPeakMb: number
  cpuCores: number
  /** Broker CPU (cores) from the compaction's start to its end, or over the same stretch of a reference run. */
  cpuCoresCompacting: number
  compacted?: Compaction
  compactionInWindow: boolean
  filesBefore: number
}

/** Builds the table of small files: `fileRecords` records then a flush, `files` times. */
async function buildSmallFiles(broker: ZombiProcess, producer: Producer<Buffer, Buffer, Buffer, Buffer>): Promise<number> {
  const value = Buffer.allocUnsafe(recordBytes)
  let sent = 0
  let committedFiles = 0
  for (let file = 0; file < files; file++) {
    for (let done = 0; done < fileRecords;) {
      const count = Math.min(1000, fileRecords - done)
      const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = []
      for (let i = 0; i < count; i++, sent++) {
        fillRecord(value, sent)
        messages.push({ topic: TOPIC, partition: sent % PARTITIONS, key: Buffer.from(`key-${sent % 1000}`), value: Buffer.from(value) })
      }
      await producer.send({ messages })
      done += count
    }
    const flushed = await fetch(`${broker.httpUrl}/tables/${TOPIC}/flush`, { method: 'POST' })
    if (!flushed.ok) throw new Error(`POST flush: HTTP ${flushed.status} ${await flushed.text()}`)
    committedFiles += ((await flushed.json()) as { files: number }).files
  }
  return committedFiles
}

async function run(compaction: boolean): Promise<Run> {
  const broker = await startZombi(main, {
    ZOMBI_DEFAULT_PARTITIONS: String(PARTITIONS),
    // Background maintenance off: compaction runs only when the bench asks for it; the flusher commits every ~2 s.
    ZOMBI_COMPACTION_INTERVAL_SECS: '0', ZOMBI_SNAPSHOT_EXPIRY_INTERVAL_SECS: '0', ZOMBI_FLUSH_INTERVAL_SECS: '1',
    ...(maxReadMb === undefined ? {} : { ZOMBI_COMPACTION_MAX_READ_MB: String(maxReadMb) }),
  })
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ clientId: 'zombi-bench-compaction', bootstrapBrokers: [broker.bootstrap], acks: -1, maxInflights: 64, timeout: 60_000, retries: 0 })
  try {
    await producer.metadata({ topics: [TOPIC], autocreateTopics: true })
    const filesBefore = await buildSmallFiles(broker, producer)
    await waitUntilIdle(broker.pid)
    const watcher = new TableWatcher(path.join(broker.dataDir, 'warehouse', 'zombi', TOPIC))
    watcher.poll()

    // Per send: when it was due, when acknowledged, the offsets it ended at, when visible in the table.
    const sends: Array<{ dueAt: number; ackedAt?: number; ends: Array<[number, number]>; visibleAt?: number }> = []
    const acked = new Map<number, number>()
    const samples: Array<{ at: number; lag: number; rss: number; cpu: number }> = []
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const now = performance.now()
        watcher.poll()
        let lag = 0
        for (const [partition, end] of acked) lag += Math.max(0, end - watcher.committed(partition))
        for (const send of sends) {
          if (send.visibleAt === undefined && send.ackedAt !== undefined && send.ends.every(([partition, end]) => watcher.committed(partition) >= end)) send.visibleAt = now
        }
        samples.push({ at: now, lag, rss: rssBytes(broker.pid), cpu: readProcessUsage(broker.pid).cpuSeconds })
        await sleep(Math.max(0, SAMPLE_MS - (performance.now() - now)))
      }
    })()

    const rssBeforeMb = rssBytes(broker.pid) / 1e6
    const started = performance.now()
    let compactStart = started + compactAfter * 1000
    let compactEnd = compactStart
    let compacted: Compaction | undefined
    const compacting = compaction
      ? (async () => {
          await sleep(compactAfter * 1000)
          compactStart = performance.now()
          const response = await fetch(`${broker.httpUrl}/tables/${TOPIC}/compact`, { method: 'POST' })
          if (!response.ok) throw new Error(`POST compact: HTTP ${response.status} ${await response.text()}`)
          const body = (await response.json()) as Record<string, number>
          compactEnd = performance.now()
          compacted = { filesIn: body.files_in!, filesOut: body.files_out!, bytesIn: body.bytes_in!, bytesOut: body.bytes_out!, rows: body.rows!, seconds: body.seconds! }
        })()
      : Promise.resolve()

    // The fixed-rate load: every tick sends the records due by then (round robin over the partitions).
    const value = Buffer.allocUnsafe(recordBytes)
    fillRecord(value, 7)
    const pending: Promise<void>[] = []
    let due = 0
    for (let tick = 0; tick < seconds * TICKS_PER_SECOND; tick++) {
      const dueAt = started + (tick * 1000) / TICKS_PER_SECOND
      const wait = dueAt - performance.now()
      if (wait > 0) await sleep(wait)
      const count = Math.round(((tick + 1) * rate) / TICKS_PER_SECOND) - due
      const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = new Array(count)
      for (let i = 0; i < count; i++) messages[i] = { topic: TOPIC, partition: (due + i) % PARTITIONS, value }
      due += count
      const send: (typeof sends)[number] = { dueAt, ends: [] }
      sends.push(send)
      pending.push(producer.send({ messages }).then((result) => {
        send.ackedAt = performance.now()
        const perPartition = new Map<number, number>()
        for (const message of messages) perPartition.set(message.partition!, (perPartition.get(message.partition!) ?? 0) + 1)
        for (const { partition, offset } of result.offsets ?? []) {
          const end = Number(offset) + (perPartition.get(partition) ?? 0)
          send.ends.push([partition, end])
          if (end > (acked.get(partition) ?? 0)) acked.set(partition, end)
        }
      }))
    }
    await Promise.all(pending)
    const loadSeconds = (performance.now() - started) / 1000
    const compactionInWindow = !compaction || compacted !== undefined
    await compacting
    // The last sends' visibility: one flush interval, a check and the commit.
    const deadline = performance.now() + 15_000
    while (sends.some((send) => send.visibleAt === undefined) && performance.now() < deadline) await sleep(SAMPLE_MS)
    sampling = false
    await sampler

    const window = samples.filter((sample) => sample.at >= started && sample.at <= started + loadSeconds * 1000)
    const latencies = sends.map((send) => send.ackedAt! - send.dueAt)
    const visible = sends.filter((send) => send.visibleAt !== undefined).map((send) => (send.visibleAt! - send.ackedAt!) / 1000)
    const cpuBetween = (from: number, to: number): number => {
      const inside = samples.filter((sample) => sample.at >= from && sample.at <= to)
      if (inside.length < 2) return NaN
      return (inside[inside.length - 1]!.cpu - inside[0]!.cpu) / ((inside[inside.length - 1]!.at - inside[0]!.at) / 1000)
    }
    return {
      compaction,
      recordsPerSecond: due / loadSeconds,
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP99Ms: quantile(latencies, 0.99),
      latencyMaxMs: Math.max(...latencies),
      visibleP50S: quantile(visible, 0.5),
      visibleP99S: quantile(visible, 0.99),
      visibleMaxS: Math.max(...visible),
      lagMax: Math.max(...window.map((sample) => sample.lag)),
      lagP99: quantile(window.map((sample) => sample.lag), 0.99),
      rssBeforeMb,
      rssPeakMb: Math.max(...window.map((sample) => sample.rss)) / 1e6,
      cpuCores: cpuBetween(started, started + loadSeconds * 1000),
      // A reference run has no compaction: the same stretch of its load (from --compact-after, as long as the paired compaction took).
      cpuCoresCompacting: cpuBetween(compactStart, compaction ? compactEnd : compactStart + (lastCompactionSeconds ?? loadSeconds - compactAfter) * 1000),
      compacted,
      compactionInWindow,
      filesBefore,
    }
  } finally {
    await producer.close(true)
    await broker.stop()
  }
}

let lastCompactionSeconds: number | undefined

const machine = describeMachine()
console.log(`compaction under load (${quick ? 'quick, numbers meaningless' : 'full'}), ${new Date().toISOString()}, ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}`)
console.log(`${files} small files of ${fmt(fileRecords)} records of ${recordBytes} B over ${PARTITIONS} partitions, then ${fmt(rate)} records/s for ${seconds} s (acks=all), compaction from ${compactAfter} s; ${rounds} round(s), alternating; ZOMBI_COMPACTION_MAX_READ_MB ${maxReadMb ?? 'default'}`)
const runs: Run[] = []
for (let round = 0; round < rounds; round++) {
  // Alternating order, so neither side always runs first; the compaction run comes first in round 0 so the reference knows how long to look.
  for (const compaction of round % 2 === 0 ? [true, false] : [false, true]) {
    const result = await run(compaction)
    if (result.compacted !== undefined) lastCompactionSeconds = (result.compacted.seconds)
    runs.push(result)
    console.log(`  round ${round + 1}, ${compaction ? 'compaction' : 'reference'}: ${fmt(result.recordsPerSecond)} rec/s, p99 ${fmt(result.latencyP99Ms)} ms, lag max ${fmt(result.lagMax)}, RSS peak ${fmt(result.rssPeakMb)} MB${result.compacted === undefined ? '' : `, compacted ${result.compacted.filesIn} -> ${result.compacted.filesOut} files in ${result.compacted.seconds.toFixed(1)} s${result.compactionInWindow ? '' : ' (outlasted the load)'}`}`)
  }
}

const side = (compaction: boolean): Run[] => runs.filter((r) => r.compaction === compaction)
const rows: Array<[string, (r: Run) => number, number]> = [
  ['produce throughput, records/s', (r) => r.recordsPerSecond, 0],
  ['produce latency p50 (due -> ack), ms', (r) => r.latencyP50Ms, 1],
  ['produce latency p99, ms', (r) => r.latencyP99Ms, 1],
  ['produce latency max, ms', (r) => r.latencyMaxMs, 1],
  ['ack -> visible in the table p50, s', (r) => r.visibleP50S, 2],
  ['ack -> visible p99, s', (r) => r.visibleP99S, 2],
  ['flush lag p99 (records acked, not committed)', (r) => r.lagP99, 0],
  ['flush lag max', (r) => r.lagMax, 0],
  ['broker RSS before the load, MB', (r) => r.rssBeforeMb, 0],
  ['broker RSS peak during the load, MB', (r) => r.rssPeakMb, 0],
  ['broker CPU over the load, cores', (r) => r.cpuCores, 2],
  ['broker CPU while compacting (same stretch in the reference), cores', (r) => r.cpuCoresCompacting, 2],
]
console.log(`\nCompaction under load: ${fmt(rate)} records/s of ${recordBytes} B (acks=all) to ${PARTITIONS} partitions for ${seconds} s, medians of ${rounds}:\n`)
console.log('| metric | reference (no compaction) | compaction during the load | ratio |')
console.log('|---|---:|---:|---:|')
for (const [label, pick, digits] of rows) {
  const reference = median(side(false).map(pick))
  const withCompaction = median(side(true).map(pick))
  console.log(`| ${label} | ${fmt(reference, digits)} | ${fmt(withCompaction, digits)} | ${(withCompaction / reference).toFixed(2)} |`)
}
const compactions = side(true).map((r) => r.compacted!)
console.log(`\nCompaction: ${median(side(true).map((r) => r.filesBefore))} small files committed before the load; the compaction rewrote ${median(compactions.map((c) => c.filesIn))} files (${fmt(median(compactions.map((c) => c.bytesIn)) / 1e6, 1)} MB) into ${median(compactions.map((c) => c.filesOut))} (${fmt(median(compactions.map((c) => c.bytesOut)) / 1e6, 1)} MB), ${fmt(median(compactions.map((c) => c.rows)))} rows, in ${median(compactions.map((c) => c.seconds)).toFixed(1)} s (median).`)
