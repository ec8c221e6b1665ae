// JSON Schema compatibility as a structural check: a reader schema can read what a writer schema
// accepted when every document valid under the writer stays valid under the reader. Checked, at
// every level of nesting (following $ref into the same document and into referenced ones):
// - type: the reader's types cover the writer's ("number" covers "integer"); an untyped writer
//   against a typed reader is a narrowing;
// - enum and const: the reader's values cover the writer's;
// - bounds: maxLength, minLength, maximum, minimum, exclusiveMaximum, exclusiveMinimum, maxItems,
//   minItems, maxProperties, minProperties, multipleOf, pattern and uniqueItems may not get stricter;
// - objects: a property the reader adds must be accepted whatever the writer let through under that
//   name (an open writer content model lets anything through, a closed one nothing); a property the
//   reader drops must be accepted by the reader's additionalProperties (a closed reader refuses it);
//   properties in both are compared; a property the reader newly requires breaks unless it has a
//   default; additionalProperties may not narrow;
// - arrays: items (one schema, or per position) and additionalItems are compared;
// - anyOf/oneOf: every writer alternative must be read by some reader alternative; allOf in the reader:
//   each part must read the writer.
// Not compared: not, if/then/else, dependencies/dependentSchemas, patternProperties, formats.
import type { JsonDocument } from '../parse.ts'

type Schema = boolean | Record<string, unknown>

interface Side {
  document: JsonDocument
  /** The document the schema under comparison lives in (a referenced one after a cross-document $ref). */
  current: unknown
}

class Comparison {
  readonly errors: string[] = []
  readonly #seen = new Map<unknown, Set<unknown>>()

  readonly reader: JsonDocument
  readonly writer: JsonDocument

  constructor(reader: JsonDocument, writer: JsonDocument) {
    this.reader = reader
    this.writer = writer
  }

  /** Whether this pair is already being compared (recursive schemas). */
  visit(reader: unknown, writer: unknown): boolean {
    let writers = this.#seen.get(reader)
    if (writers === undefined) this.#seen.set(reader, writers = new Set())
    if (writers.has(writer)) return false
    writers.add(writer)
    return true
  }
}

function pointer(root: unknown, fragment: string): unknown {
  if (fragment === '' || fragment === '/') return root
  let node = root
  for (const raw of fragment.replace(/^\//, '').split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

/** Follows $ref (within the document, or into a referenced one by its reference name) until a schema without one. */
function resolve(schema: unknown, side: Side): { schema: Schema; side: Side } {
  let current = schema
  let document = side.current
  for (let hops = 0; hops < 64; hops++) {
    if (typeof current !== 'object' || current === null || typeof (current as { $ref?: unknown }).$ref !== 'string') break
    const ref = (current as { $ref: string }).$ref
    const hash = ref.indexOf('#')
    const base = hash < 0 ? ref : ref.slice(0, hash)
    const fragment = hash < 0 ? '' : ref.slice(hash + 1)
    if (base !== '') {
      const target = side.document.referenced.get(base)
      if (target === undefined) break
      document = target
    }
    current = pointer(document, fragment)
  }
  if (typeof current === 'boolean') return { schema: current, side: { document: side.document, current: document } }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) return { schema: true, side: { document: side.document, current: document } }
  return { schema: current as Record<string, unknown>, side: { document: side.document, current: document } }
}

function typesOf(schema: Record<string, unknown>): Set<string> | null {
  const type = schema.type
  if (typeof type === 'string') return new Set([type])
  if (Array.isArray(type)) return new Set(type.filter((t): t is string => typeof t === 'string'))
  return null
}

const UPPER_BOUNDS = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'] as const
const LOWER_BOUNDS = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'] as const

function isOpen(schema: Schema): boolean {
  return schema === true || (typeof schema === 'object' && Object.keys(schema).filter((key) => key !== '$schema' && key !== '$id' && key !== 'title' && key !== 'description' && key !== '$comment').length === 0)
}

function compareBounds(reader: Record<string, unknown>, writer: Record<string, unknown>, path: string, errors: string[]): void {
  for (const bound of UPPER_BOUNDS) {
    const limit = reader[bound]
    if (typeof limit !== 'number') continue
    const before = writer[bound]
    if (typeof before !== 'number' || before > limit) errors.push(`${path}: ${bound} ${typeof before === 'number' ? `decreased from ${before}` : 'added'} to ${limit}`)
  }
  for (const bound of LOWER_BOUNDS) {
    const limit = reader[bound]
    if (typeof limit !== 'number') continue
    const before = writer[bound]
    if (typeof before !== 'number' || before < limit) errors.push(`${path}: ${bound} ${typeof before === 'number' ? `increased from ${before}` : 'added'} to ${limit}`)
  }
  if (typeof reader.multipleOf === 'number' && (typeof writer.multipleOf !== 'number' || writer.multipleOf % reader.multipleOf !== 0)) errors.push(`${path}: multipleOf changed to ${reader.multipleOf}`)
  if (typeof reader.pattern === 'string' && reader.pattern !== writer.pattern) errors.push(`${path}: pattern ${writer.pattern === undefined ? 'added' : 'changed'}: ${reader.pattern}`)
  if (reader.uniqueItems === true && writer.uniqueItems !== true) errors.push(`${path}: uniqueItems added`)
}

function compareValues(reader: Record<string, unknown>, writer: Record<string, unknown>, path: string, errors: string[]): void {
  const readerValues = Array.isArray(reader.enum) ? reader.enum : 'const' in reader ? [reader.const] : null
  if (readerValues === null) return
  const writerValues = Array.isArray(writer.enum) ? writer.enum : 'const' in writer ? [writer.const] : null
  if (writerValues === null) {
    errors.push(`${path}: enum added (${JSON.stringify(readerValues)})`)
    return
  }
  const known = new Set(readerValues.map((value) => JSON.stringify(value)))
  const missing = writerValues.filter((value) => !known.has(JSON.stringify(value)))
  if (missing.length > 0) errors.push(`${path}: enum values removed: ${missing.map((value) => JSON.stringify(value)).join(', ')}`)
}

function compareTypes(reader: Record<string, unknown>, writer: Record<string, unknown>, path: string, errors: string[]): void {
  const readerTypes = typesOf(reader)
  if (readerTypes === null) return
  const writerTypes = typesOf(writer)
  if (writerTypes === null) {
    errors.push(`${path}: type narrowed from any to ${[...readerTypes].join(', ')}`)
    return
  }
  for (const type of writerTypes) {
    if (readerTypes.has(type) || (type === 'integer' && readerTypes.has('number'))) continue
    errors.push(`${path}: type ${type} no longer accepted (now ${[...readerTypes].join(', ')})`)
  }
}

function alternatives(schema: Record<string, unknown>): unknown[] | null {
  const list = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : null
  return list
}

function compareObjects(comparison: Comparison, reader: Record<string, unknown>, readerSide: Side, writer: Record<string, unknown>, writerSide: Side, path: string): void {
  const errors = comparison.errors
  const readerProperties = (typeof reader.properties === 'object' && reader.properties !== null ? reader.properties : {}) as Record<string, unknown>
  const writerProperties = (typeof writer.properties === 'object' && writer.properties !== null ? writer.properties : {}) as Record<string, unknown>
  const readerAdditional = (reader.additionalProperties ?? true) as Schema
  const writerAdditional = (writer.additionalProperties ?? true) as Schema
  const readerRequired = new Set(Array.isArray(reader.required) ? reader.required as string[] : [])
  const writerRequired = new Set(Array.isArray(writer.required) ? writer.required as string[] : [])
  for (const name of readerRequired) {
    if (writerRequired.has(name)) continue
    const property = readerProperties[name]
    const hasDefault = typeof property === 'object' && property !== null && 'default' in property
    if (!hasDefault) errors.push(`${path}/properties/${name}: required property added`)
  }
  for (const [name, readerProperty] of Object.entries(readerProperties)) {
    if (name in writerProperties) {
      compare(comparison, readerProperty, readerSide, writerProperties[name], writerSide, `${path}/properties/${name}`)
    } else if (writerAdditional !== false) {
      // The writer let anything (or its additionalProperties schema) through under this name.
      const before = errors.length
      compare(comparison, readerProperty, readerSide, writerAdditional, writerSide, `${path}/properties/${name}`)
      if (errors.length > before) errors.splice(before, errors.length - before, `${path}/properties/${name}: property added to an open content model (the old schema let any value through under this name)`)
    }
  }
  for (const [name, writerProperty] of Object.entries(writerProperties)) {
    if (name in readerProperties) continue
    if (readerAdditional === false) {
      errors.push(`${path}/properties/${name}: property removed from a closed content model`)
      continue
    }
    compare(comparison, readerAdditional, readerSide, writerProperty, writerSide, `${path}/properties/${name}`)
  }
  if (writerAdditional !== false) {
    if (readerAdditional === false) errors.push(`${path}: additionalProperties closed (the old schema allowed other properties)`)
    else compare(comparison, readerAdditional, readerSide, writerAdditional, writerSide, `${path}/additionalProperties`)
  }
}

function compareArrays(comparison: Comparison, reader: Record<string, unknown>, readerSide: Side, writer: Record<string, unknown>, writerSide: Side, path: string): void {
  const readerItems = reader.prefixItems ?? reader.items
  const writerItems = writer.prefixItems ?? writer.items
  if (Array.isArray(readerItems) || Array.isArray(writerItems)) {
    const readerList = Array.isArray(readerItems) ? readerItems : []
    const writerList = Array.isArray(writerItems) ? writerItems : []
    const readerRest = (Array.isArray(readerItems) ? (reader.prefixItems !== undefined ? reader.items : reader.additionalItems) : readerItems) ?? true
    const writerRest = (Array.isArray(writerItems) ? (writer.prefixItems !== undefined ? writer.items : writer.additionalItems) : writerItems) ?? true
    const positions = Math.max(readerList.length, writerList.length)
    for (let i = 0; i < positions; i++) {
      compare(comparison, i < readerList.length ? readerList[i] : readerRest, readerSide, i < writerList.length ? writerList[i] : writerRest, writerSide, `${path}/items/${i}`)
    }
    if (writerRest !== false) compare(comparison, readerRest, readerSide, writerRest, writerSide, `${path}/additionalItems`)
    return
  }
  if (readerItems !== undefined) compare(comparison, readerItems, readerSide, writerItems ?? true, writerSide, `${path}/items`)
}

function compare(comparison: Comparison, readerRaw: unknown, readerSideIn: Side, writerRaw: unknown, writerSideIn: Side, path: string): void {
  const { schema: reader, side: readerSide } = resolve(readerRaw, readerSideIn)
  const { schema: writer, side: writerSide } = resolve(writerRaw, writerSideIn)
  if (writer === false || reader === true || isOpen(reader)) return
  if (reader === false) {
    comparison.errors.push(`${path}: no longer accepts anything`)
    return
  }
  const writerSchema: Record<string, unknown> = writer === true ? {} : writer
  if (!comparison.visit(reader, writerSchema)) return
  const errors = comparison.errors
  const writerAlternatives = alternatives(writerSchema)
  if (writerAlternatives !== null) {
    const { oneOf: _oneOf, anyOf: _anyOf, ...rest } = writerSchema
    for (const [index, alternative] of writerAlternatives.entries()) {
      const merged = resolve(alternative, writerSide)
      compare(comparison, reader, readerSide, merged.schema === true || merged.schema === false ? merged.schema : { ...rest, ...merged.schema }, merged.side, `${path}/${writerSchema.oneOf !== undefined ? 'oneOf' : 'anyOf'}/${index}`)
    }
    return
  }
  const readerAlternatives = alternatives(reader)
  if (readerAlternatives !== null) {
    const readsIt = readerAlternatives.some((alternative) => {
      const trial = new Comparison(comparison.reader, comparison.writer)
      compare(trial, alternative, readerSide, writerSchema, writerSide, path)
      return trial.errors.length === 0
    })
    if (!readsIt) errors.push(`${path}: no alternative of the new schema's ${reader.oneOf !== undefined ? 'oneOf' : 'anyOf'} reads what the old schema accepted`)
  }
  if (Array.isArray(reader.allOf)) {
    for (const [index, part] of reader.allOf.entries()) compare(comparison, part, readerSide, writerSchema, writerSide, `${path}/allOf/${index}`)
  }
  compareTypes(reader, writerSchema, path, errors)
  compareValues(reader, writerSchema, path, errors)
  compareBounds(reader, writerSchema, path, errors)
  const readerTypes = typesOf(reader)
  if (readerTypes === null || readerTypes.has('object')) {
    if (reader.properties !== undefined || reader.additionalProperties !== undefined || reader.required !== undefined) compareObjects(comparison, reader, readerSide, writerSchema, writerSide, path)
  }
  if (readerTypes === null || readerTypes.has('array')) compareArrays(comparison, reader, readerSide, writerSchema, writerSide, path)
}

/** Why `reader` would refuse documents `writer` accepted, or nothing when it reads them all (as far as the rules above see). */
export function jsonSchemaReadErrors(reader: JsonDocument, writer: JsonDocument): string[] {
  const comparison = new Comparison(reader, writer)
  compare(comparison, reader.root, { document: reader, current: reader.root }, writer.root, { document: writer, current: writer.root }, '#')
  return comparison.errors
}
