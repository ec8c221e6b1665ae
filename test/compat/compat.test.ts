// Runs the client compatibility harness (compat-tests/run.ts) inside npm test, so CI measures every
// CI family: a scenario that fails without an allowlist entry fails this test. The docs matrix is
// not rewritten here (npm run compat does that); results stay in compat-tests/<family>/results/.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { repoRoot } from '../e2e/fixtures/broker.ts'

/** The harness's budget in CI is 8 minutes; this is the hard stop above it. */
const timeoutMs = 12 * 60_000

function runHarness(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [join(repoRoot, 'compat-tests/run.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      output += chunk
    })
    child.stderr.on('data', (chunk: string) => {
      output += chunk
    })
    child.once('error', rejectRun)
    child.once('close', (code) => resolveRun({ code, output }))
  })
}

test('every client family passes its scenarios or has them allowlisted with a finding', async () => {
  // One family at a time: vitest runs another test file beside this one on a two-core machine.
  const parallel = process.env.ZOMBI_COMPAT_PARALLEL ?? '1'
  const { code, output } = await runHarness(['--ci', '--no-docs', `--parallel=${parallel}`])
  process.stdout.write(output)
  expect(code, `compat harness failed (per-family logs in compat-tests/<family>/results/):\n${output}`).toBe(0)
}, timeoutMs)
