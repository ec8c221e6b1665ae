// Every metric, declared once. Hot paths hold handles and increment them; nothing is looked up
// by name per request. Names follow zombi_<area>_<what>_<unit>.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'zombi_process_' })
  }
}
