// Which S3 failures are worth another attempt, and the retry loop (exponential backoff with full
// jitter). Zombi retries itself instead of using the SDK's retry strategy: the SDK cannot retry a
// GetObject whose body breaks mid-stream (that happens after it returned), and putIfAbsent must know
// whether an earlier attempt may have landed before it reads a 412 as "someone else won".
import { setTimeout as sleep } from 'node:timers/promises'
import { ZombiError, hasCode } from '../errors.ts'

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number
  /** The first backoff's cap; each retry doubles it up to maxMs; the wait is uniform in [0, cap). */
  baseMs: number
  maxMs: number
}

interface ServiceFailure {
  name?: unknown
  code?: unknown
  $metadata?: { httpStatusCode?: unknown }
}

/** The HTTP status of an SDK service error, or undefined for a failure without an answer. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const status = (error as ServiceFailure).$metadata?.httpStatusCode
  return typeof status === 'number' ? status : undefined
}

export function nameOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { name, code } = error as ServiceFailure
  return typeof code === 'string' ? code : typeof name === 'string' ? name : undefined
}

const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable',
  'TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
])

/** Throttling, a 5xx (but 501, a refusal), a reset or refused connection, a timeout, a truncated body. */
export function isTransient(error: unknown): boolean {
  if (hasCode(error, 'OBJECT_STORE_UNAVAILABLE')) return true
  const status = statusOf(error)
  if (status === 429 || (status !== undefined && status >= 500 && status !== 501)) return true
  const name = nameOf(error)
  if (name !== undefined && TRANSIENT_NAMES.has(name)) return true
  // Node names socket errors by `code` and the SDK keeps `name` 'Error': look at both.
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
  return code !== undefined && TRANSIENT_NAMES.has(code)
}

export function describeFailure(error: unknown): string {
  const status = statusOf(error)
  const name = nameOf(error)
  const message = error instanceof Error ? error.message : String(error)
  // A HEAD answer has no body, so the SDK cannot name S3's error code; a 503 there is throttling.
  if (status === 503 && (name === undefined || name.startsWith('Unknown')) && /^(Unknown(Error)?)?$/.test(message)) {
    return 'HTTP 503 SlowDown or ServiceUnavailable (an answer without a body names no error code)'
  }
  return [status === undefined ? null : `HTTP ${status}`, name, message].filter((part) => part !== null && part !== undefined && part !== '').join(' ')
}

/**
 * Runs `attempt` until it succeeds, fails with an error `retryable` refuses (rethrown as is), or
 * has failed maxRetries + 1 times (then an OBJECT_STORE_UNAVAILABLE naming `what` and the last error).
 */
export async function withRetries<T>(policy: RetryPolicy, what: string, attempt: (attemptNumber: number) => Promise<T>, retryable: (error: unknown) => boolean = isTransient): Promise<T> {
  for (let attemptNumber = 0; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber)
    } catch (error) {
      if (!retryable(error)) throw error
      if (attemptNumber >= policy.maxRetries) {
        throw new ZombiError('OBJECT_STORE_UNAVAILABLE', `${what} failed after ${attemptNumber + 1} attempts: ${describeFailure(error)}`, { cause: error })
      }
      const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** attemptNumber)
      await sleep(Math.random() * cap)
    }
  }
}
