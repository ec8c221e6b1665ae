// The framework tests (Kafka Streams, Kafka Connect) against the reference broker too: the same two files run by a
// nested vitest with E2E_BROKER_MAIN pointing at Apache Kafka 4.4.0 (test/support/apache-kafka-main.ts), so a
// framework test that Zombi passes is shown to hold on Kafka as well, and one Zombi fails can be told from a wrong
// test. Every test of both files must pass there, the exactly_once_v2 one included (Kafka advertises EndTxn).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'
import { repoRoot } from './fixtures/broker.ts'

const files = ['test/e2e/kafka-streams.test.ts', 'test/e2e/kafka-connect.test.ts']
const timeoutMs = 15 * 60_000

function runOnKafka(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', ...files], {
      cwd: repoRoot,
      env: { ...process.env, E2E_BROKER_MAIN: path.join(repoRoot, 'test/support/apache-kafka-main.ts') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-200_000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, output }))
  })
}

test('Kafka Streams and Kafka Connect tests pass against Apache Kafka 4.4.0', { timeout: timeoutMs }, async () => {
  const { code, output } = await runOnKafka()
  // The summary reporter's last line: "N passed, N failed, N skipped".
  const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(output.split('\n').filter((line) => /passed, \d+ failed/.test(line)).at(-1) ?? '')
  expect(summary, output.slice(-6000)).not.toBeNull()
  expect({ code, passed: Number(summary![1]), failed: Number(summary![2]), skipped: Number(summary![3]) }, output.slice(-6000)).toEqual({ code: 0, passed: 5, failed: 0, skipped: 0 })
})
