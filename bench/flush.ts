// Flush benchmark: rows/s from the hot log to committed Iceberg (decode, sort, Arrow, Parquet zstd,
// manifests, commit) with one encode worker (--flush-workers N: N), printed beside the produce rate of the same run.
// A Zombi process is started with the age and size triggers off; @platformatic/kafka produces the
// records over the wire (produce rate), then SIGTERM makes the final flush of everything (flush
// rate, from the broker's "final flush to Iceberg done" line). Then the table's committed record
// count, read through the object store, must equal what was produced.
// A second run per workload produces with the flusher live (interval 1 s, 128 MiB target): its produce
// rate beside the first run's shows whether flushing slows produce, and the catch-up time after the
// last acknowledgement (polled with GET /tables/{t}/metadata) shows whether the flush keeps up.
//
// Typed layout: the same sizes as Avro records in Confluent's wire format on topics with
// zombi.iceberg.mode=value_schema_id_prefix (the schema registered with the broker's own registry under
// /registry, as schema id 1), so the flush decodes every value into typed columns;
// the table gains typed/raw ratios of the flush rate at each size. --no-typed leaves them out.
// Each typed size also runs live with the producer a team using Confluent's serializers has:
// confluent-kafka-python's Producer with its AvroSerializer (auto-registering through /registry,
// bench/lib/avro_serializer_producer.py), so "does the flush keep up with one producer" is answered
// for a real serializer as well as for @platformatic/kafka sending ready-made Avro bytes.
// With --s3 every workload also runs with ZOMBI_STORAGE=s3 against moto (the S3 test server, started
// per run on loopback, behind a counting proxy in this process), and the table gains S3/local ratios;
// a 1 KiB incompressible workload is added so that files are as large as the payload and go multipart.
// Then the sizing of ZOMBI_MAX_CONCURRENT_S3_UPLOADS: 200 MB of the incompressible workload in one file
// (about 25 parts of 8 MiB), for each cap in --s3-uploads, with moto answering at once and with every
// answer delayed by --s3-delay-ms (a slow store, the closer model of AWS).
//   npm run bench:flush [-- --quick] [--s3 | --s3-sizing-only] [--s3-uploads 1,4,16] [--s3-delay-ms 50] [--rounds 1] [--s3-sizing-records 200000] [--flush-workers 1]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { LocalObjectStore } from '../src/objectstore/local.ts'
import type { ObjectStore } from '../src/objectstore/object-store.ts'
import { S3ObjectStore } from '../src/objectstore/s3.ts'
import { FaultProxy } from '../test/support/fault-proxy.ts'
import { createBucket, MOTO_CREDENTIALS, MOTO_REGION, startMoto } from '../test/support/moto.ts'
import { removeOnExit } from './lib/cleanup.ts'
import { platformaticLoad } from './lib/platformatic.ts'
import { AVRO_BENCH_SCHEMA, warmUpWorkload, type Payload, type Workload } from './lib/scenarios.ts'
import { Kafka, logLevel } from 'kafkajs'
import { startZombi } from './lib/zombi.ts'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const main = path.resolve(import.meta.dirname, '../src/main.ts')
const withTyped = !process.argv.includes('--no-typed')
const quick = process.argv.includes('--quick')
/** Only the ZOMBI_MAX_CONCURRENT_S3_UPLOADS sweep (implies --s3), e.g. to try other delays without the comparison table. */
const sizingOnly = process.argv.includes('--s3-sizing-only')
const withS3 = sizingOnly || process.argv.includes('--s3')

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name)
  if (at < 0) return fallback
  const value = process.argv[at + 1]
  if (value === undefined) throw new Error(`${name} needs a value`)
  return value
}

const uploadCaps = option('--s3-uploads', '1,4,16').split(',').map(Number)
const delayMs = Number(option('--s3-delay-ms', '50'))
/** Rounds of the upload-cap sweep, and records of its one file (200,000 of 1 KiB: ~200 MB, ~25 parts). */
const rounds = Number(option('--rounds', '1'))
const sizingRecords = Number(option('--s3-sizing-records', '200000'))
/** ZOMBI_FLUSH_WORKERS of every run (a one-partition flush round is split between them). */
const flushWorkers = Number(option('--flush-workers', '1'))
if (!Number.isInteger(flushWorkers) || flushWorkers < 1) throw new Error('--flush-workers takes a positive integer')
if (uploadCaps.some((cap) => !Number.isInteger(cap) || cap < 1) || !Number.isFinite(delayMs) || delayMs < 0 || !Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(sizingRecords) || sizingRecords < 1) {
  throw new Error('--s3-uploads takes positive integers (1,4,16), --s3-delay-ms a number of ms, --rounds and --s3-sizing-records positive integers')
}
/** ZOMBI_MAX_CONCURRENT_S3_UPLOADS as shipped (src/config/settings.ts): the reference of the sizing ratios. */
const shippedCap = 4
const bucket = 'zombi-bench'
if (withS3) {
  // The broker takes its S3 credentials from the AWS chain (it inherits this environment): moto's fixed
  // test keys, never the machine's own.
  process.env.AWS_ACCESS_KEY_ID = MOTO_CREDENTIALS.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = MOTO_CREDENTIALS.secretAccessKey
  delete process.env.AWS_SESSION_TOKEN
  delete process.env.AWS_PROFILE
}
const namespace = 'zombi'

interface Case {
  recordBytes: number
  payload: Payload
  records: number
  /** ZOMBI_TARGET_FILE_SIZE_MB of the isolated flush (the live run uses the default, 128). */
  isolatedTargetMb: number
}

/** Where the table files go; s3 runs talk to moto through a proxy that counts requests and may delay answers. */
interface Storage {
  kind: 'local' | 's3'
  uploads: number
  delayMs: number
}

interface FlushLine {
  rows: number
  files: number
  bytes: number
  seconds: number
  cpuSeconds: number
}

interface Isolated {
  produceSeconds: number
  flush: FlushLine
  /** PUT requests (whole objects and multipart parts) during the final flush; null on local disk. */
  puts: number | null
}

interface Live {
  produceSeconds: number
  /** Records the live run's producer sent. */
  records: number
  /** CPU the producer process spent on them (the serializer run; null for the in-process producer). */
  producerCpuSeconds: number | null
  /** From the last acknowledgement until the table held every record. */
  catchUpSeconds: number
}

const local: Storage = { kind: 'local', uploads: 0, delayMs: 0 }
const s3 = (uploads: number, delay = 0): Storage => ({ kind: 's3', uploads, delayMs: delay })
const storageLabel = (storage: Storage): string => storage.kind === 'local' ? 'local disk' : `S3 (moto), ${storage.uploads} uploads${storage.delayMs > 0 ? `, +${storage.delayMs} ms per answer` : ''}`

interface OpenStorage {
  settings: Record<string, string>
  /** Object-store view of the warehouse, for the committed-record check. */
  store: ObjectStore
  /** PUT requests the proxy forwarded since the last reset; null on local disk. */
  puts(): number | null
  resetCounts(): void
  close(): Promise<void>
}

async function openStorage(storage: Storage, dataDir: string): Promise<OpenStorage> {
  if (storage.kind === 'local') {
    return { settings: {}, store: new LocalObjectStore(path.join(dataDir, 'warehouse')), puts: () => null, resetCounts: () => undefined, close: async () => undefined }
  }
  const moto = await startMoto()
  try {
    await createBucket(moto.endpoint, bucket)
    const proxy = await FaultProxy.start(moto.endpoint)
    if (storage.delayMs > 0) proxy.inject({ kind: 'delay', ms: storage.delayMs }, Infinity)
    const store = new S3ObjectStore({ bucket, prefix: null, endpoint: moto.endpoint, region: MOTO_REGION, forcePathStyle: true, maxRetries: 2, maxConcurrentUploads: 1, credentials: MOTO_CREDENTIALS })
    return {
      settings: {
        ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: bucket, ZOMBI_S3_ENDPOINT: proxy.endpoint, ZOMBI_S3_REGION: MOTO_REGION, ZOMBI_S3_FORCE_PATH_STYLE: 'true',
        ZOMBI_MAX_CONCURRENT_S3_UPLOADS: String(storage.uploads),
      },
      store,
      // PutObject and UploadPart are the PUTs; multipart creation and completion are POSTs.
      puts: () => proxy.seen.filter((request) => request.method === 'PUT').length,
      resetCounts: () => {
        proxy.seen.length = 0
      },
      async close() {
        store.close()
        await proxy.close()
        await moto.stop()
      },
    }
  } catch (error) {
    await moto.stop()
    throw error
  }
}

/** total-records of the table's newest metadata version, read through the object store (0 before the first commit). */
async function committedInStore(store: ObjectStore, table: string): Promise<number> {
  const metadataKey = (version: number): string => `${namespace}/${table}/metadata/v${version}.metadata.json`
  const hint = await store.get(`${namespace}/${table}/metadata/version-hint.text`)
  if (hint === null) return 0
  let version = Number(hint.toString('utf8'))
  while (await store.exists(metadataKey(version + 1))) version++
  const metadata = await store.get(metadataKey(version))
  if (metadata === null) throw new Error(`${metadataKey(version)} is missing`)
  const parsed = JSON.parse(metadata.toString('utf8')) as { snapshots?: Array<{ summary: Record<string, string> }> }
  return Number(parsed.snapshots?.at(-1)?.summary['total-records'] ?? 0)
}

/** total-records of the current snapshot, from the broker's GET /tables/{t}/metadata (0 before the first commit). */
async function committedOverHttp(httpUrl: string, table: string): Promise<number> {
  const response = await fetch(`${httpUrl}/tables/${encodeURIComponent(table)}/metadata`)
  if (response.status === 404) return 0
  if (!response.ok) throw new Error(`GET /tables/${table}/metadata: HTTP ${response.status} ${await response.text()}`)
  const { summary } = (await response.json()) as { summary: Record<string, string> }
  return Number(summary['total-records'] ?? 0)
}

/** Registers AVRO_BENCH_SCHEMA with the broker's own registry; the records name it as schema id 1 (avroRecord). */
async function registerBenchSchema(httpUrl: string, subject: string): Promise<void> {
  const response = await fetch(`${httpUrl}/registry/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: JSON.stringify(AVRO_BENCH_SCHEMA) }),
  })
  const answer = await response.json() as { id?: number }
  if (!response.ok || answer.id !== 1) throw new Error(`registering the bench schema answered ${response.status} ${JSON.stringify(answer)}, not schema id 1`)
}

const topicOf = (c: Case): string => `flush-${c.recordBytes}-${c.payload}`

/** The live run's producer: @platformatic/kafka with ready-made values, or Confluent's AvroSerializer (typed cases). */
type LiveProducer = 'platformatic' | 'serializer'

const python = path.resolve(import.meta.dirname, '../.cache/venv/bin/python')
const serializerProducer = path.resolve(import.meta.dirname, 'lib/avro_serializer_producer.py')

/** Produces `records` through bench/lib/avro_serializer_producer.py; its own clock (first produce to last delivery) and CPU. */
async function produceWithSerializer(bootstrap: string, httpUrl: string, topic: string, recordBytes: number, records: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const { stdout } = await promisify(execFile)(python, [
    serializerProducer, '--bootstrap', bootstrap, '--registry', `${httpUrl}/registry`, '--topic', topic,
    '--schema', JSON.stringify(AVRO_BENCH_SCHEMA), '--records', String(records), '--bytes', String(recordBytes),
  ], { maxBuffer: 1 << 20, timeout: 600_000 })
  const answer = JSON.parse(stdout.trim().split('\n').at(-1)!) as { records: number; seconds: number; cpuSeconds: number }
  if (answer.records !== records) throw new Error(`the serializer producer sent ${answer.records} of ${records}`)
  return answer
}

async function run(c: Case, storage: Storage): Promise<Isolated>
async function run(c: Case, storage: Storage, live: LiveProducer): Promise<Live>
async function run(c: Case, storage: Storage, live: LiveProducer | false = false): Promise<Isolated | Live> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-flush-'))
  const kept = removeOnExit(dataDir)
  const opened = await openStorage(storage, dataDir)
  try {
    const typed = c.payload === 'avro'
    const broker = await startZombi(main, {
      ...opened.settings,
      ZOMBI_FLUSH_INTERVAL_SECS: live ? '1' : '0', ZOMBI_TARGET_FILE_SIZE_MB: live ? '128' : String(c.isolatedTargetMb), ZOMBI_FLUSH_WORKERS: String(flushWorkers),
    }, { dataDir })
    try {
      const load = platformaticLoad()
      await load.produce(broker.bootstrap, 'warm-up', warmUpWorkload(c.recordBytes))
      const workload: Workload = { recordBytes: c.recordBytes, records: c.records, fetchPasses: 1, payload: c.payload }
      const table = topicOf(c)
      if (typed) {
        await registerBenchSchema(broker.httpUrl, `${table}-value`)
        const admin = new Kafka({ clientId: 'zombi-bench', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
        await admin.connect()
        try {
          await admin.createTopics({ topics: [{ topic: table, numPartitions: 1, configEntries: [{ name: 'zombi.iceberg.mode', value: 'value_schema_id_prefix' }] }] })
        } finally {
          await admin.disconnect()
        }
      }
      const produced: { seconds: number; cpuSeconds?: number } = live === 'serializer'
        ? await produceWithSerializer(broker.bootstrap, broker.httpUrl, table, c.recordBytes, workload.records)
        : await load.produce(broker.bootstrap, table, workload)
      if (live !== false) {
        const acknowledged = performance.now()
        while (await committedOverHttp(broker.httpUrl, table) < workload.records) {
          if (performance.now() - acknowledged > 180_000) throw new Error(`${storageLabel(storage)}: the flush did not catch up within 180 s`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        const catchUpSeconds = (performance.now() - acknowledged) / 1000
        await broker.stop()
        return { produceSeconds: produced.seconds, records: workload.records, producerCpuSeconds: produced.cpuSeconds ?? null, catchUpSeconds }
      }
      opened.resetCounts()
      await broker.stop()
      const puts = opened.puts()
      const line = broker.output().split('\n').find((text) => text.includes('final flush to Iceberg done'))
      if (line === undefined) throw new Error(`no final flush line:\n${broker.output().slice(-4000)}`)
      const flush = JSON.parse(line) as FlushLine
      const expected = workload.records + warmUpWorkload(c.recordBytes).records
      if (flush.rows !== expected) throw new Error(`flushed ${flush.rows} rows, produced ${expected}`)
      const committed = await committedInStore(opened.store, table)
      if (committed !== workload.records) throw new Error(`${storageLabel(storage)}: the table holds ${committed} records, produced ${workload.records}`)
      return { produceSeconds: produced.seconds, flush, puts }
    } finally {
      await broker.kill9().catch(() => undefined)
    }
  } finally {
    await opened.close()
    await rm(dataDir, { recursive: true, force: true })
    kept()
  }
}

const format = (n: number): string => Math.round(n).toLocaleString('en-US')
const mb = (bytes: number, seconds: number): string => (bytes / seconds / 1e6).toFixed(1)
const payloadLabel = (c: Case): string => `${c.recordBytes} B ${c.payload}`

const cases: Case[] = [
  { recordBytes: 100, payload: 'filler', records: quick ? 5_000 : 1_200_000, isolatedTargetMb: 1024 },
  { recordBytes: 1024, payload: 'filler', records: quick ? 5_000 : 400_000, isolatedTargetMb: 1024 },
]
if (withTyped) {
  cases.push({ recordBytes: 100, payload: 'avro', records: quick ? 5_000 : 1_200_000, isolatedTargetMb: 1024 })
  cases.push({ recordBytes: 1024, payload: 'avro', records: quick ? 5_000 : 400_000, isolatedTargetMb: 1024 })
}
// Incompressible 1 KiB records: one Parquet file as large as the payload (multipart on S3).
if (withS3) cases.push({ recordBytes: 1024, payload: 'random', records: quick ? 5_000 : 200_000, isolatedTargetMb: 1024 })
const storages: Storage[] = withS3 ? [local, s3(shippedCap)] : [local]
const storagesOf = (c: Case): Storage[] => (c.payload === 'avro' ? [local] : storages)

interface Row {
  c: Case
  storage: Storage
  isolated: Isolated
  live: Live
  /** Typed cases: the live run with Confluent's AvroSerializer as the producer. */
  serializerLive: Live | null
}
const rows: Row[] = []
for (const c of sizingOnly ? [] : cases) {
  for (const storage of storagesOf(c)) {
    const isolated = await run(c, storage)
    const live = await run(c, storage, 'platformatic')
    rows.push({ c, storage, isolated, live, serializerLive: c.payload === 'avro' ? await run(c, storage, 'serializer') : null })
  }
}

console.log(`\nflush benchmark (${quick ? 'quick, numbers meaningless' : 'full'}), ${flushWorkers === 1 ? 'one encode worker' : `${flushWorkers} encode workers`}, Node ${process.version}\n`)
if (!sizingOnly) printComparison()

function printComparison(): void {
  console.log('isolated flush (final flush at SIGTERM) and live flusher (interval 1 s, 128 MiB target):\n')
  console.log('| storage | record | records | produce rows/s (@platformatic/kafka, acks=all) | flush rows/s | S3/local flush | typed/raw flush | data files | PUTs (incl. parts) | PUTs/s | Parquet MB/s | payload MB/s | flush CPU s / s | flush CPU s per 1 M rows | Parquet bytes / payload | produce rows/s, flusher live | live / idle produce | table complete after the last ack |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const row of rows) {
    const { c, isolated, live } = row
    const produceRate = c.records / isolated.produceSeconds
    // The flush also carries the warm-up topic's records; rates use everything it flushed.
    const flushRate = isolated.flush.rows / isolated.flush.seconds
    const reference = rows.find((other) => other.c === c && other.storage.kind === 'local')
    const ratio = row.storage.kind === 's3' && reference !== undefined ? (flushRate / (reference.isolated.flush.rows / reference.isolated.flush.seconds)).toFixed(2) : '—'
    const liveRate = c.records / live.produceSeconds
    const raw = rows.find((other) => other.c.payload === 'filler' && other.c.recordBytes === c.recordBytes && other.storage.kind === row.storage.kind)
    const typedRatio = c.payload === 'avro' && raw !== undefined ? (flushRate / (raw.isolated.flush.rows / raw.isolated.flush.seconds)).toFixed(2) : '—'
    console.log(`| ${storageLabel(row.storage)} | ${payloadLabel(c)} | ${format(c.records)} | ${format(produceRate)} | ${format(flushRate)} | ${ratio} | ${typedRatio} | ${isolated.flush.files} | ${isolated.puts ?? '—'} | ${isolated.puts === null ? '—' : (isolated.puts / isolated.flush.seconds).toFixed(1)} | ${mb(isolated.flush.bytes, isolated.flush.seconds)} | ${mb(flushRate * c.recordBytes, 1)} | ${(isolated.flush.cpuSeconds / isolated.flush.seconds).toFixed(2)} | ${(isolated.flush.cpuSeconds / isolated.flush.rows * 1e6).toFixed(1)} | ${(isolated.flush.bytes / (isolated.flush.rows * c.recordBytes)).toFixed(2)} | ${format(liveRate)} | ${(liveRate / produceRate).toFixed(2)} | ${live.catchUpSeconds.toFixed(1)} s |`)
  }
  const typedRows = rows.filter((row) => row.serializerLive !== null)
  if (typedRows.length === 0) return
  console.log('\ntyped tables, live flusher, one producer with Confluent\'s AvroSerializer (confluent-kafka-python, acks=all):\n')
  // CPU per row is what the load of other processes on the machine moves least: the flush keeps up with the producer
  // on equal CPU (a core each) when one typed row costs the broker's flush less CPU than the producer spends making it.
  console.log('| record | records | produce rows/s (serializer) | isolated typed flush rows/s | flush / produce | producer CPU s per 1 M rows | typed flush CPU s per 1 M rows (broker, isolated) | producer / flush CPU per row | table complete after the last ack |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const { c, isolated, serializerLive } of typedRows) {
    const live = serializerLive!
    const produceRate = live.records / live.produceSeconds
    const flushRate = isolated.flush.rows / isolated.flush.seconds
    const producerCpu = live.producerCpuSeconds! / live.records * 1e6
    const flushCpu = isolated.flush.cpuSeconds / isolated.flush.rows * 1e6
    console.log(`| ${payloadLabel(c)} | ${format(live.records)} | ${format(produceRate)} | ${format(flushRate)} | ${(flushRate / produceRate).toFixed(2)} | ${producerCpu.toFixed(1)} | ${flushCpu.toFixed(1)} | ${(producerCpu / flushCpu).toFixed(2)} | ${live.catchUpSeconds.toFixed(1)} s |`)
  }
}

if (withS3) {
  // Sizing ZOMBI_MAX_CONCURRENT_S3_UPLOADS. The target stays at 1024 MiB because it is also the size trigger: at the
  // default 128 MiB the flusher would start during produce and the final flush would time only the rest. So one
  // ~200 MB file of ~25 parts: every cap in the sweep is the number of parts actually in flight.
  const sizing: Case = { recordBytes: 1024, payload: 'random', records: quick ? 5_000 : sizingRecords, isolatedTargetMb: 1024 }
  const delays = delayMs > 0 ? [0, delayMs] : [0]
  const sweep: Storage[] = [local, ...delays.flatMap((delay) => uploadCaps.map((uploads) => s3(uploads, delay)))]
  // Rounds alternate through the whole sweep (A B C A B C), so the machine's drift hits every setting; medians are printed.
  const samples = sweep.map((storage) => ({ storage, runs: [] as Isolated[] }))
  for (let round = 0; round < rounds; round++) {
    for (const sample of samples) sample.runs.push(await run(sizing, sample.storage))
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b)
    const middle = Math.floor(sorted.length / 2)
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  }
  const rate = (isolated: Isolated): number => isolated.flush.rows / isolated.flush.seconds
  const medianRate = (runs: Isolated[]): number => median(runs.map(rate))
  const localRate = medianRate(samples[0]!.runs)
  console.log(`\nZOMBI_MAX_CONCURRENT_S3_UPLOADS: isolated flush of ${format(sizing.records)} incompressible ${sizing.recordBytes} B records, one Parquet file (${sizing.isolatedTargetMb} MiB target; multipart above 16 MiB, 8 MiB parts), medians of ${rounds} round(s):\n`)
  console.log(`| storage | flush rows/s | rounds' flush rows/s | vs ${shippedCap} uploads (same delay) | vs local | data files | PUTs (incl. parts) | Parquet MB/s | flush s | flush CPU s / s |`)
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const { storage, runs } of samples) {
    const shipped = samples.find((other) => other.storage.kind === 's3' && other.storage.uploads === shippedCap && other.storage.delayMs === storage.delayMs)
    const own = medianRate(runs)
    const vsShipped = storage.kind === 's3' && shipped !== undefined ? (own / medianRate(shipped.runs)).toFixed(2) : '—'
    const seconds = median(runs.map((isolated) => isolated.flush.seconds))
    const bytes = median(runs.map((isolated) => isolated.flush.bytes))
    const puts = runs[0]!.puts
    console.log(`| ${storageLabel(storage)} | ${format(own)} | ${runs.map((isolated) => format(rate(isolated))).join(' / ')} | ${vsShipped} | ${(own / localRate).toFixed(2)} | ${runs[0]!.flush.files} | ${puts ?? '—'} | ${mb(bytes, seconds)} | ${seconds.toFixed(2)} | ${median(runs.map((isolated) => isolated.flush.cpuSeconds / isolated.flush.seconds)).toFixed(2)} |`)
  }
}
