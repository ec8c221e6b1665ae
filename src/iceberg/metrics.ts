// The flusher's metrics as plain counters and gauges; the metrics registry (/metrics) reads
// them through FLUSH_METRICS, so nothing here depends on prom-client.

/** Upper bounds (seconds) of the commit latency histogram buckets. */
export const COMMIT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

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
  commitLatencySum = 0
  commitLatencyCount = 0
  /** Cumulative counts per bucket of COMMIT_LATENCY_BUCKETS (plus +Inf as the count). */
  readonly commitLatencyBuckets: number[] = COMMIT_LATENCY_BUCKETS.map(() => 0)
  /** Set by the flusher: the current lag per partition. */
  lag: () => PartitionLag[] = () => []

  observeCommit(seconds: number): void {
    this.commitLatencySum += seconds
    this.commitLatencyCount++
    for (let i = 0; i < COMMIT_LATENCY_BUCKETS.length; i++) if (seconds <= COMMIT_LATENCY_BUCKETS[i]!) this.commitLatencyBuckets[i]!++
  }
}

export interface MetricDefinition {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
}

/** Names and help texts for the registry; values come from the FlushMetrics fields named alike. */
export const FLUSH_METRICS = [
  { name: 'zombi_flush_rows_total', help: 'Rows committed to Iceberg tables.', type: 'counter' },
  { name: 'zombi_flush_bytes_total', help: 'Bytes of Parquet data files committed to Iceberg tables.', type: 'counter' },
  { name: 'zombi_flush_files_total', help: 'Parquet data files committed.', type: 'counter' },
  { name: 'zombi_flush_commits_total', help: 'Iceberg snapshots committed by the flusher.', type: 'counter' },
  { name: 'zombi_flush_failures_total', help: 'Flush attempts that failed and will be retried.', type: 'counter' },
  { name: 'zombi_flush_commit_latency_seconds', help: 'Time from the start of a commit (manifests, metadata) to its completion.', type: 'histogram' },
  { name: 'zombi_flush_lag_records', help: 'Records in the hot log not yet committed to Iceberg, per topic partition.', type: 'gauge' },
  { name: 'zombi_flush_lag_seconds', help: 'Age of the oldest record not yet committed to Iceberg, per topic partition.', type: 'gauge' },
] as const satisfies readonly MetricDefinition[]
