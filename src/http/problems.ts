// How the log's refusals (Kafka error codes) read over HTTP; the problems themselves are entries of
// the one error catalogue (src/errors.ts).
import { HttpProblem } from '../errors.ts'
import type { LogError } from '../log/broker-log.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'

/**
 * A write the broker could not store because its disk is full: 507 Insufficient Storage (WebDAV's
 * code, and what happened) rather than a generic 503, with Retry-After since it passes once space
 * returns; nothing of the write is stored, so retrying it is safe.
 */
export function insufficientStorage(message: string): HttpProblem {
  return new HttpProblem('HTTP_INSUFFICIENT_STORAGE', message, 1)
}

/** A table the log would not give (ensureTopic): a bad name, auto-create off, or a full disk. */
export function tableProblem(table: string, refusal: LogError): HttpProblem {
  switch (refusal.errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return new HttpProblem('HTTP_NOT_FOUND', `table ${table} does not exist (ZOMBI_AUTO_CREATE_TOPICS is off)`)
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return insufficientStorage(refusal.message)
    default:
      return new HttpProblem('HTTP_INVALID_TABLE', refusal.message)
  }
}

export { HttpProblem }
