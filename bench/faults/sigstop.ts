// SIGSTOP: the broker is frozen for longer than the consumer's session timeout while an idempotent
// producer and a consumer group member that commits every record run (bench/faults/group_member.py,
// which carries on after a refused commit as an application would); after SIGCONT nothing
// acknowledged may be lost, the producer must finish, and the group must recover: the member gets
// every acknowledged record (redeliveries allowed, at-least-once) and its committed offsets reach
// the end of the log.
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel } from 'kafkajs'
import { startZombi } from '../lib/zombi.ts'
import { account, consumeAll, endOffsets, jsonLines, recordId, runPython, runProducer, type FaultOptions, type FaultResult } from './lib.ts'

const PARTITIONS = 2
const SESSION_TIMEOUT_MS = 6000

export async function sigstop(options: FaultOptions): Promise<FaultResult> {
  const stopSeconds = options.quick ? 4 : 10
  const topic = 'faults-sigstop'
  const group = 'faults-sigstop-group'
  const broker = await startZombi(options.source.main, { ...options.settings, ZOMBI_DEFAULT_PARTITIONS: String(PARTITIONS), ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' })
  let stopped = false
  try {
    const producing = runProducer(broker.bootstrap, topic, 'sigstop', { partitions: PARTITIONS, rate: 500, seconds: 3 + stopSeconds + 5, timeoutSecs: 90 })
    const consuming = runPython('bench/faults/group_member.py', [
      '--bootstrap', broker.bootstrap, '--topic', topic, '--group', group, '--session-timeout-ms', String(SESSION_TIMEOUT_MS), '--idle', String(stopSeconds + 12),
    ])
    await sleep(3000)
    broker.signal('SIGSTOP')
    stopped = true
    await sleep(stopSeconds * 1000)
    broker.signal('SIGCONT')
    stopped = false
    const produced = await producing
    const consumed = await consuming
    if (consumed.code !== 0) throw new Error(`group_member.py failed (${consumed.code}): ${consumed.stderr.slice(-2000)}`)
    const lines = jsonLines<{ type: string; value?: string; commit_failures?: number; first_failure?: string | null }>(consumed.stdout)
    const closed = lines.find((line) => line.type === 'closed')
    const received = lines.filter((line) => line.type === 'record').map((line) => recordId(Buffer.from(line.value ?? '', 'base64').toString()))
    const receivedIds = new Set(received)
    const notReceived = [...produced.acked.keys()].filter((id) => !receivedIds.has(id)).length
    const assignments = lines.filter((line) => line.type === 'assigned').length

    const ends = await endOffsets(broker.bootstrap, topic)
    const log = await consumeAll(broker.bootstrap, topic, PARTITIONS, ends.reduce((a, b) => a + b, 0))
    const inLog = account(produced.acked, log)
    const admin = new Kafka({ clientId: 'zombi-faults', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    let committedAtEnd = 0
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      for (const { partition, offset } of committed?.partitions ?? []) if (Number(offset) === ends[partition]) committedAtEnd++
    } finally {
      await admin.disconnect()
    }
    return {
      scenario: 'SIGSTOP',
      figures: [
        ['broker stopped for, s (session timeout 6 s)', stopSeconds],
        ['records offered by the producer', produced.produced],
        ['records acked', inLog.acked],
        ['acked records lost', inLog.lost],
        ['records duplicated in the log', inLog.duplicated],
        ['deliveries the producer gave up / left unresolved', `${produced.failed} / ${produced.produced - inLog.acked - produced.failed}`],
        ['acked records the group member never got', notReceived],
        ['records redelivered to the group member', received.length - receivedIds.size],
        ['partition assignments the member saw', assignments],
        ['commits refused (first refusal)', `${closed?.commit_failures ?? '?'}${closed?.first_failure ? ` (${closed.first_failure})` : ''}`],
        ['partitions whose committed offset reached the end', `${committedAtEnd} of ${PARTITIONS}`],
      ],
      ok: inLog.lost === 0 && inLog.duplicated === 0 && inLog.misplaced === 0 && inLog.acked === produced.produced && notReceived === 0 && committedAtEnd === PARTITIONS,
      notes: [],
    }
  } finally {
    if (stopped) broker.signal('SIGCONT')
    await broker.stop()
  }
}
