// The log's gauges (partition offsets, refused writes, hot retention), registered with the broker's metrics.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { BrokerLog } from './broker-log.ts'
import type { HotRetentionStats } from './hot-retention.ts'

export function registerLogMetrics(registry: MetricsRegistry, log: BrokerLog, retention: HotRetentionStats): void {
  registry.labelledGauge('zombi_partition_high_watermark', 'High watermark per topic partition', ['topic', 'partition'], (emit) => {
    for (const topic of log.topics()) for (const p of topic.partitions) emit({ topic: topic.name, partition: String(p.id) }, p.highWatermark)
  })
  registry.labelledTotal('zombi_produce_refused_total', 'Kafka produce and HTTP writes answered KAFKA_STORAGE_ERROR / 507: disk_full (refused before offsets were given out, free space under ZOMBI_MIN_FREE_DISK_MB) or rolled_back (the disk filled up under the write)', ['reason'], (emit) => {
    emit({ reason: 'disk_full' }, log.storageRefusals.diskFull)
    emit({ reason: 'rolled_back' }, log.storageRefusals.rolledBack)
  })
  registry.labelledGauge('zombi_partition_log_start_offset', 'First offset still in the hot log per topic partition (older ones are in Iceberg)', ['topic', 'partition'], (emit) => {
    for (const topic of log.topics()) for (const p of topic.partitions) emit({ topic: topic.name, partition: String(p.id) }, p.logStartOffset)
  })
  registry.total('zombi_hot_log_segments_deleted_total', 'Hot-log segments deleted by hot retention (all their records committed to Iceberg)', () => retention.segmentsDeleted)
}
