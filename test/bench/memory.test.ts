// Keeps npm run bench:memory working: its --quick mode must run every load against a broker of this worktree and
// read each budget beside its use from /metrics. Nothing about memory is asserted (the bench is the instrument).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const repoRoot = path.resolve(import.meta.dirname, '../..')

function runQuick(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/memory.ts', '--quick', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout }))
  })
}

test('bench:memory --quick runs every load, samples the broker and shows each budget beside its use', async () => {
  const { code, stdout } = await runQuick(['--interval', '0.5', '--set', 'ZOMBI_FETCH_CACHE_MB=3'])
  expect(code, stdout.slice(-6000)).toBe(0)
  for (const step of ['kcat produce 100 B ×1', 'kcat consume 1024 B', '@platformatic/kafka produce 1024 B ×4']) expect(stdout).toContain(step)
  // The fetch cache's row: what it held, then its budget from the setting given (3 MiB).
  expect(stdout).toMatch(/^used fetch_cache\s+\d+\s+3$/m)
  expect(stdout).toMatch(/^worker_wasm\s+\d+/m)
  expect(stdout).toMatch(/^compaction: \d+ replace snapshots, \d+ data files rewritten into \d+$/m)
  expect(stdout).toMatch(/^zombi \(\w+(-dirty)?\)\s+\d+\s+\d+\s+\d+\s+ok$/m)
  // The broker's CPU per record and rate of each step, and over the whole run.
  expect(stdout).toMatch(/^kcat produce 1024 B ×1\s+\d+\.\d+\s+\d+$/m)
  expect(stdout).toMatch(/^whole run \(broker CPU s\)\s+\d+\.\d\s*$/m)
}, 240_000)
