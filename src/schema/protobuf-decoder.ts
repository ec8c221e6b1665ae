// Protobuf schemas (.proto source, with imports from references) -> the SourceType of a message and
// a decoder of its binary encoding (protobufjs). Which message of the file a record holds comes from
// Confluent's message indexes (read by wire-format.ts); without them, the file's first message.
import protobuf from 'protobufjs'
import { ZombiError } from '../errors.ts'
import type { RegisteredSchema } from './lookup.ts'
import { isProtobufDescriptor, parseSchema, protobufDescriptorMessages } from './parse.ts'
import { primitive, type SourceField, type SourceType } from './source-type.ts'
import type { ValueDecoder } from './avro-decoder.ts'

const SCALARS: Record<string, SourceType> = {
  double: primitive('double'), float: primitive('float'),
  int32: primitive('int'), sint32: primitive('int'), sfixed32: primitive('int'),
  // Unsigned 32-bit values go past int's range: long.
  uint32: primitive('long'), fixed32: primitive('long'),
  int64: primitive('long'), sint64: primitive('long'), sfixed64: primitive('long'), uint64: primitive('long'), fixed64: primitive('long'),
  bool: primitive('boolean'), string: primitive('string'), bytes: primitive('binary'),
}
const LONGS = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64'])
const TIMESTAMP = 'google.protobuf.Timestamp'

function unsupported(message: string): ZombiError {
  return new ZombiError('TYPED_SCHEMA_UNSUPPORTED', `Protobuf schema: ${message}`)
}

interface Node {
  source: SourceType
  convert(value: unknown): unknown
}

const identity = (value: unknown): unknown => value

function scalarNode(type: string): Node {
  const source = SCALARS[type]
  if (source === undefined) throw unsupported(`unknown field type ${type}`)
  if (!LONGS.has(type)) return { source, convert: identity }
  return { source, convert: (value) => BigInt(value as string) }
}

function typeName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '')
}

class ProtobufWalker {
  readonly #walking = new Set<string>()

  message(type: protobuf.Type): Node {
    const name = typeName(type)
    if (name === TIMESTAMP) {
      return {
        source: primitive('timestamptz'),
        convert: (value) => {
          const { seconds, nanos } = value as { seconds: string; nanos: number }
          return BigInt(seconds) * 1_000_000n + BigInt(Math.trunc((nanos ?? 0) / 1000))
        },
      }
    }
    if (this.#walking.has(name)) throw unsupported(`recursive message ${name} cannot be a table column`)
    this.#walking.add(name)
    const fields: SourceField[] = []
    const converters: Array<[string, Node]> = []
    for (const field of type.fieldsArray) {
      const node = this.#field(field)
      // proto3 has no required fields: every column is optional (absent scalars read as their defaults).
      fields.push({ name: field.name, type: node.source, optional: true })
      converters.push([field.name, node])
    }
    this.#walking.delete(name)
    return {
      source: { kind: 'struct', fields },
      convert: (value) => {
        const object = value as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (const [fieldName, node] of converters) {
          const item = object[fieldName]
          out[fieldName] = item === undefined || item === null ? null : node.convert(item)
        }
        return out
      },
    }
  }

  #single(field: protobuf.Field, type: string): Node {
    const resolved = field.resolvedType
    if (resolved instanceof protobuf.Enum) return { source: primitive('string'), convert: (value) => String(value) }
    if (resolved instanceof protobuf.Type) return this.message(resolved)
    return scalarNode(type)
  }

  #field(field: protobuf.Field): Node {
    if (field instanceof protobuf.MapField) {
      const key = scalarNode(field.keyType)
      const value = this.#single(field, field.type)
      return {
        source: { kind: 'map', key: key.source, value: value.source, valueOptional: false },
        convert: (map) => Object.entries(map as Record<string, unknown>).map(([k, v]) => [
          key.source.kind === 'primitive' && (key.source.type === 'int' || key.source.type === 'long') ? key.convert(key.source.type === 'int' ? Number(k) : k) : key.source.kind === 'primitive' && key.source.type === 'boolean' ? k === 'true' : k,
          value.convert(v),
        ]),
      }
    }
    const single = this.#single(field, field.type)
    if (!field.repeated) return single
    return { source: { kind: 'list', element: single.source, elementOptional: false }, convert: (items) => (items as unknown[]).map((item) => single.convert(item)) }
  }
}

/** The messages a .proto file declares, in declaration order, nested ones under their parent (Confluent's message indexes walk this tree). */
function declaredMessages(namespace: protobuf.NamespaceBase): protobuf.Type[] {
  return namespace.nestedArray.filter((nested): nested is protobuf.Type => nested instanceof protobuf.Type)
}

/**
 * Decoders of the messages of a .proto schema: `decoder(indexes)` gives the message Confluent's
 * message indexes name ([] or [0]: the first top-level message).
 */
export function protobufDecoders(schema: RegisteredSchema, references: ReadonlyMap<string, RegisteredSchema>): (indexes: readonly number[]) => ValueDecoder {
  const topLevel = isProtobufDescriptor(schema.schema) ? descriptorMessages(schema, references) : sourceMessages(schema, references)
  const cache = new Map<string, ValueDecoder>()
  return (indexes) => {
    const key = indexes.join(',')
    const known = cache.get(key)
    if (known !== undefined) return known
    let candidates = topLevel
    let type: protobuf.Type | undefined
    for (const index of indexes.length === 0 ? [0] : indexes) {
      type = candidates[index]
      if (type === undefined) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `message index ${indexes.join(',')} is not in schema ${schema.id}`)
      candidates = declaredMessages(type)
    }
    const message = type!
    const node = new ProtobufWalker().message(message)
    if (node.source.kind !== 'struct') throw unsupported(`message ${typeName(message)} is not a struct`)
    const decoder: ValueDecoder = {
      type: node.source,
      decode(bytes) {
        const decoded = message.decode(bytes)
        const object = message.toObject(decoded, { longs: String, enums: String, defaults: true, arrays: true, objects: true })
        return node.convert(object) as Record<string, unknown>
      },
    }
    cache.set(key, decoder)
    return decoder
  }
}

/** The top-level messages of a .proto source schema, its imports loaded from the well-known files and its references. */
function sourceMessages(schema: RegisteredSchema, references: ReadonlyMap<string, RegisteredSchema>): protobuf.Type[] {
  const root = new protobuf.Root()
  let parsed: protobuf.IParserResult
  try {
    parsed = protobuf.parse(schema.schema, root, { keepCase: true })
  } catch (error) {
    throw unsupported(`schema ${schema.id} does not parse: ${(error as Error).message}`)
  }
  const namespace = parsed.package === undefined ? root : root.lookup(parsed.package)
  if (!(namespace instanceof protobuf.Namespace) && namespace !== root) throw unsupported(`package ${parsed.package} not found`)
  const topLevel = declaredMessages(namespace as protobuf.NamespaceBase)
  const loaded = new Set<string>()
  const load = (imports: readonly string[] | undefined): void => {
    for (const name of imports ?? []) {
      if (loaded.has(name)) continue
      loaded.add(name)
      const common = protobuf.common.get(name) as { nested?: Record<string, protobuf.AnyNestedObject> } | null
      if (common?.nested !== undefined) {
        root.addJSON(common.nested)
        continue
      }
      const reference = references.get(name)
      if (reference === undefined) throw unsupported(`import ${name} of schema ${schema.id} is not among its references`)
      try {
        load(protobuf.parse(reference.schema, root, { keepCase: true }).imports)
      } catch (error) {
        if (error instanceof ZombiError) throw error
        throw unsupported(`referenced schema ${name} does not parse: ${(error as Error).message}`)
      }
    }
  }
  load(parsed.imports)
  try {
    root.resolveAll()
  } catch (error) {
    throw unsupported(`schema ${schema.id} does not resolve: ${(error as Error).message}`)
  }
  return topLevel
}

/**
 * The top-level messages of a schema registered as a base64 FileDescriptorProto (what Confluent's
 * Python serializer registers), parsed with its references as the registry parses it.
 */
function descriptorMessages(schema: RegisteredSchema, references: ReadonlyMap<string, RegisteredSchema>): protobuf.Type[] {
  let parsed: ReturnType<typeof parseSchema>
  try {
    parsed = parseSchema('PROTOBUF', schema.schema, references)
  } catch (error) {
    throw unsupported(`schema ${schema.id} does not parse: ${(error as Error).message}`)
  }
  if (parsed.type !== 'PROTOBUF') throw unsupported(`schema ${schema.id} is not a Protobuf schema`)
  const { packageName, messages } = protobufDescriptorMessages(schema.schema)
  return messages.map((name) => {
    const type = parsed.proto.lookup(packageName === '' ? name : `${packageName}.${name}`)
    if (!(type instanceof protobuf.Type)) throw unsupported(`message ${name} of schema ${schema.id} not found`)
    return type
  })
}
