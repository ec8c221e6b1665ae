// The checked-in codecs must be exactly what the generator makes of protocol/ today.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const checkedIn = join(root, 'src', 'protocol', 'generated')
const out = mkdtempSync(join(tmpdir(), 'zombi-generated-'))

afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('generated protocol code', () => {
  it('matches a fresh run of protocol/generate.ts', () => {
    execFileSync(process.execPath, [join(root, 'protocol', 'generate.ts'), out], { stdio: 'pipe' })
    const fresh = readdirSync(out).sort()
    expect(readdirSync(checkedIn).sort()).toEqual(fresh)
    for (const name of fresh) {
      expect(readFileSync(join(checkedIn, name), 'utf8'), `${name} is stale: run npm run generate`).toBe(readFileSync(join(out, name), 'utf8'))
    }
  })
})
