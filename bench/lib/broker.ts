// Starts a Zombi process for a benchmark run and reads its CPU time and peak RSS from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const CLOCK_TICKS_PER_SECOND = 100

export interface RunningBroker {
  bootstrap: string
  pid: number
  /** User + system CPU seconds so far. */
  cpuSeconds(): number
  /** Peak resident set size so far, in MiB. */
  peakRssMiB(): number
  stop(): Promise<void>
}

export async function startZombi(settings: Record<string, string>): Promise<RunningBroker> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-'))
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'src/main.ts')], {
    env: { ...process.env, ZOMBI_KAFKA_PORT: '0', ZOMBI_PORT: '0', ZOMBI_DATA_DIR: dataDir, ZOMBI_LOG_LEVEL: 'info', ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const kafkaPort = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const ready = output.split('\n').find((line) => line.includes('"zombi ready"'))
      if (ready !== undefined) resolve((JSON.parse(ready) as { kafkaPort: number }).kafkaPort)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.once('exit', (code) => reject(new Error(`zombi exited (${code}) before it was ready:\n${output}`)))
  })
  const pid = child.pid!
  return {
    bootstrap: `127.0.0.1:${kafkaPort}`,
    pid,
    cpuSeconds() {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
    },
    peakRssMiB() {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))!
      return Number(line.split(/\s+/)[1]) / 1024
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
