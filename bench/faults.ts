// npm run faults [-- --quick] [--cycles N] [--only NAME[,NAME]] [--revision REV|worktree]
// The long fault scenarios of docs/reliability.md, against a frozen copy of the broker's code: kill -9
// loops under load and during flushes, slow and half-open clients, SIGSTOP. Everything stays on
// 127.0.0.1, every loop is bounded, and the run prints one table (also written to .cache/faults/).
// Socket limits given as ZOMBI_* environment variables reach the brokers of every scenario.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { flushCrashLoop } from './faults/flush-crash.ts'
import { killLoop } from './faults/kill-loop.ts'
import type { FaultOptions, FaultResult } from './faults/lib.ts'
import { sigstop } from './faults/sigstop.ts'
import { slowClients } from './faults/slow-clients.ts'
import { describeMachine } from './lib/machine.ts'
import { renderMarkdown, renderText, type Table } from './lib/report.ts'
import { snapshotZombi } from './lib/zombi.ts'

const scenarios: Record<string, (options: FaultOptions) => Promise<FaultResult>> = {
  'kill-loop': (options) => killLoop(options, 'fsync'),
  'kill-loop-none': (options) => killLoop(options, 'none'),
  'flush-crash': flushCrashLoop,
  'slow-clients': slowClients,
  sigstop,
}

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    cycles: { type: 'string' },
    only: { type: 'string' },
    revision: { type: 'string', default: 'HEAD' },
  },
})
const only = flags.only === undefined ? Object.keys(scenarios) : flags.only.split(',')
for (const name of only) if (!(name in scenarios)) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`)
const settings: Record<string, string> = {}
for (const [name, value] of Object.entries(process.env)) if (name.startsWith('ZOMBI_') && name !== 'ZOMBI_TEST_PYTHON' && value !== undefined) settings[name] = value

const source = await snapshotZombi(flags.revision)
const started = performance.now()
const results: FaultResult[] = []
try {
  for (const name of only) {
    console.log(`${name}…`)
    const scenarioStarted = performance.now()
    try {
      const result = await scenarios[name]!({ source, quick: flags.quick, cycles: flags.cycles === undefined ? undefined : Number(flags.cycles), settings, log: (line) => console.log(line) })
      result.figures.push(['scenario seconds', Math.round((performance.now() - scenarioStarted) / 1000)])
      results.push(result)
    } catch (error) {
      results.push({ scenario: name, figures: [], ok: false, notes: [`failed to run: ${error instanceof Error ? error.message.slice(0, 2000) : String(error)}`] })
    }
  }
} finally {
  await source.dispose()
}

const table: Table = { columns: ['scenario', 'figure', 'value'], rows: [] }
for (const result of results) {
  table.rows.push([result.scenario, 'promises held', result.ok ? 'yes' : 'NO'])
  for (const [figure, value] of result.figures) table.rows.push(['', figure, typeof value === 'number' ? value.toLocaleString('en-US') : value])
}
const machine = describeMachine()
const heading = `${new Date().toISOString().slice(0, 10)}, ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, commit ${source.revision}` +
  `${flags.quick ? ', --quick' : ''}${Object.keys(settings).length > 0 ? `, ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}; ${Math.round((performance.now() - started) / 1000)} s in all.`
const notes = results.flatMap((result) => result.notes.map((note) => `- ${result.scenario}: ${note}`))
console.log(`\n${heading}\n\n${renderText(table, 3)}${notes.length > 0 ? `\n\n${notes.join('\n')}` : ''}`)
const dir = path.resolve(import.meta.dirname, '../.cache/faults')
mkdirSync(dir, { recursive: true })
writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify({ heading, results }, null, 2)}\n`)
writeFileSync(path.join(dir, 'latest.md'), `${heading}\n\n${renderMarkdown(table, 3)}\n${notes.length > 0 ? `\n${notes.join('\n')}\n` : ''}`)
process.exitCode = results.every((result) => result.ok) ? 0 : 1
