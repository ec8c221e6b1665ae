// The S3 store against moto's S3 server (real SDK, real HTTP), directly and through a fault-injecting
// proxy: the object-store contract, multipart uploads, abandoned-upload cleanup, retries and the
// conditional-write commit with its fallback.
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client, UploadPartCommand } from '@aws-sdk/client-s3'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { hasCode } from '../../src/errors.ts'
import { S3ObjectStore, type S3StoreOptions } from '../../src/objectstore/s3.ts'
import { FaultProxy, notImplemented, serverError, slowDown } from '../support/fault-proxy.ts'
import { MOTO_CREDENTIALS, MOTO_REGION, createBucket, startMoto, type Moto } from '../support/moto.ts'
import { objectStoreContract } from './contract.ts'

const BUCKET = 'zombi-warehouse'
const MiB = 1024 * 1024

let moto: Moto
let proxy: FaultProxy
let client: S3Client
const stores: S3ObjectStore[] = []

beforeAll(async () => {
  moto = await startMoto()
  await createBucket(moto.endpoint, BUCKET)
  proxy = await FaultProxy.start(moto.endpoint)
  client = new S3Client({ endpoint: moto.endpoint, region: MOTO_REGION, forcePathStyle: true, credentials: MOTO_CREDENTIALS })
}, 60_000)

afterAll(async () => {
  for (const store of stores) store.close()
  client?.destroy()
  await proxy?.close()
  await moto?.stop()
})

afterEach(() => proxy.clear())

/** A store under a fresh prefix, on moto directly or (through: true) behind the fault proxy. */
function openStore(options: Partial<S3StoreOptions> & { through?: boolean } = {}): S3ObjectStore {
  const { through, ...rest } = options
  const store = new S3ObjectStore({
    bucket: BUCKET, prefix: `t/${randomUUID()}`, endpoint: through === true ? proxy.endpoint : moto.endpoint, region: MOTO_REGION, forcePathStyle: true,
    maxRetries: 4, maxConcurrentUploads: 4, credentials: MOTO_CREDENTIALS, retryBaseMs: 1, retryMaxMs: 20, ...rest,
  })
  stores.push(store)
  return store
}

/** Bytes that differ from position to position, so a misplaced part shows. */
function patterned(size: number): Buffer {
  const body = Buffer.allocUnsafe(size)
  for (let i = 0; i + 4 <= size; i += 4) body.writeUInt32LE(i, i)
  return body.fill(7, size - (size % 4))
}

async function etagOf(store: S3ObjectStore, key: string): Promise<string> {
  return (await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${store.prefix}/${key}` }))).ETag ?? ''
}

objectStoreContract('s3 (moto)', async () => openStore())

describe('multipart', () => {
  test('a body over the threshold goes up in parts and reads back intact', async () => {
    const store = openStore({ partSizeBytes: 5 * MiB, multipartThresholdBytes: 6 * MiB })
    const body = patterned(11 * MiB + 5)
    await store.put('big.parquet', body)
    expect(await etagOf(store, 'big.parquet')).toMatch(/-3"$/)
    expect((await store.get('big.parquet'))!.equals(body)).toBe(true)
    expect((await store.getRange('big.parquet', 10 * MiB, 10 * MiB + 9))!.equals(body.subarray(10 * MiB, 10 * MiB + 9))).toBe(true)
  })

  test('a stream of many chunks goes up in parts; a small one in one PUT', async () => {
    const store = openStore({ partSizeBytes: 5 * MiB, multipartThresholdBytes: 6 * MiB, maxConcurrentUploads: 2 })
    const body = patterned(16 * MiB + 12)
    async function* chunks(source: Buffer, size: number): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < source.length; offset += size) yield source.subarray(offset, offset + size)
    }
    expect(await store.putStream('stream.parquet', chunks(body, 64 * 1024 + 4))).toBe(body.length)
    expect(await etagOf(store, 'stream.parquet')).toMatch(/-4"$/)
    expect((await store.get('stream.parquet'))!.equals(body)).toBe(true)
    expect(await store.putStream('small.json', chunks(body.subarray(0, 100_000), 1000))).toBe(100_000)
    expect(await etagOf(store, 'small.json')).not.toContain('-')
  })

  test('a part that keeps failing aborts the upload and leaves nothing behind', async () => {
    const store = openStore({ through: true, partSizeBytes: 5 * MiB, multipartThresholdBytes: 6 * MiB, maxRetries: 1 })
    proxy.inject(serverError, Infinity, { method: 'PUT', url: /partNumber=2/ })
    const error = await store.put('doomed.parquet', patterned(11 * MiB)).catch((caught: unknown) => caught)
    expect(hasCode(error, 'OBJECT_STORE_UNAVAILABLE')).toBe(true)
    expect(proxy.seen.some(({ method, url }) => method === 'DELETE' && url.includes('uploadId='))).toBe(true)
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${store.prefix}/` }))
    expect(uploads.Uploads ?? []).toEqual([])
    expect(await store.exists('doomed.parquet')).toBe(false)
  })
})

test('locations are s3:// URLs under bucket and prefix; keyOf takes s3, s3a and s3n of this prefix only', () => {
  const store = openStore({ prefix: 'ware/house' })
  expect(store.location('ns/t/metadata/v1.metadata.json')).toBe(`s3://${BUCKET}/ware/house/ns/t/metadata/v1.metadata.json`)
  expect(store.keyOf(`s3://${BUCKET}/ware/house/ns/t/data/a.parquet`)).toBe('ns/t/data/a.parquet')
  expect(store.keyOf(`s3a://${BUCKET}/ware/house/a`)).toBe('a')
  expect(store.keyOf(`s3n://${BUCKET}/ware/house/a`)).toBe('a')
  expect(store.keyOf(`s3://${BUCKET}/ware/houseboat/a`)).toBeNull()
  expect(store.keyOf(`s3://${BUCKET}/ware/a`)).toBeNull()
  expect(store.keyOf(`s3://other-bucket/ware/house/a`)).toBeNull()
  expect(store.keyOf(`s3://${BUCKET}/ware/house/`)).toBeNull()
  expect(store.keyOf(`file:///ware/house/a`)).toBeNull()
  const root = openStore({ prefix: null })
  expect(root.location('a/b')).toBe(`s3://${BUCKET}/a/b`)
  expect(root.keyOf(`s3://${BUCKET}/a/b`)).toBe('a/b')
})

// moto 5.2.5 answers every ListMultipartUploads with the same Initiated time (2010-11-10T20:48:33Z,
// fixed in its response template), so on moto an upload's age can only be judged against that time:
// a cutoff at it keeps every upload (they are not older), a later one removes those under the prefix.
test('removeAbandonedUploads aborts multipart uploads started before the cutoff under the prefix and keeps younger ones and other prefixes', async () => {
  const store = openStore()
  const start = async (key: string): Promise<string> => (await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${store.prefix}/${key}` }))).UploadId!
  const abandonedId = await start('t/data/abandoned.parquet')
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: `${store.prefix}/t/data/abandoned.parquet`, UploadId: abandonedId, PartNumber: 1, Body: Buffer.alloc(1000) }))
  const otherId = await start('u/data/other.parquet')
  await store.put('t/data/finished.parquet', Buffer.from('done'))
  const uploads = async (): Promise<Map<string, number>> => {
    const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${store.prefix}/` }))
    return new Map((Uploads ?? []).map((upload) => [upload.UploadId!, upload.Initiated!.getTime()]))
  }
  const initiated = (await uploads()).get(abandonedId)!
  expect(await store.removeAbandonedUploads('t/', initiated)).toEqual({ count: 0, bytes: 0 })
  expect([...(await uploads()).keys()].sort()).toEqual([abandonedId, otherId].sort())
  expect(await store.removeAbandonedUploads('t/', Date.now())).toEqual({ count: 1, bytes: 1000 })
  expect([...(await uploads()).keys()]).toEqual([otherId])
  expect(await store.list('t/')).toEqual(['t/data/finished.parquet'])
})

describe('retries through faults', () => {
  test('500s on PUT, GET, LIST and HEAD are retried and the object is intact', async () => {
    const store = openStore({ through: true })
    proxy.inject(serverError, 2, { method: 'PUT' })
    await store.put('a/k', Buffer.from('intact'))
    proxy.inject(serverError, 2, { method: 'GET', url: /\/a\/k/ })
    expect((await store.get('a/k'))!.toString()).toBe('intact')
    proxy.inject(serverError, 2, { method: 'GET', url: /list-type=2/ })
    expect(await store.list('a/')).toEqual(['a/k'])
    proxy.inject(serverError, 2, { method: 'HEAD' })
    expect(await store.exists('a/k')).toBe(true)
    expect(proxy.seen.filter(({ fault }) => fault === 'status')).toHaveLength(8)
  })

  test('500s on multipart parts, their creation and completion are retried and the object is intact', async () => {
    const store = openStore({ through: true, partSizeBytes: 5 * MiB, multipartThresholdBytes: 6 * MiB })
    proxy.inject(serverError, 1, { method: 'POST', url: /\?uploads/ })
    proxy.inject(serverError, 2, { method: 'PUT', url: /partNumber=1/ })
    proxy.inject(serverError, 1, { method: 'PUT', url: /partNumber=3/ })
    proxy.inject(serverError, 1, { method: 'POST', url: /uploadId=/ })
    const body = patterned(11 * MiB)
    await store.put('big', body)
    expect(proxy.seen.filter(({ fault }) => fault === 'status')).toHaveLength(5)
    expect(await etagOf(store, 'big')).toMatch(/-3"$/)
    expect((await store.get('big'))!.equals(body)).toBe(true)
  })

  test('503 SlowDown is retried', async () => {
    const store = openStore({ through: true })
    proxy.inject(slowDown, 3)
    await store.put('k', Buffer.from('throttled'))
    expect((await store.get('k'))!.toString()).toBe('throttled')
    expect(proxy.seen.slice(0, 4).map(({ fault }) => fault)).toEqual(['status', 'status', 'status', null])
  })

  test('a connection reset in the middle of an upload part is retried and the object is intact', async () => {
    const store = openStore({ through: true, partSizeBytes: 5 * MiB, multipartThresholdBytes: 6 * MiB })
    proxy.inject({ kind: 'reset-mid-body', afterBytes: 256 * 1024 }, 1, { method: 'PUT', url: /partNumber=2/ })
    proxy.inject({ kind: 'reset-mid-body', afterBytes: 1024 }, 1, { method: 'PUT', url: /\/small\?/ })
    const body = patterned(12 * MiB)
    await store.put('big', body)
    await store.put('small', Buffer.from('x'.repeat(10_000)))
    expect(proxy.seen.filter(({ fault }) => fault === 'reset-mid-body')).toHaveLength(2)
    expect((await store.get('big'))!.equals(body)).toBe(true)
    expect((await store.get('small'))!.toString()).toBe('x'.repeat(10_000))
  })

  test('a response body cut short is read again', async () => {
    const store = openStore({ through: true })
    const body = patterned(1 * MiB)
    await store.put('k', body)
    proxy.inject({ kind: 'truncate-response', afterBytes: 100_000 }, 1, { method: 'GET' })
    expect((await store.get('k'))!.equals(body)).toBe(true)
    expect(proxy.seen.filter(({ fault }) => fault === 'truncate-response')).toHaveLength(1)
  })

  test('a store slower than the request timeout is retried; one that stays slow fails with OBJECT_STORE_UNAVAILABLE', async () => {
    const store = openStore({ through: true, requestTimeoutMs: 300, maxRetries: 2 })
    await store.put('k', Buffer.from('slow'))
    proxy.inject({ kind: 'delay', ms: 1500 }, 1, { method: 'GET' })
    expect((await store.get('k'))!.toString()).toBe('slow')
    proxy.inject({ kind: 'delay', ms: 1500 }, Infinity, { method: 'GET' })
    const error = await store.get('k').catch((caught: unknown) => caught)
    expect(hasCode(error, 'OBJECT_STORE_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toMatch(/GetObject t\/.*\/k failed after 3 attempts: .*(ETIMEDOUT|TimeoutError)/)
  })

  test('after the last retry the error names the operation, the key and the last failure', async () => {
    const store = openStore({ through: true, maxRetries: 2 })
    proxy.inject(serverError, Infinity)
    const error = await store.put('m/v1.metadata.json', Buffer.from('x')).catch((caught: unknown) => caught)
    expect(hasCode(error, 'OBJECT_STORE_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toMatch(/^PutObject t\/[0-9a-f-]+\/m\/v1\.metadata\.json failed after 3 attempts: HTTP 500 InternalError/)
    expect(proxy.seen).toHaveLength(3)
  })

  test('a refusal is not retried and raises OBJECT_STORE_FAILED', async () => {
    const store = new S3ObjectStore({ bucket: 'no-such-bucket', prefix: null, endpoint: proxy.endpoint, region: MOTO_REGION, forcePathStyle: true, maxRetries: 4, maxConcurrentUploads: 1, credentials: MOTO_CREDENTIALS })
    stores.push(store)
    const error = await store.put('k', Buffer.from('x')).catch((caught: unknown) => caught)
    expect(hasCode(error, 'OBJECT_STORE_FAILED')).toBe(true)
    expect((error as Error).message).toMatch(/PutObject k failed: HTTP 404 NoSuchBucket/)
    expect(proxy.seen).toHaveLength(1)
  })
})

describe('putIfAbsent', () => {
  test('of two writers racing for a key exactly one wins', async () => {
    const first = openStore()
    const second = openStore({ prefix: first.prefix })
    for (let round = 0; round < 5; round++) {
      const key = `m/v${round}.metadata.json`
      const results = await Promise.all([first.putIfAbsent(key, Buffer.from('first')), second.putIfAbsent(key, Buffer.from('second'))])
      expect(results.filter(Boolean)).toHaveLength(1)
      expect((await first.get(key))!.toString()).toBe(results[0] ? 'first' : 'second')
    }
  })

  test('a commit whose answer was lost is recognised as ours on the retry', async () => {
    const store = openStore({ through: true })
    await store.putIfAbsent('m/v0', Buffer.from('warm-up: the probe is done')) // so the fault meets the commit, not the probe
    proxy.clear()
    proxy.inject({ kind: 'reset-after-forward' }, 1, { method: 'PUT', header: 'if-none-match' })
    expect(await store.putIfAbsent('m/v1.metadata.json', Buffer.from('ours'))).toBe(true)
    expect(proxy.seen.filter(({ method }) => method === 'PUT').map(({ fault }) => fault)).toEqual(['reset-after-forward', null])
    expect((await store.get('m/v1.metadata.json'))!.toString()).toBe('ours')
  })

  test('a 412 after a lost answer with another writer\'s bytes there is a loss', async () => {
    const store = openStore({ through: true })
    await store.putIfAbsent('m/v1.metadata.json', Buffer.from('theirs'))
    proxy.inject({ kind: 'reset-after-forward' }, 1, { method: 'PUT', header: 'if-none-match' })
    expect(await store.putIfAbsent('m/v1.metadata.json', Buffer.from('ours'))).toBe(false)
    expect((await store.get('m/v1.metadata.json'))!.toString()).toBe('theirs')
  })

  test('409 ConditionalRequestConflict is retried', async () => {
    const store = openStore({ through: true })
    await store.putIfAbsent('m/v0', Buffer.from('warm-up'))
    proxy.inject({ kind: 'status', status: 409, code: 'ConditionalRequestConflict' }, 1, { method: 'PUT' })
    expect(await store.putIfAbsent('m/v1', Buffer.from('after a conflict'))).toBe(true)
    expect((await store.get('m/v1'))!.toString()).toBe('after a conflict')
  })

  for (const [what, fault] of [
    ['ignores If-None-Match', { kind: 'strip-header', header: 'if-none-match' }],
    ['answers 501 to If-None-Match', notImplemented],
  ] as const) {
    test(`a store that ${what} gets HEAD then PUT, with one warning, and no probe object is left`, async () => {
      const lines: string[] = []
      const logger = pino({ level: 'warn' }, new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } }))
      const store = openStore({ through: true, logger })
      proxy.inject(fault, Infinity, { header: 'if-none-match' })
      expect(await store.putIfAbsent('m/v1', Buffer.from('one'))).toBe(true)
      // With the header ignored a conditional PUT would overwrite and answer true: false proves the HEAD.
      expect(await store.putIfAbsent('m/v1', Buffer.from('two'))).toBe(false)
      expect((await store.get('m/v1'))!.toString()).toBe('one')
      expect(lines.filter((line) => line.includes('does not honour conditional writes'))).toHaveLength(1)
      const { Contents } = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${store.prefix}/` }))
      expect((Contents ?? []).map(({ Key }) => Key)).toEqual([`${store.prefix}/m/v1`])
    })
  }
})
