// A topic: its stable id, its configs as the hot path needs them, and its partitions.
import { Compression } from '../protocol/compression.ts'
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
  /** Whether cleanup.policy includes delete: retention.ms/retention.bytes move the log start only then, as in Kafka. */
  retentionDeletes = true
  /** retention.ms and retention.bytes (-1: no limit). */
  retentionMs = -1
  retentionBytes = -1
  /** compression.type as a codec to recompress batches to, or null (`producer`: stored as written). */
  compressionCodec: number | null = null
  /** min.insync.replicas: above 1, acks=all produce is refused (one replica). */
  minInsyncReplicas = 1
  /** message.timestamp.before.max.ms / after.max.ms (Infinity: no bound). */
  timestampBeforeMaxMs = Number.POSITIVE_INFINITY
  timestampAfterMaxMs = Number.POSITIVE_INFINITY

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
    this.retentionDeletes = effectiveTopicConfig(this.configs, 'cleanup.policy', defaults).split(',').some((policy) => policy.trim() === 'delete')
    this.retentionMs = Number(effectiveTopicConfig(this.configs, 'retention.ms', defaults))
    this.retentionBytes = Number(effectiveTopicConfig(this.configs, 'retention.bytes', defaults))
    const compression = effectiveTopicConfig(this.configs, 'compression.type', defaults)
    this.compressionCodec = compression === 'producer' ? null : CODECS[compression] ?? null
    this.minInsyncReplicas = Number(effectiveTopicConfig(this.configs, 'min.insync.replicas', defaults))
    this.timestampBeforeMaxMs = timestampBound(effectiveTopicConfig(this.configs, 'message.timestamp.before.max.ms', defaults))
    this.timestampAfterMaxMs = timestampBound(effectiveTopicConfig(this.configs, 'message.timestamp.after.max.ms', defaults))
  }

  record(): TopicRecord {
    return { id: this.id, name: this.name, partitions: this.partitions.length, configs: this.configs, createdAtMs: this.createdAtMs }
  }
}

/** compression.type's codecs by name. */
const CODECS: Record<string, number> = { uncompressed: Compression.none, gzip: Compression.gzip, snappy: Compression.snappy, lz4: Compression.lz4, zstd: Compression.zstd }

/** Kafka's Long.MAX_VALUE means no bound. */
function timestampBound(value: string): number {
  return value === '9223372036854775807' ? Number.POSITIVE_INFINITY : Number(value)
}
