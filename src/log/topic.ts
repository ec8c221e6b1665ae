// A topic: its stable id, its configs as the hot path needs them, and its partitions.
import type { TopicRecord } from '../storage/hot-store.ts'
import { Partition } from './partition.ts'
import { effectiveTopicConfig, type BrokerDefaults } from './topic-config.ts'

export class Topic {
  readonly id: string
  readonly name: string
  readonly createdAtMs: number
  configs: Record<string, string>
  partitions: Partition[] = []
  /** Derived from configs so Produce does not parse strings per request. */
  logAppendTime = false
  maxMessageBytes = 0
  /** cleanup.policy has compact: the log cleaner keeps the latest record per key, and records need keys. */
  compacted = false
  /** cleanup.policy has delete: with compact, retention.ms/retention.bytes also remove a compacted partition's oldest batches. */
  deletePolicy = true
  retentionMs = -1
  retentionBytes = -1
  /** The log cleaner's rules (Kafka's topic configs of the same names). */
  deleteRetentionMs = 0
  minCompactionLagMs = 0
  maxCompactionLagMs = 0
  minCleanableDirtyRatio = 0
  segmentBytes = 0
  segmentMs = 0

  constructor(record: TopicRecord, defaults: BrokerDefaults) {
    this.id = record.id
    this.name = record.name
    this.createdAtMs = record.createdAtMs
    this.configs = record.configs
    this.applyConfigs(defaults)
  }

  applyConfigs(defaults: BrokerDefaults): void {
    this.logAppendTime = effectiveTopicConfig(this.configs, 'message.timestamp.type', defaults) === 'LogAppendTime'
    this.maxMessageBytes = Number(effectiveTopicConfig(this.configs, 'max.message.bytes', defaults))
    const policies = effectiveTopicConfig(this.configs, 'cleanup.policy', defaults).split(',').map((policy) => policy.trim())
    this.compacted = policies.includes('compact')
    this.deletePolicy = policies.includes('delete')
    this.retentionMs = Number(effectiveTopicConfig(this.configs, 'retention.ms', defaults))
    this.retentionBytes = Number(effectiveTopicConfig(this.configs, 'retention.bytes', defaults))
    // Longs past 2^53 (Kafka's "never" is Long.MAX_VALUE) read as a number that large: same meaning.
    this.deleteRetentionMs = Number(effectiveTopicConfig(this.configs, 'delete.retention.ms', defaults))
    this.minCompactionLagMs = Number(effectiveTopicConfig(this.configs, 'min.compaction.lag.ms', defaults))
    this.maxCompactionLagMs = Number(effectiveTopicConfig(this.configs, 'max.compaction.lag.ms', defaults))
    this.minCleanableDirtyRatio = Number(effectiveTopicConfig(this.configs, 'min.cleanable.dirty.ratio', defaults))
    this.segmentBytes = Number(effectiveTopicConfig(this.configs, 'segment.bytes', defaults))
    this.segmentMs = Number(effectiveTopicConfig(this.configs, 'segment.ms', defaults))
  }

  record(): TopicRecord {
    return { id: this.id, name: this.name, partitions: this.partitions.length, configs: this.configs, createdAtMs: this.createdAtMs }
  }
}
