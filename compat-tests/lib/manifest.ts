// Family discovery: every compat-tests/<folder>/family.json is a family (see compat-tests/README.md).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compatRoot } from './results.ts'

export interface FamilyManifest {
  name: string
  client: string
  run: string[]
  setup?: string[]
  ci: boolean
  timeoutSeconds: number
}

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')
}

export function parseManifest(text: string, folder: string): FamilyManifest {
  const path = `compat-tests/${folder}/family.json`
  const parsed = JSON.parse(text) as Record<string, unknown>
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${path}: not a JSON object`)
  if (parsed.name !== folder) throw new Error(`${path}: "name" must be the folder name "${folder}"`)
  if (typeof parsed.client !== 'string' || parsed.client === '') throw new Error(`${path}: "client" must be a string`)
  if (!stringArray(parsed.run)) throw new Error(`${path}: "run" must be a non-empty array of strings`)
  if (parsed.setup !== undefined && !stringArray(parsed.setup)) throw new Error(`${path}: "setup" must be a non-empty array of strings`)
  if (parsed.ci !== undefined && typeof parsed.ci !== 'boolean') throw new Error(`${path}: "ci" must be a boolean`)
  if (parsed.timeoutSeconds !== undefined && (typeof parsed.timeoutSeconds !== 'number' || parsed.timeoutSeconds <= 0)) {
    throw new Error(`${path}: "timeoutSeconds" must be a positive number`)
  }
  return {
    name: folder,
    client: parsed.client,
    run: parsed.run,
    ...(parsed.setup === undefined ? {} : { setup: parsed.setup as string[] }),
    ci: (parsed.ci as boolean | undefined) ?? true,
    timeoutSeconds: (parsed.timeoutSeconds as number | undefined) ?? 300,
  }
}

/** Every family, sorted by name. */
export function discoverFamilies(): FamilyManifest[] {
  return readdirSync(compatRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(compatRoot, entry.name, 'family.json')))
    .map((entry) => parseManifest(readFileSync(join(compatRoot, entry.name, 'family.json'), 'utf8'), entry.name))
    .sort((a, b) => a.name.localeCompare(b.name))
}
