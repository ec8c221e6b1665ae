// npm run compat: runs every client family of compat-tests/ (two at a time), judges the results
// against each family's allowlist, rewrites the matrix in docs/compat.md, and exits non-zero on any
// unexpected failure. See compat-tests/README.md.
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { discoverFamilies, type FamilyManifest } from './lib/manifest.ts'
import { writeMatrix, type MatrixEntry } from './lib/matrix.ts'
import { familyDir, judge, readAllowlist, readResults, repoRoot, summarize, writeResults, type FamilyResult, type JudgedScenario } from './lib/results.ts'
import { scenarioNames } from './lib/scenarios.ts'

interface Options {
  families: string[]
  ci: boolean
  docs: boolean
  parallel: number
}

function parseArguments(argv: readonly string[]): Options {
  const options: Options = { families: [], ci: false, docs: true, parallel: 2 }
  for (const argument of argv) {
    if (argument === '--ci') options.ci = true
    else if (argument === '--no-docs') options.docs = false
    else if (argument.startsWith('--parallel=')) options.parallel = Math.max(1, Number(argument.slice('--parallel='.length)) || 1)
    else if (argument.startsWith('-')) throw new Error(`unknown option ${argument} (known: --ci, --no-docs, --parallel=N, family names)`)
    else options.families.push(argument)
  }
  return options
}

interface Outcome {
  manifest: FamilyManifest
  result: FamilyResult
  judged: JudgedScenario[]
  /** Why the runner itself failed, if it did. */
  runnerError?: string
  durationMs: number
}

/** Runs argv with the repo root as cwd, output appended to `logPath`; resolves with the exit or a timeout. */
function runLogged(argv: readonly string[], logPath: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; timedOut: boolean }> {
  const [first, ...rest] = argv
  // "node" is the Node running the harness (Node 24 from the devDependency), not whatever is on PATH.
  const command = first === 'node' ? process.execPath : first!
  return new Promise((resolveRun) => {
    const log = createWriteStream(logPath)
    // A process group of its own, so a timeout kills the family's broker and client processes too.
    const child = spawn(command, rest, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    child.stdout.pipe(log, { end: false })
    child.stderr.pipe(log, { end: false })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      log.end(`\ncould not start ${command}: ${error.message}\n`)
      resolveRun({ code: null, signal: null, timedOut: false })
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      log.end()
      resolveRun({ code, signal, timedOut })
    })
  })
}

function failedEverywhere(manifest: FamilyManifest, why: string): FamilyResult {
  return {
    family: manifest.name,
    client: manifest.client,
    version: 'unknown',
    date: new Date().toISOString(),
    scenarios: Object.fromEntries(scenarioNames.map((scenario) => [scenario, { status: 'fail', detail: why }])),
  }
}

async function runFamily(manifest: FamilyManifest): Promise<Outcome> {
  const started = Date.now()
  const resultsDir = join(familyDir(manifest.name), 'results')
  const resultsFile = join(resultsDir, 'latest.json')
  await mkdir(resultsDir, { recursive: true })
  await rm(resultsFile, { force: true })
  const env = { ...process.env, ZOMBI_COMPAT_RESULTS: resultsFile }
  const finish = async (result: FamilyResult, runnerError?: string): Promise<Outcome> => {
    if (runnerError !== undefined) await writeResults(result, resultsFile)
    return { manifest, result, judged: judge(result, readAllowlist(manifest.name)), ...(runnerError === undefined ? {} : { runnerError }), durationMs: Date.now() - started }
  }
  if (manifest.setup) {
    const setup = await runLogged(manifest.setup, join(resultsDir, 'setup.log'), 30 * 60_000, env)
    if (setup.code !== 0) {
      const why = `setup (${manifest.setup.join(' ')}) ${setup.timedOut ? 'timed out' : `exited with ${setup.code ?? setup.signal}`}; see compat-tests/${manifest.name}/results/setup.log`
      return finish(failedEverywhere(manifest, why), why)
    }
  }
  const run = await runLogged(manifest.run, join(resultsDir, 'run.log'), manifest.timeoutSeconds * 1000, env)
  const logHint = `see compat-tests/${manifest.name}/results/run.log`
  if (run.timedOut) {
    const why = `runner killed after ${manifest.timeoutSeconds} s; ${logHint}`
    const partial = existsSync(resultsFile) ? readResults(resultsFile) : failedEverywhere(manifest, why)
    return finish(partial, why)
  }
  if (run.code !== 0) {
    const why = `runner exited with ${run.code ?? run.signal}; ${logHint}`
    return finish(failedEverywhere(manifest, why), why)
  }
  try {
    return await finish(readResults(resultsFile))
  } catch (error) {
    const why = `no valid results (${error instanceof Error ? error.message : String(error)}); ${logHint}`
    return finish(failedEverywhere(manifest, why), why)
  }
}

async function runPool<T, R>(items: readonly T[], parallel: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker))
  return results
}

function count(judged: readonly JudgedScenario[], verdict: JudgedScenario['verdict']): number {
  return judged.filter((entry) => entry.verdict === verdict).length
}

async function main(): Promise<number> {
  const options = parseArguments(process.argv.slice(2))
  const all = discoverFamilies()
  const unknown = options.families.filter((name) => !all.some((family) => family.name === name))
  if (unknown.length > 0) throw new Error(`unknown families ${unknown.join(', ')} (known: ${all.map((family) => family.name).join(', ')})`)
  const everything = process.env.ZOMBI_COMPAT_ALL === '1'
  const selected = all.filter((family) =>
    (options.families.length === 0 || options.families.includes(family.name)) && (!options.ci || family.ci || everything))
  const skippedForCi = all.filter((family) => options.ci && !family.ci && !everything && !selected.includes(family))
  console.log(`compat: running ${selected.map((family) => family.name).join(', ')} (${options.parallel} at a time)` +
    (skippedForCi.length > 0 ? `; not in CI: ${skippedForCi.map((family) => family.name).join(', ')}` : ''))

  const outcomes = await runPool(selected, options.parallel, async (manifest) => {
    const outcome = await runFamily(manifest)
    const { judged } = outcome
    console.log(`compat: ${manifest.name} ${outcome.result.version}: ${count(judged, 'ok') + count(judged, 'allowlisted-but-passes')} pass, ` +
      `${count(judged, 'known-failure')} known failure, ${count(judged, 'unexpected-failure')} unexpected failure, ${count(judged, 'skipped')} skip ` +
      `in ${(outcome.durationMs / 1000).toFixed(1)} s${outcome.runnerError ? ` (runner: ${outcome.runnerError})` : ''}`)
    for (const line of summarize(manifest.name, judged)) console.log(`  ${line}`)
    return outcome
  })

  if (options.docs) {
    // Families not run this time keep their last results in the matrix.
    const entries: MatrixEntry[] = []
    for (const manifest of all) {
      const outcome = outcomes.find((candidate) => candidate.manifest.name === manifest.name)
      if (outcome) {
        entries.push({ result: outcome.result, judged: outcome.judged })
        continue
      }
      const previous = join(familyDir(manifest.name), 'results/latest.json')
      if (!existsSync(previous)) continue
      try {
        const result = readResults(previous)
        entries.push({ result, judged: judge(result, readAllowlist(manifest.name)) })
      } catch {
        // An unreadable old result is left out of the matrix rather than guessed at.
      }
    }
    writeMatrix(entries)
    console.log('compat: wrote the matrix in docs/compat.md')
  }

  const judgedAll = outcomes.flatMap((outcome) => outcome.judged)
  const unexpected = count(judgedAll, 'unexpected-failure')
  const runnerErrors = outcomes.filter((outcome) => outcome.runnerError !== undefined).length
  console.log(`compat: ${outcomes.length} families, ${count(judgedAll, 'ok') + count(judgedAll, 'allowlisted-but-passes')} scenarios ok, ` +
    `${count(judgedAll, 'known-failure')} known failures, ${count(judgedAll, 'skipped')} skipped, ${unexpected} unexpected failures, ` +
    `${runnerErrors} runner errors, ${count(judgedAll, 'allowlisted-but-passes')} allowlisted but passing`)
  return unexpected > 0 || runnerErrors > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`compat: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(2)
  },
)
