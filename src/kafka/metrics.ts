// The Kafka door's gauges (socket limits, produce budget), registered with the broker's metrics.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { ProduceBudget } from './produce-budget.ts'
import type { SocketGuard } from './socket-guard.ts'

export function registerKafkaMetrics(registry: MetricsRegistry, sockets: SocketGuard, produceBudget: ProduceBudget): void {
  registry.gauge('zombi_kafka_buffered_request_bytes', 'Bytes of Kafka requests begun but not yet fully arrived, all connections (bounded by ZOMBI_MAX_BUFFERED_REQUEST_MB)', () => sockets.bufferedRequestBytes)
  registry.labelledTotal('zombi_kafka_connections_closed_total', 'Kafka connections closed or refused by the broker, by reason (socket limits, malformed requests, internal errors)', ['reason'], (emit) => {
    for (const [reason, count] of sockets.closedByReason) emit({ reason }, count)
  })
  registry.gauge('zombi_kafka_produce_inflight_bytes', 'Kafka Produce request bytes read and not yet answered (bounded by ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB)', () => produceBudget.inflightBytes)
}
