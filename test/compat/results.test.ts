// The harness's own rules: how results are read and judged against allowlists, and how the matrix
// section of docs/compat.md is replaced.
import { describe, expect, test } from 'vitest'
import { parseManifest } from '../../compat-tests/lib/manifest.ts'
import { beginMarker, endMarker, renderMatrix, replaceMatrix } from '../../compat-tests/lib/matrix.ts'
import { judge, parseResults, type FamilyResult } from '../../compat-tests/lib/results.ts'
import { scenarioNames } from '../../compat-tests/lib/scenarios.ts'

function result(scenarios: FamilyResult['scenarios']): FamilyResult {
  return { family: 'demo', client: 'demo client', version: '1.0', date: '2026-11-23T00:00:00.000Z', scenarios }
}

const allPass = Object.fromEntries(scenarioNames.map((name) => [name, { status: 'pass' as const, detail: '' }]))

describe('judging results', () => {
  test('a failure without an allowlist entry is unexpected, with one it is known', () => {
    const failing = result({ ...allPass, 'large-record-1mib': { status: 'fail', detail: 'too large' } })
    expect(judge(failing, {}).find((entry) => entry.scenario === 'large-record-1mib')?.verdict).toBe('unexpected-failure')
    expect(judge(failing, { 'large-record-1mib': 'see FINDINGS.md' }).find((entry) => entry.scenario === 'large-record-1mib')?.verdict).toBe('known-failure')
  })

  test('an allowlisted scenario that passes is reported so the allowlist shrinks', () => {
    expect(judge(result(allPass), { metadata: 'old reason' }).find((entry) => entry.scenario === 'metadata')?.verdict).toBe('allowlisted-but-passes')
  })

  test('a scenario the runner did not report counts as a failure', () => {
    const { metadata: _metadata, ...rest } = allPass
    const judged = judge(result(rest), {})
    expect(judged.find((entry) => entry.scenario === 'metadata')).toMatchObject({ verdict: 'unexpected-failure', result: { status: 'fail' } })
  })

  test('results with unknown scenarios or statuses are rejected', () => {
    const valid = JSON.stringify(result(allPass))
    expect(parseResults(valid, 'x').scenarios.metadata?.status).toBe('pass')
    const unknownScenario = { ...result(allPass), scenarios: { ...allPass, 'no-such-scenario': { status: 'pass', detail: '' } } }
    expect(() => parseResults(JSON.stringify(unknownScenario), 'x')).toThrow(/unknown scenario/)
    expect(() => parseResults(JSON.stringify(result({ metadata: { status: 'ok' as 'pass', detail: '' } })), 'x')).toThrow(/status/)
  })

  test('a manifest must name its own folder and say how to run', () => {
    expect(parseManifest('{"name":"kcat","client":"kcat","run":["node","x.ts"]}', 'kcat')).toMatchObject({ ci: true, timeoutSeconds: 300 })
    expect(() => parseManifest('{"name":"other","client":"kcat","run":["node"]}', 'kcat')).toThrow(/folder name/)
    expect(() => parseManifest('{"name":"kcat","client":"kcat","run":[]}', 'kcat')).toThrow(/run/)
  })
})

describe('the docs matrix', () => {
  const entries = [{
    result: result({ ...allPass, 'produce-consume-lz4': { status: 'skip', detail: 'no lz4 | here' }, 'keys-headers-nulls': { status: 'fail', detail: 'x' } }),
    judged: [] as ReturnType<typeof judge>,
  }]
  entries[0]!.judged = judge(entries[0]!.result, { 'keys-headers-nulls': 'client bug, see FINDINGS.md' })

  test('renders one column per client, footnotes for skips and known failures, and escapes pipes', () => {
    const section = renderMatrix(entries)
    expect(section.startsWith(beginMarker) && section.endsWith(endMarker)).toBe(true)
    expect(section).toContain('| demo client | 1.0 | 2026-11-23 |')
    expect(section).toContain('| `produce-consume-lz4` | – [1] |')
    expect(section).toContain('| `keys-headers-nulls` | ✗ known [2] |')
    expect(section).toContain('1. demo client: no lz4 \\| here')
    expect(section).toContain('2. demo client: client bug, see FINDINGS.md ([FINDINGS](../compat-tests/demo/FINDINGS.md))')
  })

  test('replaces only the text between the markers, and adds the section once when they are missing', () => {
    const document = `# Title\n\nintro\n\n## Other\n\nkept\n`
    const added = replaceMatrix(document, renderMatrix(entries))
    expect(added.indexOf('## Compatibility matrix')).toBeLessThan(added.indexOf('## Other'))
    expect(added).toContain('kept')
    const again = replaceMatrix(added, `${beginMarker}\nnew\n${endMarker}`)
    expect(again.match(/## Compatibility matrix/g)).toHaveLength(1)
    expect(again).toContain(`${beginMarker}\nnew\n${endMarker}`)
    expect(again).not.toContain('demo client')
  })
})
