// Schema references (Confluent's `references`): what a schema refers to, transitively and dependencies
// first, so it can be parsed from text; and which schemas refer to a version, so it is not deleted under them.
import { HttpProblem } from '../errors.ts'
import type { RegisteredSchema, SchemaReference, SubjectVersion } from './lookup.ts'

/** Every schema `schema` refers to, transitively, keyed by reference name, each after its own references; 42201 when one is missing or they form a cycle. */
export function resolveReferences(schema: RegisteredSchema, versionOf: (subject: string, version: number) => SubjectVersion | undefined): Map<string, RegisteredSchema> {
  const resolved = new Map<string, RegisteredSchema>()
  const visit = (references: readonly SchemaReference[], path: readonly string[]): void => {
    for (const reference of references) {
      if (resolved.has(reference.name)) continue
      const target = versionOf(reference.subject, reference.version)
      if (target === undefined) throw new HttpProblem('REGISTRY_INVALID_SCHEMA', `reference ${reference.name} names version ${reference.version} of subject ${reference.subject}, which does not exist`)
      if (path.includes(reference.name)) throw new HttpProblem('REGISTRY_INVALID_SCHEMA', `references form a cycle through ${reference.name}`)
      visit(target.references, [...path, reference.name])
      resolved.set(reference.name, { id: target.id, schemaType: target.schemaType, schema: target.schema, references: target.references })
    }
  }
  visit(schema.references, [])
  return resolved
}

/** Global ids, ascending, of the schemas that reference a subject's version. */
export function referrers(schemas: Iterable<RegisteredSchema>, subject: string, version: number): number[] {
  const ids: number[] = []
  for (const schema of schemas) {
    if (schema.references.some((reference) => reference.subject === subject && reference.version === version)) ids.push(schema.id)
  }
  return ids.sort((a, b) => a - b)
}
