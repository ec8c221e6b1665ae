// Starts Zombi (node src/main.ts) on loopback, ephemeral ports and a fresh temp data dir, the way
// test/e2e/fixtures/broker.ts does, but keeping the pid so the bench can read /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { rejectIfGoneBeforeReady, stopProcess, waitUntilIdle, type BrokerUnderTest, type RunningBroker } from './broker.ts'
import { removeOnExit } from './cleanup.ts'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const readyTimeoutMs = 30_000
const stopTimeoutMs = 30_000
/** Broker output kept for error messages; older text is dropped. */
const maxOutputChars = 64 * 1024

/** A frozen copy of the broker's code that every round of one invocation runs. */
export interface ZombiSource {
  readonly main: string
  /** The commit it came from, `-dirty` if uncommitted edits were included. */
  readonly revision: string
  dispose(): Promise<void>
}

function git(args: string[]): string {
  const result = spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout.trim()
}

/**
 * Copies src/ next to a link to node_modules, so that every round runs the same code even while someone
 * edits the shared working tree during a minutes-long benchmark. `revision` is a git revision (HEAD by
 * default: reproducible, and never someone's half-written change) or `worktree` for src/ as it is on disk.
 */
export async function snapshotZombi(revision: string): Promise<ZombiSource> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-source-'))
  const kept = removeOnExit(dir)
  const remove = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true })
    kept()
  }
  try {
    const revisionLabel = await copySource(revision, dir)
    await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
    return { main: path.join(dir, 'src/main.ts'), revision: revisionLabel, dispose: remove }
  } catch (error) {
    await remove()
    throw error
  }
}

/** Puts src/ and package.json of `revision` into `dir`; returns the short commit (with -dirty for an edited worktree). */
async function copySource(revision: string, dir: string): Promise<string> {
  if (revision === 'worktree') {
    await cp(path.join(repoRoot, 'src'), path.join(dir, 'src'), { recursive: true })
    await cp(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'))
    const dirty = git(['status', '--porcelain', '--', 'src', 'package.json']) !== ''
    return git(['rev-parse', '--short', 'HEAD']) + (dirty ? '-dirty' : '')
  }
  const commit = git(['rev-parse', '--short', `${revision}^{commit}`])
  const archive = path.join(dir, 'source.tar')
  git(['archive', '--format=tar', '-o', archive, commit, 'src', 'package.json'])
  const untar = spawnSync('tar', ['-xf', archive, '-C', dir], { encoding: 'utf8' })
  if (untar.status !== 0) throw new Error(`tar -xf ${archive} failed: ${untar.stderr}`)
  await rm(archive)
  return commit
}

/** Zombi with `settings` (ZOMBI_* names) over bench defaults; the parent's ZOMBI_* variables are ignored. */
export function zombi(source: ZombiSource, name: string, settings: Record<string, string>): BrokerUnderTest {
  return { name, settings, start: () => startZombi(source.main, settings) }
}

function childEnvironment(settings: Record<string, string>, dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ZOMBI_')) env[key] = value
  }
  return {
    ...env,
    ZOMBI_HOST: '127.0.0.1',
    // ZOMBI_LISTENERS names every Kafka port itself.
    ...(settings.ZOMBI_LISTENERS === undefined ? { ZOMBI_KAFKA_PORT: '0' } : {}),
    ZOMBI_PORT: '0',
    // info: the ready line is logged at info; Zombi logs per connection, not per request.
    ZOMBI_LOG_LEVEL: 'info',
    ...settings,
    ZOMBI_DATA_DIR: dataDir,
  }
}

const liveChildren = new Set<ChildProcess>()
// A bench that exits early (a failure, process.exit) must not leave brokers behind.
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL')
})

interface Ports {
  kafkaPort: number
  httpPort: number
  /** Bound port of each listener by name (ZOMBI_LISTENERS). */
  listeners: Record<string, number>
}

function readyPorts(line: string): Ports | undefined {
  try {
    const ready = JSON.parse(line) as { kafkaPort?: unknown; httpPort?: unknown; listeners?: unknown }
    if (typeof ready.kafkaPort !== 'number' || typeof ready.httpPort !== 'number') return undefined
    const listeners: Record<string, number> = {}
    // A revision older than named listeners (--revision) logs none: its one listener is kafkaPort.
    if (Array.isArray(ready.listeners)) for (const { name, port } of ready.listeners as { name: string; port: number }[]) listeners[name] = port
    return { kafkaPort: ready.kafkaPort, httpPort: ready.httpPort, listeners }
  } catch {
    return undefined
  }
}

/** Flushes every table to Iceberg through the HTTP API (each answer comes once its commit is done). */
async function flushAllTables(httpUrl: string): Promise<void> {
  const listing = await fetch(`${httpUrl}/tables`)
  if (!listing.ok) throw new Error(`GET /tables: HTTP ${listing.status} ${await listing.text()}`)
  const { tables } = (await listing.json()) as { tables: { name: string }[] }
  for (const { name } of tables) {
    const flushed = await fetch(`${httpUrl}/tables/${encodeURIComponent(name)}/flush`, { method: 'POST' })
    if (!flushed.ok) throw new Error(`POST /tables/${name}/flush: HTTP ${flushed.status} ${await flushed.text()}`)
  }
}

/** POST /tables/{t}/flush, timed; its answer comes once the commit is done and says how many rows it committed. */
async function flushTable(httpUrl: string, table: string): Promise<{ rows: number; seconds: number }> {
  const started = performance.now()
  const flushed = await fetch(`${httpUrl}/tables/${encodeURIComponent(table)}/flush`, { method: 'POST' })
  if (!flushed.ok) throw new Error(`POST /tables/${table}/flush: HTTP ${flushed.status} ${await flushed.text()}`)
  const { rows } = (await flushed.json()) as { rows: number }
  return { rows, seconds: (performance.now() - started) / 1000 }
}

/** A started Zombi process, with what the fault scenarios (bench/faults/) do to it besides a clean stop. */
export interface ZombiProcess extends RunningBroker {
  readonly httpUrl: string
  readonly dataDir: string
  /** SIGKILL and wait for the exit; the data dir stays (a caller-owned one is never removed). */
  kill9(): Promise<void>
  /** Sends a signal without waiting for anything (SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void
  /** The process's recent stdout and stderr. */
  output(): string
}

/**
 * Starts Zombi on a fresh temp data dir that stop() removes, or on `options.dataDir`, which stays
 * (the fault scenarios restart on the same one after a kill -9).
 */
export async function startZombi(main: string, settings: Record<string, string>, options: { dataDir?: string } = {}): Promise<ZombiProcess> {
  const ownsDataDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'zombi-bench-')))
  const kept = ownsDataDir ? removeOnExit(dataDir) : () => undefined
  const removeDataDir = async (): Promise<void> => {
    if (!ownsDataDir) return
    await rm(dataDir, { recursive: true, force: true })
    kept()
  }
  // The bench runs on the node@24 devDependency (npm run bench), so the broker runs on the same binary.
  const child = spawn(process.execPath, [main], {
    cwd: path.dirname(path.dirname(main)),
    env: childEnvironment(settings, dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  liveChildren.add(child)
  let output = ''
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-maxOutputChars)
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child)
      resolve({ code, signal })
    })
  })
  const failure = (what: string): Error => new Error(`zombi (${JSON.stringify(settings)}) ${what}; its last output:\n${output}`)
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', keep)
  child.stdout.setEncoding('utf8')

  try {
    const { kafkaPort, httpPort, listeners } = await new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(() => reject(failure(`logged no "zombi ready" within ${readyTimeoutMs} ms`)), readyTimeoutMs)
      // Only lines up to the ready line are parsed; later output is only kept for error messages.
      let pending: string | undefined = ''
      child.stdout.on('data', (chunk: string) => {
        keep(chunk)
        if (pending === undefined) return
        pending += chunk
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
          const line = pending.slice(0, newline)
          pending = pending.slice(newline + 1)
          if (!line.includes('"zombi ready"')) continue
          pending = undefined
          clearTimeout(timer)
          const ports = readyPorts(line)
          if (ports === undefined) reject(failure(`logged a ready line without kafkaPort and httpPort: ${line}`))
          else resolve(ports)
          return
        }
      })
      rejectIfGoneBeforeReady(child, exited, timer, reject, failure)
    })
    return {
      bootstrap: `127.0.0.1:${listeners.SASL_SSL ?? kafkaPort}`,
      ...(listeners.SASL_SSL === undefined ? {} : { adminBootstrap: `127.0.0.1:${listeners.PLAINTEXT ?? kafkaPort}` }),
      httpUrl: `http://127.0.0.1:${httpPort}`,
      dataDir,
      pid: child.pid!,
      async settle() {
        await flushAllTables(`http://127.0.0.1:${httpPort}`)
        await waitUntilIdle(child.pid!)
      },
      flushTable: (topic) => flushTable(`http://127.0.0.1:${httpPort}`, topic),
      async stop() {
        try {
          await stopProcess(child, exited, stopTimeoutMs, [0], failure)
        } finally {
          await removeDataDir()
        }
      },
      async kill9() {
        child.kill('SIGKILL')
        await exited
      },
      signal: (signal) => void child.kill(signal),
      output: () => output,
    }
  } catch (error) {
    child.kill('SIGKILL')
    await exited
    await removeDataDir()
    throw error
  }
}
