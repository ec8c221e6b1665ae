// The registry's rows in the hot store's state (classic-level, written through the group commit: with
// ZOMBI_DURABILITY=fsync a change is fdatasync-ed before its promise resolves, and a torn tail is replayed
// or dropped at start like every other state row). Keys, all under registry/:
//   registry/next-id                         -> the next global id (decimal; ids are never given twice)
//   registry/schema/<id>                     -> {id, schemaType, schema, references}
//   registry/version/<["subject",version]>   -> {subject, version, id, deleted}
//   registry/config/<"subject">              -> {compatibility?, normalize?}
//   registry/global-config                   -> {compatibility?, normalize?}
import { ZombiError } from '../errors.ts'
import type { HotStore, StateWrite } from '../storage/hot-store.ts'
import type { CompatibilityLevel } from './compatibility/index.ts'
import type { RegisteredSchema } from './lookup.ts'

const PREFIX = 'registry/'
const NEXT_ID_KEY = `${PREFIX}next-id`
const SCHEMA_PREFIX = `${PREFIX}schema/`
const VERSION_PREFIX = `${PREFIX}version/`
const CONFIG_PREFIX = `${PREFIX}config/`
const GLOBAL_CONFIG_KEY = `${PREFIX}global-config`

export interface VersionRow {
  subject: string
  version: number
  id: number
  deleted: boolean
}

export interface SubjectConfig {
  compatibility?: CompatibilityLevel
  normalize?: boolean
}

export interface LoadedRegistry {
  nextId: number
  schemas: RegisteredSchema[]
  versions: VersionRow[]
  configs: Map<string, SubjectConfig>
  global: SubjectConfig
}

/** One change to the registry's rows, written as one group-commit batch (all of it or none). */
export class RegistryChange {
  readonly writes: StateWrite[] = []

  nextId(next: number): this {
    this.writes.push({ key: NEXT_ID_KEY, value: Buffer.from(String(next)) })
    return this
  }

  schema(schema: RegisteredSchema): this {
    const { id, schemaType, schema: text, references } = schema
    this.writes.push({ key: `${SCHEMA_PREFIX}${id}`, value: Buffer.from(JSON.stringify({ id, schemaType, schema: text, references })) })
    return this
  }

  dropSchema(id: number): this {
    this.writes.push({ key: `${SCHEMA_PREFIX}${id}`, value: null })
    return this
  }

  version(row: VersionRow): this {
    this.writes.push({ key: versionKey(row.subject, row.version), value: Buffer.from(JSON.stringify(row)) })
    return this
  }

  dropVersion(subject: string, version: number): this {
    this.writes.push({ key: versionKey(subject, version), value: null })
    return this
  }

  config(subject: string | null, config: SubjectConfig | null): this {
    const key = subject === null ? GLOBAL_CONFIG_KEY : `${CONFIG_PREFIX}${JSON.stringify(subject)}`
    this.writes.push({ key, value: config === null ? null : Buffer.from(JSON.stringify(config)) })
    return this
  }
}

function versionKey(subject: string, version: number): string {
  return `${VERSION_PREFIX}${JSON.stringify([subject, version])}`
}

function parseRow<T>(key: string, value: Buffer): T {
  try {
    return JSON.parse(value.toString('utf8')) as T
  } catch (error) {
    throw new ZombiError('STORAGE_CORRUPT', `schema registry row ${key} is not JSON`, { cause: error })
  }
}

/** Reads every registry row back (at start). */
export async function loadRegistry(store: HotStore): Promise<LoadedRegistry> {
  const loaded: LoadedRegistry = { nextId: 1, schemas: [], versions: [], configs: new Map(), global: {} }
  for (const { key, value } of await store.scanState(PREFIX)) {
    if (key === NEXT_ID_KEY) loaded.nextId = Number(value.toString('utf8'))
    else if (key === GLOBAL_CONFIG_KEY) loaded.global = parseRow<SubjectConfig>(key, value)
    else if (key.startsWith(SCHEMA_PREFIX)) loaded.schemas.push(parseRow<RegisteredSchema>(key, value))
    else if (key.startsWith(VERSION_PREFIX)) loaded.versions.push(parseRow<VersionRow>(key, value))
    else if (key.startsWith(CONFIG_PREFIX)) loaded.configs.set(JSON.parse(key.slice(CONFIG_PREFIX.length)) as string, parseRow<SubjectConfig>(key, value))
  }
  if (!Number.isSafeInteger(loaded.nextId) || loaded.nextId < 1) throw new ZombiError('STORAGE_CORRUPT', `schema registry next id ${loaded.nextId} is not a positive integer`)
  // A schema row written by a change whose next-id row was lost cannot exist (one batch), but never give an id twice.
  for (const schema of loaded.schemas) loaded.nextId = Math.max(loaded.nextId, schema.id + 1)
  return loaded
}
