// Keeps npm run bench:flush -- --s3 working: its --quick mode must flush every workload to local disk and to S3
// (moto), count the S3 PUTs, and run the ZOMBI_MAX_CONCURRENT_S3_UPLOADS sweep with and without a delayed store.
// Nothing about speed is asserted (the machine is shared; speed is read from full runs).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const repoRoot = path.resolve(import.meta.dirname, '../..')

function runQuick(): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/flush.ts', '--quick', '--s3', '--s3-uploads', '1,4', '--s3-delay-ms', '20'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout }))
  })
}

/** The cells of the markdown table rows whose first cell starts with `first`. */
function rowsStarting(stdout: string, first: string): string[][] {
  return stdout.split('\n').filter((line) => line.startsWith(`| ${first}`)).map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
}

test('bench:flush --quick --s3 measures local disk and S3 for every workload and sweeps the upload cap', async () => {
  const { code, stdout } = await runQuick()
  expect(code, stdout.slice(-6000)).toBe(0)
  const [main, sizing] = stdout.split('ZOMBI_MAX_CONCURRENT_S3_UPLOADS:')
  expect(sizing, stdout).toBeDefined()

  const workloads = ['100 B filler', '1024 B filler', '1024 B random']
  const localRows = rowsStarting(main!, 'local disk')
  const s3Rows = rowsStarting(main!, 'S3 (moto), 4 uploads')
  expect(localRows.map((row) => row[1])).toEqual(workloads)
  expect(s3Rows.map((row) => row[1])).toEqual(workloads)
  for (const row of s3Rows) {
    expect(Number(row[4]!.replaceAll(',', ''))).toBeGreaterThan(0) // flush rows/s
    expect(Number(row[5])).toBeGreaterThan(0) // S3/local
    expect(Number(row[7])).toBeGreaterThan(0) // PUTs counted by the proxy
    expect(row[15]).toMatch(/^\d+\.\d s$/) // the live flusher caught up
  }

  expect(rowsStarting(sizing!, 'local disk')).toHaveLength(1)
  const caps = rowsStarting(sizing!, 'S3 (moto)').map((row) => row[0])
  expect(caps).toEqual(['S3 (moto), 1 uploads', 'S3 (moto), 4 uploads', 'S3 (moto), 1 uploads, +20 ms per answer', 'S3 (moto), 4 uploads, +20 ms per answer'])
}, 300_000)
