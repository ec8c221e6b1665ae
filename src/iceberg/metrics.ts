// The flusher's metrics as plain counters and gauges, registered with the broker's metrics by
// registerFlushMetrics (read at scrape time), so the flusher never touches prom-client.
import type { MetricsRegistry } from '../observability/metrics.ts'

/** Upper bounds (seconds) of the commit latency histogram buckets. */
const COMMIT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

export interface PartitionLag {
  topic: string
  partition: number
  /** Records in the hot log not yet committed to Iceberg. */
  records: number
  /** How long the oldest of them has waited (0 when none). */
  ageMs: number
}

export class FlushMetrics {
  rowsFlushed = 0
  /** Bytes of Parquet data files committed. */
  bytesFlushed = 0
  filesWritten = 0
  commits = 0
  /** Flush attempts that failed (encoding, writing or committing); they are retried. */
  failures = 0
  /** Snapshots removed by snapshot expiry. */
  snapshotsExpired = 0
  /** Manifest lists, manifests and data files snapshot expiry deleted (reached only by expired snapshots). */
  expiredFilesDeleted = 0
  /** Snapshot expiry passes of a table that failed (retried at the next pass). */
  expiryFailures = 0
  /** Replace snapshots committed by compaction, and what they rewrote. */
  compactions = 0
  compactedFilesIn = 0
  compactedFilesOut = 0
  compactedBytesIn = 0
  compactedBytesOut = 0
  /** Compactions of a table that failed (tried again at the next interval or request). */
  compactionFailures = 0
  /** Data files and rows removed from tables by topic retention (retention.ms / retention.bytes). */
  retentionFilesDeleted = 0
  retentionRowsDeleted = 0
  /** Rows written to each typed topic's dead-letter table (records that did not decode), by topic. */
  readonly deadLetters = new Map<string, number>()
  /** Set by the flusher: the current lag per partition. */
  lag: () => PartitionLag[] = () => []
  /** Set by registerFlushMetrics: receives each commit's latency (write files + commit), in seconds. */
  commitLatencyObserver: (seconds: number) => void = () => undefined

  observeCommit(seconds: number): void {
    this.commitLatencyObserver(seconds)
  }
}

export function registerFlushMetrics(registry: MetricsRegistry, flush: FlushMetrics): void {
  registry.total('zombi_flush_rows_total', 'Rows committed to Iceberg tables', () => flush.rowsFlushed)
  registry.total('zombi_flush_bytes_total', 'Bytes of Parquet data files committed', () => flush.bytesFlushed)
  registry.total('zombi_flush_files_total', 'Parquet data files committed', () => flush.filesWritten)
  registry.total('zombi_iceberg_commits_total', 'Iceberg snapshots committed by the flusher', () => flush.commits)
  registry.total('zombi_iceberg_commit_failures_total', 'Flush attempts that failed and will be retried', () => flush.failures)
  registry.total('zombi_iceberg_snapshots_expired_total', 'Snapshots removed from Iceberg tables by snapshot expiry', () => flush.snapshotsExpired)
  registry.total('zombi_iceberg_expired_files_deleted_total', 'Manifest lists, manifests and data files deleted because only expired snapshots referenced them', () => flush.expiredFilesDeleted)
  registry.total('zombi_iceberg_expiry_failures_total', 'Snapshot expiry runs on a table that failed and will be retried', () => flush.expiryFailures)
  registry.total('zombi_iceberg_compactions_total', 'Replace snapshots committed by compaction', () => flush.compactions)
  registry.total('zombi_iceberg_compacted_files_in_total', 'Small data files compaction rewrote', () => flush.compactedFilesIn)
  registry.total('zombi_iceberg_compacted_files_out_total', 'Data files compaction wrote in their place', () => flush.compactedFilesOut)
  registry.total('zombi_iceberg_compacted_bytes_in_total', 'Bytes of the data files compaction rewrote', () => flush.compactedBytesIn)
  registry.total('zombi_iceberg_compacted_bytes_out_total', 'Bytes of the data files compaction wrote', () => flush.compactedBytesOut)
  registry.total('zombi_iceberg_compaction_failures_total', 'Compactions of a table that failed and will be tried again', () => flush.compactionFailures)
  registry.total('zombi_iceberg_retention_files_deleted_total', 'Data files removed from tables by topic retention (retention.ms, retention.bytes)', () => flush.retentionFilesDeleted)
  registry.total('zombi_iceberg_retention_rows_deleted_total', 'Rows removed from tables by topic retention', () => flush.retentionRowsDeleted)
  flush.commitLatencyObserver = registry.histogram('zombi_iceberg_commit_latency_seconds', 'Time to commit one flush round to Iceberg (manifests, manifest list, metadata swap)', COMMIT_LATENCY_BUCKETS)
  registry.labelledGauge('zombi_iceberg_dead_letter_rows', 'Records of typed topics that did not decode and went to the topic\'s dead-letter table', ['topic'], (emit) => {
    for (const [topic, rows] of flush.deadLetters) emit({ topic }, rows)
  })
  registry.labelledGauge('zombi_flush_lag_records', 'Records in the hot log not yet committed to Iceberg', ['topic', 'partition'], (emit) => {
    for (const p of flush.lag()) emit({ topic: p.topic, partition: String(p.partition) }, p.records)
  })
  registry.labelledGauge('zombi_flush_lag_seconds', 'Age of the oldest record not yet committed to Iceberg', ['topic', 'partition'], (emit) => {
    for (const p of flush.lag()) emit({ topic: p.topic, partition: String(p.partition) }, p.ageMs / 1000)
  })
}
