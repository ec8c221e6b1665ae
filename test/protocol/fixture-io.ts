// Shared by the fixture test and the fixture maker: the fixture file format and message
// normalisation (what a message looks like after a round trip through one version).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ZERO_UUID } from '../../src/protocol/reader.ts'

export interface FieldDef {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  default?: number | string | boolean | null
  fields?: FieldDef[]
}

export interface MessageDef {
  name: string
  apiKey: number
  versions: string
  request: FieldDef[]
  response: FieldDef[]
}

export type Side = 'request' | 'response'

export interface FixtureCase {
  side: Side
  version: number
  /** Where the bytes come from and what checked them. */
  source: string
  hex: string
  /** The decoded message; Buffers are written as { "$bytes": "<hex>" }. */
  value: unknown
}

export interface FixtureFile {
  api: string
  cases: FixtureCase[]
}

export const fixturesDir = join(import.meta.dirname, 'fixtures', 'api')
const messagesDir = join(import.meta.dirname, '..', '..', 'protocol', 'messages')

export function loadDefs(): Map<string, MessageDef> {
  const defs = new Map<string, MessageDef>()
  for (const f of readdirSync(messagesDir)) {
    const def = JSON.parse(readFileSync(join(messagesDir, f), 'utf8')) as MessageDef
    defs.set(def.name, def)
  }
  return defs
}

export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()
}

export function inRange(spec: string | undefined, version: number): boolean {
  if (spec === undefined || spec === 'none') return false
  const plus = /^(\d+)\+$/.exec(spec)
  if (plus) return version >= Number(plus[1])
  const [lo, hi] = spec.split('-').map(Number)
  return version >= lo! && version <= (hi ?? lo)!
}

/** The value a reader fills in for a field absent from a version. */
export function defaultValue(f: FieldDef): unknown {
  if (f.default !== undefined) return f.default
  if (f.type.startsWith('[]')) return []
  if (f.fields !== undefined) return f.taggedVersions !== undefined ? null : normalize(f.fields, {}, -1)
  switch (f.type) {
    case 'bool': return false
    case 'string': return ''
    case 'uuid': return ZERO_UUID
    case 'bytes': return f.nullableVersions !== undefined ? null : Buffer.alloc(0)
    case 'records': return null
    default: return 0
  }
}

/** Keeps the fields of `value` that exist in `version` and puts defaults in the others. */
export function normalize(fields: FieldDef[], value: Record<string, unknown>, version: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const v = value[f.name]
    if (version < 0 || !inRange(f.versions, version) || v === undefined) {
      out[f.name] = defaultValue(f)
    } else if (f.fields !== undefined && v !== null) {
      out[f.name] = Array.isArray(v)
        ? v.map((item) => normalize(f.fields!, item as Record<string, unknown>, version))
        : normalize(f.fields, v as Record<string, unknown>, version)
    } else {
      out[f.name] = v
    }
  }
  return out
}

export function toJson(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { $bytes: value.toString('hex') }
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]))
  }
  return value
}

export function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson)
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    if (typeof record.$bytes === 'string' && Object.keys(record).length === 1) return Buffer.from(record.$bytes, 'hex')
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fromJson(v)]))
  }
  return value
}

export function loadFixtures(): FixtureFile[] {
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(fixturesDir, f), 'utf8')) as FixtureFile)
}
