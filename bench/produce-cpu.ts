// npm run bench:produce-cpu -- [--revisions main,HEAD] [--rounds 3] [--records 240000] [--warm-up 60000] [--no-kafka]: broker CPU per MB of
// uncompressed 1 KiB records produced by kcat (librdkafka, ~1 MB requests) and @platformatic/kafka (256 KiB
// requests), for Zombi at each revision (Iceberg flusher on, as in bench:compare, and with its triggers off) and for
// Apache Kafka, alternated round by round. CPU seconds come from /proc, so they move less with the machine's load
// than rates do; Zombi's are split by thread (main thread, V8's GC helpers, the encode workers, libuv's pool).
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { BrokerUnderTest, RunningBroker } from './lib/broker.ts'
import { readProcessUsage } from './lib/broker.ts'
import { removeOnExit } from './lib/cleanup.ts'
import { apacheKafka, fetchKafka } from './lib/kafka.ts'
import { kcatLoad } from './lib/kcat.ts'
import { platformaticLoad } from './lib/platformatic.ts'
import { warmUpWorkload, type ClientLoad, type Workload } from './lib/scenarios.ts'
import { createTopic } from './lib/topics.ts'
import { snapshotZombi, zombi } from './lib/zombi.ts'

const { values: options } = parseArgs({
  options: {
    revisions: { type: 'string', default: 'HEAD' },
    rounds: { type: 'string', default: '3' },
    records: { type: 'string', default: '240000' },
    'no-kafka': { type: 'boolean', default: false },
    /** Records produced untimed by each client into each fresh broker first (bench:compare's warm-up is 2,000). */
    'warm-up': { type: 'string', default: '60000' },
  },
})
const rounds = Number(options.rounds)
const workload: Workload = { recordBytes: 1024, records: Number(options.records), fetchPasses: 1 }
const warmUp: Workload = { ...warmUpWorkload(workload.recordBytes), records: Number(options['warm-up']) }
const megabytes = (workload.records * workload.recordBytes) / 1e6
const flusherOff = { ZOMBI_FLUSH_INTERVAL_SECS: '0', ZOMBI_TARGET_FILE_SIZE_MB: '1024' }

/** CPU seconds of each thread kind of a process (threads named alike are summed). */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const stat = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8').catch(() => '')
    const close = stat.lastIndexOf(')')
    if (close < 0) continue
    const name = stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ')
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100)
  }
  return out
}

interface Row { broker: string; client: string; cpuMsPerMb: number[]; rates: number[]; threads: Map<string, number[]> }

const workDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-produce-cpu-'))
removeOnExit(workDir)
const loads: ClientLoad[] = [kcatLoad(workDir), platformaticLoad()]
for (const load of loads) {
  await load.prepare(workload)
  await load.prepare(warmUp)
}
const brokers: BrokerUnderTest[] = []
const sources = []
for (const revision of options.revisions.split(',')) {
  const source = await snapshotZombi(revision)
  sources.push(source)
  brokers.push(zombi(source, `zombi ${source.revision}`, { ZOMBI_DURABILITY: 'none' }))
  brokers.push(zombi(source, `zombi ${source.revision} flusher off`, { ZOMBI_DURABILITY: 'none', ...flusherOff }))
}
if (!options['no-kafka']) brokers.push(apacheKafka(fetchKafka(), 'kafka', {}))

const rows = new Map<string, Row>()
const loadAverages: number[] = []
let topicNumber = 0
try {
  for (let round = 0; round < rounds; round++) {
    for (const config of brokers) {
      const broker: RunningBroker = await config.start()
      try {
        // Untimed: the JVM's JIT (and V8's) see the produce path before it is measured, as in bench:compare.
        for (const load of loads) {
          const topic = `produce-cpu-${topicNumber++}`
          await createTopic(broker.bootstrap, topic)
          await load.produce(broker.bootstrap, topic, warmUp)
        }
        for (const load of loads) {
          const topic = `produce-cpu-${topicNumber++}`
          await createTopic(broker.bootstrap, topic)
          await broker.settle()
          const threadsBefore = await threadCpu(broker.pid)
          const before = readProcessUsage(broker.pid).cpuSeconds
          const measured = await load.produce(broker.bootstrap, topic, workload)
          const cpu = readProcessUsage(broker.pid).cpuSeconds - before
          const threadsAfter = await threadCpu(broker.pid)
          loadAverages.push(loadavg()[0]!)
          const key = `${config.name}\t${load.client}`
          const row: Row = rows.get(key) ?? { broker: config.name, client: load.client, cpuMsPerMb: [], rates: [], threads: new Map<string, number[]>() }
          rows.set(key, row)
          row.cpuMsPerMb.push((1000 * cpu) / megabytes)
          row.rates.push(measured.records / measured.seconds)
          for (const [name, seconds] of threadsAfter) {
            const used = seconds - (threadsBefore.get(name) ?? 0)
            if (used > 0.005) row.threads.set(name, [...(row.threads.get(name) ?? []), used])
          }
          console.error(`round ${round + 1}: ${config.name}, ${load.client}: ${(1000 * cpu / megabytes).toFixed(2)} CPU-ms/MB`)
        }
      } finally {
        await broker.stop()
      }
    }
  }
} finally {
  for (const source of sources) await source.dispose()
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
console.log(`${workload.records} records of 1 KiB (${megabytes.toFixed(0)} MB) per produce, ${rounds} rounds; median broker CPU-ms per MB, and CPU-s by thread (median)`)
console.log(`load average during the runs: ${Math.min(...loadAverages).toFixed(1)}-${Math.max(...loadAverages).toFixed(1)}`)
console.log('| broker | client | CPU-ms/MB | records/s | by thread (CPU-s) |\n|---|---|---:|---:|---|')
for (const row of rows.values()) {
  const threads = [...row.threads].filter(([, values]) => values.length * 2 > rounds).map(([name, values]) => `${name} ${median(values).toFixed(2)}`).join(', ')
  console.log(`| ${row.broker} | ${row.client} | ${median(row.cpuMsPerMb).toFixed(2)} | ${Math.round(median(row.rates)).toLocaleString('en-US')} | ${threads} |`)
}
