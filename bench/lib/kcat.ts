// Load generator on librdkafka through Debian's kcat: produce from a prepared file of one record per
// line, consume from the beginning to the end of the partition. Timings include kcat's start and connect.
import { spawn } from 'node:child_process'
import { open } from 'node:fs/promises'
import path from 'node:path'
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

/** Runs kcat; rejects with its stderr unless it exits 0 within the timeout. */
function runKcat(args: string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(kcatBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
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
export async function endOffset(bootstrap: string, topic: string, extraArgs: readonly string[] = []): Promise<number> {
  const { stdout } = await runKcat(['-Q', '-b', bootstrap, '-t', `${topic}:0:-1`, ...extraArgs])
  const match = / offset (-?\d+)/.exec(stdout)
  if (!match) throw new Error(`kcat -Q printed no offset: ${stdout}`)
  return Number(match[1])
}

/** `extraArgs`: librdkafka settings for every kcat run, e.g. SASL_SSL's (bench/lib/secure.ts). */
export function kcatLoad(workDir: string, extraArgs: readonly string[] = []): ClientLoad {
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
      await Promise.all(Array.from({ length: workload.producers ?? 1 }, () => runKcat(args)))
      const seconds = (performance.now() - started) / 1000
      const stored = await endOffset(bootstrap, topic, extraArgs)
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
        ])
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
