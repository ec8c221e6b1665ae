// Parses registered schema text of the three types into what compatibility checks and decoders use:
// an avsc Type, a JSON Schema document (compiled once by ajv to prove it valid), a protobufjs Root.
// Referenced schemas (Confluent's `references`) are parsed first, in the same namespace: Avro named
// types in one avsc registry, .proto imports in one Root, JSON `$ref` targets added to ajv by name.
import { Ajv, type AnySchema } from 'ajv'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { Ajv2020 } from 'ajv/dist/2020.js'
import avro from 'avsc'
import protobuf from 'protobufjs'
import descriptor from 'protobufjs/ext/descriptor/index.js'
import { HttpProblem } from '../errors.ts'
import type { RegisteredSchema, SchemaType } from './lookup.ts'

export type ParsedSchema =
  | { type: 'AVRO'; avro: avro.Type }
  | { type: 'JSON'; json: JsonDocument }
  | { type: 'PROTOBUF'; proto: protobuf.Root; packageName: string; source: 'text' | 'descriptor' }

/** A JSON Schema with the documents its `$ref`s may name (the references, by their names). */
export interface JsonDocument {
  root: unknown
  referenced: ReadonlyMap<string, unknown>
}

/** Schemas a schema refers to, by reference name, in dependency order (what resolveReferences returns). */
export type ResolvedReferences = ReadonlyMap<string, RegisteredSchema>

function invalid(type: SchemaType, detail: string): HttpProblem {
  return new HttpProblem('REGISTRY_INVALID_SCHEMA', `Invalid schema of type ${type}: ${detail}`)
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function parseJsonText(type: SchemaType, text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw invalid(type, `not JSON (${message(error)})`)
  }
}

function parseAvro(text: string, references: ResolvedReferences): avro.Type {
  const registry: Record<string, avro.Type> = {}
  const options = { registry, assertLogicalTypes: false }
  for (const [name, reference] of references) {
    if (reference.schemaType !== 'AVRO') throw invalid('AVRO', `reference ${name} is a ${reference.schemaType} schema`)
    try {
      avro.Type.forSchema(JSON.parse(reference.schema) as avro.Schema, options)
    } catch (error) {
      throw invalid('AVRO', `referenced schema ${name} does not parse (${message(error)})`)
    }
  }
  const schema = parseJsonText('AVRO', text)
  try {
    return avro.Type.forSchema(schema as avro.Schema, options)
  } catch (error) {
    throw invalid('AVRO', message(error))
  }
}

function jsonValidator(root: unknown): Ajv {
  const draft = typeof root === 'object' && root !== null ? (root as { $schema?: unknown }).$schema : undefined
  const options = { strict: false, allErrors: false, validateFormats: false } as const
  if (typeof draft === 'string' && draft.includes('2020-12')) return new Ajv2020(options)
  if (typeof draft === 'string' && draft.includes('2019-09')) return new Ajv2019(options)
  return new Ajv(options)
}

function parseJsonSchema(text: string, references: ResolvedReferences): JsonDocument {
  const root = parseJsonText('JSON', text)
  if (typeof root !== 'boolean' && (typeof root !== 'object' || root === null || Array.isArray(root))) throw invalid('JSON', 'a JSON Schema is an object or a boolean')
  const referenced = new Map<string, unknown>()
  const ajv = jsonValidator(root)
  for (const [name, reference] of references) {
    if (reference.schemaType !== 'JSON') throw invalid('JSON', `reference ${name} is a ${reference.schemaType} schema`)
  }
  try {
    for (const [name, reference] of references) {
      const document = JSON.parse(reference.schema) as unknown
      referenced.set(name, document)
      ajv.addSchema(document as AnySchema, name)
    }
    ajv.compile(root as AnySchema)
  } catch (error) {
    throw invalid('JSON', message(error))
  }
  return { root, referenced }
}

const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/

/** The .proto files protobufjs knows by heart (google/protobuf/timestamp.proto, ...), added when imported. */
function addWellKnown(root: protobuf.Root, imports: readonly string[]): void {
  const common = protobuf.common as unknown as { get(file: string): { nested?: protobuf.INamespace['nested'] } | null | undefined }
  for (const path of new Set(imports)) {
    const json = common.get(path)
    if (json?.nested === undefined) continue
    try {
      root.addJSON(json.nested)
    } catch {
      // Its types are there already (imported by a referenced schema too).
    }
  }
}

interface DescriptorProto {
  name?: string
  package?: string
  dependency?: string[]
}

function decodeDescriptor(text: string): DescriptorProto & Record<string, unknown> {
  const bytes = Buffer.from(text.replace(/\s+/g, ''), 'base64')
  const fileType = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto
  return fileType.toObject(fileType.decode(bytes), { defaults: false, arrays: true }) as DescriptorProto & Record<string, unknown>
}

/** Whether protobuf schema text is a base64 FileDescriptorProto (what Confluent's Python serializer registers) rather than .proto source. */
export function isProtobufDescriptor(text: string): boolean {
  return !/\b(syntax|message|package|enum)\b/.test(text) && BASE64.test(text)
}

interface AddedProtobuf {
  /** The root holding everything so far: the one passed in, or for a descriptor with imports a new one. */
  root: protobuf.Root
  packageName: string
  source: 'text' | 'descriptor'
  imports: string[]
}

/** The package and top-level message names of a base64 FileDescriptorProto, in declaration order (Confluent's message indexes count them). */
export function protobufDescriptorMessages(text: string): { packageName: string; messages: string[] } {
  const file = decodeDescriptor(text) as DescriptorProto & { messageType?: Array<{ name?: string }> }
  return { packageName: file.package ?? '', messages: (file.messageType ?? []).map((message) => message.name ?? '') }
}

function addProtobuf(root: protobuf.Root, name: string, text: string): AddedProtobuf {
  if (isProtobufDescriptor(text)) {
    const file = decodeDescriptor(text)
    const imports = file.dependency ?? []
    const own = { ...file, name: file.name ?? name }
    const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor
    const result = { packageName: file.package ?? '', source: 'descriptor' as const, imports }
    if (imports.length === 0) {
      const parsed = fromDescriptor({ file: [own] })
      // fromDescriptor builds a root of its own: move its top-level namespaces into the shared one (add merges packages).
      for (const nested of [...parsed.nestedArray]) {
        parsed.remove(nested)
        root.add(nested)
      }
      return { root, ...result }
    }
    // fromDescriptor resolves every field type within the files it is given, so a file importing
    // others (google/protobuf/timestamp.proto, or a reference) is given them too: the well-known
    // files and the references parsed so far, as descriptors, in one set whose root replaces the shared one.
    addWellKnown(root, imports.filter((path) => path.startsWith('google/protobuf/')))
    const toDescriptor = (root as unknown as { toDescriptor(syntax: string): { file: unknown[] } }).toDescriptor
    const known = root.nestedArray.length === 0 ? [] : toDescriptor.call(root, 'proto3').file
    return { root: fromDescriptor({ file: [...known, own] }), ...result }
  }
  const parsed = protobuf.parse(text, root, { keepCase: true, alternateCommentMode: true })
  return { root, packageName: parsed.package ?? '', source: 'text', imports: parsed.imports ?? [] }
}

function parseProtobuf(text: string, references: ResolvedReferences): ParsedSchema & { type: 'PROTOBUF' } {
  let root = new protobuf.Root()
  const imports: string[] = []
  for (const [name, reference] of references) {
    if (reference.schemaType !== 'PROTOBUF') throw invalid('PROTOBUF', `reference ${name} is a ${reference.schemaType} schema`)
    try {
      const added = addProtobuf(root, name, reference.schema)
      root = added.root
      imports.push(...added.imports)
    } catch (error) {
      throw invalid('PROTOBUF', `referenced schema ${name} does not parse (${message(error)})`)
    }
  }
  let added: AddedProtobuf
  try {
    added = addProtobuf(root, 'schema.proto', text)
    root = added.root
  } catch (error) {
    throw invalid('PROTOBUF', message(error))
  }
  const missing = added.imports.filter((path) => !references.has(path) && !path.startsWith('google/protobuf/'))
  if (missing.length > 0) throw invalid('PROTOBUF', `imports ${missing.join(', ')} without a reference of that name`)
  addWellKnown(root, [...imports, ...added.imports].filter((path) => path.startsWith('google/protobuf/')))
  try {
    root.resolveAll()
  } catch (error) {
    throw invalid('PROTOBUF', message(error))
  }
  if (root.nestedArray.length === 0) throw invalid('PROTOBUF', 'it defines no message')
  return { type: 'PROTOBUF', proto: root, packageName: added.packageName, source: added.source }
}

/** Parses schema text of a type with its resolved references; throws 42201 (REGISTRY_INVALID_SCHEMA) with the parser's reason. */
export function parseSchema(type: SchemaType, text: string, references: ResolvedReferences): ParsedSchema {
  if (text.trim() === '') throw invalid(type, 'the schema is empty')
  switch (type) {
    case 'AVRO': return { type, avro: parseAvro(text, references) }
    case 'JSON': return { type, json: parseJsonSchema(text, references) }
    case 'PROTOBUF': return parseProtobuf(text, references)
  }
}

/** JSON with object keys sorted at every level: property order and whitespace stop mattering. */
function sortedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedJson)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedJson((value as Record<string, unknown>)[key])]))
}

/**
 * The text stored for a schema: Avro and JSON Schema as compact JSON (whitespace never makes two
 * schemas differ, as Confluent's canonical string), and with `normalize` also with sorted keys;
 * Protobuf as sent (normalized: protobufjs' JSON form of the parsed file).
 */
export function canonicalText(parsed: ParsedSchema, text: string, normalize: boolean): string {
  if (parsed.type === 'PROTOBUF') {
    if (!normalize || parsed.source === 'descriptor') return text.trim()
    return JSON.stringify(sortedJson(parsed.proto.toJSON()))
  }
  const json = JSON.parse(text) as unknown
  return JSON.stringify(normalize ? sortedJson(json) : json)
}

/**
 * A Protobuf schema as a base64 FileDescriptorProto (the `format=serialized` answer Confluent's
 * Protobuf deserializers ask for): kept as registered when it came that way, built from the parsed
 * .proto source otherwise.
 */
export function serializedProtobuf(parsed: ParsedSchema & { type: 'PROTOBUF' }, text: string, fileName: string): string {
  if (parsed.source === 'descriptor') return text.trim()
  const set = (parsed.proto as unknown as { toDescriptor(syntax: string): { file: Array<Record<string, unknown> & { package?: string; name?: string }> } }).toDescriptor('proto3')
  // toDescriptor makes one file per package; the schema's own is the one of its package.
  const own = set.file.find((file) => (file.package ?? '') === parsed.packageName) ?? set.file[0]
  if (own === undefined) throw new HttpProblem('REGISTRY_INVALID_SCHEMA', 'the Protobuf schema defines nothing to serialize')
  const fileType = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto
  return Buffer.from(fileType.encode(fileType.fromObject({ ...own, name: fileName })).finish()).toString('base64')
}
