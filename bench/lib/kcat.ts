// Load generator on librdkafka through Debian's kcat: produce from a prepared file of one record per
// line, consume from the beginning to the end of the partition. Timings include kcat's start and connect.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { removeOnExit } from './cleanup.ts'
import { fillRecord, recordsPerProducer, type ClientLoad, type Measurement, type Workload } from './scenarios.ts'

const kcatBinary = process.env.KCAT ?? 'kcat'
const timeoutMs = 180_000
/** Records written to the input file per write() call. */
const linesPerChunk = 4096

interface Finished {
  stdout: string
  stderr: string
  seconds: number
}

/**
 * Another librdkafka for kcat than the one Debian links it with: a directory holding `librdkafka.so.1`, put first on
 * LD_LIBRARY_PATH. kcat uses only librdkafka's public C API, whose ABI is kept across 1.x and 2.x.
 */
export interface Librdkafka {
  readonly directory: string
  /** As kcat -V prints it, e.g. "2.16.0". */
  readonly version: string
}

const venvSitePackages = path.resolve(import.meta.dirname, '../../.cache/venv/lib')

/**
 * The librdkafka bundled in confluent-kafka's wheel (.cache/venv, scripts/install-test-deps.sh), for kcat. Debian
 * 12's librdkafka 2.0.2 cannot log in to Apache Kafka 4.x with SCRAM: before 2.6.1 librdkafka put the client nonce
 * twice into the client-final-message (confluentinc/librdkafka#4895), which Kafka 3.x let pass and Kafka 4.x refuses
 * as invalid credentials, as RFC 5802 says it should.
 */
export function wheelLibrdkafka(): Librdkafka {
  const libraries = existsSync(venvSitePackages)
    ? readdirSync(venvSitePackages).flatMap((python) => {
      const libs = path.join(venvSitePackages, python, 'site-packages/confluent_kafka.libs')
      return existsSync(libs) ? readdirSync(libs).filter((name) => /^librdkafka-.*\.so\.1$/.test(name)).map((name) => path.join(libs, name)) : []
    })
    : []
  if (libraries.length !== 1) {
    throw new Error(`expected one librdkafka in confluent-kafka's wheel under ${venvSitePackages}, found ${libraries.length}; run: bash scripts/install-test-deps.sh`)
  }
  const directory = mkdtempSync(path.join(tmpdir(), 'zombi-bench-librdkafka-'))
  removeOnExit(directory)
  symlinkSync(libraries[0]!, path.join(directory, 'librdkafka.so.1'))
  const version = spawnSync(kcatBinary, ['-V'], { encoding: 'utf8', env: kcatEnvironment({ directory, version: '' }) })
  const match = /librdkafka (\S+)/.exec(version.stdout ?? '')
  if (version.status !== 0 || !match) throw new Error(`kcat -V with ${libraries[0]} failed: ${version.stdout}${version.stderr}`)
  return { directory, version: match[1]! }
}

function kcatEnvironment(librdkafka: Librdkafka | undefined): NodeJS.ProcessEnv {
  if (librdkafka === undefined) return process.env
  const inherited = process.env.LD_LIBRARY_PATH
  return { ...process.env, LD_LIBRARY_PATH: inherited ? `${librdkafka.directory}:${inherited}` : librdkafka.directory }
}

/** Runs kcat; rejects with its stderr unless it exits 0 within the timeout. */
function runKcat(args: string[], librdkafka?: Librdkafka): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(kcatBinary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: kcatEnvironment(librdkafka) })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8192) })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`could not run ${kcatBinary}: ${error.message}`))
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const seconds = (performance.now() - started) / 1000
      if (code === 0) resolve({ stdout, stderr, seconds })
      else reject(new Error(`kcat ${args.join(' ')} ended with code ${code}, signal ${signal}: ${stderr.trim().slice(-2000)}`))
    })
  })
}

/** The end offset (high watermark) of partition 0, from kcat's offset query. */
export async function endOffset(bootstrap: string, topic: string, extraArgs: readonly string[] = [], librdkafka?: Librdkafka): Promise<number> {
  const { stdout } = await runKcat(['-Q', '-b', bootstrap, '-t', `${topic}:0:-1`, ...extraArgs], librdkafka)
  const match = / offset (-?\d+)/.exec(stdout)
  if (!match) throw new Error(`kcat -Q printed no offset: ${stdout}`)
  return Number(match[1])
}

/**
 * `extraArgs`: librdkafka settings for every kcat run, e.g. SASL_SSL's (bench/lib/secure.ts); `librdkafka`: run kcat
 * on that library instead of the system's.
 */
export function kcatLoad(workDir: string, extraArgs: readonly string[] = [], librdkafka?: Librdkafka): ClientLoad {
  // One file per producer share: with N producers, N kcat processes each send the same file of records/N lines.
  const inputFile = (workload: Workload): string => path.join(workDir, `kcat-${workload.recordBytes}B-${recordsPerProducer(workload)}.txt`)
  return {
    client: 'kcat',

    async prepare(workload) {
      const file = await open(inputFile(workload), 'w')
      const records = recordsPerProducer(workload)
      try {
        const lineBytes = workload.recordBytes + 1
        for (let first = 0; first < records; first += linesPerChunk) {
          const lines = Math.min(linesPerChunk, records - first)
          const chunk = Buffer.allocUnsafe(lines * lineBytes)
          for (let line = 0; line < lines; line++) {
            const start = line * lineBytes
            fillRecord(chunk.subarray(start, start + workload.recordBytes), first + line)
            chunk[start + workload.recordBytes] = 0x0a
          }
          await file.write(chunk)
        }
        // Written back now, so that flushing this file does not compete with the first broker's fsyncs.
        await file.sync()
      } finally {
        await file.close()
      }
    },

    async produce(bootstrap, topic, workload): Promise<Measurement> {
      // acks=all and a 5 ms linger: many records per batch, the ack only after the broker's durability point.
      const args = [
        '-P', '-b', bootstrap, '-t', topic, '-p', '0',
        '-X', 'acks=all', '-X', 'linger.ms=5', '-X', 'message.timeout.ms=60000',
        '-X', `compression.codec=${workload.compression ?? 'none'}`,
        '-l', inputFile(workload), ...extraArgs,
      ]
      // N producers are N kcat processes started together; the time is from the first start to the last exit.
      const started = performance.now()
      await Promise.all(Array.from({ length: workload.producers ?? 1 }, () => runKcat(args, librdkafka)))
      const seconds = (performance.now() - started) / 1000
      const stored = await endOffset(bootstrap, topic, extraArgs, librdkafka)
      if (stored !== workload.records) throw new Error(`kcat produced ${workload.records} records but the partition ends at offset ${stored}`)
      return { records: workload.records, bytes: workload.records * workload.recordBytes, seconds }
    },

    async fetch(bootstrap, topic, workload): Promise<Measurement> {
      let seconds = 0
      for (let pass = 0; pass < workload.fetchPasses; pass++) {
        // An empty format prints nothing per record; the end-of-partition notice on stderr says how far it read.
        // fetch.wait.max.ms=10: the empty long poll that tells librdkafka it reached the end costs 10 ms, not 500.
        const result = await runKcat([
          '-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '',
          '-X', 'fetch.wait.max.ms=10', ...extraArgs,
        ], librdkafka)
        const reached = /Reached end of topic .* at offset (\d+)/.exec(result.stderr)
        if (!reached) throw new Error(`kcat did not report the end of the partition: ${result.stderr.trim()}`)
        if (Number(reached[1]) !== workload.records) throw new Error(`kcat read up to offset ${reached[1]}, expected ${workload.records}`)
        seconds += result.seconds
      }
      const records = workload.records * workload.fetchPasses
      return { records, bytes: records * workload.recordBytes, seconds }
    },
  }
}
