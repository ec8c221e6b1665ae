// Avro compatibility through avsc's resolver, level by level, on schemas as clients write them.
import { describe, expect, it } from 'vitest'
import { compatibilityErrors, type CompatibilityLevel } from '../../../src/schema/compatibility/index.ts'
import { parseSchema, type ParsedSchema } from '../../../src/schema/parse.ts'

const avro = (schema: object): ParsedSchema => parseSchema('AVRO', JSON.stringify(schema), new Map())
const record = (fields: object[]) => avro({ type: 'record', name: 'User', namespace: 'com.example', fields })

const v1 = record([{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }])
const addedWithDefault = record([{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }, { name: 'email', type: ['null', 'string'], default: null }])
const addedWithoutDefault = record([{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }, { name: 'email', type: 'string' }])
const removedField = record([{ name: 'name', type: 'string' }])
const widened = record([{ name: 'name', type: 'string' }, { name: 'count', type: 'long' }])

const check = (level: CompatibilityLevel, candidate: ParsedSchema, ...previous: ParsedSchema[]) =>
  compatibilityErrors(level, candidate, previous.map((parsed, index) => ({ version: index + 1, parsed })))

describe('Avro compatibility', () => {
  it('BACKWARD: the new schema reads old data; a field added needs a default, promotions are fine', () => {
    expect(check('BACKWARD', addedWithDefault, v1)).toEqual([])
    expect(check('BACKWARD', removedField, v1)).toEqual([])
    expect(check('BACKWARD', widened, v1)).toEqual([])
    expect(check('BACKWARD', addedWithoutDefault, v1)).toEqual([expect.stringMatching(/version 1.*email/)])
  })

  it('FORWARD: old readers read new data; removing a field without default or narrowing breaks', () => {
    expect(check('FORWARD', addedWithoutDefault, v1)).toEqual([])
    expect(check('FORWARD', removedField, v1)).toEqual([expect.stringMatching(/count/)])
    expect(check('FORWARD', v1, widened)).toEqual([])
    expect(check('FORWARD', widened, v1)).toEqual([expect.stringMatching(/long.*int/)])
  })

  it('FULL needs both directions', () => {
    expect(check('FULL', addedWithDefault, v1)).toEqual([])
    expect(check('FULL', widened, v1)).toHaveLength(1)
    expect(check('FULL', addedWithoutDefault, v1)).toHaveLength(1)
  })

  it('non-transitive levels look at the latest version only, transitive ones at all', () => {
    const later = record([{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }, { name: 'email', type: 'string', default: '' }])
    // The candidate reads `later`'s data (it has email), not v1's (it has none, and the candidate gives no default).
    const candidate = record([{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }, { name: 'email', type: 'string' }])
    expect(check('BACKWARD', candidate, v1, later)).toEqual([])
    expect(check('BACKWARD_TRANSITIVE', candidate, v1, later)).toEqual([expect.stringMatching(/version 1/)])
    expect(check('NONE', candidate, v1, later)).toEqual([])
  })

  it('enums: a symbol the reader lacks breaks, unless the reader has a default', () => {
    const enumOf = (symbols: string[], extra: object = {}) => avro({ type: 'enum', name: 'Color', symbols, ...extra })
    expect(check('BACKWARD', enumOf(['RED', 'GREEN', 'BLUE']), enumOf(['RED', 'GREEN']))).toEqual([])
    expect(check('BACKWARD', enumOf(['RED']), enumOf(['RED', 'GREEN']))).toHaveLength(1)
    expect(check('BACKWARD', enumOf(['RED', 'OTHER'], { default: 'OTHER' }), enumOf(['RED', 'GREEN']))).toEqual([])
  })

  it('a renamed record breaks unless the new one aliases the old name', () => {
    const renamed = avro({ type: 'record', name: 'Person', namespace: 'com.example', fields: [{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }] })
    const aliased = avro({ type: 'record', name: 'Person', namespace: 'com.example', aliases: ['User'], fields: [{ name: 'name', type: 'string' }, { name: 'count', type: 'int' }] })
    expect(check('BACKWARD', renamed, v1)).toHaveLength(1)
    expect(check('BACKWARD', aliased, v1)).toEqual([])
  })

  it('a schema of another type is never compatible', () => {
    const json = parseSchema('JSON', '{"type":"object"}', new Map())
    expect(check('BACKWARD', json, v1)).toEqual([expect.stringMatching(/type changed from AVRO to JSON/)])
  })
})
