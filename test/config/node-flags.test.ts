import { describe, expect, it } from 'vitest'
import { missingNodeFlags, nodeFlagsFor, overriddenNodeFlags } from '../../src/config/node-flags.ts'

describe('node flags from the settings', () => {
  it('asks for the semi-space size unless it is 0', () => {
    expect(nodeFlagsFor({ v8SemiSpaceMib: 8 })).toEqual(['--max-semi-space-size=8'])
    expect(nodeFlagsFor({ v8SemiSpaceMib: 0 })).toEqual([])
  })

  it('finds a flag missing unless node was started with exactly it', () => {
    const wanted = ['--max-semi-space-size=8']
    expect(missingNodeFlags(wanted, [])).toEqual(wanted)
    expect(missingNodeFlags(wanted, ['--max-semi-space-size=16'])).toEqual(wanted)
    expect(missingNodeFlags(wanted, ['--max-semi-space-size=16', '--max-semi-space-size=8'])).toEqual([])
    expect(missingNodeFlags([], ['--max-semi-space-size=16'])).toEqual([])
  })

  it('warns of each other semi-space size node was given, on its command line or in NODE_OPTIONS', () => {
    const wanted = ['--max-semi-space-size=8']
    expect(overriddenNodeFlags(wanted, ['--max-semi-space-size=8'], undefined)).toEqual([])
    expect(overriddenNodeFlags(wanted, ['--max-semi-space-size=16', '--max-semi-space-size=8'], '--max_semi_space_size=2 --enable-source-maps')).toEqual([
      'node was given --max-semi-space-size=16; ZOMBI_V8_SEMI_SPACE_MB sets it (--max-semi-space-size=8), so --max-semi-space-size=16 has no effect',
      'node was given --max_semi_space_size=2; ZOMBI_V8_SEMI_SPACE_MB sets it (--max-semi-space-size=8), so --max_semi_space_size=2 has no effect',
    ])
    // 0 leaves node's own flags in charge.
    expect(overriddenNodeFlags([], ['--max-semi-space-size=16'], undefined)).toEqual([])
  })
})
