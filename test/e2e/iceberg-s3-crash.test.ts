// SIGKILL at random moments while producers run and flushes to S3 (moto) happen every second or
// every ~1 MiB; restart on the same data dir, repeat. At the end the table, read by DuckDB through
// the broker's own Iceberg REST catalog, holds every acknowledged record exactly once and exactly what
// the hot log holds. With ZOMBI_ORPHAN_GRACE_SECS=0 every restart also removes what a kill left on
// S3: the bucket's warehouse prefix holds only data files the table references, and no multipart
// upload is left incomplete. Kills fall in turn at a random delay, right after a data file appears
// (before its commit) and right after a metadata file appears (a commit, before the flushed offset is
// recorded); S3 has no file watcher, so the bucket is polled for those.
import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3'
import { afterAll, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { brokerErrors, expectTableIsHotLog } from './fixtures/crash-checks.ts'
import { runPython } from './fixtures/python.ts'
import { dataFiles, readRows, type RestCatalog } from '../iceberg/readers.ts'
import { FaultProxy } from '../support/fault-proxy.ts'
import { freePort } from '../support/ports.ts'
import { MOTO_CREDENTIALS, MOTO_REGION, createBucket, startMoto, type Moto } from '../support/moto.ts'

const CYCLES = 6
const RECORDS_PER_CYCLE = 4000
const BUCKET = 'zombi-crash'
const PREFIX = 'warehouse'

let moto: Moto | undefined
let proxy: FaultProxy | undefined
let broker: Broker | undefined
let s3: S3Client | undefined

afterAll(async () => {
  await broker?.cleanup()
  s3?.destroy()
  await proxy?.close()
  await moto?.stop()
})

/** Every key under `prefix` in the bucket. */
async function listKeys(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }))
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key)
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined
  } while (token !== undefined)
  return keys.sort()
}

/**
 * Resolves once a key under `prefix` appears that was not there at the call (or after `timeoutMs`):
 * S3 has no file watcher, so the bucket is polled, which lands the kill soon after the write, before
 * the flush's next step most of the time.
 */
async function firstNew(client: S3Client, prefix: string, timeoutMs: number): Promise<void> {
  const before = new Set(await listKeys(client, prefix))
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await listKeys(client, prefix)).some((key) => !before.has(key))) return
    await sleep(20)
  }
}

async function incompleteUploads(client: S3Client): Promise<string[]> {
  const page = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${PREFIX}/` }))
  return (page.Uploads ?? []).map((upload) => upload.Key ?? '')
}

test('SIGKILL during flushes to S3, with producers running, neither duplicates nor loses a record and leaves nothing behind', async () => {
  moto = await startMoto()
  await createBucket(moto.endpoint, BUCKET)
  s3 = new S3Client({ endpoint: moto.endpoint, region: MOTO_REGION, forcePathStyle: true, credentials: MOTO_CREDENTIALS })
  // The broker reaches moto through a proxy that answers two writes late (they land at once): the
  // manifest (written after the data files, before the commit) and the version hint (written after
  // the commit, before the flushed offset is recorded). That holds both crash windows open for the
  // kills timed by polling the bucket.
  proxy = await FaultProxy.start(moto.endpoint)
  proxy.inject({ kind: 'delay', ms: 1500 }, Number.POSITIVE_INFINITY, { method: 'PUT', url: /-m0\.avro(?:\?|$)/ })
  proxy.inject({ kind: 'delay', ms: 1500 }, Number.POSITIVE_INFINITY, { method: 'PUT', url: /\/version-hint\.text(?:\?|$)/ })
  broker = await startBroker({
    // A fixed port, so producers reconnect to the restarted broker.
    ZOMBI_KAFKA_PORT: String(await freePort()),
    ZOMBI_STORAGE: 's3',
    ZOMBI_S3_BUCKET: BUCKET,
    ZOMBI_S3_PREFIX: PREFIX,
    ZOMBI_S3_ENDPOINT: proxy.endpoint,
    ZOMBI_ICEBERG_S3_ENDPOINT: moto.endpoint,
    ZOMBI_S3_FORCE_PATH_STYLE: 'true',
    ZOMBI_S3_REGION: MOTO_REGION,
    ZOMBI_S3_MAX_RETRIES: '2',
    ZOMBI_ICEBERG_VEND_CREDENTIALS: 'true',
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    ZOMBI_DEFAULT_PARTITIONS: '2',
    ZOMBI_FLUSH_INTERVAL_SECS: '1',
    ZOMBI_TARGET_FILE_SIZE_MB: '1',
    ZOMBI_ORPHAN_GRACE_SECS: '0',
  })
  const topic = uniqueTopic('iceberg-s3-crash')
  const acknowledged: Array<{ partition: number; offset: number }> = []
  const tablePrefix = `${PREFIX}/zombi/${topic}/`
  let planted = 0
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const lines = Array.from({ length: RECORDS_PER_CYCLE }, (_, i) =>
      JSON.stringify({ key: Buffer.from(`k${i}`).toString('base64'), value: Buffer.concat([Buffer.from(`c${cycle}-r${i}-`), randomBytes(400)]).toString('base64'), partition: i % 2 }))
    const producer = runPython('compat-tests/confluent-kafka-python/produce.py',
      ['--bootstrap', broker.bootstrap, '--topic', topic, '--compression', cycle % 2 === 0 ? 'zstd' : 'none', '--timeout', '30'],
      { input: `${lines.join('\n')}\n`, timeoutMs: 120_000 })
    const moment = (['random', 'data file written', 'commit'] as const)[cycle % 3]!
    if (moment === 'random') await sleep(300 + Math.random() * 2200)
    else await firstNew(s3, moment === 'commit' ? `${tablePrefix}metadata/v` : `${tablePrefix}data/`, 10_000)
    await broker.kill9()
    // What a kill between a flush's data file and its commit leaves: the restart must remove it.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${tablePrefix}data/event_date=2026-01-01/event_hour=00/partition=1/${randomUUID()}.parquet`, Body: Buffer.from('PAR1 planted orphan') }))
    // What a kill in the middle of a multipart upload leaves (the broker's own files here stay under
    // the 16 MiB multipart threshold, so its flushes never start one): the restart must abort it.
    const key = `${tablePrefix}data/event_date=2026-01-01/event_hour=00/partition=0/${randomUUID()}.parquet`
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, cycle) }))
    planted++
    await sleep(1100) // the upload must start before the restart's cleanup cutoff (moto keeps whole seconds)
    await broker.restart()
    const result = await producer
    // Records acknowledged before the kill or after the restart; failed ones are simply not counted.
    for (const line of result.stdout.toString('utf8').split('\n')) {
      if (line.trim() === '') continue
      acknowledged.push(JSON.parse(line) as { partition: number; offset: number })
    }
  }
  await broker.stop() // SIGTERM: final flush
  await broker.restart()
  const catalog: RestCatalog = { uri: `${broker.httpUrl}/iceberg` }
  const rows = await readRows(topic, 'duckdb', { catalog })
  // Exactly once: no (partition, offset) twice, and the table is exactly the hot log.
  const seen = await expectTableIsHotLog(broker, topic, rows)
  // Every acknowledged record is there.
  const missing = acknowledged.filter(({ partition, offset }) => !seen.has(`${partition}/${offset}`))
  expect(missing).toEqual([])
  expect(acknowledged.length).toBeGreaterThan(RECORDS_PER_CYCLE)
  expect(brokerErrors(broker)).toEqual([])

  // Nothing a kill left behind survives a restart: every data file on S3 is referenced, no upload is incomplete.
  const onS3 = (await listKeys(s3, `${tablePrefix}data/`)).map((key) => `s3://${BUCKET}/${key}`)
  expect(onS3).toEqual(await dataFiles(topic, { catalog }))
  expect(await incompleteUploads(s3)).toEqual([])
  let removedOrphans = 0
  let abortedUploads = 0
  for (const line of broker.logs().split('\n')) {
    if (!line.includes('removed files left in the warehouse by interrupted writes')) continue
    const removed = JSON.parse(line) as { orphanFiles: number; temporaryFiles: number }
    removedOrphans += removed.orphanFiles
    abortedUploads += removed.temporaryFiles
  }
  expect(abortedUploads).toBe(planted)
  // The kills right after a data file appeared left uncommitted files of their own (data files, the manifest).
  expect(removedOrphans).toBeGreaterThan(planted)
  const recovered = broker.logs().split('\n').filter((line) => line.includes('flushed offset taken from the Iceberg table')).length
  // The kills right after a commit found it before its flushed offset was recorded.
  expect(recovered).toBeGreaterThan(0)
  console.log(`S3 crash test: ${CYCLES} kills, ${acknowledged.length} acknowledged, ${rows.length} rows; ${recovered} restarts found a commit whose flushed offset was not recorded; restarts removed ${removedOrphans} unreferenced files and aborted ${abortedUploads} incomplete uploads`)
}, 300_000)
