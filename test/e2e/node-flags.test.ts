// ZOMBI_V8_SEMI_SPACE_MB as the real process takes it: node accepts the semi-space size only on its
// command line, so the broker restarts itself in place (execve) with the flag added, keeping its pid.
import { readFileSync } from 'node:fs'
import { afterEach, expect, test } from 'vitest'
import { startBroker, type Broker } from './fixtures/broker.ts'

let broker: Broker | undefined

afterEach(async () => {
  await broker?.cleanup()
  broker = undefined
})

/** The pids in the broker's logs (every line carries one; a restart adds its own) and the command line the latest runs now. */
function processOf(running: Broker): { pids: number[]; commandLine: string[] } {
  const pids = [...new Set(running.logs().split('\n').filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line) as { pid: number }).pid))]
  return { pids, commandLine: readFileSync(`/proc/${pids.at(-1)}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '') }
}

test('the broker runs with the semi-space size it is set to, in the process it was started as, over what NODE_OPTIONS says', async () => {
  broker = await startBroker({ ZOMBI_V8_SEMI_SPACE_MB: '4', NODE_OPTIONS: '--max-semi-space-size=16' })
  const { pids, commandLine } = processOf(broker)
  expect(pids).toHaveLength(1)
  // After node's own flags, before the script: later flags win, so 4 holds over NODE_OPTIONS' 16.
  expect(commandLine.slice(1, -1)).toEqual(['--max-semi-space-size=4'])
  expect(commandLine.at(-1)).toMatch(/src\/main\.ts$/)
  expect(broker.logs()).toContain('node was given --max-semi-space-size=16; ZOMBI_V8_SEMI_SPACE_MB sets it (--max-semi-space-size=4), so --max-semi-space-size=16 has no effect')
  expect((await fetch(`${broker.httpUrl}/health/ready`)).status).toBe(200)
  // A restart of the broker (the fixture spawns node again) goes through the same step.
  await broker.restart()
  expect(processOf(broker).commandLine.slice(1, -1)).toEqual(['--max-semi-space-size=4'])
})

test('0 leaves node as started: no restart, no flag', async () => {
  broker = await startBroker({ ZOMBI_V8_SEMI_SPACE_MB: '0' })
  const { commandLine } = processOf(broker)
  expect(commandLine.slice(1, -1)).toEqual([])
  expect(broker.logs()).not.toContain('has no effect')
})
