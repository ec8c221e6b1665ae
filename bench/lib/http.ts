// Load on Zombi's HTTP write door with autocannon: single-event writes (POST /tables/{t}) and bulk writes
// (POST /tables/{t}/bulk) of a realistic ~100 B event, against a server that is already running. Self-contained
// (only a base URL in), so bench/http.ts and bench/compare.ts can both call measureHttp().
import { createRequire } from 'node:module'
import { readProcessUsage } from './broker.ts'

/** The slice of autocannon's options and results this module uses (autocannon ships no types). */
interface AutocannonOptions {
  url: string
  method: 'POST'
  headers: Record<string, string>
  body: string
  connections: number
  pipelining: number
  duration: number
  /** Seconds before a request counts as timed out. */
  timeout: number
}

interface Histogram {
  average: number
  p50: number
  p99: number
  max: number
}

interface AutocannonResult {
  duration: number
  latency: Histogram
  requests: Histogram & { total: number }
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
  statusCodeStats: Record<string, { count: number }>
}

type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export interface HttpBenchOptions {
  /** Timed seconds per scenario. */
  durationSeconds: number
  /** Untimed seconds of the same load before each timed run (JIT of server and load generator). */
  warmUpSeconds: number
  /** Concurrent connections for single-event writes (each has one request in flight). */
  singleConnections: number
  /** Concurrent connections for bulk writes. */
  bulkConnections: number
  /** Events per bulk request, one scenario each. */
  bulkSizes: readonly number[]
  /** Bytes of each event's payload (UTF-8 text). */
  payloadBytes: number
  /** Table names are `<prefix>-<scenario>-<random>`, new tables every call. */
  tablePrefix: string
  /** Awaited before each timed run, e.g. to let the broker settle (flush, idle); untimed. */
  beforeEach?: (table: string) => Promise<void>
  /** The broker's process id, when it runs on this machine: each scenario then reports its CPU time (Linux /proc). */
  brokerPid?: number
}

export const defaultHttpBenchOptions: Readonly<HttpBenchOptions> = {
  durationSeconds: 10,
  warmUpSeconds: 2,
  singleConnections: 64,
  bulkConnections: 8,
  bulkSizes: [100, 1000],
  payloadBytes: 100,
  tablePrefix: 'bench-http',
}

/** One timed run of one request shape. */
export interface HttpScenarioResult {
  scenario: 'single' | 'bulk'
  eventsPerRequest: number
  connections: number
  table: string
  seconds: number
  /** Requests answered 202. */
  acceptedRequests: number
  requestsPerSecond: number
  eventsPerSecond: number
  /** Request latency (send to full response), milliseconds. */
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Broker CPU seconds (user + system) during the timed run, when `brokerPid` was given. */
  brokerCpuSeconds?: number
  /** Broker CPU microseconds per accepted event, when `brokerPid` was given: steadier than throughput on a shared machine. */
  brokerCpuMicrosPerEvent?: number
  /** Answers other than 2xx (429 from backpressure, ...) and connection errors or timeouts; a clean run has none. */
  non2xx: number
  errors: number
  statusCodes: Record<string, number>
}

export interface HttpMeasurement {
  /** POST /tables/{t}, one event per request: 202 answers per second. */
  singleRequestsPerSecond: number
  /** Bulk events accepted per second at the largest bulk size measured. */
  bulkEventsPerSecond: number
  /** Latency of single-event writes. */
  p50Ms: number
  p99Ms: number
  /** Every scenario: single first, then each bulk size. */
  scenarios: HttpScenarioResult[]
  options: Omit<HttpBenchOptions, 'beforeEach' | 'brokerPid'>
}

/**
 * A clickstream-like event of exactly `bytes` bytes of JSON text: what an application would post as the
 * payload. Not JSON-escaped here; the request body escapes its quotes.
 */
export function samplePayload(bytes: number): string {
  const head = '{"user":"u-48151623","event":"page_view","path":"/products/4711?ref=home","ts":1764633600000,"pad":"'
  const tail = '"}'
  const fill = bytes - head.length - tail.length
  if (fill < 0) return 'x'.repeat(bytes)
  return head + 'p'.repeat(fill) + tail
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8)
}

async function checkedJson(response: Response, what: string): Promise<unknown> {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`)
  return response.json()
}

/**
 * Records in the table once it stopped growing: autocannon ends a run with up to one request per connection
 * still in flight, which the server completes afterwards.
 */
async function settledRecordsIn(baseUrl: string, table: string): Promise<number> {
  let previous = await recordsIn(baseUrl, table)
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const now = await recordsIn(baseUrl, table)
    if (now === previous) return now
    previous = now
  }
}

/** Records in a table (sum of high watermarks), from GET /tables. */
async function recordsIn(baseUrl: string, table: string): Promise<number> {
  const { tables } = (await checkedJson(await fetch(`${baseUrl}/tables`), 'GET /tables')) as { tables: { name: string; records: number }[] }
  const found = tables.find((t) => t.name === table)
  if (found === undefined) throw new Error(`table ${table} is not in GET /tables`)
  return found.records
}

interface Shape {
  scenario: 'single' | 'bulk'
  eventsPerRequest: number
  connections: number
  path: string
  body: string
}

async function runShape(baseUrl: string, shape: Shape, table: string, options: HttpBenchOptions): Promise<HttpScenarioResult> {
  const load = (duration: number): Promise<AutocannonResult> => autocannon({
    url: `${baseUrl}${shape.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: shape.body,
    connections: shape.connections,
    pipelining: 1,
    duration,
    timeout: 30,
  })
  // The first request creates the table (auto-create), outside any timing.
  await checkedJson(await fetch(`${baseUrl}${shape.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: shape.body }), `POST ${shape.path}`)
  if (options.warmUpSeconds > 0) await load(options.warmUpSeconds)
  await options.beforeEach?.(table)
  const before = await settledRecordsIn(baseUrl, table)
  const cpuBefore = options.brokerPid === undefined ? 0 : readProcessUsage(options.brokerPid).cpuSeconds
  const result = await load(options.durationSeconds)
  const brokerCpuSeconds = options.brokerPid === undefined ? undefined : readProcessUsage(options.brokerPid).cpuSeconds - cpuBefore
  const statusCodes: Record<string, number> = {}
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = Number(count)
  const accepted = statusCodes['202'] ?? 0
  // Every accepted event must be in the table (a benchmark that loses writes measures nothing); requests still
  // in flight when the run stopped are written but not counted, at most one per connection.
  const written = (await settledRecordsIn(baseUrl, table)) - before
  const low = accepted * shape.eventsPerRequest
  const high = (accepted + shape.connections) * shape.eventsPerRequest
  if (written < low || written > high || written % shape.eventsPerRequest !== 0) {
    throw new Error(`${shape.scenario} x${shape.eventsPerRequest}: ${accepted} requests answered 202 (${low} events, up to ${high} with the ones in flight at the end) but the table grew by ${written}`)
  }
  const seconds = result.duration
  return {
    scenario: shape.scenario,
    eventsPerRequest: shape.eventsPerRequest,
    connections: shape.connections,
    table,
    seconds,
    acceptedRequests: accepted,
    requestsPerSecond: accepted / seconds,
    eventsPerSecond: (accepted * shape.eventsPerRequest) / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    ...(brokerCpuSeconds === undefined ? {} : { brokerCpuSeconds, brokerCpuMicrosPerEvent: accepted === 0 ? 0 : (brokerCpuSeconds * 1e6) / (accepted * shape.eventsPerRequest) }),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  }
}

/**
 * Measures single-event and bulk writes against the Zombi HTTP API at `baseUrl` (e.g. http://127.0.0.1:8080).
 * Each scenario writes into a new table, warms up untimed, then runs `durationSeconds` with autocannon and
 * checks that the table grew by exactly the events that were answered 202. Throws if a check fails.
 */
export async function measureHttp(baseUrl: string, overrides: Partial<HttpBenchOptions> = {}): Promise<HttpMeasurement> {
  const options: HttpBenchOptions = { ...defaultHttpBenchOptions, ...overrides }
  const base = baseUrl.replace(/\/+$/, '')
  const payload = samplePayload(options.payloadBytes)
  const event = { payload }
  const shapes: Shape[] = []
  const suffix = randomSuffix()
  const singleTable = `${options.tablePrefix}-single-${suffix}`
  shapes.push({ scenario: 'single', eventsPerRequest: 1, connections: options.singleConnections, path: `/tables/${singleTable}`, body: JSON.stringify(event) })
  for (const size of options.bulkSizes) {
    const table = `${options.tablePrefix}-bulk${size}-${suffix}`
    shapes.push({ scenario: 'bulk', eventsPerRequest: size, connections: options.bulkConnections, path: `/tables/${table}/bulk`, body: JSON.stringify({ records: new Array<typeof event>(size).fill(event) }) })
  }
  const scenarios: HttpScenarioResult[] = []
  for (const shape of shapes) {
    const table = decodeURIComponent(shape.path.split('/')[2]!)
    scenarios.push(await runShape(base, shape, table, options))
  }
  const single = scenarios[0]!
  const largestBulk = scenarios.filter((s) => s.scenario === 'bulk').at(-1)
  const { beforeEach: _beforeEach, brokerPid: _brokerPid, ...recorded } = options
  return {
    singleRequestsPerSecond: single.requestsPerSecond,
    bulkEventsPerSecond: largestBulk?.eventsPerSecond ?? 0,
    p50Ms: single.p50Ms,
    p99Ms: single.p99Ms,
    scenarios,
    options: recorded,
  }
}
