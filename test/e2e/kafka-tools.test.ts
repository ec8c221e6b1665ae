// Apache Kafka 4.4.0's own command-line tools against Zombi, through their main classes in one JVM
// (fixtures/KafkaToolsDriver.java): kafka-topics, kafka-configs (topics and brokers),
// kafka-consumer-groups, kafka-delete-records, kafka-log-dirs, kafka-get-offsets and
// kafka-leader-election, each checked for its exit code and the output an operator relies on; and
// kafka-python's alter_configs (the whole-set AlterConfigs API).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { KafkaToolsSession, type ToolRun } from './fixtures/kafka-tools.ts'
import { codecIds, readPartition } from './fixtures/platformatic.ts'
import { pythonJsonLines } from './fixtures/python.ts'

const TOPICS = 'org.apache.kafka.tools.TopicCommand'
const CONFIGS = 'org.apache.kafka.tools.ConfigCommand'
const GROUPS = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand'
const DELETE_RECORDS = 'org.apache.kafka.tools.DeleteRecordsCommand'
const LOG_DIRS = 'org.apache.kafka.tools.LogDirsCommand'
const GET_OFFSETS = 'org.apache.kafka.tools.GetOffsetShell'
const LEADER_ELECTION = 'org.apache.kafka.tools.LeaderElectionCommand'

let broker: Broker
let tools: KafkaToolsSession

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_AUTO_CREATE_TOPICS: 'false' })
  tools = new KafkaToolsSession()
}, 120_000)

afterAll(async () => {
  await tools?.close()
  await broker?.cleanup()
})

/** A tool's run against the broker, with the driver's own lines taken out of stderr. */
async function tool(mainClass: string, ...args: string[]): Promise<ToolRun> {
  const run = await tools.run(mainClass, ['--bootstrap-server', broker.bootstrap, ...args])
  return { ...run, stderr: run.stderr.split('\n').filter((line) => !line.includes('KafkaToolsDriver')).join('\n').trim() }
}

/** Runs a tool that must succeed without printing an error. */
async function succeeds(mainClass: string, ...args: string[]): Promise<string> {
  const run = await tool(mainClass, ...args)
  expect({ code: run.code, stderr: run.stderr, error: /Error|Exception|error:/.test(run.stdout) }, run.stdout).toEqual({ code: 0, stderr: '', error: false })
  return run.stdout
}

async function createTopic(partitions: number, ...configs: string[]): Promise<string> {
  const topic = uniqueTopic('tools')
  await succeeds(TOPICS, '--create', '--topic', topic, '--partitions', String(partitions), '--replication-factor', '1', ...configs.flatMap((config) => ['--config', config]))
  return topic
}

async function produce(topic: string, partition: number, count: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'kafka-tools-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ value: `record-${i}`, partition })) })
  await producer.disconnect()
}

describe('Apache Kafka 4.4.0 command-line tools', () => {
  test('kafka-topics creates a topic with configs, describes it, adds partitions and deletes it; a refused config fails naming the key', async () => {
    const topic = await createTopic(2, 'retention.ms=86400000', 'min.insync.replicas=1')
    const described = await succeeds(TOPICS, '--describe', '--topic', topic)
    expect(described).toMatch(new RegExp(`Topic: ${topic}\\tTopicId: \\S+\\tPartitionCount: 2\\tReplicationFactor: 1\\tConfigs: min.insync.replicas=1,retention.ms=86400000`))
    expect(described).toContain(`Topic: ${topic}\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0`)
    await succeeds(TOPICS, '--alter', '--topic', topic, '--partitions', '3')
    expect(await succeeds(TOPICS, '--describe', '--topic', topic)).toContain('PartitionCount: 3')
    const refused = await tool(TOPICS, '--create', '--topic', `${topic}-zstd`, '--partitions', '1', '--config', 'compression.zstd.level=3')
    expect(refused.code).toBe(1)
    expect(refused.stdout).toContain('compression.zstd.level is not supported')
    await succeeds(TOPICS, '--delete', '--topic', topic)
    expect(await succeeds(TOPICS, '--list')).not.toContain(topic)
  })

  test('a topic created with compression.type=zstd stores what kafkajs sent uncompressed as zstd batches, read back intact', async () => {
    const topic = await createTopic(1, 'compression.type=zstd')
    await produce(topic, 0, 3)
    const read = await readPartition(broker.bootstrap, topic, 0)
    expect(read.batches.map((batch) => batch.attributes & 0x07)).toEqual([codecIds.zstd])
    expect(read.records.map((record) => record.value?.toString())).toEqual(['record-0', 'record-1', 'record-2'])
  })

  test('kafka-configs alters and describes topic configs, describes the broker, and refuses broker changes naming the key', async () => {
    const topic = await createTopic(1)
    expect(await succeeds(CONFIGS, '--alter', '--entity-type', 'topics', '--entity-name', topic, '--add-config', 'retention.ms=3600000,message.timestamp.after.max.ms=60000'))
      .toContain(`Completed updating config for topic ${topic}.`)
    await succeeds(CONFIGS, '--alter', '--entity-type', 'topics', '--entity-name', topic, '--delete-config', 'message.timestamp.after.max.ms')
    const dynamic = await succeeds(CONFIGS, '--describe', '--entity-type', 'topics', '--entity-name', topic)
    expect(dynamic).toContain('retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}')
    expect(dynamic).not.toContain('message.timestamp.after.max.ms')
    const refused = await tool(CONFIGS, '--alter', '--entity-type', 'topics', '--entity-name', topic, '--add-config', 'preallocate=true')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('InvalidConfigurationException: preallocate=true is not supported')
    const brokerConfigs = await succeeds(CONFIGS, '--describe', '--all', '--entity-type', 'brokers', '--entity-name', '0')
    expect(brokerConfigs).toContain('num.partitions=1 sensitive=false synonyms={STATIC_BROKER_CONFIG:num.partitions=1}')
    await succeeds(CONFIGS, '--alter', '--entity-type', 'brokers', '--entity-name', '0', '--add-config', 'num.partitions=1')
    const changed = await tool(CONFIGS, '--alter', '--entity-type', 'brokers', '--entity-name', '0', '--add-config', 'num.partitions=7')
    expect(changed.code).toBe(1)
    expect(changed.stderr).toContain('InvalidConfigurationException: broker config num.partitions=7 is refused: it is set at start by ZOMBI_DEFAULT_PARTITIONS')
    const unknown = await tool(CONFIGS, '--alter', '--entity-type', 'brokers', '--entity-default', '--add-config', 'log.cleaner.threads=2')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('broker config log.cleaner.threads is not supported by Zombi')
  })

  test('kafka-consumer-groups resets a group\'s offsets, describes its lag and deletes its offsets', async () => {
    const topic = await createTopic(2)
    await produce(topic, 0, 5)
    const group = uniqueTopic('tools-group')
    const reset = await succeeds(GROUPS, '--reset-offsets', '--group', group, '--topic', `${topic}:0`, '--to-offset', '3', '--execute')
    expect(reset).toMatch(new RegExp(`${group}\\s+${topic}\\s+0\\s+3`))
    const described = await tool(GROUPS, '--describe', '--group', group)
    expect([described.code, described.stderr]).toEqual([0, `Consumer group '${group}' has no active members.`])
    expect(described.stdout).toMatch(new RegExp(`${group}\\s+${topic}\\s+0\\s+3\\s+5\\s+2\\s+-`))
    const deleted = await succeeds(GROUPS, '--delete-offsets', '--group', group, '--topic', topic)
    expect(deleted).toContain(`Request succeeded for deleting offsets from group ${group}.`)
    expect(deleted).toMatch(new RegExp(`${topic}\\s+0\\s+Successful`))
  })

  test('kafka-delete-records moves the log start offset durably (kill -9 and restart keep it), which kafka-get-offsets and kafka-log-dirs then show', async () => {
    const topic = await createTopic(2)
    await produce(topic, 0, 5)
    const offsets = join(broker.dataDir, `${topic}-delete.json`)
    writeFileSync(offsets, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, offset: 2 }] }))
    const deleted = await succeeds(DELETE_RECORDS, '--offset-json-file', offsets)
    expect(deleted).toContain(`partition: ${topic}-0\tlow_watermark: 2`)
    // Acknowledged means durable: the cut survives a kill -9.
    await broker.kill9()
    await broker.restart()
    expect(await succeeds(GET_OFFSETS, '--topic', topic, '--time', '-2')).toBe(`${topic}:0:2\n${topic}:1:0\n`)
    expect(await succeeds(GET_OFFSETS, '--topic', topic, '--time', 'latest')).toBe(`${topic}:0:5\n${topic}:1:0\n`)
    writeFileSync(offsets, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, offset: 9 }] }))
    const beyond = await tool(DELETE_RECORDS, '--offset-json-file', offsets)
    expect(beyond.stdout).toContain(`partition: ${topic}-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException`)
    const logDirs = await succeeds(LOG_DIRS, '--describe', '--topic-list', topic)
    const described = JSON.parse(logDirs.split('\n').find((line) => line.startsWith('{'))!) as { brokers: Array<{ broker: number; logDirs: Array<{ logDir: string; error: unknown; partitions: Array<{ partition: string; size: number; offsetLag: number; isFuture: boolean }> }> }> }
    expect(described.brokers).toHaveLength(1)
    const [dir] = described.brokers[0]!.logDirs
    expect(dir).toMatchObject({ logDir: broker.dataDir, error: null })
    const sizes = Object.fromEntries(dir!.partitions.map((p) => [p.partition, p.size]))
    expect(sizes[`${topic}-0`]).toBeGreaterThan(0)
    expect(sizes[`${topic}-1`]).toBe(0)
  })

  test('kafka-leader-election finds no election needed, for all partitions or one', async () => {
    const topic = await createTopic(1)
    await succeeds(LEADER_ELECTION, '--election-type', 'preferred', '--all-topic-partitions')
    expect(await succeeds(LEADER_ELECTION, '--election-type', 'preferred', '--topic', topic, '--partition', '0')).toContain(`Valid replica already elected for partitions ${topic}-0`)
  })

  test('kafka-python\'s alter_configs sets topic configs through AlterConfigs and IncrementalAlterConfigs, and is refused what Zombi does not honour', async () => {
    const topic = await createTopic(1)
    const lines = await pythonJsonLines('compat-tests/kafka-python/alter_configs.py', ['--bootstrap', broker.bootstrap, '--topic', topic]) as Array<Record<string, unknown>>
    for (const incremental of [false, true]) {
      expect(lines.filter((line) => line.incremental === incremental).map(({ resource, message }) => [resource, message])).toEqual([
        [topic, 'OK'],
        [topic, expect.stringMatching(/^\[Error 40\] InvalidConfigurationError: preallocate=true is not supported/)],
        ['0', expect.stringMatching(/^\[Error 40\] InvalidConfigurationError: broker config num.partitions=7 is refused/)],
      ])
    }
    const described = (lines.at(-1) as { described: { topic: Record<string, Record<string, { value: string; config_source: string }>> } }).described.topic[topic]!
    expect(Object.fromEntries(Object.entries(described).map(([name, entry]) => [name, [entry.value, entry.config_source]]))).toEqual({
      'retention.ms': ['7200000', 'DYNAMIC_TOPIC_CONFIG'], 'max.message.bytes': ['500000', 'DYNAMIC_TOPIC_CONFIG'],
    })
  })
})
