// Keeps npm run bench:flush -- --s3 working: its --quick mode must flush every workload to local disk and to S3
// (moto), count the S3 PUTs, and run the ZOMBI_MAX_CONCURRENT_S3_UPLOADS sweep with and without a delayed store.
// Nothing about speed is asserted (the machine is shared; speed is read from full runs).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const repoRoot = path.resolve(import.meta.dirname, '../..')

function runQuick(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/flush.ts', '--quick', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
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
  // The typed cases run on local disk only; the typed test below keeps them working.
  const { code, stdout } = await runQuick(['--no-typed', '--s3', '--s3-uploads', '1,4', '--s3-delay-ms', '20'])
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
    expect(Number(row[8])).toBeGreaterThan(0) // PUTs counted by the proxy
    expect(Number(row[13])).toBeGreaterThan(0) // flush CPU s per 1 M rows
    expect(row[17]).toMatch(/^\d+\.\d s$/) // the live flusher caught up
  }

  expect(rowsStarting(sizing!, 'local disk')).toHaveLength(1)
  const caps = rowsStarting(sizing!, 'S3 (moto)').map((row) => row[0])
  expect(caps).toEqual(['S3 (moto), 1 uploads', 'S3 (moto), 4 uploads', 'S3 (moto), 1 uploads, +20 ms per answer', 'S3 (moto), 4 uploads, +20 ms per answer'])
}, 300_000)

test('bench:flush --quick flushes the typed (Avro) workloads beside the raw ones and prints their ratio', async () => {
  const { code, stdout } = await runQuick([])
  expect(code, stdout.slice(-6000)).toBe(0)
  const rows = rowsStarting(stdout, 'local disk')
  expect(rows.map((row) => row[1])).toEqual(['100 B filler', '1024 B filler', '100 B avro', '1024 B avro'])
  for (const row of rows.slice(2)) {
    expect(Number(row[6])).toBeGreaterThan(0) // typed/raw flush
    expect(row[17]).toMatch(/^\d+\.\d s$/) // the live flusher caught up
  }
  // The live runs with Confluent's AvroSerializer as the producer: CPU per row of both sides, and the catch-up.
  const serializer = rowsStarting(stdout, '100 B avro').concat(rowsStarting(stdout, '1024 B avro')).filter((row) => row.length === 9)
  expect(serializer.map((row) => row[0])).toEqual(['100 B avro', '1024 B avro'])
  for (const row of serializer) {
    expect(Number(row[5])).toBeGreaterThan(0) // producer CPU s per 1 M rows
    expect(Number(row[6])).toBeGreaterThan(0) // typed flush CPU s per 1 M rows
    expect(row[8]).toMatch(/^\d+\.\d s$/) // the live flusher caught up
  }
}, 300_000)
