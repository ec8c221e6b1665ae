// Protobuf compatibility by field number, as the wire format sees it: a reader decodes a writer's bytes
// when every field number both know keeps a wire-compatible type. Checked: the package; messages of the
// old schema missing from the new one; a field number reused with another kind (scalar, message, enum,
// map, repeated) or an incompatible scalar type (wire groups: int32/uint32/int64/uint64/bool,
// sint32/sint64, fixed32/sfixed32, fixed64/sfixed64, string/bytes; float and double alone); a field
// number reused with another message or enum type; proto2 required fields added or removed; a field
// moved into a oneof that holds another existing field. Removing or adding optional fields is compatible.
import protobuf from 'protobufjs'

const SCALAR_GROUPS: ReadonlyArray<readonly string[]> = [
  ['int32', 'uint32', 'int64', 'uint64', 'bool'],
  ['sint32', 'sint64'],
  ['fixed32', 'sfixed32'],
  ['fixed64', 'sfixed64'],
  ['string', 'bytes'],
  ['float'],
  ['double'],
]

function scalarGroup(type: string): number {
  return SCALAR_GROUPS.findIndex((group) => group.includes(type))
}

function messagesOf(namespace: protobuf.NamespaceBase, into = new Map<string, protobuf.Type>()): Map<string, protobuf.Type> {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) into.set(nested.fullName, nested)
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) messagesOf(nested, into)
  }
  return into
}

function kind(field: protobuf.Field): string {
  if (field instanceof protobuf.MapField) return `map<${field.keyType}, ${field.resolvedType?.fullName ?? field.type}>`
  const base = field.resolvedType instanceof protobuf.Type ? 'message' : field.resolvedType instanceof protobuf.Enum ? 'enum' : 'scalar'
  return field.repeated ? `repeated ${base}` : base
}

function compareField(reader: protobuf.Field, writer: protobuf.Field, where: string, errors: string[]): void {
  const readerKind = kind(reader)
  const writerKind = kind(writer)
  if (readerKind !== writerKind && !(reader instanceof protobuf.MapField && writer instanceof protobuf.MapField)) {
    errors.push(`${where}: field ${writer.id} changed kind from ${writerKind} (${writer.type}) to ${readerKind} (${reader.type})`)
    return
  }
  if (reader instanceof protobuf.MapField && writer instanceof protobuf.MapField && reader.keyType !== writer.keyType) {
    errors.push(`${where}: field ${writer.id} map key changed from ${writer.keyType} to ${reader.keyType}`)
    return
  }
  if (reader.resolvedType !== null || writer.resolvedType !== null) {
    const readerName = reader.resolvedType?.fullName ?? reader.type
    const writerName = writer.resolvedType?.fullName ?? writer.type
    if (readerName !== writerName) errors.push(`${where}: field ${writer.id} changed type from ${writerName.replace(/^\./, '')} to ${readerName.replace(/^\./, '')}`)
    return
  }
  const readerGroup = scalarGroup(reader.type)
  if (readerGroup < 0 || readerGroup !== scalarGroup(writer.type)) errors.push(`${where}: field ${writer.id} changed scalar type from ${writer.type} to ${reader.type}`)
}

function compareMessage(reader: protobuf.Type, writer: protobuf.Type, errors: string[]): void {
  const where = reader.fullName.replace(/^\./, '')
  for (const writerField of writer.fieldsArray) {
    const readerField = reader.fieldsById[writerField.id]
    if (readerField === undefined) {
      if (writerField.required) errors.push(`${where}: required field ${writerField.id} (${writerField.name}) removed`)
      continue
    }
    compareField(readerField, writerField, where, errors)
    if (readerField.required !== writerField.required) errors.push(`${where}: field ${writerField.id} (${writerField.name}) ${readerField.required ? 'became required' : 'is no longer required'}`)
    const oneof = readerField.partOf
    if (oneof !== null && (writerField.partOf === null || writerField.partOf.name !== oneof.name)) {
      const others = oneof.fieldsArray.filter((field) => field.id !== readerField.id && writer.fieldsById[field.id] !== undefined)
      if (others.length > 0) errors.push(`${where}: field ${writerField.id} (${writerField.name}) moved into oneof ${oneof.name}, which holds existing field ${others[0]!.id}`)
    }
  }
  for (const readerField of reader.fieldsArray) {
    if (writer.fieldsById[readerField.id] === undefined && readerField.required) errors.push(`${where}: required field ${readerField.id} (${readerField.name}) added`)
  }
}

export interface ProtobufSide {
  root: protobuf.Root
  packageName: string
}

/**
 * Why a reader of `newer`'s messages and a reader of `older`'s disagree on the bytes of the other side
 * (`reader` reads what `writer` wrote); `writerIsOlder` tells which side lost a message when one is missing.
 */
export function protobufReadErrors(reader: ProtobufSide, writer: ProtobufSide, writerIsOlder: boolean): string[] {
  const errors: string[] = []
  if (reader.packageName !== writer.packageName) errors.push(`package changed from ${JSON.stringify(writerIsOlder ? writer.packageName : reader.packageName)} to ${JSON.stringify(writerIsOlder ? reader.packageName : writer.packageName)}`)
  const readerMessages = messagesOf(reader.root)
  const writerMessages = messagesOf(writer.root)
  const [older, newer] = writerIsOlder ? [writerMessages, readerMessages] : [readerMessages, writerMessages]
  for (const name of older.keys()) {
    if (!newer.has(name)) errors.push(`message ${name.replace(/^\./, '')} removed`)
  }
  for (const [name, writerMessage] of writerMessages) {
    const readerMessage = readerMessages.get(name)
    if (readerMessage !== undefined) compareMessage(readerMessage, writerMessage, errors)
  }
  return errors
}
