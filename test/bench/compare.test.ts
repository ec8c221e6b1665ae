// Keeps npm run bench:compare working: its --quick mode must fill every scenario with numbers for both Zombi and
// Apache Kafka. Nothing about speed is asserted (the machine is shared; speed is read from full runs).
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import type { CompareResults } from '../../bench/lib/compare-report.ts'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const outDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-compare-test-'))
afterAll(() => rm(outDir, { recursive: true, force: true }))

function runQuick(): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    // The first run on a fresh machine also fetches Kafka from the Maven registry (install-test-deps.sh does it before).
    const child = spawn(process.execPath, ['bench/compare.ts', '--quick', '--out', outDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout }))
  })
}

// 600 s: the quick run took 413 s on this 2-core machine under other jobs' load, the TLS + SCRAM pair included; the
// scale rows add about 60 s (bench/scale's client is built by install-test-deps.sh, or here on the first run).
test('bench:compare --quick measures every scenario on both Zombi and Kafka and ends with the geometric mean', async () => {
  const { code, stdout } = await runQuick()
  expect(code, stdout.slice(-6000)).toBe(0)
  expect(stdout.trim().split('\n').at(-1)).toMatch(/^geometric mean of Zombi\/Kafka throughput ratios over \d+ rows: \d+\.\d\d$/)

  const results = JSON.parse(await readFile(path.join(outDir, 'compare-latest.json'), 'utf8')) as CompareResults
  expect(results.quick).toBe(true)
  expect(results.samples.filter((sample) => sample.error !== undefined)).toEqual([])
  for (const sample of results.samples) {
    expect(sample.measurement!.records).toBeGreaterThan(0)
    expect(sample.measurement!.seconds).toBeGreaterThan(0)
    expect(sample.brokerCpuSeconds).toBeGreaterThanOrEqual(0)
    expect(sample.brokerPeakRssBytes).toBeGreaterThan(0)
    if (sample.scenario === 'latency') expect(sample.measurement!.latency!.p99Ms).toBeGreaterThanOrEqual(0)
    if (sample.scenario === 'produce' && sample.side === 'zombi') expect(sample.flush!.rows).toBeGreaterThan(0)
  }
  // Every scenario kind ran on both brokers, with every client, size, producer count and codec.
  const kinds = (side: string): string[] => [...new Set(results.samples.filter((s) => s.side === side)
    .map((s) => `${s.pair} ${s.scenario} ${s.client} ${s.recordBytes} ${s.producers} ${s.compression}`))].sort()
  expect(kinds('zombi')).toEqual(kinds('kafka'))
  expect(new Set(results.samples.map((s) => s.scenario))).toEqual(new Set(['produce', 'consume', 'latency']))
  // Latency at a light load and half way to saturation.
  expect(new Set(results.samples.filter((s) => s.scenario === 'latency').map((s) => s.loadShare))).toEqual(new Set([0.1, 0.5]))
  // The latency clients: Java's send-to-ack, and produce-to-consume from a Node client and a Go one (franz-go).
  expect(new Set(results.samples.filter((s) => s.scenario === 'latency').map((s) => s.client))).toEqual(new Set([
    'kafka-tools (Java) (send to ack)', '@platformatic/kafka (produce to consume)', 'franz-go (produce to consume)']))
  expect(new Set(results.samples.map((s) => s.compression))).toEqual(new Set(['none', 'lz4', 'zstd']))
  expect(new Set(results.samples.map((s) => s.producers))).toEqual(new Set([1, 4]))
  expect(new Set(results.samples.map((s) => s.client)).size).toBeGreaterThanOrEqual(3)
  // The TLS + SCRAM pair: both brokers behind SASL_SSL, kcat's produce and consume rows.
  expect(results.samples.filter((s) => s.pair === 'tls-scram').map((s) => `${s.side} ${s.scenario}`).sort())
    .toEqual(['kafka consume', 'kafka produce', 'zombi consume', 'zombi produce'])
  // HTTP writes on Zombi: single and bulk rows.
  expect(results.otherFailures).toEqual([])
  expect(results.extra.find((extra) => extra.title.startsWith('HTTP'))?.table.rows.length).toBeGreaterThanOrEqual(2)
  // The scale rows: every point of the curve, the connections phases and the flush-worker runs, on both brokers.
  const scale = results.scale!
  expect([...scale.curve, ...scale.connections, ...scale.flushWorkers].filter((run) => run.error !== undefined)).toEqual([])
  const curve = (side: string): number[] => scale.curve.filter((run) => run.side === side).map((run) => run.partitions)
  expect(curve('zombi')).toEqual(scale.plan.partitionsPerTopic.map((perTopic) => perTopic * 10))
  expect(curve('kafka')).toEqual(curve('zombi'))
  for (const run of scale.curve) {
    expect(run.produce!.records).toBe(scale.plan.records)
    expect(run.produce!.latency.p99Ms).toBeGreaterThanOrEqual(run.produce!.latency.p50Ms)
    expect(run.consume!.records).toBe(scale.plan.records)
    expect(run.peakRssBytes).toBeGreaterThan(0)
    if (run.side === 'zombi') expect(run.flush!.rows).toBe(scale.plan.records)
  }
  expect(scale.connections.map((run) => run.side).sort()).toEqual(['kafka', 'zombi'])
  for (const run of scale.connections) {
    expect(run.result!.phases.map((phase) => phase.idleConnections)).toEqual([0, scale.plan.connections.idle])
    expect(run.result!.idleAliveAfter).toBe(scale.plan.connections.idle)
  }
  expect(new Set(scale.flushWorkers.map((run) => run.workers))).toEqual(new Set(scale.plan.flushWorkers))
  expect(results.extra.filter((extra) => extra.title.startsWith('Scale:')).map((extra) => extra.table.rows.length)).toEqual([
    scale.plan.partitionsPerTopic.length, 4, scale.plan.flushWorkers.length,
  ])
  for (const run of results.brokerRuns) {
    expect(run.error).toBeUndefined()
    expect(run.peakRssBytes).toBeGreaterThan(0)
    // Each step's peak is measured in its own window; the run's peak still covers them all.
    const steps = results.samples.filter((s) => s.pair === run.pair && s.side === run.side && s.round === run.round)
    expect(Math.max(...steps.map((s) => s.brokerPeakRssBytes!))).toBeLessThanOrEqual(run.peakRssBytes!)
  }
}, 600_000)
