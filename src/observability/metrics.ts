// Every metric, declared once. Hot paths hold handles and increment them; nothing is looked up
// by name per request. Names follow zombi_<area>_<what>_<unit>.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { GroupCoordinator } from '../groups/coordinator.ts'
import type { ProduceBudget } from '../kafka/produce-budget.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import { COMMIT_LATENCY_BUCKETS, type FlushMetrics } from '../iceberg/metrics.ts'
import type { HotRetentionStats } from '../log/hot-retention.ts'
import type { SegmentListing } from '../storage/hot-store.ts'
import { API_VERSIONS } from '../protocol/generated/api-keys.ts'

/** Where gauges read their values when Prometheus scrapes (nothing is kept up to date per request). */
export interface MetricSources {
  log?: BrokerLog
  groups?: GroupCoordinator
  flush?: FlushMetrics
  hotLog?: { segments(): SegmentListing; retention: HotRetentionStats; diskFreeBytes?: () => number | null }
  produceBudget?: ProduceBudget
  /** The Kafka door's socket limits (src/kafka/socket-guard.ts). */
  sockets?: { readonly bufferedRequestBytes: number; readonly closedByReason: ReadonlyMap<string, number> }
  memoryRelief?: { readonly runs: number }
}

export class Metrics {
  readonly registry = new Registry()
  readonly startedAtMs = Date.now()

  // The Zombi specification's families.
  readonly uptime: Gauge = new Gauge({
    name: 'zombi_uptime_seconds', help: 'Seconds since the process started', registers: [this.registry],
    collect: (): void => this.uptime.set((Date.now() - this.startedAtMs) / 1000),
  })
  readonly writes = new Counter({ name: 'zombi_writes_total', help: 'Records written, by door', labelNames: ['door'] as const, registers: [this.registry] })
  readonly writeBytes = new Counter({ name: 'zombi_write_bytes_total', help: 'Record payload bytes written, by door', labelNames: ['door'] as const, registers: [this.registry] })
  readonly writeLatency = new Histogram({ name: 'zombi_write_latency_seconds', help: 'HTTP write latency until durable', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] })
  readonly reads = new Counter({ name: 'zombi_reads_total', help: 'Records returned, by door', labelNames: ['door'] as const, registers: [this.registry] })
  readonly errors = new Counter({ name: 'zombi_errors_total', help: 'Requests answered with an error, by door and code', labelNames: ['door', 'code'] as const, registers: [this.registry] })
  readonly inflightBytes = new Gauge({ name: 'zombi_inflight_bytes', help: 'HTTP write bytes admitted and not yet durable', registers: [this.registry] })
  readonly writePermits = new Gauge({ name: 'zombi_write_permits_available', help: 'HTTP write slots still free under ZOMBI_MAX_INFLIGHT_WRITES', registers: [this.registry] })
  readonly backpressureRejections = new Counter({ name: 'zombi_backpressure_rejections_total', help: 'HTTP writes refused with 429 by backpressure', registers: [this.registry] })

  // Kafka door.
  readonly kafkaConnections = new Gauge({ name: 'zombi_kafka_connections', help: 'Open Kafka client connections', registers: [this.registry] })
  readonly kafkaRequests = new Counter({ name: 'zombi_kafka_requests_total', help: 'Kafka requests handled, by API and version', labelNames: ['api', 'version'] as const, registers: [this.registry] })
  readonly kafkaRequestLatency = new Histogram({ name: 'zombi_kafka_request_latency_seconds', help: 'Kafka request latency from decode to response, by API', labelNames: ['api'] as const, buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry] })
  readonly kafkaBytesIn = new Counter({ name: 'zombi_kafka_bytes_in_total', help: 'Kafka request bytes received', registers: [this.registry] })
  readonly kafkaBytesOut = new Counter({ name: 'zombi_kafka_bytes_out_total', help: 'Kafka response bytes sent', registers: [this.registry] })
  // Handles per api key and version, made once, so a request increments without label lookups.
  readonly #requestHandles = new Map<number, { count: { inc(): void }; latency: { observe(seconds: number): void } }>()

  constructor(sources: MetricSources = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'zombi_process_' })
    const { log, groups, flush, hotLog, produceBudget, sockets, memoryRelief } = sources
    if (sockets !== undefined) {
      const buffered: Gauge = new Gauge({
        name: 'zombi_kafka_buffered_request_bytes', help: 'Bytes of Kafka requests begun but not yet fully arrived, all connections (bounded by ZOMBI_MAX_BUFFERED_REQUEST_MB)', registers: [this.registry],
        collect: (): void => buffered.set(sockets.bufferedRequestBytes),
      })
      const closed: Counter<'reason'> = new Counter({
        name: 'zombi_kafka_connections_closed_total', help: 'Kafka connections closed or refused by the broker, by reason (socket limits, malformed requests, internal errors)',
        labelNames: ['reason'] as const, registers: [this.registry],
        collect: (): void => {
          closed.reset()
          for (const [reason, count] of sockets.closedByReason) closed.inc({ reason }, count)
        },
      })
    }
    if (memoryRelief !== undefined) {
      const runs: Counter = new Counter({
        name: 'zombi_memory_reliefs_total', help: 'Times dropped request buffers were collected and their memory given back to the system', registers: [this.registry],
        collect: (): void => { runs.reset(); runs.inc(memoryRelief.runs) },
      })
    }
    if (produceBudget !== undefined) {
      const inflight: Gauge = new Gauge({
        name: 'zombi_kafka_produce_inflight_bytes', help: 'Kafka Produce request bytes read and not yet answered (bounded by ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB)', registers: [this.registry],
        collect: (): void => inflight.set(produceBudget.inflightBytes),
      })
    }
    if (log !== undefined) {
      const highWatermark: Gauge<'topic' | 'partition'> = new Gauge({
        name: 'zombi_partition_high_watermark', help: 'High watermark per topic partition', labelNames: ['topic', 'partition'] as const, registers: [this.registry],
        collect: (): void => {
          highWatermark.reset()
          for (const topic of log.topics()) for (const p of topic.partitions) highWatermark.set({ topic: topic.name, partition: String(p.id) }, p.highWatermark)
        },
      })
      const refused: Counter<'reason'> = new Counter({
        name: 'zombi_produce_refused_total', help: 'Kafka produce and HTTP writes answered KAFKA_STORAGE_ERROR / 507: disk_full (refused before offsets were given out, free space under ZOMBI_MIN_FREE_DISK_MB) or rolled_back (the disk filled up under the write)', labelNames: ['reason'] as const, registers: [this.registry],
        collect: (): void => {
          refused.reset()
          refused.inc({ reason: 'disk_full' }, log.storageRefusals.diskFull)
          refused.inc({ reason: 'rolled_back' }, log.storageRefusals.rolledBack)
        },
      })
      const logStart: Gauge<'topic' | 'partition'> = new Gauge({
        name: 'zombi_partition_log_start_offset', help: 'First offset still in the hot log per topic partition (older ones are in Iceberg)', labelNames: ['topic', 'partition'] as const, registers: [this.registry],
        collect: (): void => {
          logStart.reset()
          for (const topic of log.topics()) for (const p of topic.partitions) logStart.set({ topic: topic.name, partition: String(p.id) }, p.logStartOffset)
        },
      })
    }
    if (hotLog !== undefined) {
      const bytes: Gauge = new Gauge({
        name: 'zombi_hot_log_bytes', help: 'Bytes of hot-log segment files on disk', registers: [this.registry],
        collect: (): void => bytes.set(hotLog.segments().segments.reduce((sum, info) => sum + info.bytes, 0)),
      })
      const segments: Gauge = new Gauge({
        name: 'zombi_hot_log_segments', help: 'Hot-log segment files on disk', registers: [this.registry],
        collect: (): void => segments.set(hotLog.segments().segments.length),
      })
      const { diskFreeBytes } = hotLog
      if (diskFreeBytes !== undefined) {
        const free: Gauge = new Gauge({
          name: 'zombi_hot_log_disk_free_bytes', help: 'Estimated free bytes on the data dir\'s filesystem (the reserve file counted as free); produce is refused under ZOMBI_MIN_FREE_DISK_MB', registers: [this.registry],
          collect: (): void => free.set(diskFreeBytes() ?? 0),
        })
      }
      const deleted: Counter = new Counter({
        name: 'zombi_hot_log_segments_deleted_total', help: 'Hot-log segments deleted by hot retention (all their records committed to Iceberg)', registers: [this.registry],
        collect: (): void => { deleted.reset(); deleted.inc(hotLog.retention.segmentsDeleted) },
      })
    }
    if (groups !== undefined) {
      const members: Gauge<'group' | 'state'> = new Gauge({
        name: 'zombi_group_members', help: 'Members per consumer group, labelled with its state', labelNames: ['group', 'state'] as const, registers: [this.registry],
        collect: (): void => {
          members.reset()
          for (const group of groups.snapshot()) members.set({ group: group.groupId, state: group.state }, group.members)
        },
      })
      const lag: Gauge<'group' | 'topic' | 'partition'> = new Gauge({
        name: 'zombi_group_lag_records', help: 'High watermark minus committed offset per group and partition', labelNames: ['group', 'topic', 'partition'] as const, registers: [this.registry],
        collect: (): void => {
          lag.reset()
          for (const group of groups.snapshot()) for (const p of group.partitions) lag.set({ group: group.groupId, topic: p.topic, partition: String(p.partition) }, p.lag)
        },
      })
    }
    if (flush !== undefined) {
      const total = (name: string, help: string, read: () => number): void => {
        const counter: Counter = new Counter({ name, help, registers: [this.registry], collect: (): void => { counter.reset(); counter.inc(read()) } })
      }
      total('zombi_flush_rows_total', 'Rows committed to Iceberg tables', () => flush.rowsFlushed)
      total('zombi_flush_bytes_total', 'Bytes of Parquet data files committed', () => flush.bytesFlushed)
      total('zombi_flush_files_total', 'Parquet data files committed', () => flush.filesWritten)
      total('zombi_iceberg_commits_total', 'Iceberg snapshots committed by the flusher', () => flush.commits)
      total('zombi_iceberg_commit_failures_total', 'Flush attempts that failed and will be retried', () => flush.failures)
      const commitLatency = new Histogram({
        name: 'zombi_iceberg_commit_latency_seconds', help: 'Time to commit one flush round to Iceberg (manifests, manifest list, metadata swap)', buckets: [...COMMIT_LATENCY_BUCKETS], registers: [this.registry],
      })
      flush.commitLatencyObserver = (seconds) => commitLatency.observe(seconds)
      const lagRecords: Gauge<'topic' | 'partition'> = new Gauge({
        name: 'zombi_flush_lag_records', help: 'Records in the hot log not yet committed to Iceberg', labelNames: ['topic', 'partition'] as const, registers: [this.registry],
        collect: (): void => {
          lagRecords.reset()
          for (const p of flush.lag()) lagRecords.set({ topic: p.topic, partition: String(p.partition) }, p.records)
        },
      })
      const lagSeconds: Gauge<'topic' | 'partition'> = new Gauge({
        name: 'zombi_flush_lag_seconds', help: 'Age of the oldest record not yet committed to Iceberg', labelNames: ['topic', 'partition'] as const, registers: [this.registry],
        collect: (): void => {
          lagSeconds.reset()
          for (const p of flush.lag()) lagSeconds.set({ topic: p.topic, partition: String(p.partition) }, p.ageMs / 1000)
        },
      })
    }
  }

  /** Count and latency handles of one API version (cached). */
  kafkaRequest(apiKey: number, version: number): { count: { inc(): void }; latency: { observe(seconds: number): void } } {
    const slot = apiKey * 1000 + version
    let handles = this.#requestHandles.get(slot)
    if (handles === undefined) {
      const api = API_VERSIONS[apiKey]?.name ?? String(apiKey)
      handles = { count: this.kafkaRequests.labels(api, String(version)), latency: this.kafkaRequestLatency.labels(api) }
      this.#requestHandles.set(slot, handles)
    }
    return handles
  }
}
