// What the fault scenarios share: their options and result shape, a fixed port for restarts, the
// Python clients of compat-tests/ (librdkafka's idempotent producer, DuckDB), and reading back a
// topic and a table to account for every acknowledged record.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import type { ZombiSource } from '../lib/zombi.ts'

export const repoRoot = path.resolve(import.meta.dirname, '../..')

export interface FaultOptions {
  source: ZombiSource
  quick: boolean
  /** Cycles of the kill loops (their own default when undefined). */
  cycles: number | undefined
  /** ZOMBI_* settings given to every broker (e.g. socket limits from the environment). */
  settings: Record<string, string>
  log(line: string): void
}

export interface FaultResult {
  scenario: string
  /** Figure name -> value, in print order. */
  figures: Array<[string, string | number]>
  /** Whether every promise the scenario checks held. */
  ok: boolean
  notes: string[]
}


export function venvPython(): string {
  const python = process.env.ZOMBI_TEST_PYTHON ?? path.join(repoRoot, '.cache/venv/bin/python')
  if (!existsSync(python)) throw new Error(`${python} not found; create it with: bash scripts/install-test-deps.sh`)
  return python
}

export interface PythonRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a script of compat-tests/ with the test venv, feeding `input` on stdin; resolves whatever the exit code. */
export function runPython(script: string, args: readonly string[], input = ''): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython(), [path.join(repoRoot, script), ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-16_384)
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

export function jsonLines<T>(text: string): T[] {
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as T)
}

export interface Delivery {
  partition: number
  offset: number
}

export interface ProducerRun {
  /** Acknowledged record id (`<tag>-<i>`) -> where the acknowledgement said it went. */
  acked: Map<string, Delivery>
  produced: number
  failed: number
  error: string | null
}

/**
 * bench/faults/producer.py: librdkafka's idempotent acks=all producer, `rate` records/s for `seconds`,
 * then it waits for every outstanding delivery (through broker kills and restarts) up to `timeoutSecs`.
 */
export async function runProducer(bootstrap: string, topic: string, tag: string, options: { partitions: number; rate: number; seconds: number; timeoutSecs: number }): Promise<ProducerRun> {
  const run = await runPython('bench/faults/producer.py', [
    bootstrap, topic, tag, '--partitions', String(options.partitions), '--rate', String(options.rate), '--seconds', String(options.seconds), '--timeout', String(options.timeoutSecs),
  ])
  const acked = new Map<string, Delivery>()
  let summary: { produced: number; failed: number; error: string | null } | undefined
  for (const line of jsonLines<{ id?: string; p?: number; o?: number; done?: boolean; produced: number; failed: number; error: string | null }>(run.stdout)) {
    if (line.done === true) summary = line
    else acked.set(line.id!, { partition: line.p!, offset: line.o! })
  }
  if (summary === undefined) throw new Error(`producer.py ended without its summary (code ${run.code}): ${run.stderr.slice(-2000)}`)
  return { acked, ...summary }
}

/** The id a producer.py record carries in its value (the value without its padding). */
export function recordId(value: string): string {
  return value.replace(/\.+$/, '')
}

export interface ConsumedRecord {
  partition: number
  offset: number
  value: string
}

/** Reads `count` records of partitions [0, partitions) of `topic` from offset 0 with confluent-kafka (assign, no group); values become record ids. */
export async function consumeAll(bootstrap: string, topic: string, partitions: number, count: number): Promise<ConsumedRecord[]> {
  const args = ['--bootstrap', bootstrap, '--topic', topic, '--count', String(count), '--timeout', '120']
  for (let p = 0; p < partitions; p++) args.push('--partition', String(p))
  const run = await runPython('compat-tests/confluent-kafka-python/consume.py', args)
  if (run.code !== 0) throw new Error(`consume.py failed (${run.code}): ${run.stderr.slice(-2000)}`)
  return jsonLines<{ type: string; partition: number; offset: number; value: string | null }>(run.stdout)
    .filter((line) => line.type === 'record')
    .map((line) => ({ partition: line.partition, offset: line.offset, value: recordId(Buffer.from(line.value ?? '', 'base64').toString()) }))
}

export interface Accounting {
  acked: number
  lost: number
  duplicated: number
  /** Partitions whose offsets are not 0, 1, 2, … without a gap. */
  sparsePartitions: number
  /** Acknowledged records found at another offset than their acknowledgement said. */
  misplaced: number
}

/** Checks every acknowledged record is in `records` exactly once, at its acknowledged offset, and that offsets are dense. */
export function account(acked: ReadonlyMap<string, Delivery>, records: readonly ConsumedRecord[]): Accounting {
  const byValue = new Map<string, ConsumedRecord[]>()
  for (const record of records) {
    const list = byValue.get(record.value)
    if (list === undefined) byValue.set(record.value, [record])
    else list.push(record)
  }
  let lost = 0
  let misplaced = 0
  for (const [value, delivery] of acked) {
    const found = byValue.get(value)
    if (found === undefined) lost++
    else if (!found.some((record) => record.partition === delivery.partition && record.offset === delivery.offset)) misplaced++
  }
  let duplicated = 0
  for (const list of byValue.values()) duplicated += list.length - 1
  const offsets = new Map<number, number[]>()
  for (const record of records) {
    const list = offsets.get(record.partition)
    if (list === undefined) offsets.set(record.partition, [record.offset])
    else list.push(record.offset)
  }
  let sparsePartitions = 0
  for (const list of offsets.values()) {
    list.sort((a, b) => a - b)
    if (list.some((offset, i) => offset !== i)) sparsePartitions++
  }
  return { acked: acked.size, lost, duplicated, sparsePartitions, misplaced }
}

/** Files under `dir` whose name ends with `suffix`, recursively (none if `dir` does not exist). */
export async function filesEndingWith(dir: string, suffix: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).filter((name) => name.endsWith(suffix))
  } catch {
    return []
  }
}


/** High watermark per partition of `topic` (kafkajs admin, ListOffsets). */
export async function endOffsets(bootstrap: string, topic: string): Promise<number[]> {
  const admin = new Kafka({ clientId: 'zombi-faults', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.high))
  } finally {
    await admin.disconnect()
  }
}
