// HTTP rows of npm run bench:compare: Zombi's HTTP door (single-event and bulk writes, measureHttp from
// bench/lib/http.ts, the load of npm run bench:http) in both durability modes, beside the Zombi v2 specification's
// published figures. Kafka has no HTTP door, so these rows have no Kafka side and no ratio.
import type { BrokerUnderTest } from './broker.ts'
import type { ExtraTable } from './compare-report.ts'
import { measureHttp, type HttpScenarioResult } from './http.ts'
import { formatNumber } from './report.ts'

/** The Zombi v2 specification's HTTP figures (t3.micro: 2 vCPUs, burstable), as bench/http.ts quotes them. */
const specification = { single: '13,590 req/s', bulk: '166K–324K events/s', machine: 't3.micro' }

export interface HttpRun {
  broker: string
  scenarios?: HttpScenarioResult[]
  error?: string
}

/** Measures each broker configuration once on a fresh broker; --quick runs 1 s per scenario without warm-up or settling. */
export async function measureHttpRows(brokers: BrokerUnderTest[], quick: boolean): Promise<HttpRun[]> {
  const runs: HttpRun[] = []
  for (const config of brokers) {
    const run: HttpRun = { broker: config.name }
    try {
      const broker = await config.start()
      try {
        if (broker.httpUrl === undefined) throw new Error(`${config.name} has no HTTP API`)
        const measurement = await measureHttp(broker.httpUrl, {
          durationSeconds: quick ? 1 : 5, warmUpSeconds: quick ? 0 : 1, tablePrefix: 'compare-http', brokerPid: broker.pid,
          ...(quick ? {} : { beforeEach: () => broker.settle() }),
        })
        run.scenarios = measurement.scenarios
      } finally {
        await broker.stop()
      }
    } catch (error) {
      run.error = error instanceof Error ? error.message : String(error)
    }
    console.log(run.error === undefined ? `http ${config.name}: measured` : `http ${config.name}: FAILED: ${run.error}`)
    runs.push(run)
  }
  return runs
}

export function httpTable(runs: HttpRun[]): ExtraTable {
  const rows = runs.flatMap((run) => (run.scenarios ?? []).map((s) => [
    run.broker, s.scenario === 'single' ? 'single' : `bulk ${s.eventsPerRequest}`, String(s.connections),
    formatNumber(s.requestsPerSecond), formatNumber(s.eventsPerSecond), `${s.p50Ms} / ${s.p99Ms}`,
    s.brokerCpuMicrosPerEvent === undefined ? '-' : s.brokerCpuMicrosPerEvent.toFixed(1),
    s.scenario === 'single' ? specification.single : specification.bulk,
  ]))
  return {
    title: `HTTP writes (Zombi only; autocannon, ~100 B events), beside the Zombi v2 specification's figures (${specification.machine})`,
    table: {
      columns: ['broker', 'scenario', 'connections', 'requests/s', 'events/s', 'p50/p99 ms', 'broker CPU µs/event', 'specification'],
      rows,
    },
    textColumns: 2,
  }
}

/** Failures of the HTTP runs, for the failures list. */
export function httpFailures(runs: HttpRun[]): string[] {
  return runs.flatMap((run) => [
    ...(run.error === undefined ? [] : [`http, ${run.broker}: ${run.error}`]),
    ...(run.scenarios ?? []).filter((s) => s.non2xx + s.errors > 0).map((s) => `http, ${run.broker}, ${s.scenario} ${s.eventsPerRequest}: ${s.non2xx} non-2xx, ${s.errors} errors`),
  ])
}
