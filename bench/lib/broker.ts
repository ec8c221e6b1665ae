// What the bench needs from any broker it measures (Zombi now, Apache Kafka in issue 8), and how it
// reads that broker process's CPU time and peak memory from /proc.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

/** A broker configuration the bench can start fresh (new data dir) for each round. */
export interface BrokerUnderTest {
  /** Short label for tables, e.g. `zombi fsync`. */
  readonly name: string
  /** The settings that make this configuration, for the results file. */
  readonly settings: Readonly<Record<string, string>>
  start(): Promise<RunningBroker>
}

export interface RunningBroker {
  /** `host:port` for Kafka clients (the SASL_SSL listener when the broker has one). */
  readonly bootstrap: string
  /** With a SASL_SSL `bootstrap`: the PLAINTEXT listener the bench creates topics through (untimed). */
  readonly adminBootstrap?: string
  /** Zombi only: the base URL of its HTTP API. */
  readonly httpUrl?: string
  /** The process whose CPU and memory are measured (for a JVM, the java process). */
  readonly pid: number
  /**
   * Finishes the background work a load left behind (Zombi: flush every table to Iceberg) and waits until
   * the process is idle, so the next measurement does not pay for the previous one. Untimed.
   */
  settle(): Promise<void>
  /**
   * Zombi only: commits what `topic` holds beyond its table to Iceberg now and reports the rows and the time it
   * took (the flush rate beside the produce rate of the same run).
   */
  flushTable?(topic: string): Promise<{ rows: number; seconds: number }>
  /** SIGTERM, wait for the exit and remove the data dir; rejects if the exit was not clean. */
  stop(): Promise<void>
}

export interface ProcessUsage {
  /** User + system CPU time since the process started. */
  cpuSeconds: number
  /** Peak resident set size (VmHWM). */
  peakRssBytes: number
}

let ticksPerSecond: number | undefined

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux we run on. */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
    const value = Number(probe.stdout?.trim())
    ticksPerSecond = probe.status === 0 && value > 0 ? value : 100
  }
  return ticksPerSecond
}

/** Reads the usage of a live process; Linux only. */
export function readProcessUsage(pid: number): ProcessUsage {
  const fields = statFields(pid)
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond()
  const earlier = earlierPeaks.get(processKey(pid, fields)) ?? 0
  return { cpuSeconds, peakRssBytes: Math.max(readHighWaterMark(pid), earlier) }
}

/** The fields of /proc/<pid>/stat from field 3 (state) on. */
function statFields(pid: number): string[] {
  // The command name in field 2 may contain spaces and parentheses, so count fields after the last ')'.
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    throw new Error(`broker process ${pid} is gone`)
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** `pid@start time` (field 22, fields[19] of statFields): names this process even if its pid is reused later. */
function processKey(pid: number, fields: readonly string[]): string {
  return `${pid}@${fields[19]}`
}

/** VmHWM: the peak RSS since the process started or since takeStepPeakRss last reset it. */
function readHighWaterMark(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const peak = /^VmHWM:\s+(\d+) kB$/m.exec(status)
  if (!peak) throw new Error(`/proc/${pid}/status has no VmHWM line`)
  return Number(peak[1]) * 1024
}

/**
 * Per process (`pid@start time`): the highest VmHWM seen before takeStepPeakRss reset it, so readProcessUsage
 * still reports the peak of the process's whole life.
 */
const earlierPeaks = new Map<string, number>()

/**
 * The peak RSS since the previous call (or the process start), and a new window from now: writing 5 to
 * /proc/<pid>/clear_refs sets VmHWM back to the current RSS (Linux 4.0+). Lets a bench say which step made the peak.
 */
export function takeStepPeakRss(pid: number): number {
  const key = processKey(pid, statFields(pid))
  const peak = readHighWaterMark(pid)
  earlierPeaks.set(key, Math.max(peak, earlierPeaks.get(key) ?? 0))
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
  return peak
}

const idlePollMs = 250
/** Below this share of one core over a poll interval, the broker counts as idle. */
const idleCpuShare = 0.05

/**
 * Waits until the process has used (almost) no CPU for two polls in a row, or `timeoutMs` passed.
 * Returns the seconds waited.
 */
export async function waitUntilIdle(pid: number, timeoutMs = 60_000): Promise<number> {
  const started = performance.now()
  let previous = readProcessUsage(pid).cpuSeconds
  let quietPolls = 0
  while (quietPolls < 2 && performance.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, idlePollMs))
    const now = readProcessUsage(pid).cpuSeconds
    quietPolls = now - previous <= (idleCpuShare * idlePollMs) / 1000 ? quietPolls + 1 : 0
    previous = now
  }
  return (performance.now() - started) / 1000
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * SIGTERM, then waits for `exited` up to `timeoutMs` (SIGKILL after it). Throws `failure(...)` if the
 * process had already exited, did not stop in time, or ended with a code outside `cleanCodes`.
 */
export async function stopProcess(child: ChildProcess, exited: Promise<Exit>, timeoutMs: number, cleanCodes: readonly number[], failure: (what: string) => Error): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    const { code, signal } = await exited
    throw failure(`had exited during the round (code ${code}, signal ${signal})`)
  }
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  const outcome = await Promise.race([exited, timeout])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    child.kill('SIGKILL')
    await exited
    throw failure(`did not exit within ${timeoutMs} ms of SIGTERM (killed)`)
  }
  if (outcome.code === null || !cleanCodes.includes(outcome.code)) throw failure(`exited with code ${outcome.code}, signal ${outcome.signal} on SIGTERM`)
}

/**
 * While a start waits for the process's ready line: rejects with `failure(...)` if the process
 * cannot be spawned or exits first (and clears the ready timeout).
 */
export function rejectIfGoneBeforeReady(child: ChildProcess, exited: Promise<Exit>, readyTimer: NodeJS.Timeout, reject: (error: Error) => void, failure: (what: string) => Error): void {
  child.once('error', (error) => {
    clearTimeout(readyTimer)
    reject(failure(`could not be spawned: ${error.message}`))
  })
  void exited.then(({ code, signal }) => {
    clearTimeout(readyTimer)
    reject(failure(`exited before it was ready (code ${code}, signal ${signal})`))
  })
}
