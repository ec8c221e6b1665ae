// The object store on S3 and S3-compatible servers (MinIO, Ceph, R2, moto), through @aws-sdk/client-s3.
//
// Retries: Zombi's own loop (s3-retry.ts; the SDK's is off) retries throttling (429, 503 SlowDown),
// 5xx, reset or refused connections, timeouts and truncated bodies maxRetries times with exponential
// backoff and full jitter, then raises OBJECT_STORE_UNAVAILABLE; other failures raise
// OBJECT_STORE_FAILED at once. Connection and request timeouts keep a hung store from hanging a flush.
//
// Large bodies (over multipartThresholdBytes) and streams go multipart (s3-multipart.ts, which also
// finds abandoned uploads); PUTs and parts share one cap of maxConcurrentUploads in flight per store.
//
// putIfAbsent is a PutObject with If-None-Match: * (S3 since 2024-08, MinIO, R2, moto 5.x): 412 means
// another object is there. An attempt that timed out or lost its connection may still have stored the
// object, so a 412 after such an attempt reads the object back: our bytes mean the commit was ours.
// Stores without conditional writes either answer 501 NotImplemented or ignore the header and
// overwrite. At the first putIfAbsent the store finds out which (two conditional PUTs of a throwaway
// key: the second must get 412), caches the answer, and without them falls back to HEAD then PUT with
// a warning: that is only safe with one writer per table, which is how Zombi runs (one broker owns a
// topic's table); two brokers sharing a warehouse on such a store could both "win" a commit.
import { randomUUID } from 'node:crypto'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { ZombiError } from '../errors.ts'
import { silentLogger, type Logger } from '../observability/logger.ts'
import { checkKey, checkRange, type ObjectInfo, type ObjectStore, type Removed } from './object-store.ts'
import { MIN_PART_BYTES, putMultipart, putStreamed, removeAbandonedUploads } from './s3-multipart.ts'
import { S3Requests, storeFailure } from './s3-requests.ts'
import { isTransient, nameOf, statusOf } from './s3-retry.ts'

export interface S3StoreOptions {
  bucket: string
  /** Key prefix inside the bucket, no leading or trailing '/'; null for the bucket's root. */
  prefix: string | null
  /** A custom endpoint (MinIO, moto, R2...); null for AWS. */
  endpoint: string | null
  /** null takes the SDK's chain (AWS_REGION, the profile), else us-east-1. */
  region: string | null
  forcePathStyle: boolean
  /** Retries after the first attempt. */
  maxRetries: number
  /** PUTs and multipart parts in flight at once, per store. */
  maxConcurrentUploads: number
  /** Else the standard AWS chain (environment, profile, web identity, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  logger?: Logger
  /** The first retry's backoff cap (doubling up to retryMaxMs); default 100 ms. */
  retryBaseMs?: number
  retryMaxMs?: number
  /** Default 5 s. */
  connectionTimeoutMs?: number
  /** The longest one request (with its body) may take, and the longest its socket may idle; default 120 s. */
  requestTimeoutMs?: number
  /** Bodies above this go multipart; default 16 MiB. */
  multipartThresholdBytes?: number
  /** Default 8 MiB; at least 5 MiB (S3's minimum). */
  partSizeBytes?: number
}

const MiB = 1024 * 1024
const SCHEMES = ['s3://', 's3a://', 's3n://']
/** Where the conditional-write probe writes its throwaway key, under the store's prefix. */
const PROBE_PREFIX = '.zombi-probe/'

/** A 404 for the key; a missing bucket (also 404) is a misconfiguration, not an absent object. */
function isMissingKey(error: unknown): boolean {
  return nameOf(error) === 'NoSuchKey' || (statusOf(error) === 404 && nameOf(error) !== 'NoSuchBucket')
}

/** The SDK's own region chain, falling back to us-east-1 when it finds none. */
function regionChain(): () => Promise<string> {
  let region: Promise<string> | null = null
  return () => {
    region ??= (async () => {
      const chain = new S3Client({})
      try {
        return await chain.config.region()
      } catch {
        return 'us-east-1'
      } finally {
        chain.destroy()
      }
    })()
    return region
  }
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string
  readonly prefix: string | null
  readonly #client: S3Client
  readonly #requests: S3Requests
  readonly #logger: Logger
  readonly #maxConcurrentUploads: number
  readonly #thresholdBytes: number
  readonly #partBytes: number
  #conditionalWrites: Promise<boolean> | null = null

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket
    this.prefix = options.prefix
    if (options.prefix !== null) checkKey(options.prefix)
    this.#logger = options.logger ?? silentLogger
    if (!Number.isInteger(options.maxConcurrentUploads) || options.maxConcurrentUploads < 1) throw new ZombiError('INVALID_ARGUMENT', `maxConcurrentUploads must be a positive integer, not ${options.maxConcurrentUploads}`)
    this.#maxConcurrentUploads = options.maxConcurrentUploads
    this.#partBytes = options.partSizeBytes ?? 8 * MiB
    if (this.#partBytes < MIN_PART_BYTES) throw new ZombiError('INVALID_ARGUMENT', `partSizeBytes must be at least ${MIN_PART_BYTES} (S3's minimum part size), not ${this.#partBytes}`)
    this.#thresholdBytes = Math.max(options.multipartThresholdBytes ?? 16 * MiB, this.#partBytes)
    const requestTimeout = options.requestTimeoutMs ?? 120_000
    const config: S3ClientConfig = {
      region: options.region ?? regionChain(),
      forcePathStyle: options.forcePathStyle,
      maxAttempts: 1, // retries are ours (s3-retry.ts)
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 5_000, requestTimeout, throwOnRequestTimeout: true, socketTimeout: requestTimeout },
    }
    if (options.endpoint !== null) config.endpoint = options.endpoint
    if (options.credentials !== undefined) config.credentials = options.credentials
    this.#client = new S3Client(config)
    this.#requests = new S3Requests(this.#client, this.bucket, { maxRetries: options.maxRetries, baseMs: options.retryBaseMs ?? 100, maxMs: options.retryMaxMs ?? 20_000 }, options.maxConcurrentUploads)
  }

  /** Destroys the SDK client (its sockets); the store is unusable afterwards. */
  close(): void {
    this.#client.destroy()
  }

  /** The bucket key of a store key. */
  #objectKey(key: string): string {
    checkKey(key)
    return this.prefix === null ? key : `${this.prefix}/${key}`
  }

  #keyPrefix(prefix: string): string {
    return this.prefix === null ? prefix : `${this.prefix}/${prefix}`
  }

  location(key: string): string {
    return `s3://${this.bucket}/${this.#objectKey(key)}`
  }

  keyOf(location: string): string | null {
    const scheme = SCHEMES.find((candidate) => location.startsWith(candidate))
    if (scheme === undefined) return null
    const root = `${this.bucket}/${this.prefix === null ? '' : `${this.prefix}/`}`
    const path = location.slice(scheme.length)
    if (!path.startsWith(root)) return null
    const key = path.slice(root.length)
    try {
      checkKey(key)
    } catch {
      return null
    }
    return key
  }

  async #putWhole(objectKey: string, body: Uint8Array): Promise<void> {
    if (body.length > this.#thresholdBytes) return putMultipart(this.#requests, objectKey, body, this.#partBytes, this.#maxConcurrentUploads)
    const what = `PutObject ${objectKey}`
    try {
      await this.#requests.upload(what, () => this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body })))
    } catch (error) {
      throw storeFailure(what, error)
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.#putWhole(this.#objectKey(key), body)
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const objectKey = this.#objectKey(key)
    const sizes = { thresholdBytes: this.#thresholdBytes, partBytes: this.#partBytes, maxInFlight: this.#maxConcurrentUploads }
    return putStreamed(this.#requests, objectKey, source, sizes, (body) => this.#putWhole(objectKey, body))
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const objectKey = this.#objectKey(key)
    if (!(await this.#hasConditionalWrites())) return this.#putIfAbsentUnconditionally(objectKey, body)
    const outcome = await this.#conditionalPut(objectKey, body)
    if (outcome === 'created') return true
    if (outcome === 'exists') return false
    if (outcome === 'unsupported') {
      this.#conditionalWrites = Promise.resolve(false)
      this.#warnUnconditional()
      return this.#putIfAbsentUnconditionally(objectKey, body)
    }
    // A 412 after an attempt that may have landed: the object is ours if it holds our bytes.
    // (A rival writing the very same bytes would also read as ours; table metadata never repeats.)
    const stored = await this.#getObject(objectKey, undefined)
    return stored !== null && stored.equals(body)
  }

  /** One conditional PUT with retries; 'landed?' is a 412 after an attempt whose outcome is unknown. */
  async #conditionalPut(objectKey: string, body: Uint8Array): Promise<'created' | 'exists' | 'landed?' | 'unsupported'> {
    const what = `PutObject If-None-Match ${objectKey}`
    let mayHaveLanded = false
    // 409 ConditionalRequestConflict: a concurrent conditional write to the key was in progress; S3 asks for a retry.
    const retryable = (error: unknown): boolean => isTransient(error) || statusOf(error) === 409
    try {
      await this.#requests.upload(what, async () => {
        try {
          await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body, IfNoneMatch: '*' }))
        } catch (error) {
          // Without an answer (or with a 5xx after the write) the object may be stored all the same.
          if (isTransient(error)) mayHaveLanded = true
          throw error
        }
      }, retryable)
      return 'created'
    } catch (error) {
      if (statusOf(error) === 412) return mayHaveLanded ? 'landed?' : 'exists'
      if (statusOf(error) === 501 || nameOf(error) === 'NotImplemented') return 'unsupported'
      throw storeFailure(what, error)
    }
  }

  /** Whether the store honours If-None-Match on PutObject, found out once (see the file header). */
  #hasConditionalWrites(): Promise<boolean> {
    this.#conditionalWrites ??= this.#probeConditionalWrites().then(
      (supported) => {
        if (!supported) this.#warnUnconditional()
        return supported
      },
      (error: unknown) => {
        this.#conditionalWrites = null // a store that was down is probed again next time
        throw error
      },
    )
    return this.#conditionalWrites
  }

  async #probeConditionalWrites(): Promise<boolean> {
    const objectKey = this.#keyPrefix(`${PROBE_PREFIX}${randomUUID()}`)
    const body = Buffer.from('zombi conditional write probe')
    try {
      const first = await this.#conditionalPut(objectKey, body)
      if (first === 'unsupported') return false
      if (first !== 'created') return true // a 412 already: the header is honoured
      const second = await this.#conditionalPut(objectKey, body)
      return second !== 'created' && second !== 'unsupported'
    } finally {
      await this.#deleteObject(objectKey).catch(() => undefined)
    }
  }

  #warnUnconditional(): void {
    this.#logger.warn({ bucket: this.bucket, prefix: this.prefix }, 'the object store does not honour conditional writes (If-None-Match: *): table commits fall back to HEAD then PUT, safe only with one writer per table')
  }

  async #putIfAbsentUnconditionally(objectKey: string, body: Uint8Array): Promise<boolean> {
    if (await this.#headObject(objectKey)) return false
    await this.#putWhole(objectKey, body)
    return true
  }

  async get(key: string): Promise<Buffer | null> {
    return this.#getObject(this.#objectKey(key), undefined)
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer | null> {
    const objectKey = this.#objectKey(key)
    checkRange(start, endExclusive)
    if (start === endExclusive) return (await this.#headObject(objectKey)) ? Buffer.alloc(0) : null
    return this.#getObject(objectKey, `bytes=${start}-${endExclusive - 1}`)
  }

  /** The object (or the range of it), null if absent; a body cut short is retried like a reset. */
  async #getObject(objectKey: string, range: string | undefined): Promise<Buffer | null> {
    const what = `GetObject ${objectKey}${range === undefined ? '' : ` ${range}`}`
    try {
      return await this.#requests.send(what, async () => {
        const response = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range: range }))
        const bytes = response.Body === undefined ? new Uint8Array(0) : await response.Body.transformToByteArray()
        if (response.ContentLength !== undefined && bytes.length !== response.ContentLength) {
          throw new ZombiError('OBJECT_STORE_UNAVAILABLE', `${what}: body cut short at ${bytes.length} of ${response.ContentLength} bytes`)
        }
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      })
    } catch (error) {
      if (isMissingKey(error)) return null
      // 416: the range starts at or past the end of the object.
      if (range !== undefined && (statusOf(error) === 416 || nameOf(error) === 'InvalidRange')) return Buffer.alloc(0)
      throw storeFailure(what, error)
    }
  }

  async exists(key: string): Promise<boolean> {
    return this.#headObject(this.#objectKey(key))
  }

  async #headObject(objectKey: string): Promise<boolean> {
    const what = `HeadObject ${objectKey}`
    try {
      await this.#requests.send(what, () => this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey })))
      return true
    } catch (error) {
      if (isMissingKey(error)) return false
      throw storeFailure(what, error)
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listInfo(prefix)).map(({ key }) => key)
  }

  async listInfo(prefix: string): Promise<ObjectInfo[]> {
    const keyPrefix = this.#keyPrefix(prefix)
    const strip = keyPrefix.length - prefix.length
    const out: ObjectInfo[] = []
    let token: string | undefined
    do {
      const what = `ListObjectsV2 ${keyPrefix}`
      const page = await this.#requests
        .send(what, () => this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: keyPrefix, ContinuationToken: token })))
        .catch((error: unknown) => {
          throw storeFailure(what, error)
        })
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue
        const key = object.Key.slice(strip)
        if (key.startsWith(PROBE_PREFIX)) continue
        out.push({ key, sizeBytes: object.Size ?? 0, modifiedMs: object.LastModified?.getTime() ?? 0 })
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  async delete(key: string): Promise<void> {
    await this.#deleteObject(this.#objectKey(key))
  }

  async #deleteObject(objectKey: string): Promise<void> {
    const what = `DeleteObject ${objectKey}`
    try {
      await this.#requests.send(what, () => this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })))
    } catch (error) {
      if (!isMissingKey(error)) throw storeFailure(what, error)
    }
  }

  /** Aborts the multipart uploads under `prefix` started before the cutoff; bytes are the sizes of their uploaded parts. */
  async removeAbandonedUploads(prefix: string, modifiedBeforeMs: number): Promise<Removed> {
    return removeAbandonedUploads(this.#requests, this.#keyPrefix(prefix), modifiedBeforeMs)
  }
}
