// The result file every family runner writes, the allowlist next to it, and how the two are judged.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isScenarioName, scenarioNames, type ScenarioName } from './scenarios.ts'

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
export const compatRoot = join(repoRoot, 'compat-tests')

export type ScenarioStatus = 'pass' | 'fail' | 'skip'

export interface ScenarioResult {
  status: ScenarioStatus
  detail: string
  durationMs?: number
}

export interface FamilyResult {
  family: string
  client: string
  version: string
  date: string
  scenarios: Partial<Record<ScenarioName, ScenarioResult>>
}

export type Allowlist = Partial<Record<ScenarioName, string>>

export function familyDir(family: string): string {
  return join(compatRoot, family)
}

export function resultsPath(family: string): string {
  return process.env.ZOMBI_COMPAT_RESULTS ?? join(familyDir(family), 'results/latest.json')
}

export async function writeResults(result: FamilyResult, path = resultsPath(result.family)): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, JSON.stringify(result, null, 2) + '\n')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Parses and checks a results file; throws with the reason when it is not one. */
export function parseResults(text: string, source: string): FamilyResult {
  const parsed: unknown = JSON.parse(text)
  if (!isObject(parsed)) throw new Error(`${source}: not a JSON object`)
  for (const field of ['family', 'client', 'version', 'date'] as const) {
    if (typeof parsed[field] !== 'string') throw new Error(`${source}: "${field}" must be a string`)
  }
  if (!isObject(parsed.scenarios)) throw new Error(`${source}: "scenarios" must be an object`)
  const scenarios: Partial<Record<ScenarioName, ScenarioResult>> = {}
  for (const [name, entry] of Object.entries(parsed.scenarios)) {
    if (!isScenarioName(name)) throw new Error(`${source}: unknown scenario "${name}" (known: ${scenarioNames.join(', ')})`)
    if (!isObject(entry) || !['pass', 'fail', 'skip'].includes(entry.status as string) || typeof entry.detail !== 'string') {
      throw new Error(`${source}: scenario "${name}" needs {"status": "pass"|"fail"|"skip", "detail": string}`)
    }
    scenarios[name] = {
      status: entry.status as ScenarioStatus,
      detail: entry.detail,
      ...(typeof entry.durationMs === 'number' ? { durationMs: entry.durationMs } : {}),
    }
  }
  return {
    family: parsed.family as string,
    client: parsed.client as string,
    version: parsed.version as string,
    date: parsed.date as string,
    scenarios,
  }
}

export function readResults(path: string): FamilyResult {
  return parseResults(readFileSync(path, 'utf8'), path)
}

/** A family's allowlist.json ({} when the file is absent). */
export function readAllowlist(family: string): Allowlist {
  const path = join(familyDir(family), 'allowlist.json')
  if (!existsSync(path)) return {}
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'))
  if (!isObject(parsed)) throw new Error(`${path}: not a JSON object`)
  const allowlist: Allowlist = {}
  for (const [name, why] of Object.entries(parsed)) {
    if (!isScenarioName(name)) throw new Error(`${path}: unknown scenario "${name}"`)
    if (typeof why !== 'string' || why.trim() === '') throw new Error(`${path}: "${name}" needs a reason`)
    allowlist[name] = why
  }
  return allowlist
}

export type Verdict = 'ok' | 'known-failure' | 'unexpected-failure' | 'allowlisted-but-passes' | 'skipped'

export interface JudgedScenario {
  scenario: ScenarioName
  result: ScenarioResult
  verdict: Verdict
  allowlistReason?: string
}

/** Judges every scenario of the list; a missing one counts as a failure. */
export function judge(result: FamilyResult, allowlist: Allowlist): JudgedScenario[] {
  return scenarioNames.map((scenario) => {
    const reported = result.scenarios[scenario]
    const scenarioResult: ScenarioResult = reported ?? { status: 'fail', detail: 'not reported by the family runner' }
    const allowlistReason = allowlist[scenario]
    let verdict: Verdict
    if (scenarioResult.status === 'skip') verdict = 'skipped'
    else if (scenarioResult.status === 'pass') verdict = allowlistReason === undefined ? 'ok' : 'allowlisted-but-passes'
    else verdict = allowlistReason === undefined ? 'unexpected-failure' : 'known-failure'
    return { scenario, result: scenarioResult, verdict, ...(allowlistReason === undefined ? {} : { allowlistReason }) }
  })
}

/** One line per scenario that needs a human's eye, for the runners' summaries. */
export function summarize(family: string, judged: readonly JudgedScenario[]): string[] {
  const lines: string[] = []
  for (const entry of judged) {
    const detail = entry.result.detail.split('\n')[0]!.slice(0, 300)
    if (entry.verdict === 'unexpected-failure') lines.push(`FAIL ${family}/${entry.scenario}: ${detail}`)
    else if (entry.verdict === 'known-failure') lines.push(`known ${family}/${entry.scenario}: ${detail}`)
    else if (entry.verdict === 'allowlisted-but-passes') {
      lines.push(`PASSES ${family}/${entry.scenario} although allowlisted: remove it from compat-tests/${family}/allowlist.json`)
    }
  }
  return lines
}
