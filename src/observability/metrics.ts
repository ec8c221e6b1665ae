// The broker-wide metric families (the doors' traffic, Kafka requests) and the registry every layer
// registers its own gauges with. Hot paths hold handles and increment them; nothing is looked up
// by name per request. Names follow zombi_<area>_<what>_<unit>.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client'
import { API_VERSIONS } from '../protocol/generated/api-keys.ts'

/** Sets one labelled value while a scrape collects (labels already in the family's label names). */
export type EmitLabelled<Label extends string> = (labels: LabelValues<Label>, value: number) => void

/**
 * How a layer registers the metrics it owns without importing them here (observability imports
 * no layer): each layer's metrics module has a `register…Metrics(registry, state)` that broker.ts
 * calls. Gauges and totals are read from the layer's own state when Prometheus scrapes, so
 * nothing is kept up to date per request; labelled families are rebuilt at each scrape, so a
 * deleted topic's series disappear.
 */
export interface MetricsRegistry {
  gauge(name: string, help: string, read: () => number): void
  labelledGauge<Label extends string>(name: string, help: string, labelNames: readonly Label[], read: (emit: EmitLabelled<Label>) => void): void
  /** A counter whose count the layer keeps in a plain number (it only grows). */
  total(name: string, help: string, read: () => number): void
  labelledTotal<Label extends string>(name: string, help: string, labelNames: readonly Label[], read: (emit: EmitLabelled<Label>) => void): void
  /** A histogram; the layer keeps the returned function and observes into it. */
  histogram(name: string, help: string, buckets: readonly number[]): (value: number) => void
}

export class Metrics implements MetricsRegistry {
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'zombi_process_' })
  }

  gauge(name: string, help: string, read: () => number): void {
    const gauge: Gauge = new Gauge({ name, help, registers: [this.registry], collect: (): void => gauge.set(read()) })
  }

  labelledGauge<Label extends string>(name: string, help: string, labelNames: readonly Label[], read: (emit: EmitLabelled<Label>) => void): void {
    const gauge: Gauge<Label> = new Gauge({ name, help, labelNames, registers: [this.registry], collect: (): void => { gauge.reset(); read(emit) } })
    const emit: EmitLabelled<Label> = (labels, value) => gauge.set(labels, value)
  }

  total(name: string, help: string, read: () => number): void {
    const counter: Counter = new Counter({ name, help, registers: [this.registry], collect: (): void => { counter.reset(); counter.inc(read()) } })
  }

  labelledTotal<Label extends string>(name: string, help: string, labelNames: readonly Label[], read: (emit: EmitLabelled<Label>) => void): void {
    const counter: Counter<Label> = new Counter({ name, help, labelNames, registers: [this.registry], collect: (): void => { counter.reset(); read(emit) } })
    const emit: EmitLabelled<Label> = (labels, value) => counter.inc(labels, value)
  }

  histogram(name: string, help: string, buckets: readonly number[]): (value: number) => void {
    const histogram = new Histogram({ name, help, buckets: [...buckets], registers: [this.registry] })
    return (value) => histogram.observe(value)
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
