// What the rest of the broker needs from the schema registry: schemas by id and a subject's
// latest version, answered from memory (the flusher asks once per record batch), and a way to
// hear about new versions (a table evolves when its subject gets one).

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF'

/** A reference from one schema to another registered one (Confluent's `references`). */
export interface SchemaReference {
  /** The name the referring schema uses: an Avro full name, a .proto import path, a JSON `$ref` URL. */
  name: string
  subject: string
  version: number
}

export interface RegisteredSchema {
  /** The global id Confluent's wire format carries after the magic byte. */
  id: number
  schemaType: SchemaType
  /** The schema text as registered (Avro JSON, JSON Schema JSON, or .proto source). */
  schema: string
  references: readonly SchemaReference[]
}

export interface SubjectVersion extends RegisteredSchema {
  subject: string
  version: number
}

export interface SchemaLookup {
  /** The schema with this global id, or undefined when no subject holds it (hard-deleted or never registered). */
  byId(id: number): RegisteredSchema | undefined
  /** The newest version of the subject that is not soft-deleted, or undefined. */
  latest(subject: string): SubjectVersion | undefined
  /** One version of a subject (soft-deleted versions included: old records still decode), or undefined. */
  version(subject: string, version: number): SubjectVersion | undefined
  /**
   * Every schema a schema refers to, transitively, keyed by the reference name it is imported
   * under, so a decoder can be built from text alone. Throws when a reference is missing.
   */
  resolveReferences(schema: RegisteredSchema): Map<string, RegisteredSchema>
}
