// Runs one client family: starts Zombi, creates each scenario's topic, runs the scenario (in TypeScript
// or through a driver program in the client's own language), checks the broker side, and writes
// results/latest.json. A family's run.ts is a call to runFamily().
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { startBroker, type Broker } from '../../test/e2e/fixtures/broker.ts'
import { runProcess } from '../../test/e2e/fixtures/kcat.ts'
import { verifyOnBroker } from './broker-checks.ts'
import { prepareCompacted } from './compacted.ts'
import { createTopic } from './reader.ts'
import { prepareSecuredScenario, prepareSecurity, secureBootstrap, secureEnvironment, type ScramMechanism, type SecureClientContext } from './security.ts'
import { judge, readAllowlist, resultsPath, summarize, writeResults, type FamilyResult, type ScenarioResult } from './results.ts'
import { scenarioNames, topicSpecOf, type ScenarioName } from './scenarios.ts'

export interface ScenarioContext {
  readonly scenario: ScenarioName
  readonly bootstrap: string
  /** The scenario's topic, already created per topicSpecOf() (for admin-create-describe-delete: a free name). */
  readonly topic: string
  /** A group id no other scenario uses. */
  readonly group: string
  readonly broker: Broker
  /** sasl-scram-tls and acl-denied: the SASL_SSL listener and the user to connect as; undefined otherwise. */
  readonly secure: SecureClientContext | undefined
  /** Milliseconds left before the scenario times out, less `reserveMs` kept for what follows (at least 1 s). */
  remainingMs(reserveMs?: number): number
  /** A line in the family's run log. */
  log(line: string): void
  /**
   * Says the scenario ran the broker-side check itself (e.g. on a family's variant of the data, when
   * the client cannot produce the scenario's exact bytes), so the generic one is not run.
   */
  brokerCheckedHere(): void
}

/** Throw it from a scenario to report a skip decided at run time. */
export class SkipScenario extends Error {}

/** Resolves with an optional detail to pass; throws to fail. */
export type ScenarioFunction = (context: ScenarioContext) => Promise<string | undefined>
export type ScenarioEntry = ScenarioFunction | { skip: string }

export interface DriverSpec {
  /** argv of the driver; the scenario name is appended. */
  command: string[]
  env?: Record<string, string>
}

export interface FamilySpec {
  family: string
  client: string
  version: string | (() => string | Promise<string>)
  /** Extra ZOMBI_* settings. */
  brokerSettings?: Record<string, string>
  /** The SCRAM mechanism of the secured scenarios: SCRAM-SHA-512 unless the client lacks it. */
  saslMechanism?: ScramMechanism
  /** Per scenario, default 90 s. */
  scenarioTimeoutMs?: number
  /** TypeScript scenarios: every name of the list, a function or a skip. */
  scenarios?: Record<ScenarioName, ScenarioEntry>
  /** Or a driver program run once per scenario (see compat-tests/README.md). */
  driver?: DriverSpec
  /** Skips decided without running the driver (e.g. a feature the client does not have). */
  skips?: Partial<Record<ScenarioName, string>>
}

/** Group timings short enough for a test run, long enough for slow clients on two cores. */
export const defaultBrokerSettings: Record<string, string> = {
  ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '300',
  ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
  // KIP-848 members move one step per heartbeat; Kafka's 5 s default would make kip848-group slow.
  ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: '500',
  ZOMBI_LOG_LEVEL: 'info',
  // compacted-topic waits for a cleaning.
  ZOMBI_LOG_CLEANER_BACKOFF_MS: '200',
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ''
    return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}${cause}`
  }
  return String(error)
}

function uniqueName(family: string, scenario: string): string {
  return `compat-${family}-${scenario}-${randomBytes(4).toString('hex')}`.replace(/[^a-zA-Z0-9._-]/g, '-')
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The warnings and errors the broker logged while a scenario ran, as evidence in a failure's detail. */
function brokerComplaints(logs: string): string {
  const lines = logs.split('\n').filter((line) => /"level":(40|50|60)/.test(line))
  return lines.length === 0 ? '' : `\nbroker warnings/errors:\n${lines.slice(-5).join('\n')}`
}

async function runDriver(driver: DriverSpec, context: ScenarioContext): Promise<ScenarioResult> {
  const env = {
    ...process.env,
    ...driver.env,
    PYTHONUNBUFFERED: '1',
    COMPAT_BOOTSTRAP: context.bootstrap,
    COMPAT_TOPIC: context.topic,
    COMPAT_GROUP: context.group,
    COMPAT_SCENARIO: context.scenario,
    ...secureEnvironment(context.secure),
  }
  const [command, ...args] = driver.command
  const result = await runProcess(command!, [...args, context.scenario], { env, timeoutMs: context.remainingMs() })
  const stderr = result.stderr.trim()
  if (stderr) context.log(stderr)
  const lines = result.stdout.toString('utf8').split('\n').filter((line) => line.trim() !== '')
  const last = lines.at(-1)
  if (last !== undefined) {
    try {
      const parsed = JSON.parse(last) as { status?: unknown; detail?: unknown }
      if ((parsed.status === 'pass' || parsed.status === 'fail' || parsed.status === 'skip') && typeof parsed.detail === 'string') {
        return { status: parsed.status, detail: parsed.detail }
      }
    } catch {
      // Not a result line; judged by the exit code below.
    }
  }
  const stderrLines = stderr.split('\n').filter((line) => line.trim() !== '')
  const exit = `code ${result.code}${result.signal ? ` (${result.signal})` : ''}`
  return {
    status: 'fail',
    detail: `driver exited with ${exit} without a result line: ${stderrLines.at(-1) ?? '(no stderr)'}\n${stderrLines.slice(-8).join('\n')}`,
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export async function runFamily(spec: FamilySpec): Promise<FamilyResult> {
  const date = new Date().toISOString()
  const outputPath = resultsPath(spec.family)
  const runLog: string[] = []
  const log = (line: string): void => {
    runLog.push(line)
    process.stderr.write(`[${spec.family}] ${line}\n`)
  }
  let version: string
  try {
    version = typeof spec.version === 'string' ? spec.version : await spec.version()
  } catch (error) {
    version = `unknown (${errorText(error)})`
  }
  const result: FamilyResult = { family: spec.family, client: spec.client, version, date, scenarios: {} }
  const security = prepareSecurity()
  const broker = await startBroker({ ...defaultBrokerSettings, ...security.brokerSettings, ...spec.brokerSettings })
  const timeoutMs = spec.scenarioTimeoutMs ?? 90_000
  // COMPAT_SCENARIOS=a,b runs only those scenarios (a quick check of one scenario across families).
  const only = process.env.COMPAT_SCENARIOS?.split(',').filter((name) => name !== '')
  try {
    for (const scenario of scenarioNames) {
      if (only !== undefined && only.length > 0 && !only.includes(scenario)) {
        result.scenarios[scenario] = { status: 'skip', detail: 'not selected (COMPAT_SCENARIOS)' }
        continue
      }
      const started = Date.now()
      const entry = spec.scenarios?.[scenario]
      const skip = spec.skips?.[scenario] ?? (entry !== undefined && typeof entry !== 'function' ? entry.skip : undefined)
      if (skip !== undefined) {
        result.scenarios[scenario] = { status: 'skip', detail: skip }
        log(`${scenario}: skip (${skip})`)
        continue
      }
      const logsBefore = broker.logs().length
      const topicSpec = topicSpecOf(scenario)
      const context: Mutable<ScenarioContext> = {
        scenario,
        bootstrap: broker.bootstrap,
        topic: uniqueName(spec.family, scenario),
        group: uniqueName(spec.family, scenario),
        broker,
        secure: undefined,
        remainingMs: (reserveMs = 0) => Math.max(1000, timeoutMs - (Date.now() - started) - reserveMs),
        log: (line) => log(`${scenario}: ${line}`),
        brokerCheckedHere: () => {},
      }
      let brokerCheckedHere = false
      context.brokerCheckedHere = () => {
        brokerCheckedHere = true
      }
      let outcome: ScenarioResult
      try {
        if (topicSpec) await createTopic(broker.bootstrap, context.topic, topicSpec)
        if (scenario === 'compacted-topic') await prepareCompacted(broker, context.topic)
        context.secure = await prepareSecuredScenario(security, scenario, broker.bootstrap, secureBootstrap(broker.listenerPorts, broker.host),
          context.topic, context.group, spec.saslMechanism ?? 'SCRAM-SHA-512', (name) => createTopic(broker.bootstrap, name, { partitions: 1, configs: {} }))
        if (typeof entry === 'function') {
          const detail = await withTimeout(entry(context), timeoutMs, scenario)
          outcome = { status: 'pass', detail: detail ?? '' }
        } else if (spec.driver) {
          outcome = await runDriver(spec.driver, context)
        } else {
          throw new Error(`family ${spec.family} has neither a function nor a driver for ${scenario}`)
        }
        if (outcome.status === 'pass' && !brokerCheckedHere) {
          const brokerDetail = await withTimeout(verifyOnBroker(context), context.remainingMs(), `${scenario} broker-side check`)
          if (brokerDetail) outcome.detail = outcome.detail ? `${outcome.detail}; ${brokerDetail}` : brokerDetail
        }
      } catch (error) {
        outcome = error instanceof SkipScenario
          ? { status: 'skip', detail: error.message }
          : { status: 'fail', detail: errorText(error) }
      }
      if (outcome.status === 'fail') outcome.detail += brokerComplaints(broker.logs().slice(logsBefore))
      outcome.durationMs = Date.now() - started
      result.scenarios[scenario] = outcome
      log(`${scenario}: ${outcome.status} in ${outcome.durationMs} ms${outcome.detail ? ` (${outcome.detail.split('\n')[0]})` : ''}`)
    }
  } finally {
    const logDir = dirname(outputPath)
    await mkdir(logDir, { recursive: true })
    await writeFile(join(logDir, 'broker.log'), broker.logs())
    await writeFile(join(logDir, 'scenarios.log'), runLog.join('\n') + '\n')
    await broker.cleanup()
    security.cleanup()
  }
  await writeResults(result, outputPath)
  for (const line of summarize(spec.family, judge(result, readAllowlist(spec.family)))) log(line)
  log(`results in ${outputPath}`)
  return result
}

/**
 * The usual end of a family's run.ts: run, then exit 0 even if client objects (sockets, timers of a
 * timed-out scenario) are still open; non-zero only when the runner itself broke.
 */
export function runFamilyMain(spec: FamilySpec): void {
  runFamily(spec).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`[${spec.family}] runner failed: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    },
  )
}
