// The flusher's metrics as plain counters and gauges; src/observability/metrics.ts registers
// them with prom-client (read at scrape time), so nothing here depends on it.

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
  /** Set by the flusher: the current lag per partition. */
  lag: () => PartitionLag[] = () => []
  /** Set by the metrics registry: receives each commit's latency (write files + commit), in seconds. */
  commitLatencyObserver: (seconds: number) => void = () => undefined

  observeCommit(seconds: number): void {
    this.commitLatencyObserver(seconds)
  }
}
