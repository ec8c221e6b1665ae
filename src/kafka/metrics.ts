// The Kafka door's metrics: its gauges (socket limits, produce budget), registered with the
// broker's metrics, and its share of the door-labelled families that HTTP counts too.
import type { Metrics, MetricsRegistry } from '../observability/metrics.ts'
import { ErrorCode, errorName } from '../protocol/generated/errors.ts'
import type { FetchResponse } from '../protocol/generated/fetch.ts'
import { recordCountOfBatches } from '../protocol/record-batch.ts'
import type { Records } from '../protocol/writer.ts'
import type { ProduceBudget } from './produce-budget.ts'
import type { SocketGuard } from './socket-guard.ts'

export function registerKafkaMetrics(registry: MetricsRegistry, sockets: SocketGuard, produceBudget: ProduceBudget): void {
  registry.gauge('zombi_kafka_buffered_request_bytes', 'Bytes of Kafka requests begun but not yet fully arrived, all connections (bounded by ZOMBI_MAX_BUFFERED_REQUEST_MB)', () => sockets.bufferedRequestBytes)
  registry.labelledTotal('zombi_kafka_connections_closed_total', 'Kafka connections closed or refused by the broker, by reason (socket limits, malformed requests, internal errors)', ['reason'], (emit) => {
    for (const [reason, count] of sockets.closedByReason) emit({ reason }, count)
  })
  registry.gauge('zombi_kafka_produce_inflight_bytes', 'Kafka Produce request bytes read and not yet answered (bounded by ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB)', () => produceBudget.inflightBytes)
}

interface Increment {
  inc(value?: number): void
}

/**
 * Produce and Fetch in zombi_writes_total, zombi_write_bytes_total, zombi_reads_total and
 * zombi_errors_total with door="kafka", through label handles made once. Records are counted
 * from the batch headers (no record is decoded); written bytes are the record batches' bytes as
 * sent and stored (headers included, compressed if the producer compressed), since the payload
 * size of a compressed batch is unknown without decompressing it.
 */
export class KafkaTraffic {
  readonly #writes: Increment
  readonly #writeBytes: Increment
  readonly #reads: Increment
  readonly #errors: Metrics['errors']
  /** Per error code (at index code + 1, so UNKNOWN_SERVER_ERROR's -1 fits), made on first use. */
  readonly #errorHandles: Array<Increment | undefined> = []

  constructor(metrics: Metrics) {
    this.#writes = metrics.writes.labels('kafka')
    this.#writeBytes = metrics.writeBytes.labels('kafka')
    this.#reads = metrics.reads.labels('kafka')
    this.#errors = metrics.errors
  }

  /** One partition's produce answered: its records and bytes when stored, else its error. */
  produced(errorCode: number, records: Buffer | null): void {
    if (errorCode !== ErrorCode.NONE) {
      this.error(errorCode)
      return
    }
    if (records === null) return
    this.#writes.inc(recordCountOfBatches(records))
    this.#writeBytes.inc(records.length)
  }

  /** A fetch answer: the records of its batches, and each error code in it. */
  fetched(response: FetchResponse<Records>): void {
    if (response.errorCode !== ErrorCode.NONE) this.error(response.errorCode)
    let records = 0
    for (const topic of response.responses) {
      for (const partition of topic.partitions) {
        if (partition.errorCode !== ErrorCode.NONE) this.error(partition.errorCode)
        const batches = partition.records
        if (batches === null) continue
        if (Buffer.isBuffer(batches)) records += recordCountOfBatches(batches)
        else for (const batch of batches) records += recordCountOfBatches(batch)
      }
    }
    if (records > 0) this.#reads.inc(records)
  }

  error(code: number): void {
    let handle = this.#errorHandles[code + 1]
    if (handle === undefined) {
      handle = this.#errors.labels('kafka', errorName(code))
      this.#errorHandles[code + 1] = handle
    }
    handle.inc()
  }
}
