// Byte fixtures per API (made by test/protocol/fixtures/make-fixtures.ts from kafkajs and
// @platformatic/kafka): our encoder must produce exactly these bytes and our decoder must
// read them back to exactly these messages.
import { describe, expect, it } from 'vitest'
import * as generated from '../../src/protocol/generated/index.ts'
import { Reader } from '../../src/protocol/reader.ts'
import { Writer } from '../../src/protocol/writer.ts'
import { fromJson, loadDefs, loadFixtures } from './fixture-io.ts'

type Read = (r: Reader, version: number) => unknown
type Write = (w: Writer, version: number, m: unknown) => void

const codecs = generated as unknown as Record<string, Read | Write>
const fixtures = loadFixtures()
const defs = loadDefs()

describe('API byte fixtures', () => {
  for (const file of fixtures) {
    describe(file.api, () => {
      for (const c of file.cases) {
        const side = c.side === 'request' ? 'Request' : 'Response'
        it(`${side} v${c.version} (${c.source})`, () => {
          const value = fromJson(c.value)
          const w = new Writer()
          ;(codecs[`write${file.api}${side}`] as Write)(w, c.version, value)
          expect(w.toBuffer().toString('hex')).toBe(c.hex)
          const r = new Reader(Buffer.from(c.hex, 'hex'))
          expect((codecs[`read${file.api}${side}`] as Read)(r, c.version)).toEqual(value)
          expect(r.remaining).toBe(0)
        })
      }
    })
  }

  it('cover every API at its lowest, first flexible and highest version, both ways', () => {
    const missing: string[] = []
    for (const def of defs.values()) {
      const file = fixtures.find((f) => f.api === def.name)
      const [min, max] = def.versions.split('-').map(Number) as [number, number]
      const flexible = (generated.API_VERSIONS[def.apiKey]!).firstFlexibleVersion
      const wanted = [min, max, ...(Number.isFinite(flexible) ? [flexible] : [])]
      for (const side of ['request', 'response'] as const) {
        for (const version of wanted) {
          if (!file?.cases.some((c) => c.side === side && c.version === version)) missing.push(`${def.name} ${side} v${version}`)
        }
      }
    }
    expect(missing).toEqual([])
  })
})
