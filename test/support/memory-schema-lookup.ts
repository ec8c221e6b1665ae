// A SchemaLookup held in memory, for tests of typed tables (the registry itself is tested on its own).
import type { RegisteredSchema, SchemaLookup, SchemaReference, SchemaType, SubjectVersion } from '../../src/schema/lookup.ts'

export class MemorySchemaLookup implements SchemaLookup {
  readonly #byId = new Map<number, RegisteredSchema>()
  readonly #subjects = new Map<string, SubjectVersion[]>()
  #nextId = 1

  /** Registers `schema` under `subject` as its next version; returns the version (ids start at 1, one per distinct text). */
  register(subject: string, schema: string | object, schemaType: SchemaType = 'AVRO', references: SchemaReference[] = []): SubjectVersion {
    const text = typeof schema === 'string' ? schema : JSON.stringify(schema)
    let id = [...this.#byId.values()].find((known) => known.schema === text && known.schemaType === schemaType)?.id
    if (id === undefined) {
      id = this.#nextId++
      this.#byId.set(id, { id, schemaType, schema: text, references })
    }
    const versions = this.#subjects.get(subject) ?? []
    const registered: SubjectVersion = { id, schemaType, schema: text, references, subject, version: versions.length + 1 }
    versions.push(registered)
    this.#subjects.set(subject, versions)
    return registered
  }

  byId(id: number): RegisteredSchema | undefined {
    return this.#byId.get(id)
  }

  latest(subject: string): SubjectVersion | undefined {
    return this.#subjects.get(subject)?.at(-1)
  }

  version(subject: string, version: number): SubjectVersion | undefined {
    return this.#subjects.get(subject)?.[version - 1]
  }

  resolveReferences(schema: RegisteredSchema): Map<string, RegisteredSchema> {
    const out = new Map<string, RegisteredSchema>()
    const visit = (references: readonly SchemaReference[]): void => {
      for (const reference of references) {
        if (out.has(reference.name)) continue
        const target = this.version(reference.subject, reference.version)
        if (target === undefined) throw new Error(`reference ${reference.name} (${reference.subject} v${reference.version}) is not registered`)
        out.set(reference.name, target)
        visit(target.references)
      }
    }
    visit(schema.references)
    return out
  }
}

/** Confluent's wire format: magic byte 0, the schema id (4 bytes, big-endian), then `encoded`. */
export function framed(schemaId: number, encoded: Uint8Array, messageIndexes: Uint8Array = new Uint8Array(0)): Buffer {
  const prefix = Buffer.alloc(5)
  prefix.writeUInt32BE(schemaId, 1)
  return Buffer.concat([prefix, messageIndexes, encoded])
}
