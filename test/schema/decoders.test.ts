// Decoders per format: Protobuf (message indexes, nested messages, maps, enums, Timestamp, imports
// from references) and JSON Schema ($ref, optional, formats, maps) to the shape typed tables take,
// and the wire format's prefix.
import protobuf from 'protobufjs'
import { expect, test } from 'vitest'
import { hasCode } from '../../src/errors.ts'
import { DecoderCache, readMessageIndexes, readWirePrefix, type SchemaBundle } from '../../src/schema/decoders.ts'
import type { RegisteredSchema } from '../../src/schema/lookup.ts'
import { parseSchema } from '../../src/schema/parse.ts'

const proto = `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
import "money.proto";
message First { string name = 1; }
message Order {
  int64 id = 1;
  repeated string tags = 2;
  map<string, int32> counts = 3;
  Status status = 4;
  google.protobuf.Timestamp at = 5;
  Item item = 6;
  shop.Money price = 7;
  message Item { bool gift = 1; }
}
enum Status { NEW = 0; PAID = 1; }
`
const money = 'syntax = "proto3"; package shop; message Money { int64 cents = 1; string currency = 2; }'

function schema(id: number, schemaType: RegisteredSchema['schemaType'], text: string): RegisteredSchema {
  return { id, schemaType, schema: text, references: [] }
}

test('a Protobuf message named by its message indexes decodes with imports, maps, enums and Timestamp', () => {
  const bundle: SchemaBundle = { schema: schema(7, 'PROTOBUF', proto), references: [['money.proto', schema(6, 'PROTOBUF', money)]] }
  const decoder = new DecoderCache().decoder(bundle, [1])
  expect(decoder.type.fields.map((field) => [field.name, field.type.kind === 'primitive' ? field.type.type : field.type.kind])).toEqual([
    ['id', 'long'], ['tags', 'list'], ['counts', 'map'], ['status', 'string'], ['at', 'timestamptz'], ['item', 'struct'], ['price', 'struct'],
  ])
  const root = new protobuf.Root()
  protobuf.parse(money, root, { keepCase: true })
  protobuf.parse(proto.replace('import "google/protobuf/timestamp.proto";', '').replace('import "money.proto";', ''), root, { keepCase: true })
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!)
  root.resolveAll()
  const Order = root.lookupType('shop.Order')
  const bytes = Order.encode(Order.fromObject({ id: '9007199254740993', tags: ['a'], counts: { x: 2 }, status: 'PAID', at: { seconds: 10, nanos: 5000 }, item: { gift: true }, price: { cents: 5, currency: 'EUR' } })).finish()
  expect(decoder.decode(bytes)).toEqual({
    id: 9007199254740993n, tags: ['a'], counts: [['x', 2]], status: 'PAID', at: 10_000_005n, item: { gift: true }, price: { cents: 5n, currency: 'EUR' },
  })
  // [0] names the first message; a path past the file's messages does not decode.
  expect(new DecoderCache().decoder(bundle, [0]).type.fields.map((field) => field.name)).toEqual(['name'])
  expect(() => new DecoderCache().decoder(bundle, [5])).toThrow(/message index/)
})

// What Confluent's Python ProtobufSerializer registers: a base64 FileDescriptorProto (shop/order.proto:
// Customer, then Order with a Customer, an int64, a google.protobuf.Timestamp, a repeated string and a
// map<string, int64>), and one of its records after the wire-format prefix (message indexes [1]).
const orderDescriptor = 'ChBzaG9wL29yZGVyLnByb3RvEgRzaG9wGh9nb29nbGUvcHJvdG9idWYvdGltZXN0YW1wLnByb3RvIiUKCEN1c3RvbWVyEgwKBG5hbWUYASABKAkSCwoDYWdlGAIgASgFItABCgVPcmRlchIKCgJpZBgBIAEoCRIgCghjdXN0b21lchgCIAEoCzIOLnNob3AuQ3VzdG9tZXISDQoFY2VudHMYAyABKAMSJgoCYXQYBCABKAsyGi5nb29nbGUucHJvdG9idWYuVGltZXN0YW1wEg0KBWl0ZW1zGAUgAygJEiUKBWF0dHJzGAYgAygLMhYuc2hvcC5PcmRlci5BdHRyc0VudHJ5GiwKCkF0dHJzRW50cnkSCwoDa2V5GAEgASgJEg0KBXZhbHVlGAIgASgDOgI4AWIGcHJvdG8z'
const orderRecord = Buffer.from('CgJwMRIHCgNhZGEQHxjSCSIMCKXr3MoGEIjq3MMCKgNwZW4qA2luazIHCgNxdHkQAg==', 'base64')

test('a Protobuf schema registered as a FileDescriptorProto importing google/protobuf/timestamp.proto parses and decodes', () => {
  // Both failed before: the registry resolved the descriptor without the well-known import (422),
  // and the decoder read schema text only as .proto source (every record to the dead-letter table).
  const parsed = parseSchema('PROTOBUF', orderDescriptor, new Map())
  expect(parsed.type === 'PROTOBUF' && parsed.proto.lookupType('shop.Order').fields.at!.resolvedType?.fullName).toBe('.google.protobuf.Timestamp')
  const decoder = new DecoderCache().decoder({ schema: schema(5, 'PROTOBUF', orderDescriptor), references: [] }, [1])
  expect(decoder.type.fields.map((field) => [field.name, field.type.kind === 'primitive' ? field.type.type : field.type.kind])).toEqual([
    ['id', 'string'], ['customer', 'struct'], ['cents', 'long'], ['at', 'timestamptz'], ['items', 'list'], ['attrs', 'map'],
  ])
  expect(decoder.decode(orderRecord)).toEqual({
    id: 'p1', customer: { name: 'ada', age: 31 }, cents: 1234n, at: 1_767_323_045_678_901n, items: ['pen', 'ink'], attrs: [['qty', 2n]],
  })
  expect(new DecoderCache().decoder({ schema: schema(5, 'PROTOBUF', orderDescriptor), references: [] }, [0]).type.fields.map((field) => field.name)).toEqual(['name', 'age'])
})

test('Confluent message indexes: 0 is [0], else a zigzag count then the path', () => {
  expect(readMessageIndexes(Uint8Array.of(0, 9), 0)).toEqual({ indexes: [0], end: 1 })
  expect(readMessageIndexes(Uint8Array.of(4, 2, 0), 0)).toEqual({ indexes: [1, 0], end: 3 })
  expect(readWirePrefix(Uint8Array.of(0, 0, 0, 1, 2, 7))).toEqual({ schemaId: 258, start: 5 })
  expect(() => readWirePrefix(Uint8Array.of(1, 0, 0, 0, 1))).toThrow(/magic byte 1/)
  expect(() => readWirePrefix(Uint8Array.of(0, 0))).toThrow(/too short/)
})

test('a JSON Schema maps required and optional properties, $ref, formats and additionalProperties; a value that does not fit fails', () => {
  const text = JSON.stringify({
    type: 'object', required: ['id', 'when'],
    properties: {
      id: { type: 'integer' }, when: { type: 'string', format: 'date-time' }, day: { type: 'string', format: 'date' },
      score: { type: ['number', 'null'] }, labels: { type: 'object', additionalProperties: { type: 'string' } },
      owner: { $ref: '#/definitions/Owner' },
    },
    definitions: { Owner: { type: 'object', properties: { name: { type: 'string' } } } },
  })
  const decoder = new DecoderCache().decoder({ schema: schema(3, 'JSON', text), references: [] })
  expect(decoder.type.fields.map((field) => [field.name, field.optional])).toEqual([
    ['id', false], ['when', false], ['day', true], ['score', true], ['labels', true], ['owner', true],
  ])
  const value = decoder.decode(Buffer.from(JSON.stringify({ id: 5, when: '2024-05-01T10:00:00.123456Z', day: '2024-05-02', labels: { a: 'b' }, owner: { name: 'n' } })))
  expect(value).toEqual({ id: 5, when: Date.UTC(2024, 4, 1, 10) * 1000 + 123456, day: 19845, score: null, labels: [['a', 'b']], owner: { name: 'n' } })
  const fails = (json: string): boolean => {
    try {
      decoder.decode(Buffer.from(json))
      return false
    } catch (error) {
      return hasCode(error, 'TYPED_RECORD_UNDECODABLE')
    }
  }
  expect(fails('{"when":"2024-05-01T10:00:00Z"}')).toBe(true)
  expect(fails('{"id":"5","when":"2024-05-01T10:00:00Z"}')).toBe(true)
  expect(fails('not json')).toBe(true)
})

test('JSON integers past 2^53 decode exactly (JSON.parse alone rounds them); past 64 bits they fail the record', () => {
  const text = JSON.stringify({ type: 'object', properties: { n: { type: 'integer' }, x: { type: 'number' }, m: { type: 'object', additionalProperties: { type: 'integer' } } } })
  const decoder = new DecoderCache().decoder({ schema: schema(4, 'JSON', text), references: [] })
  // What Python's json.dumps (Confluent's JSONSerializer) writes for 2**53 + 1 and -(2**63).
  expect(decoder.decode(Buffer.from('{"n": 9007199254740993, "x": 12345678901234567890, "m": {"min": -9223372036854775808, "small": 7}}'))).toEqual({
    n: 9007199254740993n, x: Number(12345678901234567890n), m: [['min', -9223372036854775808n], ['small', 7]],
  })
  expect(() => decoder.decode(Buffer.from('{"n": 9223372036854775808}'))).toThrow(/not a 64-bit integer/)
})

test('schemas no column holds are refused with TYPED_SCHEMA_UNSUPPORTED', () => {
  const refused = (bundle: SchemaBundle): boolean => {
    try {
      new DecoderCache().decoder(bundle)
      return false
    } catch (error) {
      return hasCode(error, 'TYPED_SCHEMA_UNSUPPORTED')
    }
  }
  expect(refused({ schema: schema(1, 'AVRO', JSON.stringify({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] })), references: [] })).toBe(true)
  expect(refused({ schema: schema(2, 'AVRO', '"string"'), references: [] })).toBe(true)
  expect(refused({ schema: schema(3, 'JSON', JSON.stringify({ type: 'object', properties: { a: { type: ['string', 'integer'] } } })), references: [] })).toBe(true)
})
