// Static membership with librdkafka (group.instance.id): a member killed and restarted within its
// session timeout gets its partitions back without a rebalance of the others, and a second process
// with the same instance id fences the first (FENCED_INSTANCE_ID, fatal in librdkafka).
import { spawn, type ChildProcess } from 'node:child_process'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { venvPython } from './fixtures/python.ts'

const script = 'compat-tests/confluent-kafka-python/group_static.py'

interface Event {
  type: string
  partitions?: number[]
  name?: string
  fatal?: boolean
  error?: string
}

/** A static member in its own process, so that it can be SIGKILLed. */
class StaticMember {
  readonly #child: ChildProcess
  #stdout = ''
  #stderr = ''

  constructor(bootstrap: string, topic: string, group: string, instance: string) {
    this.#child = spawn(venvPython(), [script, '--bootstrap', bootstrap, '--topic', topic, '--group', group, '--instance', instance, '--session-timeout-ms', '8000'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child.stdout!.on('data', (chunk: Buffer) => { this.#stdout += chunk.toString() })
    this.#child.stderr!.on('data', (chunk: Buffer) => { this.#stderr += chunk.toString() })
  }

  events(): Event[] {
    return this.#stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Event)
  }

  /** Partitions of the latest assignment (empty before the first). */
  assigned(): number[] {
    return this.events().filter((e) => e.type === 'assigned').pop()?.partitions ?? []
  }

  rebalances(): number {
    return this.events().filter((e) => e.type === 'assigned' || e.type === 'revoked').length
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null
  }

  describe(): string {
    return `stdout:\n${this.#stdout}\nstderr (tail):\n${this.#stderr.slice(-3000)}`
  }

  kill(): void {
    if (!this.exited) this.#child.kill('SIGKILL')
  }
}

async function until(what: string, condition: () => boolean, explain: () => string = () => '', timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${explain()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('static membership with librdkafka', () => {
  let broker: Broker
  const members: StaticMember[] = []

  beforeAll(async () => {
    broker = await startBroker({ ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '300', ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS: '1000' })
  })

  afterAll(async () => {
    for (const member of members) member.kill()
    await broker?.cleanup()
  })

  test('a restarted static member gets its partitions back without a rebalance, and a duplicate instance is fenced', async () => {
    const topic = uniqueTopic('group-static')
    const group = `${topic}-g`
    const admin = new Kafka({ clientId: 'zombi-e2e-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    await admin.disconnect()
    const start = (instance: string): StaticMember => {
      const member = new StaticMember(broker.bootstrap, topic, group, instance)
      members.push(member)
      return member
    }
    const explain = (): string => members.map((m, i) => `--- member ${i}\n${m.describe()}`).join('\n')

    const a = start('instance-a')
    const b = start('instance-b')
    await until('both static members hold two partitions', () => a.assigned().length === 2 && b.assigned().length === 2, explain)
    const partitionsOfA = a.assigned()
    const rebalancesOfB = b.rebalances()

    // Killed (static members send no LeaveGroup anyway) and back within the 8 s session timeout.
    a.kill()
    const restarted = start('instance-a')
    await until('the restarted instance has an assignment', () => restarted.assigned().length > 0, explain)
    expect(restarted.assigned()).toEqual(partitionsOfA)
    // Had the group rebalanced, b would have been revoked before the restarted member got its assignment.
    expect(b.rebalances(), explain()).toBe(rebalancesOfB)
    expect(b.assigned()).toEqual([0, 1, 2, 3].filter((p) => !partitionsOfA.includes(p)))

    // A second process claims the same instance id: the one it replaces is fenced.
    const duplicate = start('instance-a')
    await until('the duplicate has the partitions of instance-a', () => duplicate.assigned().length > 0, explain)
    expect(duplicate.assigned()).toEqual(partitionsOfA)
    await until('the replaced process got a fatal fenced error', () => restarted.events().some((e) => e.type === 'error' && e.fatal === true), explain)
    expect(restarted.events().find((e) => e.type === 'error' && e.fatal === true)!.error).toMatch(/fenced by other consumer with same group\.instance\.id/)
    expect(b.rebalances(), explain()).toBe(rebalancesOfB)
  })
})
