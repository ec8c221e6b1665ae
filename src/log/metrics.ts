// The log's gauges (partition offsets, refused writes, hot retention), registered with the broker's metrics.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { BrokerLog } from './broker-log.ts'
import type { HotRetentionStats } from './hot-retention.ts'
import type { LogCleanerStats } from './log-cleaner.ts'

export function registerLogMetrics(registry: MetricsRegistry, log: BrokerLog, retention: HotRetentionStats, cleaner: LogCleanerStats): void {
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
  registry.total('zombi_log_cleaner_cleanings_total', 'Cleanings of compacted partitions by the log cleaner', () => cleaner.cleanings)
  registry.total('zombi_log_cleaner_reclaimed_bytes_total', 'Bytes of stored batches the log cleaner freed (removed records, superseded or expired tombstones)', () => cleaner.bytesReclaimed)
  registry.total('zombi_log_cleaner_records_removed_total', 'Records the log cleaner removed: older versions of a key, expired tombstones, records without a key', () => cleaner.recordsRemoved)
  registry.total('zombi_log_cleaner_tombstones_removed_total', 'Tombstones the log cleaner removed once their delete.retention.ms ran out', () => cleaner.tombstonesRemoved)
  registry.total('zombi_log_cleaner_batches_moved_total', 'Batches of compacted partitions copied unchanged out of hot-log segments that hot retention wants to delete', () => cleaner.batchesMoved)
  registry.total('zombi_log_cleaner_batches_expired_total', 'Batches of compacted partitions dropped under their deletion floor (DeleteRecords; retention.ms/retention.bytes with cleanup.policy=compact,delete)', () => cleaner.batchesExpired)
  registry.total('zombi_log_cleaner_failures_total', 'Cleanings that failed (retried at the next pass)', () => cleaner.failures)
}
