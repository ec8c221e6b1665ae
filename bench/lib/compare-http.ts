// The hook for HTTP rows in npm run bench:compare (Zombi's HTTP door, single and bulk writes, beside the Zombi
// specification's figures). Kafka has no HTTP door, so these rows have no Kafka side and no ratio.
import type { ExtraTable } from './compare-report.ts'
import type { ZombiSource } from './zombi.ts'

/**
 * Rows for the HTTP load benchmark, or undefined while there is none to run. The HTTP load generator is being
 * written in bench/lib/http.ts; once it exports a function that measures one running Zombi, start a broker from
 * `source` here, call it, and return its figures as a table.
 */
export async function httpRows(source: ZombiSource, quick: boolean): Promise<ExtraTable | undefined> {
  void source
  void quick
  return undefined
}
