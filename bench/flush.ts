// Flush benchmark: rows/s from the hot log to committed Iceberg (decode, sort, Arrow, Parquet zstd,
// manifests, commit) with one encode worker, printed beside the produce rate of the same run.
// A Zombi process is started with the age and size triggers off; @platformatic/kafka produces the
// records over the wire (produce rate), then SIGTERM makes the final flush of everything (flush
// rate, from the broker's "final flush to Iceberg done" line). Then DuckDB-free checks: the table's
// committed record count equals what was produced.
// A second run per size produces with the flusher live (interval 1 s, 128 MiB target): its produce
// rate beside the first run's shows whether flushing slows produce, and the catch-up time after the
// last acknowledgement shows whether the flush keeps up.
//   npm run bench:flush [-- --quick]
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { platformaticLoad } from './lib/platformatic.ts'
import { recordSizes, warmUpWorkload, type Workload } from './lib/scenarios.ts'

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..')
const quick = process.argv.includes('--quick')
const records: Record<number, number> = { 100: 1_200_000, 1024: 400_000 }

interface FlushLine {
  rows: number
  files: number
  bytes: number
  seconds: number
  cpuSeconds: number
}

interface Run {
  recordBytes: number
  records: number
  produceSeconds: number
  flush: FlushLine
}

interface Concurrent {
  produceSeconds: number
  /** From the last acknowledgement until the table held every record. */
  catchUpSeconds: number
}

/** total-records of the table's newest metadata version (0 before the first commit). */
async function committedRecords(table: string): Promise<number> {
  let version: number
  try {
    version = Number(await readFile(path.join(table, 'metadata', 'version-hint.text'), 'utf8'))
  } catch {
    return 0
  }
  for (;;) {
    try {
      await readFile(path.join(table, 'metadata', `v${version + 1}.metadata.json`))
      version++
    } catch {
      break
    }
  }
  const metadata = JSON.parse(await readFile(path.join(table, 'metadata', `v${version}.metadata.json`), 'utf8')) as { snapshots: Array<{ summary: Record<string, string> }> }
  return Number(metadata.snapshots.at(-1)?.summary['total-records'] ?? 0)
}

async function run(recordBytes: number): Promise<Run>
async function run(recordBytes: number, live: true): Promise<Concurrent>
async function run(recordBytes: number, live = false): Promise<Run | Concurrent> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-flush-'))
  const child = spawn(process.execPath, [path.join(repoRoot, 'src/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env, ZOMBI_DATA_DIR: dataDir, ZOMBI_HOST: '127.0.0.1', ZOMBI_KAFKA_PORT: '0', ZOMBI_PORT: '0',
      ZOMBI_FLUSH_INTERVAL_SECS: live ? '1' : '0', ZOMBI_TARGET_FILE_SIZE_MB: live ? '128' : '1024', ZOMBI_FLUSH_WORKERS: '1', ZOMBI_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /"kafkaPort":(\d+).*"msg":"zombi ready"/.exec(output)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`zombi exited with code ${code} before it was ready:\n${output}`)))
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    const bootstrap = `127.0.0.1:${await ready}`
    const load = platformaticLoad()
    await load.produce(bootstrap, 'warm-up', warmUpWorkload(recordBytes))
    const workload: Workload = { recordBytes, records: quick ? 5_000 : records[recordBytes]!, fetchPasses: 1 }
    const produced = await load.produce(bootstrap, `flush-${recordBytes}`, workload)
    if (live) {
      const acknowledged = performance.now()
      const table = path.join(dataDir, 'warehouse', 'zombi', `flush-${recordBytes}`)
      while (await committedRecords(table) < workload.records) {
        if (performance.now() - acknowledged > 120_000) throw new Error('the flush did not catch up within 120 s')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const catchUpSeconds = (performance.now() - acknowledged) / 1000
      child.kill('SIGTERM')
      await exited
      return { produceSeconds: produced.seconds, catchUpSeconds }
    }
    child.kill('SIGTERM')
    await exited
    const line = output.split('\n').find((text) => text.includes('final flush to Iceberg done'))
    if (line === undefined) throw new Error(`no final flush line:\n${output.slice(-4000)}`)
    const flush = JSON.parse(line) as FlushLine
    const expected = workload.records + warmUpWorkload(recordBytes).records
    if (flush.rows !== expected) throw new Error(`flushed ${flush.rows} rows, produced ${expected}`)
    const hint = await readFile(path.join(dataDir, 'warehouse', 'zombi', `flush-${recordBytes}`, 'metadata', 'version-hint.text'), 'utf8')
    if (!/^\d+$/.test(hint)) throw new Error('no committed table')
    return { recordBytes, records: produced.records, produceSeconds: produced.seconds, flush }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  }
}

const results: Array<Run & { live: Concurrent }> = []
for (const recordBytes of recordSizes) {
  const isolated = await run(recordBytes)
  results.push({ ...isolated, live: await run(recordBytes, true) })
}
const format = (n: number): string => Math.round(n).toLocaleString('en-US')
console.log(`\nflush benchmark (${quick ? 'quick, numbers meaningless' : 'full'}), one encode worker, Node ${process.version}\n`)
console.log('| record | records | produce rows/s (@platformatic/kafka, acks=all) | flush rows/s | flush MB/s (payload) | flush CPU s / s | Parquet bytes / payload | flush / produce |')
console.log('|---|---|---|---|---|---|---|---|')
for (const result of results) {
  const produceRate = result.records / result.produceSeconds
  // The flush also carries the warm-up topic's records; rates use everything it flushed.
  const flushRate = result.flush.rows / result.flush.seconds
  console.log(`| ${result.recordBytes} B | ${format(result.records)} | ${format(produceRate)} | ${format(flushRate)} | ${(flushRate * result.recordBytes / 1e6).toFixed(1)} | ${(result.flush.cpuSeconds / result.flush.seconds).toFixed(2)} | ${(result.flush.bytes / (result.flush.rows * result.recordBytes)).toFixed(2)} | ${(flushRate / produceRate).toFixed(2)} |`)
}

console.log('\nwith the flusher live during produce (interval 1 s, 128 MiB target):\n')
console.log('| record | produce rows/s, flusher idle | produce rows/s, flusher live | live / idle | table complete after the last ack |')
console.log('|---|---|---|---|---|')
for (const result of results) {
  const idle = result.records / result.produceSeconds
  const live = result.records / result.live.produceSeconds
  console.log(`| ${result.recordBytes} B | ${format(idle)} | ${format(live)} | ${(live / idle).toFixed(2)} | ${result.live.catchUpSeconds.toFixed(1)} s |`)
}
