import { expect, it } from 'vitest'
import { describeFailure, isTransient } from '../../src/objectstore/s3-retry.ts'

/** An error shaped as @aws-sdk/client-s3 throws them. */
function serviceError(status: number, name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } })
}

it('names the status, the S3 error code and the message', () => {
  expect(describeFailure(serviceError(503, 'SlowDown', 'Please reduce your request rate.'))).toBe('HTTP 503 SlowDown Please reduce your request rate.')
  expect(describeFailure(serviceError(403, 'AccessDenied', 'Access Denied'))).toBe('HTTP 403 AccessDenied Access Denied')
})

it('says what a bodiless 503 (a HEAD answer) means instead of the SDK\'s UnknownError', () => {
  const head = serviceError(503, 'Unknown', 'UnknownError')
  expect(describeFailure(head)).toBe('HTTP 503 SlowDown or ServiceUnavailable (an answer without a body names no error code)')
  expect(isTransient(head)).toBe(true)
  // Another status without a body keeps the SDK's words.
  expect(describeFailure(serviceError(404, 'NotFound', 'UnknownError'))).toBe('HTTP 404 NotFound UnknownError')
})
