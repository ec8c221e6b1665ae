// npm run bench:fuzz [-- --frames N] [--connections N] [--seed N] [--revision REV|worktree]
// Sends N mutated Kafka request frames (default 10^6), built from request captures of other clients'
// encoders (test/protocol/fixtures/api: kafkajs and @platformatic/kafka), at a running Zombi, while a
// bystander client produces and fetches. Reports broker crashes (the process gone: restarted, counted,
// the frames in flight saved), handler errors (connections the broker closed because a request failed
// inside it, from /metrics), how each mutated frame ended, and the bystander's success rate and its
// acknowledgement latency against its own latency on an idle broker, measured first in the same invocation. Not a test: CI runs
// the short property tests in test/kafka/connection.test.ts; this is the long version.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ApiKey, isFlexible } from '../src/protocol/generated/api-keys.ts'
import { writeApiVersionsRequest } from '../src/protocol/generated/api-versions.ts'
import { readFetchResponse, writeFetchRequest } from '../src/protocol/generated/fetch.ts'
import { readProduceResponse, writeProduceRequest } from '../src/protocol/generated/produce.ts'
import { ZERO_UUID } from '../src/protocol/reader.ts'
import { decodeBatch, encodeBatch } from '../src/protocol/records.ts'
import { Writer } from '../src/protocol/writer.ts'
import { RawClient } from '../test/e2e/fixtures/raw-client.ts'
import { readProcessUsage, type RunningBroker } from './lib/broker.ts'
import { renderText, type Table } from './lib/report.ts'
import { snapshotZombi, zombi } from './lib/zombi.ts'

const { values: options } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    revision: { type: 'string', default: 'HEAD' },
  },
})
const totalFrames = Number(options.frames)
const workers = Number(options.connections)
if (!Number.isInteger(totalFrames) || totalFrames < 1) throw new Error(`--frames wants a positive integer, got ${options.frames}`)
if (!Number.isInteger(workers) || workers < 1) throw new Error(`--connections wants a positive integer, got ${options.connections}`)

const fixturesDir = path.resolve(import.meta.dirname, '../test/protocol/fixtures/api')
const crashDir = path.resolve(import.meta.dirname, '../.cache/fuzz')
/** Short, so frames that announce more bytes than they carry do not hold a worker for long. */
const REQUEST_TIMEOUT_MS = 200
const BYSTANDER_TOPIC = 'bystander'
const REFERENCE_SECONDS = 5
/** The bystander's pause between records: a steady client, not a second load. */
const BYSTANDER_PAUSE_MS = 2
/** Frames with a wrong size prefix, sent and half-closed, that a worker leaves for the broker to close while it goes on. */
const MAX_UNANSWERED_PER_WORKER = 64
/** How long such a frame's connection may stay open before the run counts it as never closed by the broker. */
const ABANDONED_TIMEOUT_MS = 10 * REQUEST_TIMEOUT_MS
/** A probe's correlation ids are kept apart from the mutated frames' own. */
const PROBE_CORRELATION = 0x7eadbeef
const PROBE_TIMEOUT_MS = 500

// xorshift32: reproducible from --seed, cheap enough for millions of frames.
let state = Number(options.seed) >>> 0 || 1
function random(): number {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) / 0x100000000
}
const below = (n: number): number => Math.floor(random() * n)

interface Capture { api: string; apiKey: number; version: number; body: Buffer }

function loadCaptures(): Capture[] {
  const keys = new Map(Object.entries(ApiKey))
  const out: Capture[] = []
  for (const file of readdirSync(fixturesDir)) {
    const fixture = JSON.parse(readFileSync(path.join(fixturesDir, file), 'utf8')) as { api: string; cases: Array<{ side: string; version: number; hex: string }> }
    const apiKey = keys.get(fixture.api)
    if (apiKey === undefined) continue
    for (const c of fixture.cases) if (c.side === 'request') out.push({ api: fixture.api, apiKey, version: c.version, body: Buffer.from(c.hex, 'hex') })
  }
  return out
}

function frame(apiKey: number, version: number, correlationId: number, body: Buffer): Buffer {
  const w = new Writer()
  const size = w.reserveInt32()
  w.int16(apiKey)
  w.int16(version)
  w.int32(correlationId)
  w.nullableString('fuzz')
  if (isFlexible(apiKey, version)) w.emptyTaggedFields()
  w.raw(body)
  w.patchInt32(size, w.length - 4)
  return w.toBuffer()
}

const fixSize = (bytes: Buffer): Buffer => {
  bytes.writeInt32BE(bytes.length - 4, 0)
  return bytes
}

/** A mutated frame; `honest` when its size prefix matches its length (so a probe can follow it). */
interface Mutant { kind: string; api: string; bytes: Buffer; honest: boolean }

const SIZE_PREFIXES = [0, 1, 4, 7, 8, 9, 10, 11, 16, -1, -0x80000000, 0x7fffffff, 104857601]

function mutate(captures: Capture[], correlationId: number): Mutant {
  const capture = captures[below(captures.length)]!
  const whole = frame(capture.apiKey, capture.version, correlationId, capture.body)
  const api = `${capture.api} v${capture.version}`
  switch (below(8)) {
    case 0:
    case 1: {
      const bytes = Buffer.from(whole)
      for (let n = 1 + below(8); n > 0; n--) bytes[4 + below(bytes.length - 4)] = below(256)
      return { kind: 'bytes changed', api, bytes, honest: true }
    }
    case 2: {
      const bytes = Buffer.from(whole.subarray(0, 4 + below(whole.length - 4)))
      return { kind: 'truncated', api, bytes: fixSize(bytes), honest: true }
    }
    case 3: {
      const bytes = Buffer.from(whole.subarray(0, 4 + below(whole.length - 4)))
      return { kind: 'cut short (size kept)', api, bytes, honest: false }
    }
    case 4: {
      // Half of them alone, as a client that sends four bytes and stops (four zero bytes once stopped the broker).
      const alone = random() < 0.5
      const bytes = Buffer.from(alone ? whole.subarray(0, 4) : whole)
      bytes.writeInt32BE(SIZE_PREFIXES[below(SIZE_PREFIXES.length)]!, 0)
      return { kind: alone ? 'size prefix alone' : 'size prefix', api, bytes, honest: false }
    }
    case 5: {
      const bytes = Buffer.from(whole)
      if (random() < 0.5) bytes.writeInt16BE(below(0x10000) - 0x8000, 4)
      else bytes.writeInt16BE(below(64) - 4, 6)
      return { kind: 'api key or version', api, bytes, honest: true }
    }
    case 6: {
      const tail = Buffer.alloc(1 + below(64))
      for (let i = 0; i < tail.length; i++) tail[i] = below(256)
      return { kind: 'extended', api, bytes: fixSize(Buffer.concat([whole, tail])), honest: true }
    }
    default: {
      const other = captures[below(captures.length)]!
      const otherBody = other.body.subarray(below(other.body.length + 1))
      const head = whole.subarray(0, 4 + below(whole.length - 4))
      return { kind: 'spliced', api, bytes: fixSize(Buffer.concat([head, otherBody])), honest: true }
    }
  }
}

const probe = frame(ApiKey.ApiVersions, 0, PROBE_CORRELATION, (() => {
  const w = new Writer()
  writeApiVersionsRequest(w, 0, { clientSoftwareName: '', clientSoftwareVersion: '' })
  return w.toBuffer()
})())

/** A connection that reads response frames and tells when the probe's answer arrives or the broker closes. */
class FuzzConnection {
  readonly client: RawClient
  readonly closed: Promise<void>
  #buffer: Buffer = Buffer.alloc(0)
  #waiting: ((answered: boolean) => void) | null = null
  #isClosed = false

  constructor(client: RawClient) {
    this.client = client
    client.socket.removeAllListeners('data')
    client.socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    this.closed = client.closedPromise.then(() => {
      this.#isClosed = true
      this.#waiting?.(false)
      this.#waiting = null
    })
  }

  get isClosed(): boolean {
    return this.#isClosed
  }

  /**
   * Writes a mutant followed by the probe: 'answered' if the probe's answer came (the mutant was handled and the connection
   * lives), 'closed' if the broker closed the connection, 'waiting' if neither happened within the probe timeout (a valid
   * request that waits by design: a long-poll Fetch, a JoinGroup waiting for its group); the connection is then dropped.
   */
  send(bytes: Buffer): Promise<'answered' | 'closed' | 'waiting'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = null
        this.client.close()
        resolve('waiting')
      }, PROBE_TIMEOUT_MS)
      this.#waiting = (answered) => {
        clearTimeout(timer)
        resolve(answered ? 'answered' : 'closed')
      }
      this.client.socket.write(Buffer.concat([bytes, probe]))
    })
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    while (this.#buffer.length >= 8) {
      const size = this.#buffer.readInt32BE(0)
      if (this.#buffer.length < 4 + size) return
      const correlationId = this.#buffer.readInt32BE(4)
      this.#buffer = this.#buffer.subarray(4 + size)
      if (correlationId === PROBE_CORRELATION && this.#waiting !== null) {
        const resolve = this.#waiting
        this.#waiting = null
        resolve(true)
      }
    }
  }
}

interface Tally {
  sent: number
  answered: Map<string, number>
  closed: Map<string, number>
  waiting: Map<string, number>
  crashes: number
}

const bump = (map: Map<string, number>, key: string): void => { map.set(key, (map.get(key) ?? 0) + 1) }

/** A well-behaved client producing one record at a time, paced, timing each acknowledgement. */
class Bystander {
  ok = 0
  failed = 0
  readonly acked: string[] = []
  readonly latenciesMs: number[] = []
  #running = true
  #done: Promise<void> | null = null

  start(bootstrap: () => string): void {
    this.#done = this.#loop(bootstrap)
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#done
  }

  async #loop(bootstrap: () => string): Promise<void> {
    let client: RawClient | null = null
    let n = 0
    while (this.#running) {
      await new Promise((resolve) => setTimeout(resolve, BYSTANDER_PAUSE_MS))
      try {
        if (client === null || client.closed) {
          const [host, port] = bootstrap().split(':') as [string, string]
          client = await RawClient.connect(host, Number(port))
        }
        const value = `bystander-${n++}`
        const sentAt = performance.now()
        const reader = await client.request(ApiKey.Produce, 9, (w) => writeProduceRequest(w, 9, {
          transactionalId: null, acks: -1, timeoutMs: 5000,
          topicData: [{ name: BYSTANDER_TOPIC, partitionData: [{ index: 0, records: encodeBatch([{ key: null, value: Buffer.from(value) }]) }] }],
        }))
        const partition = readProduceResponse(reader, 9).responses[0]!.partitionResponses[0]!
        if (partition.errorCode === 0) {
          this.ok++
          this.acked.push(value)
          this.latenciesMs.push(performance.now() - sentAt)
        } else {
          this.failed++
        }
      } catch {
        this.failed++
        client?.close()
        client = null
      }
    }
    client?.close()
  }

  percentileMs(p: number): number {
    const sorted = [...this.latenciesMs].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
  }
}

/** Every value in the bystander topic, read back with Fetch from offset 0. */
async function readBystanderTopic(bootstrap: string): Promise<string[]> {
  const [host, port] = bootstrap.split(':') as [string, string]
  const client = await RawClient.connect(host, Number(port))
  const values: string[] = []
  try {
    let offset = 0
    for (;;) {
      const reader = await client.request(ApiKey.Fetch, 12, (w) => writeFetchRequest(w, 12, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 8 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: BYSTANDER_TOPIC, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 8 << 20, replicaDirectoryId: ZERO_UUID }] }],
        forgottenTopicsData: [], rackId: '',
      }))
      const partition = readFetchResponse(reader, 12).responses[0]!.partitions[0]!
      const records = partition.records
      if (partition.errorCode !== 0 || records === null || records.length === 0) break
      for (let position = 0; position < records.length;) {
        const size = records.readInt32BE(position + 8) + 12
        for (const record of decodeBatch(records.subarray(position, position + size)).records) {
          if (record.offset >= offset) values.push(record.value!.toString())
          offset = record.offset + 1
        }
        position += size
      }
      if (offset >= partition.highWatermark) break
    }
  } finally {
    client.close()
  }
  return values
}

async function metricValue(httpUrl: string, pattern: RegExp): Promise<number | null> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const match = pattern.exec(text)
  return match === null ? null : Number(match[1])
}

function currentRss(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? NaN : Number(match[1]) * 1024
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const source = await snapshotZombi(options.revision)
const underTest = zombi(source, 'zombi', { ZOMBI_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), ZOMBI_DURABILITY: 'none', ZOMBI_FLUSH_INTERVAL_SECS: '0', ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' })
let broker: RunningBroker = await underTest.start()
const captures = loadCaptures()
const tally: Tally = { sent: 0, answered: new Map(), closed: new Map(), waiting: new Map(), crashes: 0 }
const lostBystanderValues: string[] = []

// The reference: the bystander alone on an idle broker.
const reference = new Bystander()
reference.start(() => broker.bootstrap)
await new Promise((resolve) => setTimeout(resolve, REFERENCE_SECONDS * 1000))
await reference.stop()

const bystander = new Bystander()
const rssBefore = readProcessUsage(broker.pid).peakRssBytes
const started = performance.now()
bystander.start(() => broker.bootstrap)

/** The mutants a worker has in flight, saved if the broker dies meanwhile. */
const inFlight = new Set<Mutant>()

async function restartAfterCrash(): Promise<void> {
  tally.crashes++
  mkdirSync(crashDir, { recursive: true })
  const file = path.join(crashDir, `crash-${tally.crashes}.json`)
  writeFileSync(file, JSON.stringify([...inFlight].map((m) => ({ kind: m.kind, api: m.api, hex: m.bytes.toString('hex') })), null, 1))
  process.stderr.write(`fuzz: the broker died; ${inFlight.size} frames in flight saved to ${file}; restarting\n`)
  // The bystander's records acked so far lived in the dead broker's data dir: count them out of the loss check.
  lostBystanderValues.push(...bystander.acked.splice(0))
  await broker.stop().catch(() => undefined)
  broker = await underTest.start()
}

let restarting: Promise<void> | null = null
let nextCorrelation = 1
let localAddress = 0

async function worker(): Promise<void> {
  let connection: FuzzConnection | null = null
  const unanswered = new Set<FuzzConnection>()
  while (tally.sent < totalFrames) {
    if (!alive(broker.pid)) {
      restarting ??= restartAfterCrash().finally(() => { restarting = null })
      await restarting
      connection = null
    }
    if (connection === null || connection.isClosed) {
      const [host, port] = broker.bootstrap.split(':') as [string, string]
      // Spread the connections over 127.0.0.2-254 so a million of them never run out of local ports.
      const from = `127.0.0.${2 + (localAddress++ % 253)}`
      try {
        connection = new FuzzConnection(await RawClient.connect(host, Number(port), from))
      } catch {
        connection = null
        await new Promise((resolve) => setTimeout(resolve, 10))
        continue
      }
    }
    const mutant = mutate(captures, nextCorrelation++ & 0x3fffffff)
    tally.sent++
    inFlight.add(mutant)
    if (mutant.honest) {
      bump(tally[await connection.send(mutant.bytes)], mutant.kind)
      inFlight.delete(mutant)
    } else {
      // A size prefix that does not match: nothing can follow it; the broker must close the connection, at once or at
      // the request deadline. The worker goes on meanwhile; a frame still open when the run ends counts as not closed.
      const abandoned = connection
      connection = null
      abandoned.client.socket.end(mutant.bytes)
      unanswered.add(abandoned)
      const gaveUp = new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), ABANDONED_TIMEOUT_MS).unref())
      void Promise.race([abandoned.closed.then(() => 'closed' as const), gaveUp]).then((outcome) => {
        abandoned.client.close()
        unanswered.delete(abandoned)
        inFlight.delete(mutant)
        bump(tally[outcome], mutant.kind)
      })
      while (unanswered.size >= MAX_UNANSWERED_PER_WORKER) await Promise.race([...unanswered].map((c) => c.closed))
    }
    if (tally.sent % 100_000 === 0) process.stderr.write(`fuzz: ${tally.sent} frames sent, ${tally.crashes} crashes\n`)
  }
  connection?.client.close()
  while (unanswered.size > 0) await Promise.race([...unanswered].map((c) => c.closed))
}

await Promise.all(Array.from({ length: workers }, () => worker()))
const seconds = (performance.now() - started) / 1000
await bystander.stop()
const internalErrors = await metricValue(broker.httpUrl!, /zombi_kafka_connections_closed_total\{reason="internal_error"\} (\d+)/)
const stored = new Set(await readBystanderTopic(broker.bootstrap))
const lost = bystander.acked.filter((value) => !stored.has(value)).length
const rssPeak = readProcessUsage(broker.pid).peakRssBytes
const rssEnd = currentRss(broker.pid)
// What the mutated (but valid) requests left behind: topics, partitions and groups they created.
const stats = await (await fetch(`${broker.httpUrl}/stats`)).json() as { tables: number; partitions: number; groups: number }
await broker.stop()
await source.dispose()

const kinds = [...new Set([...tally.answered.keys(), ...tally.closed.keys(), ...tally.waiting.keys()])].sort()
const outcomes: Table = {
  columns: ['mutation', 'answered', 'closed', `still waiting after ${PROBE_TIMEOUT_MS} ms`],
  rows: kinds.map((kind) => [kind, String(tally.answered.get(kind) ?? 0), String(tally.closed.get(kind) ?? 0), String(tally.waiting.get(kind) ?? 0)]),
}
const summary: Table = {
  columns: ['measure', 'value'],
  rows: [
    ['frames sent', String(tally.sent)],
    ['seconds', seconds.toFixed(1)],
    ['frames/s', Math.round(tally.sent / seconds).toString()],
    ['broker crashes', String(tally.crashes)],
    ['handler errors (connections closed by internal_error)', internalErrors === null ? 'n/a (no such metric)' : String(internalErrors)],
    ['bystander produce ok', String(bystander.ok)],
    ['bystander produce failed', String(bystander.failed)],
    ['bystander success rate', `${((100 * bystander.ok) / Math.max(1, bystander.ok + bystander.failed)).toFixed(3)} %`],
    ['bystander acked records lost', `${lost}${lostBystanderValues.length > 0 ? ` (+${lostBystanderValues.length} acked before a crash, not checked)` : ''}`],
    ['bystander ack latency p50 / p99, idle broker (ms)', `${reference.percentileMs(50).toFixed(2)} / ${reference.percentileMs(99).toFixed(2)}`],
    ['bystander ack latency p50 / p99, under fuzz (ms)', `${bystander.percentileMs(50).toFixed(2)} / ${bystander.percentileMs(99).toFixed(2)}`],
    ['p99 under fuzz / idle', (bystander.percentileMs(99) / reference.percentileMs(99)).toFixed(2)],
    ['broker peak RSS before / after, RSS at the end (MB)', `${Math.round(rssBefore / 1e6)} / ${Math.round(rssPeak / 1e6)}, ${Math.round(rssEnd / 1e6)}`],
    ['topics / partitions / groups the fuzz created', `${stats.tables} / ${stats.partitions} / ${stats.groups}`],
  ],
}
process.stdout.write(`\nZombi ${source.revision}, seed ${options.seed}, ${workers} connections, request timeout ${REQUEST_TIMEOUT_MS} ms\n\n${renderText(outcomes, 1)}\n\n${renderText(summary, 1)}\n`)
if (tally.crashes > 0 || lost > 0) process.exitCode = 1
