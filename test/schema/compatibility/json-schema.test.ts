// JSON Schema compatibility: the structural rules of src/schema/compatibility/json-schema.ts, one by one,
// with open and closed content models as Confluent distinguishes them.
import { describe, expect, it } from 'vitest'
import { compatibilityErrors, type CompatibilityLevel } from '../../../src/schema/compatibility/index.ts'
import { jsonSchemaReadErrors } from '../../../src/schema/compatibility/json-schema.ts'
import { parseSchema, type ParsedSchema } from '../../../src/schema/parse.ts'
import type { RegisteredSchema } from '../../../src/schema/lookup.ts'

const json = (schema: object | boolean, references = new Map<string, RegisteredSchema>()): ParsedSchema & { type: 'JSON' } =>
  parseSchema('JSON', JSON.stringify(schema), references) as ParsedSchema & { type: 'JSON' }
/** Errors of `reader` reading what `writer` accepted. */
const reads = (reader: object | boolean, writer: object | boolean) => jsonSchemaReadErrors(json(reader).json, json(writer).json)
const object = (properties: object, extra: object = {}) => ({ type: 'object', properties, ...extra })
const closed = (properties: object, extra: object = {}) => object(properties, { additionalProperties: false, ...extra })

describe('JSON Schema compatibility', () => {
  it('types: widening reads, narrowing does not; number covers integer', () => {
    expect(reads({ type: ['string', 'null'] }, { type: 'string' })).toEqual([])
    expect(reads({ type: 'number' }, { type: 'integer' })).toEqual([])
    expect(reads({ type: 'integer' }, { type: 'number' })).toEqual([expect.stringMatching(/type number/)])
    expect(reads({ type: 'string' }, {})).toEqual([expect.stringMatching(/narrowed from any/)])
    expect(reads({}, { type: 'string' })).toEqual([])
    expect(reads(true, { type: 'string' })).toEqual([])
    expect(reads(false, { type: 'string' })).toHaveLength(1)
  })

  it('closed content model: adding an optional property reads, a required one or removing one does not', () => {
    const v1 = closed({ name: { type: 'string' } })
    expect(reads(closed({ name: { type: 'string' }, age: { type: 'integer' } }), v1)).toEqual([])
    expect(reads(closed({ name: { type: 'string' }, age: { type: 'integer' } }, { required: ['age'] }), v1)).toEqual([expect.stringMatching(/age: required property added/)])
    expect(reads(closed({ name: { type: 'string' }, age: { type: 'integer', default: 0 } }, { required: ['age'] }), v1)).toEqual([])
    expect(reads(closed({}), v1)).toEqual([expect.stringMatching(/name: property removed from a closed content model/)])
  })

  it('open content model: removing a property reads, adding a typed one does not', () => {
    const v1 = object({ name: { type: 'string' } })
    expect(reads(object({}), v1)).toEqual([])
    expect(reads(object({ name: { type: 'string' }, age: { type: 'integer' } }), v1)).toEqual([expect.stringMatching(/age: property added to an open content model/)])
    expect(reads(object({ name: { type: 'string' }, note: {} }), v1)).toEqual([])
    expect(reads(closed({ name: { type: 'string' } }), v1)).toEqual([expect.stringMatching(/additionalProperties closed/)])
  })

  it('partially open content model: a property added must fit additionalProperties', () => {
    const v1 = object({ name: { type: 'string' } }, { additionalProperties: { type: 'string' } })
    expect(reads(object({ name: { type: 'string' }, city: { type: 'string' } }, { additionalProperties: { type: 'string' } }), v1)).toEqual([])
    expect(reads(object({ name: { type: 'string' }, age: { type: 'integer' } }, { additionalProperties: { type: 'string' } }), v1)).toHaveLength(1)
  })

  it('required: dropping reads, adding does not', () => {
    expect(reads(object({ a: { type: 'string' } }), object({ a: { type: 'string' } }, { required: ['a'] }))).toEqual([])
    expect(reads(object({ a: { type: 'string' } }, { required: ['a'] }), object({ a: { type: 'string' } }))).toHaveLength(1)
  })

  it('enum and bounds may widen, not narrow', () => {
    expect(reads({ enum: ['a', 'b', 'c'] }, { enum: ['a', 'b'] })).toEqual([])
    expect(reads({ enum: ['a'] }, { enum: ['a', 'b'] })).toEqual([expect.stringMatching(/enum values removed: "b"/)])
    expect(reads({ type: 'string', maxLength: 20 }, { type: 'string', maxLength: 10 })).toEqual([])
    expect(reads({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 })).toEqual([expect.stringMatching(/maxLength decreased from 10 to 5/)])
    expect(reads({ type: 'integer', minimum: 1 }, { type: 'integer' })).toEqual([expect.stringMatching(/minimum added/)])
    expect(reads({ type: 'string', pattern: '^a' }, { type: 'string' })).toHaveLength(1)
  })

  it('arrays compare their items', () => {
    expect(reads({ type: 'array', items: { type: 'number' } }, { type: 'array', items: { type: 'integer' } })).toEqual([])
    expect(reads({ type: 'array', items: { type: 'integer' } }, { type: 'array', items: { type: 'number' } })).toEqual([expect.stringMatching(/items/)])
  })

  it('oneOf/anyOf: every old alternative must be read by a new one', () => {
    expect(reads({ oneOf: [{ type: 'string' }, { type: 'integer' }, { type: 'null' }] }, { oneOf: [{ type: 'string' }, { type: 'integer' }] })).toEqual([])
    expect(reads({ oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { type: 'integer' }] })).toHaveLength(1)
    expect(reads({ anyOf: [{ type: 'string' }, { type: 'null' }] }, { type: 'string' })).toEqual([])
  })

  it('follows $ref within the document, into referenced schemas, and through recursion', () => {
    const local = (itemType: string) => ({ $defs: { Item: { type: itemType } }, type: 'object', properties: { item: { $ref: '#/$defs/Item' } } })
    expect(reads(local('number'), local('integer'))).toEqual([])
    expect(reads(local('integer'), local('number'))).toHaveLength(1)
    const tree = (valueType: string) => ({ $defs: { Node: { type: 'object', properties: { value: { type: valueType }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } }, $ref: '#/$defs/Node' })
    expect(reads(tree('number'), tree('integer'))).toEqual([])
    expect(reads(tree('integer'), tree('number'))).toHaveLength(1)
    const address = (zip: string): RegisteredSchema => ({ id: 1, schemaType: 'JSON', schema: JSON.stringify({ type: 'object', properties: { zip: { type: zip } } }), references: [] })
    const person = { type: 'object', properties: { home: { $ref: 'address.json' } } }
    const widened = json(person, new Map([['address.json', address('number')]]))
    const narrow = json(person, new Map([['address.json', address('integer')]]))
    expect(jsonSchemaReadErrors(widened.json, narrow.json)).toEqual([])
    expect(jsonSchemaReadErrors(narrow.json, widened.json)).toEqual([expect.stringMatching(/home\/properties\/zip/)])
  })

  it('levels pick the direction: FORWARD is the old schema reading the new one', () => {
    const v1 = closed({ name: { type: 'string' } })
    const v2 = closed({ name: { type: 'string' }, age: { type: 'integer' } })
    const level = (l: CompatibilityLevel, candidate: ParsedSchema, previous: ParsedSchema) => compatibilityErrors(l, candidate, [{ version: 1, parsed: previous }])
    expect(level('BACKWARD', json(v2), json(v1))).toEqual([])
    expect(level('FORWARD', json(v2), json(v1))).toEqual([expect.stringMatching(/age: property removed from a closed content model/)])
    expect(level('FULL', json(v2), json(v1))).toHaveLength(1)
  })

  it('refuses schemas that are not JSON Schema', () => {
    expect(() => json({ type: 12 } as object)).toThrow(/Invalid schema of type JSON/)
    expect(() => parseSchema('JSON', '[1]', new Map())).toThrow(/object or a boolean/)
    expect(() => parseSchema('JSON', '{"$ref": "missing.json"}', new Map())).toThrow(/Invalid schema of type JSON/)
  })
})
