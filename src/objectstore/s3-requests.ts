// One S3 client with Zombi's retry policy and the store-wide cap on uploads in flight: every S3
// call of the store goes through here, so retries, the cap and error wrapping are in one place.
import type { S3Client } from '@aws-sdk/client-s3'
import { ZombiError } from '../errors.ts'
import { Semaphore } from './semaphore.ts'
import { describeFailure, isTransient, withRetries, type RetryPolicy } from './s3-retry.ts'

export class S3Requests {
  readonly client: S3Client
  readonly bucket: string
  readonly policy: RetryPolicy
  readonly #uploads: Semaphore

  constructor(client: S3Client, bucket: string, policy: RetryPolicy, maxConcurrentUploads: number) {
    this.client = client
    this.bucket = bucket
    this.policy = policy
    this.#uploads = new Semaphore(maxConcurrentUploads)
  }

  /** A request without a body worth capping (GET, HEAD, LIST, DELETE, multipart bookkeeping), retried. */
  send<T>(what: string, request: (attemptNumber: number) => Promise<T>, retryable: (error: unknown) => boolean = isTransient): Promise<T> {
    return withRetries(this.policy, what, request, retryable)
  }

  /**
   * A request carrying a body (PUT, a part), retried; each attempt holds one upload slot, and none
   * is held during the backoff, so a throttled upload does not block others that could go.
   */
  upload<T>(what: string, request: (attemptNumber: number) => Promise<T>, retryable: (error: unknown) => boolean = isTransient): Promise<T> {
    return withRetries(this.policy, what, (attemptNumber) => this.#uploads.run(() => request(attemptNumber)), retryable)
  }
}

/** The error to raise for a failure no caller handled: ZombiErrors as they are, anything else as OBJECT_STORE_FAILED. */
export function storeFailure(what: string, error: unknown): ZombiError {
  if (error instanceof ZombiError) return error
  return new ZombiError('OBJECT_STORE_FAILED', `${what} failed: ${describeFailure(error)}`, { cause: error })
}
