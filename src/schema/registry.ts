// The schema registry: subjects, versions and global ids with Confluent Schema Registry's semantics,
// held in memory (parsed once) and stored in the hot store's state rows (registry-store.ts), so an
// acknowledged change survives kill -9. Changes run one at a time; memory changes only after the
// change is durable, so nothing is ever answered from a registration that could still be lost.
import { HttpProblem, ZombiError } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import type { HotStore } from '../storage/hot-store.ts'
import { compatibilityErrors, type CompatibilityLevel } from './compatibility/index.ts'
import type { RegisteredSchema, SchemaLookup, SchemaReference, SchemaType, SubjectVersion } from './lookup.ts'
import { canonicalText, parseSchema, serializedProtobuf, type ParsedSchema } from './parse.ts'
import { referrers, resolveReferences } from './references.ts'
import { loadRegistry, RegistryChange, type SubjectConfig, type VersionRow } from './registry-store.ts'
import { parseVersion, VersionIndex } from './versions.ts'

/** Largest schema text accepted (Confluent keeps schemas in a Kafka topic whose records default to 1 MB). */
export const MAX_SCHEMA_BYTES = 1024 * 1024
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD'
export const SCHEMA_TYPES: readonly SchemaType[] = ['AVRO', 'JSON', 'PROTOBUF']

export interface SchemaInput {
  schema: string
  schemaType: SchemaType
  references: readonly SchemaReference[]
}

export interface RegistryLimits {
  /** Most version rows (soft-deleted ones included). */
  maxVersions: number
  /** Most bytes of distinct schema text. */
  maxBytes: number
}

export interface RegistryStats {
  registrations: number
  idempotentRegistrations: number
  lookups: number
  refusals: Map<string, number>
}

interface HeldSchema extends RegisteredSchema {
  /** Type, stored text and references: equal keys are the same schema, with one global id. */
  key: string
}

function schemaKey(type: SchemaType, text: string, references: readonly SchemaReference[]): string {
  return `${type}\n${JSON.stringify(references.map(({ name, subject, version }) => [name, subject, version]))}\n${text}`
}

export class SchemaRegistry implements SchemaLookup {
  readonly stats: RegistryStats = { registrations: 0, idempotentRegistrations: 0, lookups: 0, refusals: new Map() }
  readonly #store: HotStore
  readonly #limits: RegistryLimits
  readonly #logger: Logger
  readonly #schemas = new Map<number, HeldSchema>()
  readonly #idByKey = new Map<string, number>()
  readonly #parsed = new Map<number, ParsedSchema>()
  readonly #versions = new VersionIndex()
  readonly #configs = new Map<string, SubjectConfig>()
  #global: SubjectConfig = {}
  #nextId = 1
  #schemaBytes = 0
  /** The change in progress: changes run one after another. */
  #queue: Promise<unknown> = Promise.resolve()

  private constructor(store: HotStore, limits: RegistryLimits, logger: Logger) {
    this.#store = store
    this.#limits = limits
    this.#logger = logger
  }

  /** Loads the stored registry (the hot store must be open). */
  static async open(store: HotStore, limits: RegistryLimits, logger: Logger): Promise<SchemaRegistry> {
    const registry = new SchemaRegistry(store, limits, logger)
    const loaded = await loadRegistry(store)
    registry.#nextId = loaded.nextId
    registry.#global = loaded.global
    for (const [subject, config] of loaded.configs) registry.#configs.set(subject, config)
    for (const schema of loaded.schemas) registry.#hold(schema)
    for (const row of loaded.versions) registry.#versions.put(row)
    return registry
  }

  // ---- SchemaLookup ----

  byId(id: number): RegisteredSchema | undefined {
    const held = this.#schemas.get(id)
    return held === undefined ? undefined : { id: held.id, schemaType: held.schemaType, schema: held.schema, references: held.references }
  }

  latest(subject: string): SubjectVersion | undefined {
    const row = this.#versions.latest(subject, false)
    return row === undefined ? undefined : this.#subjectVersion(row)
  }

  version(subject: string, version: number): SubjectVersion | undefined {
    const row = this.#versions.get(subject, version)
    return row === undefined ? undefined : this.#subjectVersion(row)
  }

  resolveReferences(schema: RegisteredSchema): Map<string, RegisteredSchema> {
    return resolveReferences(schema, (subject, version) => this.version(subject, version))
  }

  // ---- reads ----

  subjects(includeDeleted: boolean): string[] {
    return this.#versions.subjects(includeDeleted)
  }

  versions(subject: string, includeDeleted: boolean): number[] {
    const versions = this.#versions.versions(subject, includeDeleted)
    if (versions.length === 0) throw this.#subjectNotFound(subject)
    return versions
  }

  /** A version by `latest`/-1/number; soft-deleted ones only with includeDeleted. */
  getVersion(subject: string, spec: string | number, includeDeleted: boolean): SubjectVersion {
    const version = parseVersion(spec)
    if (this.#versions.versions(subject, includeDeleted).length === 0) throw this.#subjectNotFound(subject)
    const row = version === 'latest' ? this.#versions.latest(subject, includeDeleted) : this.#versions.get(subject, version)
    if (row === undefined || (row.deleted && !includeDeleted)) throw new HttpProblem('REGISTRY_VERSION_NOT_FOUND', `Version ${spec} not found.`)
    return this.#subjectVersion(row)
  }

  /** Global ids of the schemas that reference this version. */
  referencedBy(subject: string, spec: string | number): number[] {
    const { version } = this.getVersion(subject, spec, true)
    return referrers(this.#schemas.values(), subject, version)
  }

  /** A schema by global id for a client (counted as a lookup); 40403 when there is none. */
  schemaById(id: number): RegisteredSchema {
    this.stats.lookups++
    const schema = this.byId(id)
    if (schema === undefined) throw new HttpProblem('REGISTRY_SCHEMA_NOT_FOUND', `Schema ${id} not found`)
    return schema
  }

  /** Subject and version pairs holding a global id. */
  usesOf(id: number, includeDeleted: boolean): VersionRow[] {
    if (this.byId(id) === undefined) throw new HttpProblem('REGISTRY_SCHEMA_NOT_FOUND', `Schema ${id} not found`)
    return this.#versions.usesOf(id, includeDeleted)
  }

  /** The schema text in a requested format: `serialized` gives Protobuf as a base64 FileDescriptorProto; every other format the text as registered. */
  formatted(schema: RegisteredSchema, format: string | undefined): string {
    if (format !== 'serialized' || schema.schemaType !== 'PROTOBUF') return schema.schema
    const parsed = this.parsedById(schema.id)
    return serializedProtobuf(parsed as ParsedSchema & { type: 'PROTOBUF' }, schema.schema, `schema-${schema.id}.proto`)
  }

  /** The parsed form of a registered schema (cached). */
  parsedById(id: number): ParsedSchema {
    const cached = this.#parsed.get(id)
    if (cached !== undefined) return cached
    const schema = this.byId(id)
    if (schema === undefined) throw new HttpProblem('REGISTRY_SCHEMA_NOT_FOUND', `Schema ${id} not found`)
    const parsed = parseSchema(schema.schemaType, schema.schema, this.resolveReferences(schema))
    this.#parsed.set(id, parsed)
    return parsed
  }

  /** The version of `subject` holding this schema (POST /subjects/{s}); 40401 or 40403 when none. */
  lookup(subject: string, input: SchemaInput, normalize: boolean | undefined, includeDeleted: boolean): SubjectVersion {
    this.stats.lookups++
    if (this.#versions.versions(subject, includeDeleted).length === 0) throw this.#subjectNotFound(subject)
    const { key } = this.#prepare(subject, input, normalize)
    const id = this.#idByKey.get(key)
    const row = id === undefined ? undefined : this.#versions.findId(subject, id, includeDeleted)
    if (row === undefined) throw new HttpProblem('REGISTRY_SCHEMA_NOT_FOUND', 'Schema not found')
    return this.#subjectVersion(row)
  }

  /** Why `input` breaks the subject's level against one version (or, with `spec` null, the versions the level names). */
  testCompatibility(subject: string, spec: string | number | null, input: SchemaInput, normalize: boolean | undefined): string[] {
    const { parsed } = this.#prepare(subject, input, normalize)
    const level = this.compatibility(subject)
    if (spec === null) return compatibilityErrors(level, parsed, this.#previous(subject))
    const target = this.getVersion(subject, spec, false)
    // One named version: the level's direction, against that version only.
    return compatibilityErrors(level.replace('_TRANSITIVE', '') as CompatibilityLevel, parsed, [{ version: target.version, parsed: this.parsedById(target.id) }])
  }

  compatibility(subject: string | null): CompatibilityLevel {
    return (subject === null ? undefined : this.#configs.get(subject)?.compatibility) ?? this.#global.compatibility ?? DEFAULT_COMPATIBILITY
  }

  /** A subject's own config, or with defaultToGlobal the global one when it has none; the global config with subject null. */
  config(subject: string | null, defaultToGlobal: boolean): { compatibility: CompatibilityLevel; normalize: boolean } {
    const own = subject === null ? this.#global : this.#configs.get(subject)
    if (own === undefined && !defaultToGlobal) throw new HttpProblem('REGISTRY_SUBJECT_CONFIG_NOT_FOUND', `Subject '${subject}' does not have subject-level compatibility configured`)
    return { compatibility: own?.compatibility ?? this.#global.compatibility ?? DEFAULT_COMPATIBILITY, normalize: own?.normalize ?? this.#global.normalize ?? false }
  }

  // ---- changes ----

  /** Registers `input` under `subject`: the existing version when it is there already, else a new version after the compatibility check. */
  register(subject: string, input: SchemaInput, normalize: boolean | undefined): Promise<{ id: number; version: number }> {
    return this.#change('register', subject, async () => {
      const { parsed, text, references, key } = this.#prepare(subject, input, normalize)
      const existingId = this.#idByKey.get(key)
      const existing = existingId === undefined ? undefined : this.#versions.findId(subject, existingId, false)
      if (existing !== undefined) {
        this.stats.idempotentRegistrations++
        return { id: existing.id, version: existing.version }
      }
      const level = this.compatibility(subject)
      const errors = compatibilityErrors(level, parsed, this.#previous(subject))
      if (errors.length > 0) throw new HttpProblem('REGISTRY_INCOMPATIBLE', `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${errors.join('; ')}]`)
      if (this.#versions.size >= this.#limits.maxVersions) throw new HttpProblem('REGISTRY_NOT_PERMITTED', `the registry holds its maximum of ${this.#limits.maxVersions} schema versions (ZOMBI_SCHEMA_REGISTRY_MAX_VERSIONS); delete some permanently first`)
      const change = new RegistryChange()
      let id = existingId
      let held: HeldSchema | null = null
      if (id === undefined) {
        const bytes = Buffer.byteLength(text)
        if (this.#schemaBytes + bytes > this.#limits.maxBytes) throw new HttpProblem('REGISTRY_NOT_PERMITTED', `the registry holds its maximum of ${this.#limits.maxBytes} bytes of schemas (ZOMBI_SCHEMA_REGISTRY_MAX_MB); delete some permanently first`)
        id = this.#nextId
        held = { id, schemaType: input.schemaType, schema: text, references, key }
        change.nextId(id + 1).schema(held)
      }
      const row: VersionRow = { subject, version: this.#versions.nextVersion(subject), id, deleted: false }
      change.version(row)
      await this.#write(change)
      if (held !== null) {
        this.#nextId = held.id + 1
        this.#hold(held)
        this.#parsed.set(held.id, parsed)
      }
      this.#versions.put(row)
      this.stats.registrations++
      return { id, version: row.version }
    })
  }

  /** Soft-deletes every version of a subject, or with `permanent` removes a soft-deleted subject; returns the versions. */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.#change('delete subject', subject, async () => {
      const all = this.#versions.versions(subject, true)
      if (all.length === 0) throw this.#subjectNotFound(subject)
      const live = this.#versions.versions(subject, false)
      if (!permanent && live.length === 0) throw new HttpProblem('REGISTRY_SUBJECT_SOFT_DELETED', `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`)
      if (permanent && live.length > 0) throw new HttpProblem('REGISTRY_SUBJECT_NOT_SOFT_DELETED', `Subject '${subject}' was not deleted first before being permanently deleted`)
      for (const version of all) this.#refuseIfReferenced(subject, version)
      const change = new RegistryChange()
      if (permanent) {
        for (const version of all) change.dropVersion(subject, version)
        const dropped = this.#droppedSchemas(all.map((version) => this.#versions.get(subject, version)!))
        for (const id of dropped) change.dropSchema(id)
        if (this.#configs.has(subject)) change.config(subject, null)
        await this.#write(change)
        for (const version of all) this.#versions.remove(subject, version)
        for (const id of dropped) this.#release(id)
        this.#configs.delete(subject)
        return all
      }
      const rows = live.map((version) => ({ ...this.#versions.get(subject, version)!, deleted: true }))
      for (const row of rows) change.version(row)
      await this.#write(change)
      for (const row of rows) this.#versions.put(row)
      return live
    })
  }

  /** Soft-deletes one version, or with `permanent` removes a soft-deleted one; returns its number. */
  deleteVersion(subject: string, spec: string, permanent: boolean): Promise<number> {
    return this.#change('delete version', subject, async () => {
      const target = parseVersion(spec)
      if (this.#versions.versions(subject, true).length === 0) throw this.#subjectNotFound(subject)
      const row = target === 'latest' ? this.#versions.latest(subject, permanent) : this.#versions.get(subject, target)
      if (row === undefined) throw new HttpProblem('REGISTRY_VERSION_NOT_FOUND', `Version ${spec} not found.`)
      if (!permanent && row.deleted) throw new HttpProblem('REGISTRY_VERSION_SOFT_DELETED', `Subject '${subject}' Version ${row.version} was soft deleted. Set permanent=true to delete permanently`)
      if (permanent && !row.deleted) throw new HttpProblem('REGISTRY_VERSION_NOT_SOFT_DELETED', `Subject '${subject}' Version ${row.version} was not deleted first before being permanently deleted`)
      this.#refuseIfReferenced(subject, row.version)
      const change = new RegistryChange()
      if (permanent) {
        const dropped = this.#droppedSchemas([row])
        change.dropVersion(subject, row.version)
        for (const id of dropped) change.dropSchema(id)
        await this.#write(change)
        this.#versions.remove(subject, row.version)
        for (const id of dropped) this.#release(id)
      } else {
        const deleted = { ...row, deleted: true }
        await this.#write(change.version(deleted))
        this.#versions.put(deleted)
      }
      return row.version
    })
  }

  /** Sets the global (subject null) or a subject's compatibility level and normalize default. */
  setConfig(subject: string | null, update: SubjectConfig): Promise<SubjectConfig> {
    return this.#change('set config', subject ?? '(global)', async () => {
      const current = subject === null ? this.#global : this.#configs.get(subject) ?? {}
      const next: SubjectConfig = { ...current, ...update }
      await this.#write(new RegistryChange().config(subject, next))
      if (subject === null) this.#global = next
      else this.#configs.set(subject, next)
      return next
    })
  }

  /** Removes the global (back to BACKWARD) or a subject's own config; returns the config it had. */
  deleteConfig(subject: string | null): Promise<{ compatibility: CompatibilityLevel; normalize: boolean }> {
    return this.#change('delete config', subject ?? '(global)', async () => {
      if (subject !== null && this.#versions.versions(subject, true).length === 0 && !this.#configs.has(subject)) throw this.#subjectNotFound(subject)
      const before = this.config(subject, true)
      await this.#write(new RegistryChange().config(subject, null))
      if (subject === null) this.#global = {}
      else this.#configs.delete(subject)
      return before
    })
  }

  /** The highest global id given so far (0 before the first), hard-deleted ones included. */
  maxId(): number {
    return this.#nextId - 1
  }

  /** Counts for /metrics. */
  counts(): { subjects: number; versions: number; schemas: number; bytes: number } {
    return { subjects: this.#versions.subjects(false).length, versions: this.#versions.size, schemas: this.#schemas.size, bytes: this.#schemaBytes }
  }

  // ---- internals ----

  #change<T>(what: string, subject: string, run: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(run).catch((error: unknown) => {
      if (error instanceof HttpProblem) {
        this.stats.refusals.set(error.problem, (this.stats.refusals.get(error.problem) ?? 0) + 1)
        this.#logger.warn({ subject, errorCode: Number(error.problem), reason: error.message }, `schema registry refused to ${what}`)
      }
      throw error
    })
    this.#queue = result.catch(() => undefined)
    return result
  }

  async #write(change: RegistryChange): Promise<void> {
    try {
      await this.#store.writeState(change.writes)
    } catch (error) {
      this.#logger.error({ err: error }, 'schema registry change could not be stored')
      throw new HttpProblem('REGISTRY_STORE_ERROR', `Error while storing the schema registry change: ${error instanceof ZombiError ? error.message : 'hot store failure'}`)
    }
  }

  /** Checks the input, resolves its references and parses it; the text it would be stored as and its identity. */
  #prepare(subject: string, input: SchemaInput, normalize: boolean | undefined): { parsed: ParsedSchema; text: string; references: SchemaReference[]; key: string } {
    if (Buffer.byteLength(input.schema) > MAX_SCHEMA_BYTES) throw new HttpProblem('REGISTRY_INVALID_SCHEMA', `Invalid schema: it is ${Buffer.byteLength(input.schema)} bytes, over the limit of ${MAX_SCHEMA_BYTES}`)
    const references = input.references.map((reference) => {
      const spec = parseVersion(reference.version)
      const row = spec === 'latest' ? this.#versions.latest(reference.subject, false) : this.#versions.get(reference.subject, spec)
      if (row === undefined) throw new HttpProblem('REGISTRY_INVALID_SCHEMA', `Invalid schema: reference ${reference.name} names version ${reference.version} of subject ${reference.subject}, which does not exist`)
      return { name: reference.name, subject: reference.subject, version: row.version }
    })
    const parsed = parseSchema(input.schemaType, input.schema, this.resolveReferences({ id: 0, schemaType: input.schemaType, schema: input.schema, references }))
    const text = canonicalText(parsed, input.schema, normalize ?? this.config(subject, true).normalize)
    return { parsed, text, references, key: schemaKey(input.schemaType, text, references) }
  }

  #previous(subject: string): Array<{ version: number; parsed: ParsedSchema }> {
    return this.#versions.versions(subject, false).map((version) => ({ version, parsed: this.parsedById(this.#versions.get(subject, version)!.id) }))
  }

  #refuseIfReferenced(subject: string, version: number): void {
    const ids = referrers(this.#schemas.values(), subject, version)
    if (ids.length > 0) throw new HttpProblem('REGISTRY_REFERENCE_EXISTS', `One or more references exist to the schema {subject=${subject}, version=${version}}: schema ids ${ids.join(', ')}`)
  }

  /** Ids that no version row holds once `rows` are gone. */
  #droppedSchemas(rows: readonly VersionRow[]): number[] {
    const leaving = new Set(rows.map((row) => `${row.subject}\n${row.version}`))
    return [...new Set(rows.map((row) => row.id))].filter((id) => this.#versions.usesOf(id, true).every((use) => leaving.has(`${use.subject}\n${use.version}`)))
  }

  #hold(schema: RegisteredSchema): void {
    const key = schemaKey(schema.schemaType, schema.schema, schema.references)
    this.#schemas.set(schema.id, { ...schema, key })
    this.#idByKey.set(key, schema.id)
    this.#schemaBytes += Buffer.byteLength(schema.schema)
  }

  #release(id: number): void {
    const held = this.#schemas.get(id)
    if (held === undefined) return
    this.#schemas.delete(id)
    this.#idByKey.delete(held.key)
    this.#parsed.delete(id)
    this.#schemaBytes -= Buffer.byteLength(held.schema)
  }

  #subjectVersion(row: VersionRow): SubjectVersion {
    const schema = this.#schemas.get(row.id)
    if (schema === undefined) throw new ZombiError('STORAGE_CORRUPT', `version ${row.version} of subject ${row.subject} holds schema id ${row.id}, which is not stored`)
    return { subject: row.subject, version: row.version, id: row.id, schemaType: schema.schemaType, schema: schema.schema, references: schema.references }
  }

  #subjectNotFound(subject: string): HttpProblem {
    return new HttpProblem('REGISTRY_SUBJECT_NOT_FOUND', `Subject '${subject}' not found.`)
  }
}
