// Errors of the HTTP door: a client mistake (4xx) or a refusal (507), answered as JSON naming the field
// or the cause; and how the log's refusals (Kafka error codes) read over HTTP.
import type { LogError } from '../log/broker-log.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'

export class HttpProblem extends Error {
  readonly status: number
  readonly code: string
  /** Seconds for a Retry-After header, or null for none. */
  readonly retryAfterSecs: number | null

  constructor(status: number, code: string, message: string, retryAfterSecs: number | null = null) {
    super(message)
    this.status = status
    this.code = code
    this.retryAfterSecs = retryAfterSecs
  }
}

/**
 * A write the broker could not store because its disk is full: 507 Insufficient Storage (WebDAV's
 * code, and what happened) rather than a generic 503, with Retry-After since it passes once space
 * returns; nothing of the write is stored, so retrying it is safe.
 */
export function insufficientStorage(message: string): HttpProblem {
  return new HttpProblem(507, 'insufficient_storage', message, 1)
}

/** A table the log would not give (ensureTopic): a bad name, auto-create off, or a full disk. */
export function tableProblem(table: string, refusal: LogError): HttpProblem {
  switch (refusal.errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return new HttpProblem(404, 'not_found', `table ${table} does not exist (ZOMBI_AUTO_CREATE_TOPICS is off)`)
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return insufficientStorage(refusal.message)
    default:
      return new HttpProblem(400, 'invalid_table', refusal.message)
  }
}
