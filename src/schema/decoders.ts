// Record values -> typed values, per table mode: Confluent's wire format (magic byte 0, a 4-byte
// big-endian schema id, for Protobuf the message indexes, then the encoded value), the latest
// schema of the topic's value subject, or JSON text. Decoders are built once per schema and kept
// (the encode worker decodes every record of a flush through them).
import { ZombiError } from '../errors.ts'
import { avroDecoder, type ValueDecoder } from './avro-decoder.ts'
import { jsonSchemaDecoder } from './json-decoder.ts'
import type { RegisteredSchema, SchemaLookup } from './lookup.ts'
import { protobufDecoders } from './protobuf-decoder.ts'

export type { ValueDecoder } from './avro-decoder.ts'

/** The topic config `zombi.iceberg.mode`: how a topic's values become typed columns (docs/typed-tables.md). */
export const TABLE_MODES = ['key_value', 'value_schema_id_prefix', 'value_schema_latest', 'json'] as const
export type TableMode = (typeof TABLE_MODES)[number]

/** A schema with everything needed to build its decoder from text alone (it crosses to the encode worker). */
export interface SchemaBundle {
  schema: RegisteredSchema
  references: Array<[string, RegisteredSchema]>
}

/** The subject whose latest schema `value_schema_latest` and `json` decode with (Confluent's TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`
}

/** The bundle of a schema, references resolved through the registry. */
export function bundleOf(lookup: SchemaLookup, schema: RegisteredSchema): SchemaBundle {
  return { schema: { id: schema.id, schemaType: schema.schemaType, schema: schema.schema, references: schema.references }, references: [...lookup.resolveReferences(schema)] }
}

export const MAGIC_BYTE = 0

/** Where a Confluent-framed value's encoded bytes start, and the schema id it names. */
export interface WirePrefix {
  schemaId: number
  /** Bytes after magic byte and id (for Protobuf the message indexes come first). */
  start: number
}

/** Reads magic byte and schema id; throws TYPED_RECORD_UNDECODABLE when the value is not framed. */
export function readWirePrefix(value: Uint8Array): WirePrefix {
  if (value.length < 5) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `a value of ${value.length} bytes is too short for the wire format (magic byte and schema id)`)
  if (value[0] !== MAGIC_BYTE) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `wrong magic byte ${value[0]} (the wire format starts with 0)`)
  const schemaId = ((value[1]! << 24) | (value[2]! << 16) | (value[3]! << 8) | value[4]!) >>> 0
  return { schemaId, start: 5 }
}

/** Confluent's Protobuf message indexes at `start`: zigzag varints, a count then the path ([0] when the count is 0). */
export function readMessageIndexes(value: Uint8Array, start: number): { indexes: number[]; end: number } {
  let at = start
  const varint = (): number => {
    let result = 0
    let shift = 0
    for (;;) {
      if (at >= value.length || shift > 28) throw new ZombiError('TYPED_RECORD_UNDECODABLE', 'the Protobuf message indexes end early')
      const byte = value[at++]!
      result |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) break
      shift += 7
    }
    return (result >>> 1) ^ -(result & 1)
  }
  const count = varint()
  if (count < 0 || count > 100) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `${count} Protobuf message indexes`)
  if (count === 0) return { indexes: [0], end: at }
  const indexes: number[] = []
  for (let i = 0; i < count; i++) indexes.push(varint())
  return { indexes, end: at }
}

/** Decoders by schema id (and Protobuf message path), built on first use from their bundles. */
export class DecoderCache {
  readonly #byKey = new Map<string, { text: string; decoder: ValueDecoder }>()
  readonly #protobuf = new Map<number, { text: string; decoders: (indexes: readonly number[]) => ValueDecoder }>()

  /** The decoder of `bundle` (for Protobuf, of the message at `indexes`); a changed text under the same id builds anew. */
  decoder(bundle: SchemaBundle, indexes: readonly number[] = [0]): ValueDecoder {
    const { schema } = bundle
    const references = new Map(bundle.references)
    if (schema.schemaType === 'PROTOBUF') {
      let file = this.#protobuf.get(schema.id)
      if (file === undefined || file.text !== schema.schema) {
        file = { text: schema.schema, decoders: protobufDecoders(schema, references) }
        this.#protobuf.set(schema.id, file)
      }
      return file.decoders(indexes)
    }
    const key = String(schema.id)
    let entry = this.#byKey.get(key)
    if (entry === undefined || entry.text !== schema.schema) {
      entry = { text: schema.schema, decoder: schema.schemaType === 'AVRO' ? avroDecoder(schema, references) : jsonSchemaDecoder(schema, references) }
      this.#byKey.set(key, entry)
    }
    return entry.decoder
  }
}

/** The key a decoder's values are typed under: the schema id, and a Protobuf message's path. */
export function decoderKey(schemaId: number, indexes: readonly number[] | null): string {
  return indexes === null || (indexes.length === 1 && indexes[0] === 0) ? String(schemaId) : `${schemaId}/${indexes.join('.')}`
}
