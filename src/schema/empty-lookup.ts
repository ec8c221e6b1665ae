// A schema registry with no schema: what the broker decodes with until one is wired in (typed topics
// then send every record to their dead-letter table, with "no schema" as the reason).
import type { SchemaLookup } from './lookup.ts'

export const EMPTY_SCHEMA_LOOKUP: SchemaLookup = {
  byId: () => undefined,
  latest: () => undefined,
  version: () => undefined,
  resolveReferences: () => new Map(),
}
