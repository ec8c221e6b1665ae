// The benchmark matrix: which client moves how many records of which size, what a record looks like,
// and the contract every client load implements.
import avro from 'avsc'

/** One timed run of a client. `records` were verified to have arrived (produce) or been read (fetch). */
export interface Measurement {
  records: number
  /** Record value bytes moved (keys, headers and protocol overhead excluded). */
  bytes: number
  seconds: number
  /** Latency percentiles, when the client reports them (e.g. Kafka's ProducerPerformance: send to ack). */
  latency?: Latency
}

export interface Latency {
  p50Ms: number
  p99Ms: number
  p999Ms: number
}

/** A load that sends records at a fixed rate and reports latency percentiles rather than throughput. */
export interface LatencyLoad {
  /** The client named in the table. */
  readonly client: string
  /** The client whose measured produce throughput sets the rate (see bench/compare.ts); `client` when absent. */
  readonly rateFrom?: string
  /** What is timed: `send to ack` or `produce to consume`. */
  readonly measures: string
  /** Sends `ratePerSecond` records of `recordBytes` for `seconds` to partition 0 of a fresh topic. */
  run(bootstrap: string, topic: string, recordBytes: number, ratePerSecond: number, seconds: number): Promise<Measurement & { latency: Latency }>
}

/** Compression codecs every load can ask its client for. */
export type Compression = 'none' | 'lz4' | 'zstd' | 'snappy'

export interface Workload {
  recordBytes: number
  /** Records in total, over all producers. */
  records: number
  /** Fetch reads the whole topic this many times (fetching is faster than producing, so one pass may be too short to time). */
  fetchPasses: number
  /** Concurrent producers (clients or processes) sharing `records`; 1 when absent. */
  producers?: number
  /** Codec the producers compress batches with; none when absent. */
  compression?: Compression
  /**
   * What record values hold: `filler` (default, see fillRecord: highly compressible, Parquet files ~1 % of the
   * payload) or `random` (incompressible bytes, so files as large as the payload: what object-store uploads need).
   */
  payload?: Payload
}

/** `avro`: Avro records in Confluent's wire format (schema id 1, AVRO_BENCH_SCHEMA), for typed tables. */
export type Payload = 'filler' | 'random' | 'avro'

/** The schema of `avro` payloads: nested record, array, logical timestamp, and a text field padding each value to its size. */
export const AVRO_BENCH_SCHEMA = {
  type: 'record', name: 'Reading', namespace: 'bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'device', type: { type: 'record', name: 'Device', fields: [{ name: 'name', type: 'string' }, { name: 'floor', type: 'int' }] } },
    { name: 'celsius', type: 'double' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'body', type: 'string' },
  ],
}

const avroType = avro.Type.forSchema(AVRO_BENCH_SCHEMA as avro.Schema)

/** Record number `index` of the `avro` payload, `recordBytes` long (within a byte or two) with its 5-byte wire-format prefix. */
export function avroRecord(index: number, recordBytes: number): Buffer {
  const record = { id: index, device: { name: `device-${index % 97}`, floor: index % 13 }, celsius: 20 + (index % 50) / 4, at: 1_767_000_000_000_000 + index, tags: ['a', `t${index % 7}`], note: index % 3 === 0 ? null : 'n', body: '' }
  const bare = avroType.toBuffer(record).length + 5
  const bodyLength = Math.max(0, recordBytes - bare - 1)
  record.body = filler.toString('latin1').repeat(Math.ceil(bodyLength / filler.length) + 1).slice(0, bodyLength)
  const encoded = avroType.toBuffer(record)
  const prefix = Buffer.alloc(5)
  prefix.writeUInt32BE(1, 1)
  return Buffer.concat([prefix, encoded])
}

/** Records each of the workload's producers sends; the split must be even so every load moves the same total. */
export function recordsPerProducer(workload: Workload): number {
  const producers = workload.producers ?? 1
  if (workload.records % producers !== 0) throw new Error(`${workload.records} records do not split evenly over ${producers} producers`)
  return workload.records / producers
}

/** A real Kafka client driven against a broker: produce N records to partition 0 of a fresh topic, then read them back. */
export interface ClientLoad {
  readonly client: string
  /** Work done once per invocation before any broker starts, e.g. writing kcat's input file. */
  prepare(workload: Workload): Promise<void>
  produce(bootstrap: string, topic: string, workload: Workload): Promise<Measurement>
  /** Reads the topic `produce` filled from the beginning to its end, `fetchPasses` times. */
  fetch(bootstrap: string, topic: string, workload: Workload): Promise<Measurement>
}

export const recordSizes = [100, 1024] as const

/**
 * Record counts per client and size, chosen so that each measurement takes about 1–3 s on this project's
 * 2-core machines with the Iceberg flusher running beside produce (see docs/benchmarks.md); --quick uses
 * tiny counts that only check the harness works.
 */
const fullWorkloads: Record<string, Record<number, Omit<Workload, 'recordBytes'>>> = {
  kcat: {
    100: { records: 1_500_000, fetchPasses: 2 },
    1024: { records: 300_000, fetchPasses: 4 },
  },
  '@platformatic/kafka': {
    100: { records: 600_000, fetchPasses: 6 },
    1024: { records: 200_000, fetchPasses: 4 },
  },
}

/** Run untimed against every fresh broker first, and the whole measurement with --quick. */
export function warmUpWorkload(recordBytes: number): Workload {
  return { recordBytes, records: 2_000, fetchPasses: 1 }
}

export function workloadFor(client: string, recordBytes: number, quick: boolean): Workload {
  if (quick) return warmUpWorkload(recordBytes)
  const planned = fullWorkloads[client]?.[recordBytes]
  if (!planned) throw new Error(`no workload planned for ${client} with ${recordBytes} B records`)
  return { recordBytes, ...planned }
}

const filler = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ')

/**
 * Writes record number `index` into `target` (its whole length): the zero-padded index, then printable
 * filler. Records differ, contain no newline (kcat -l reads one record per line) and the same index gives
 * the same bytes for every client.
 */
export function fillRecord(target: Buffer, index: number): void {
  for (let position = 0; position < target.length; position += filler.length) filler.copy(target, position)
  const digits = String(index).padStart(10, '0')
  target.write(digits.slice(-target.length), 0, 'latin1')
}
