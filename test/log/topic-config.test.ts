// Every Kafka topic config has a deliberate answer (acted on, accepted only at the value that
// describes Zombi, or refused with the reason), and docs/topic-configs.md names each one.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REFUSED_TOPIC_CONFIGS, TOPIC_CONFIGS, topicConfigProblem } from '../../src/log/topic-config.ts'

/** The keys of Apache Kafka 4.4.0's org.apache.kafka.common.config.TopicConfig. */
const KAFKA_TOPIC_CONFIGS = [
  'segment.bytes', 'segment.ms', 'segment.jitter.ms', 'segment.index.bytes', 'flush.messages', 'flush.ms', 'retention.bytes', 'retention.ms',
  'remote.storage.enable', 'local.retention.ms', 'local.retention.bytes', 'remote.log.copy.disable', 'remote.copy.lag.ms', 'remote.copy.lag.bytes',
  'remote.log.delete.on.disable', 'max.message.bytes', 'max.decompressed.message.bytes', 'index.interval.bytes', 'file.delete.delay.ms',
  'delete.retention.ms', 'min.compaction.lag.ms', 'max.compaction.lag.ms', 'min.cleanable.dirty.ratio', 'cleanup.policy',
  'unclean.leader.election.enable', 'min.insync.replicas', 'compression.type', 'compression.gzip.level', 'compression.lz4.level',
  'compression.zstd.level', 'preallocate', 'message.timestamp.type', 'message.timestamp.before.max.ms', 'message.timestamp.after.max.ms',
  'message.downconversion.enable', 'errors.deadletterqueue.group.enable',
]

/** Compacted topics' configs, answered by the compaction work of issue 17. */
const COMPACTION = new Set(['max.compaction.lag.ms', 'min.cleanable.dirty.ratio'])

const docs = readFileSync(join(import.meta.dirname, '../../docs/topic-configs.md'), 'utf8')

describe('topic configs', () => {
  it('answers every Kafka topic config: a row of its own or a refusal with the reason', () => {
    const answered = new Set([...TOPIC_CONFIGS.map((config) => config.name), ...Object.keys(REFUSED_TOPIC_CONFIGS)])
    expect(KAFKA_TOPIC_CONFIGS.filter((name) => !answered.has(name) && !COMPACTION.has(name))).toEqual([])
  })

  it('refuses the refused ones whatever the value, naming the key and the reason', () => {
    for (const [name, why] of Object.entries(REFUSED_TOPIC_CONFIGS)) expect(topicConfigProblem(name, '0')).toBe(`${name} is not supported: ${why}`)
    expect(topicConfigProblem('no.such.config', '1')).toBe('unknown topic config no.such.config')
  })

  it('accepts every default it reports', () => {
    for (const config of TOPIC_CONFIGS) expect(topicConfigProblem(config.name, config.defaultValue({ maxMessageBytes: 1_048_588 })), config.name).toBeNull()
  })

  it('names every config in docs/topic-configs.md', () => {
    const names = [...TOPIC_CONFIGS.map((config) => config.name), ...Object.keys(REFUSED_TOPIC_CONFIGS)]
    expect(names.filter((name) => !docs.includes(`\`${name}\``))).toEqual([])
  })
})
