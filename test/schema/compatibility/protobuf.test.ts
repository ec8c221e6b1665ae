// Protobuf compatibility by field number, on .proto text and on a FileDescriptorProto as Confluent's
// Python serializer registers it (the bytes below were made with Google's protobuf package).
import { describe, expect, it } from 'vitest'
import { compatibilityErrors, type CompatibilityLevel } from '../../../src/schema/compatibility/index.ts'
import { parseSchema, type ParsedSchema } from '../../../src/schema/parse.ts'

/** shop/order.proto: `package shop; message Order { string id = 1; int64 cents = 2; repeated string tags = 3; }` (proto3), by descriptor_pb2. */
const ORDER_DESCRIPTOR = 'ChBzaG9wL29yZGVyLnByb3RvEgRzaG9wIjAKBU9yZGVyEgoKAmlkGAEgASgJEg0KBWNlbnRzGAIgASgDEgwKBHRhZ3MYAyADKAliBnByb3RvMw=='

const proto = (body: string, header = 'syntax = "proto3";\npackage shop;\n'): ParsedSchema => parseSchema('PROTOBUF', `${header}${body}`, new Map())
const order = (fields: string) => proto(`message Order {\n${fields}\n}\n`)
const check = (level: CompatibilityLevel, candidate: ParsedSchema, previous: ParsedSchema) => compatibilityErrors(level, candidate, [{ version: 1, parsed: previous }])

const v1 = order('string id = 1; int64 cents = 2; repeated string tags = 3;')

describe('Protobuf compatibility', () => {
  it('parses a base64 FileDescriptorProto as the same schema as its .proto text', () => {
    const descriptor = parseSchema('PROTOBUF', ORDER_DESCRIPTOR, new Map())
    expect(descriptor).toMatchObject({ type: 'PROTOBUF', packageName: 'shop', source: 'descriptor' })
    expect(check('FULL', descriptor, v1)).toEqual([])
    expect(check('FULL', v1, descriptor)).toEqual([])
    expect(check('BACKWARD', order('string id = 1; string cents = 2; repeated string tags = 3;'), descriptor)).toEqual([expect.stringMatching(/field 2 changed scalar type from int64 to string/)])
  })

  it('adding and removing optional fields is compatible both ways', () => {
    expect(check('FULL', order('string id = 1; int64 cents = 2; repeated string tags = 3; string note = 4;'), v1)).toEqual([])
    expect(check('FULL', order('string id = 1; repeated string tags = 3;'), v1)).toEqual([])
  })

  it('a field number reused with a wire-incompatible type breaks; one of the same wire group does not', () => {
    expect(check('BACKWARD', order('string id = 1; int32 cents = 2; repeated string tags = 3;'), v1)).toEqual([])
    expect(check('BACKWARD', order('bytes id = 1; int64 cents = 2; repeated string tags = 3;'), v1)).toEqual([])
    expect(check('BACKWARD', order('string id = 1; double cents = 2; repeated string tags = 3;'), v1)).toEqual([expect.stringMatching(/field 2 changed scalar type from int64 to double/)])
    expect(check('BACKWARD', order('string id = 1; sint64 cents = 2; repeated string tags = 3;'), v1)).toHaveLength(1)
    expect(check('BACKWARD', order('string id = 1; int64 cents = 2; string tags = 3;'), v1)).toEqual([expect.stringMatching(/field 3 changed kind from repeated scalar/)])
  })

  it('message and enum types of a field are compared by name', () => {
    const withMoney = (type: string) => proto(`message Money { int64 units = 1; }\nmessage Cents { int64 units = 1; }\nmessage Order { string id = 1; ${type} total = 2; }\n`)
    expect(check('BACKWARD', withMoney('Money'), withMoney('Money'))).toEqual([])
    expect(check('BACKWARD', withMoney('Cents'), withMoney('Money'))).toEqual([expect.stringMatching(/changed type from shop.Money to shop.Cents/)])
    expect(check('BACKWARD', withMoney('int64'), withMoney('Money'))).toEqual([expect.stringMatching(/changed kind from message/)])
  })

  it('removing a message, changing the package, or proto2 required fields break', () => {
    expect(check('BACKWARD', proto('message Other { string id = 1; }\n'), v1)).toEqual([expect.stringMatching(/message shop.Order removed/)])
    expect(check('BACKWARD', proto('message Order { string id = 1; int64 cents = 2; repeated string tags = 3; }\n', 'syntax = "proto3";\npackage store;\n'), v1)).toContainEqual(expect.stringMatching(/package changed from "shop" to "store"/))
    const proto2 = (fields: string) => proto(`message Order { ${fields} }\n`, 'syntax = "proto2";\npackage shop;\n')
    expect(check('BACKWARD', proto2('optional string id = 1; required int64 cents = 2;'), proto2('optional string id = 1;'))).toEqual([expect.stringMatching(/required field 2 \(cents\) added/)])
    expect(check('BACKWARD', proto2('optional string id = 1;'), proto2('optional string id = 1; required int64 cents = 2;'))).toEqual([expect.stringMatching(/required field 2 \(cents\) removed/)])
  })

  it('moving an existing field into a oneof with another existing field breaks', () => {
    const moved = order('oneof amount { int64 cents = 2; string id = 1; }\nrepeated string tags = 3;')
    expect(check('BACKWARD', moved, v1)).toContainEqual(expect.stringMatching(/moved into oneof amount/))
    expect(check('BACKWARD', order('string id = 1; oneof amount { int64 cents = 2; }\nrepeated string tags = 3;'), v1)).toEqual([])
  })

  it('resolves imports through references and the well-known types', () => {
    const money = { id: 1, schemaType: 'PROTOBUF' as const, schema: 'syntax = "proto3";\npackage money;\nmessage Money { int64 units = 1; }\n', references: [] }
    const text = 'syntax = "proto3";\npackage shop;\nimport "money.proto";\nimport "google/protobuf/timestamp.proto";\nmessage Order { money.Money total = 1; google.protobuf.Timestamp at = 2; }\n'
    expect(parseSchema('PROTOBUF', text, new Map([['money.proto', money]]))).toMatchObject({ type: 'PROTOBUF', packageName: 'shop' })
    expect(() => parseSchema('PROTOBUF', text, new Map())).toThrow(/imports money.proto without a reference/)
  })

  it('refuses text that is neither .proto source nor a descriptor', () => {
    expect(() => parseSchema('PROTOBUF', 'message M { int32 a = 1 }', new Map())).toThrow(/Invalid schema of type PROTOBUF/)
    expect(() => parseSchema('PROTOBUF', 'syntax = "proto3"; message M { Unknown a = 1; }', new Map())).toThrow(/Invalid schema of type PROTOBUF/)
  })
})
