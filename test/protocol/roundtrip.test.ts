// Property test: for every API, side and version, write then read gives back the same message.
// Arbitraries are built from protocol/messages so new fields are covered without touching this file.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as generated from '../../src/protocol/generated/index.ts'
import { Reader, ZERO_UUID } from '../../src/protocol/reader.ts'
import { Writer } from '../../src/protocol/writer.ts'

interface FieldDef {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  default?: number | string | boolean | null
  fields?: FieldDef[]
}

interface MessageDef {
  name: string
  versions: string
  request: FieldDef[]
  response: FieldDef[]
}

type Read = (r: Reader, version: number) => unknown
type Write = (w: Writer, version: number, m: unknown) => void

const messagesDir = join(import.meta.dirname, '..', '..', 'protocol', 'messages')
const defs = readdirSync(messagesDir).map((f) => JSON.parse(readFileSync(join(messagesDir, f), 'utf8')) as MessageDef)
const codecs = generated as unknown as Record<string, Read | Write>

function inRange(spec: string | undefined, version: number): boolean {
  if (spec === undefined || spec === 'none') return false
  const plus = /^(\d+)\+$/.exec(spec)
  if (plus) return version >= Number(plus[1])
  const [lo, hi] = spec.split('-').map(Number)
  return version >= lo! && version <= (hi ?? lo)!
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
}

function elemType(f: FieldDef): string {
  return f.type.startsWith('[]') ? f.type.slice(2) : f.type
}

function everNullable(f: FieldDef): boolean {
  return f.nullableVersions !== undefined
}

/** What the reader fills in for a field absent in the version. */
function defaultValue(f: FieldDef): unknown {
  if (f.default !== undefined) return f.default
  if (f.type.startsWith('[]')) return []
  if (f.fields !== undefined) return f.taggedVersions !== undefined ? null : Object.fromEntries(f.fields.map((g) => [g.name, defaultValue(g)]))
  switch (f.type) {
    case 'bool': return false
    case 'string': return ''
    case 'uuid': return ZERO_UUID
    case 'bytes': return everNullable(f) ? null : Buffer.alloc(0)
    case 'records': return null
    default: return 0
  }
}

function primitive(type: string): fc.Arbitrary<unknown> {
  const range = INT_RANGES[type]
  if (range !== undefined) return fc.integer({ min: range[0], max: range[1] })
  switch (type) {
    case 'int64': return fc.maxSafeInteger()
    case 'float64': return fc.double({ noNaN: true })
    case 'bool': return fc.boolean()
    case 'string': return fc.string({ unit: 'grapheme', maxLength: 12 })
    case 'uuid': return fc.uuid()
    case 'bytes': case 'records': return fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a))
  }
  throw new Error(`no arbitrary for ${type}`)
}

function struct(fields: FieldDef[], version: number): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {}
  for (const f of fields) record[f.name] = field(f, version)
  return fc.record(record)
}

function field(f: FieldDef, version: number): fc.Arbitrary<unknown> {
  if (!inRange(f.versions, version)) return fc.constant(defaultValue(f))
  const elem = elemType(f)
  let arb: fc.Arbitrary<unknown>
  const single = f.fields !== undefined ? struct(f.fields, version) : primitive(elem)
  if (f.type.startsWith('[]')) arb = fc.array(single, { maxLength: 3 })
  else arb = single
  const nullable = inRange(f.nullableVersions, version) || (f.fields !== undefined && !f.type.startsWith('[]') && f.taggedVersions !== undefined)
  return nullable ? fc.option(arb, { nil: null }) : arb
}

describe('every message survives write then read', () => {
  for (const def of defs) {
    const [min, max] = def.versions.split('-').map(Number) as [number, number]
    for (const side of ['Request', 'Response'] as const) {
      it(`${def.name}${side} v${min}-v${max}`, () => {
        const read = codecs[`read${def.name}${side}`] as Read
        const write = codecs[`write${def.name}${side}`] as Write
        expect(read).toBeTypeOf('function')
        expect(write).toBeTypeOf('function')
        for (let version = min; version <= max; version++) {
          const fields = side === 'Request' ? def.request : def.response
          fc.assert(fc.property(struct(fields, version), (message) => {
            const w = new Writer(32)
            write(w, version, message)
            const bytes = w.toBuffer()
            const r = new Reader(bytes)
            expect(read(r, version)).toEqual(message)
            expect(r.remaining).toBe(0)
          }), { numRuns: 25 })
        }
      })
    }
  }
})
