// Load generators from Apache Kafka itself: org.apache.kafka.tools.ProducerPerformance and ConsumerPerformance
// (kafka-producer-perf-test / kafka-consumer-perf-test), each run in its own JVM with the tools' default client
// settings, as Kafka's scripts run them. Timings are the tools' own (JVM start and connect excluded).
import { randomUUID } from 'node:crypto'
import { existsSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { endOffset } from './kcat.ts'
import { javaArgs, spawnJava } from './kafka.ts'
import { javaVersion } from './machine.ts'
import { recordsPerProducer, type ClientLoad, type LatencyLoad, type Measurement, type Workload } from './scenarios.ts'

const timeoutMs = 180_000
/** The perf scripts' KAFKA_HEAP_OPTS. */
const toolJvmOptions = ['-Xmx512M']
/**
 * --quick times nothing, so its tools skip the optimizing JIT: a 2,000-record ProducerPerformance then takes
 * 1.2 s instead of 2.3 s here, and a quick run makes dozens of them.
 */
const quickToolJvmOptions = [...toolJvmOptions, '-XX:TieredStopAtLevel=1']

let classArchive: string | undefined

/**
 * A class-data-sharing archive of the tools' classes (next to the jars, one per JDK), which takes ~0.6 s off every
 * tool start (1.4 s -> 0.8 s here). The first tool run that finds none writes one to a temporary name and renames
 * it when it exits, so concurrent first runs cannot leave a torn archive. Startup only: it changes no timing.
 */
function classDataSharing(libs: string): { options: string[]; done(ok: boolean): void } {
  classArchive ??= path.join(path.dirname(libs), `tools-${javaVersion().replace(/\W+/g, '_')}.jsa`)
  const archive = classArchive
  if (existsSync(archive)) return { options: [`-XX:SharedArchiveFile=${archive}`], done() {} }
  const written = `${archive}.${randomUUID()}`
  return {
    options: [`-XX:ArchiveClassesAtExit=${written}`],
    done(ok) {
      try {
        if (ok && existsSync(written)) renameSync(written, archive)
      } finally {
        rmSync(written, { force: true })
      }
    },
  }
}

/** Runs one Kafka tool and returns its stdout; rejects with its output unless it exits 0 in time. */
function runTool(libs: string, quick: boolean, mainClass: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sharing = classDataSharing(libs)
    const child = spawnJava(javaArgs(libs, [...(quick ? quickToolJvmOptions : toolJvmOptions), ...sharing.options], mainClass, args))
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8192) })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`could not run java: ${error.message}`))
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      sharing.done(code === 0)
      if (code === 0) resolve(stdout)
      else reject(new Error(`${mainClass} ended with code ${code}, signal ${signal}: ${(stderr + stdout).trim().slice(-2000)}`))
    })
  })
}

interface ProducerSummary {
  records: number
  recordsPerSecond: number
  p50Ms: number
  p99Ms: number
  p999Ms: number
}

// ProducerPerformance's last line: `N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
// P ms 50th, P ms 95th, P ms 99th, P ms 99.9th.`
const summaryLine = /(\d+) records sent, ([\d.]+) records\/sec .* ([\d.]+) ms 50th, [\d.]+ ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99\.9th/

async function producerPerformance(libs: string, quick: boolean, bootstrap: string, topic: string, records: number, recordBytes: number, throughput: number, compression: string): Promise<ProducerSummary> {
  const stdout = await runTool(libs, quick, 'org.apache.kafka.tools.ProducerPerformance', [
    '--bootstrap-server', bootstrap, '--topic', topic, '--num-records', String(records), '--record-size', String(recordBytes),
    '--throughput', String(throughput), '--command-property', 'acks=all', `compression.type=${compression}`,
  ])
  const match = summaryLine.exec(stdout)
  if (!match) throw new Error(`ProducerPerformance printed no summary: ${stdout.trim().slice(-2000)}`)
  return { records: Number(match[1]), recordsPerSecond: Number(match[2]), p50Ms: Number(match[3]), p99Ms: Number(match[4]), p999Ms: Number(match[5]) }
}

export function javaToolsLoad(libs: string, quick: boolean): ClientLoad {
  return {
    client: 'kafka-tools (Java)',

    async prepare() {},

    async produce(bootstrap, topic, workload): Promise<Measurement> {
      // N producers are N ProducerPerformance JVMs; the rate is all records over the longest one's own time.
      const share = recordsPerProducer(workload)
      const summaries = await Promise.all(Array.from({ length: workload.producers ?? 1 }, () =>
        producerPerformance(libs, quick, bootstrap, topic, share, workload.recordBytes, -1, workload.compression ?? 'none')))
      const seconds = Math.max(...summaries.map((summary) => summary.records / summary.recordsPerSecond))
      const stored = await endOffset(bootstrap, topic)
      if (stored !== workload.records) throw new Error(`ProducerPerformance sent ${workload.records} records but the partition ends at offset ${stored}`)
      // Latency percentiles mean something for one producer only (N JVMs' percentiles do not combine).
      const [only] = summaries
      const latency = summaries.length === 1 && only ? { p50Ms: only.p50Ms, p99Ms: only.p99Ms, p999Ms: only.p999Ms } : undefined
      return { records: workload.records, bytes: workload.records * workload.recordBytes, seconds, ...(latency ? { latency } : {}) }
    },

    async fetch(bootstrap, topic, workload: Workload): Promise<Measurement> {
      let seconds = 0
      for (let pass = 0; pass < workload.fetchPasses; pass++) {
        // A fresh group each pass starts from the beginning (the tool's auto.offset.reset is earliest).
        const stdout = await runTool(libs, quick, 'org.apache.kafka.tools.ConsumerPerformance', [
          '--bootstrap-server', bootstrap, '--topic', topic, '--num-records', String(workload.records),
          '--group', `zombi-bench-${process.pid}-${Date.now()}-${pass}`, '--timeout', '30000', '--hide-header',
        ])
        // start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
        // Log lines share stdout with the stats, so take the last line that has the stats' ten fields.
        const fields = stdout.split('\n').map((line) => line.split(',')).filter((line) => line.length === 10).at(-1)?.map((field) => field.trim()) ?? []
        const consumed = Number(fields[4])
        const fetchMs = Number(fields[7])
        if (!(consumed >= workload.records) || !(fetchMs > 0)) throw new Error(`ConsumerPerformance read ${fields[4]} of ${workload.records} records: ${stdout.trim().slice(-2000)}`)
        // fetch.time.ms: from the group assignment to the last record, i.e. without the join, which is a group
        // coordinator cost and not a fetch cost.
        seconds += fetchMs / 1000
      }
      const records = workload.records * workload.fetchPasses
      return { records, bytes: records * workload.recordBytes, seconds }
    },
  }
}

/** ProducerPerformance throttled to a rate: send-to-ack latency percentiles of Kafka's own producer. */
export function javaAckLatencyLoad(libs: string, quick: boolean): LatencyLoad {
  return {
    client: 'kafka-tools (Java)',
    measures: 'send to ack',
    async run(bootstrap, topic, recordBytes, ratePerSecond, seconds) {
      const records = Math.max(1, Math.round(ratePerSecond * seconds))
      const summary = await producerPerformance(libs, quick, bootstrap, topic, records, recordBytes, Math.max(1, Math.round(ratePerSecond)), 'none')
      return {
        records, bytes: records * recordBytes, seconds: records / summary.recordsPerSecond,
        latency: { p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, p999Ms: summary.p999Ms },
      }
    },
  }
}
