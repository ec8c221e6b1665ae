// Multipart uploads: a large body in parts uploaded in parallel (slices of the caller's buffer, no
// copy), or a stream cut into parts as it arrives, so no whole file sits in memory. Parts carry
// CRC32 checksums, which S3 checks per part and again on completion. A failed upload is aborted;
// one abandoned by a crash is left to removeAbandonedUploads (here too).
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand,
  UploadPartCommand, type CompletedPart,
} from '@aws-sdk/client-s3'
import { ZombiError } from '../errors.ts'
import type { Removed } from './object-store.ts'
import { nameOf, statusOf } from './s3-retry.ts'
import { storeFailure, type S3Requests } from './s3-requests.ts'

/** S3 refuses parts below 5 MiB, except the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024
/** S3 allows at most 10,000 parts. */
const MAX_PARTS = 10_000

export class MultipartUpload {
  readonly #requests: S3Requests
  readonly #objectKey: string
  readonly #uploadId: string
  readonly #maxInFlight: number
  readonly #parts: CompletedPart[] = []
  readonly #inFlight = new Set<Promise<void>>()
  #failure: { error: unknown } | null = null

  private constructor(requests: S3Requests, objectKey: string, uploadId: string, maxInFlight: number) {
    this.#requests = requests
    this.#objectKey = objectKey
    this.#uploadId = uploadId
    this.#maxInFlight = maxInFlight
  }

  /** `objectKey` is the bucket key (with the store's prefix). */
  static async start(requests: S3Requests, objectKey: string, maxInFlight: number): Promise<MultipartUpload> {
    const what = `CreateMultipartUpload ${objectKey}`
    try {
      const { UploadId } = await requests.send(what, () => requests.client.send(new CreateMultipartUploadCommand({ Bucket: requests.bucket, Key: objectKey, ChecksumAlgorithm: 'CRC32' })))
      if (UploadId === undefined) throw new ZombiError('OBJECT_STORE_FAILED', `${what} answered without an upload id`)
      return new MultipartUpload(requests, objectKey, UploadId, maxInFlight)
    } catch (error) {
      throw storeFailure(what, error)
    }
  }

  /** Starts uploading `body` as the next part once fewer than maxInFlight parts of this upload are in flight. */
  async add(body: Uint8Array): Promise<void> {
    while (this.#inFlight.size >= this.#maxInFlight) await Promise.race(this.#inFlight)
    if (this.#failure !== null) throw this.#failure.error
    const partNumber = this.#parts.length + 1
    if (partNumber > MAX_PARTS) throw new ZombiError('INVALID_ARGUMENT', `${this.#objectKey} needs more than ${MAX_PARTS} parts: raise the part size`)
    this.#parts.push({ PartNumber: partNumber })
    const what = `UploadPart ${partNumber} of ${this.#objectKey}`
    const task: Promise<void> = this.#requests
      .upload(what, () => this.#requests.client.send(new UploadPartCommand({ Bucket: this.#requests.bucket, Key: this.#objectKey, UploadId: this.#uploadId, PartNumber: partNumber, Body: body, ChecksumAlgorithm: 'CRC32' })))
      .then(
        ({ ETag, ChecksumCRC32 }) => {
          this.#parts[partNumber - 1] = { PartNumber: partNumber, ETag, ChecksumCRC32 }
        },
        (error: unknown) => {
          this.#failure ??= { error: storeFailure(what, error) }
        },
      )
      .finally(() => this.#inFlight.delete(task))
    this.#inFlight.add(task)
  }

  /** Waits for every part, then completes the upload into an object of `totalBytes`. */
  async complete(totalBytes: number): Promise<void> {
    await Promise.all(this.#inFlight)
    if (this.#failure !== null) throw this.#failure.error
    const what = `CompleteMultipartUpload ${this.#objectKey}`
    const { client, bucket } = this.#requests
    let answerLost = false
    try {
      await this.#requests.send(what, async (attemptNumber) => {
        answerLost = attemptNumber > 0
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: this.#objectKey, UploadId: this.#uploadId, MultipartUpload: { Parts: this.#parts } }))
      })
    } catch (error) {
      // A retry after a completion whose answer was lost finds the upload gone: the object is there.
      if (answerLost && nameOf(error) === 'NoSuchUpload' && (await this.#storedSize()) === totalBytes) return
      throw storeFailure(what, error)
    }
  }

  async #storedSize(): Promise<number | undefined> {
    const { client, bucket } = this.#requests
    try {
      return (await this.#requests.send(`HeadObject ${this.#objectKey}`, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: this.#objectKey })))).ContentLength
    } catch {
      return undefined
    }
  }

  /** Best effort: an upload that cannot be aborted now is an abandoned one removeAbandonedUploads finds later. */
  async abort(): Promise<void> {
    this.#failure ??= { error: new ZombiError('INVALID_STATE', `multipart upload of ${this.#objectKey} aborted`) }
    await Promise.all(this.#inFlight)
    const { client, bucket } = this.#requests
    await this.#requests
      .send(`AbortMultipartUpload ${this.#objectKey}`, () => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: this.#objectKey, UploadId: this.#uploadId })))
      .catch(() => undefined)
  }
}

/** Uploads `body` in parts of `partBytes`, slices of it rather than copies. */
export async function putMultipart(requests: S3Requests, objectKey: string, body: Uint8Array, partBytes: number, maxInFlight: number): Promise<void> {
  const upload = await MultipartUpload.start(requests, objectKey, maxInFlight)
  try {
    for (let offset = 0; offset < body.length; offset += partBytes) await upload.add(body.subarray(offset, offset + partBytes))
    await upload.complete(body.length)
  } catch (error) {
    await upload.abort()
    throw error
  }
}

/**
 * Uploads a stream: up to `thresholdBytes` it is gathered and handed to `putWhole` (one PUT);
 * beyond, it goes multipart, cut into parts of `partBytes` as it arrives, with at most
 * maxInFlight parts uploading while the next one fills. Resolves to the bytes written.
 */
export async function putStreamed(requests: S3Requests, objectKey: string, source: AsyncIterable<Uint8Array>, sizes: { thresholdBytes: number; partBytes: number; maxInFlight: number }, putWhole: (body: Buffer) => Promise<void>): Promise<number> {
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let total = 0
  let upload: MultipartUpload | null = null
  try {
    for await (const chunk of source) {
      pending.push(chunk)
      pendingBytes += chunk.length
      total += chunk.length
      if (upload === null && pendingBytes <= sizes.thresholdBytes) continue
      upload ??= await MultipartUpload.start(requests, objectKey, sizes.maxInFlight)
      while (pendingBytes >= sizes.partBytes) {
        const joined = Buffer.concat(pending, pendingBytes)
        await upload.add(joined.subarray(0, sizes.partBytes))
        pending = pendingBytes > sizes.partBytes ? [joined.subarray(sizes.partBytes)] : []
        pendingBytes -= sizes.partBytes
      }
    }
    if (upload === null) {
      await putWhole(Buffer.concat(pending, pendingBytes))
      return total
    }
    if (pendingBytes > 0) await upload.add(Buffer.concat(pending, pendingBytes))
    await upload.complete(total)
    return total
  } catch (error) {
    await upload?.abort()
    throw error
  }
}

/** Aborts the multipart uploads under `keyPrefix` (a bucket key prefix) started before the cutoff; bytes are the sizes of their uploaded parts. */
export async function removeAbandonedUploads(requests: S3Requests, keyPrefix: string, modifiedBeforeMs: number): Promise<Removed> {
  const removed = { count: 0, bytes: 0 }
  let keyMarker: string | undefined
  let uploadIdMarker: string | undefined
  do {
    const what = `ListMultipartUploads ${keyPrefix}`
    const page = await requests
      .send(what, () => requests.client.send(new ListMultipartUploadsCommand({ Bucket: requests.bucket, Prefix: keyPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })))
      .catch((error: unknown) => {
        throw storeFailure(what, error)
      })
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined || (upload.Initiated?.getTime() ?? 0) >= modifiedBeforeMs) continue
      const bytes = await uploadedBytes(requests, upload.Key, upload.UploadId)
      if (await abortUpload(requests, upload.Key, upload.UploadId)) {
        removed.count++
        removed.bytes += bytes
      }
    }
    keyMarker = page.IsTruncated === true ? page.NextKeyMarker : undefined
    uploadIdMarker = page.IsTruncated === true ? page.NextUploadIdMarker : undefined
  } while (keyMarker !== undefined)
  return removed
}

/** The parts' sizes so far; 0 when they cannot be listed (the upload finished or was aborted meanwhile). */
async function uploadedBytes(requests: S3Requests, objectKey: string, uploadId: string): Promise<number> {
  let bytes = 0
  let marker: string | undefined
  try {
    do {
      const page = await requests.send(`ListParts ${objectKey}`, () => requests.client.send(new ListPartsCommand({ Bucket: requests.bucket, Key: objectKey, UploadId: uploadId, PartNumberMarker: marker })))
      for (const part of page.Parts ?? []) bytes += part.Size ?? 0
      marker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined
    } while (marker !== undefined)
  } catch {
    return 0
  }
  return bytes
}

/** False when the upload is already gone (finished or aborted by someone else). */
async function abortUpload(requests: S3Requests, objectKey: string, uploadId: string): Promise<boolean> {
  const what = `AbortMultipartUpload ${objectKey}`
  try {
    await requests.send(what, () => requests.client.send(new AbortMultipartUploadCommand({ Bucket: requests.bucket, Key: objectKey, UploadId: uploadId })))
    return true
  } catch (error) {
    if (nameOf(error) === 'NoSuchUpload' || statusOf(error) === 404) return false
    throw storeFailure(what, error)
  }
}
