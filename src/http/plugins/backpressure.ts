// Backpressure on HTTP writes: at most ZOMBI_MAX_INFLIGHT_WRITES writes and ZOMBI_MAX_INFLIGHT_BYTES_MB of
// their bodies at once, over it 429 with Retry-After. A body with Content-Length is admitted or refused from
// its headers before a byte of it is read; a chunked body (no Content-Length) is counted as it streams and
// refused once it would pass the budget. Every counted byte is released when the response closes, however
// the request ends (answered, refused, failed or aborted by the client).
import { Transform, type TransformCallback } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Metrics } from '../../observability/metrics.ts'
import { HttpProblem } from '../problems.ts'

/** What a refused write is told to wait, in seconds. */
const RETRY_AFTER_SECS = 1

/** One admitted write: the slot it holds and the body bytes counted against the budget so far. */
class Admission {
  bytes: number
  /** Released when the response closed; body chunks still arriving after that count for nothing. */
  released = false

  constructor(bytes: number) {
    this.bytes = bytes
  }
}

export class WriteBudget {
  readonly maxWrites: number
  readonly maxBytes: number
  readonly #metrics: Metrics
  #writes = 0
  #bytes = 0

  constructor(maxWrites: number, maxBytes: number, metrics: Metrics) {
    this.maxWrites = maxWrites
    this.maxBytes = maxBytes
    this.#metrics = metrics
    metrics.writePermits.set(maxWrites)
    metrics.inflightBytes.set(0)
  }

  get writes(): number {
    return this.#writes
  }

  get bytes(): number {
    return this.#bytes
  }

  get saturated(): boolean {
    return this.#writes >= this.maxWrites || this.#bytes >= this.maxBytes
  }

  /** A slot and `declaredBytes` (the Content-Length, 0 for a chunked body), or null when either is not free. */
  admit(declaredBytes: number): Admission | null {
    if (this.#writes >= this.maxWrites || this.#bytes + declaredBytes > this.maxBytes) return null
    this.#writes++
    this.#bytes += declaredBytes
    this.#metrics.writePermits.set(this.maxWrites - this.#writes)
    this.#metrics.inflightBytes.set(this.#bytes)
    return new Admission(declaredBytes)
  }

  /** Counts streamed body bytes to the admission, or returns false when they would pass the budget. */
  take(admission: Admission, bytes: number): boolean {
    // The answer went out while the body still streamed (a refusal, a parse error): nothing left to hold.
    if (admission.released) return true
    if (this.#bytes + bytes > this.maxBytes) return false
    this.#bytes += bytes
    admission.bytes += bytes
    this.#metrics.inflightBytes.set(this.#bytes)
    return true
  }

  release(admission: Admission): void {
    if (admission.released) return
    admission.released = true
    this.#writes--
    this.#bytes -= admission.bytes
    admission.bytes = 0
    this.#metrics.writePermits.set(this.maxWrites - this.#writes)
    this.#metrics.inflightBytes.set(this.#bytes)
  }

  refusal(): HttpProblem {
    this.#metrics.backpressureRejections.inc()
    return new HttpProblem('HTTP_BACKPRESSURE', `over ${this.maxWrites} writes or ${this.maxBytes} bytes in flight; retry after ${RETRY_AFTER_SECS} s`)
  }
}

/** A chunked body on its way to the JSON parser, each chunk counted against the budget before it is passed on. */
class CountedBody extends Transform {
  readonly #budget: WriteBudget
  readonly #admission: Admission
  readonly #bodyLimit: number

  constructor(budget: WriteBudget, admission: Admission, bodyLimit: number) {
    super()
    this.#budget = budget
    this.#admission = admission
    this.#bodyLimit = bodyLimit
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Past the body limit the parser answers 413: this body could never be admitted, so no 429 invites a retry.
    if (this.#admission.bytes + chunk.length > this.#bodyLimit || this.#budget.take(this.#admission, chunk.length)) callback(null, chunk)
    else callback(this.#budget.refusal())
  }
}

/** True for the error a write refused by the budget fails with. */
export function isBackpressure(error: unknown): error is HttpProblem {
  return error instanceof HttpProblem && error.code === 'HTTP_BACKPRESSURE'
}

/** The answer to a write refused by the budget: the client may retry after a while. */
export function answerBackpressure(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  return reply.code(problem.status).header('retry-after', String(RETRY_AFTER_SECS)).send({ error: problem.problem, message: problem.message })
}

/** Applies the budget to the write routes of `app` (by route URL), before their bodies are parsed. */
export function limitWrites(app: FastifyInstance, budget: WriteBudget, writeRoutes: ReadonlySet<string>): void {
  app.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    if (request.method !== 'POST' || !writeRoutes.has(request.routeOptions.url ?? '')) return payload
    const contentLength = request.headers['content-length']
    const declared = contentLength === undefined ? 0 : Number(contentLength)
    // Over the body limit: the parser answers 413 before reading a byte of it.
    if (declared > request.routeOptions.bodyLimit) return payload
    // A refused body is never read; Node discards it before the connection serves its next request.
    const admission = budget.admit(declared)
    if (admission === null) throw budget.refusal()
    reply.raw.once('close', () => budget.release(admission))
    if (contentLength !== undefined) return payload
    const counted = new CountedBody(budget, admission, request.routeOptions.bodyLimit)
    // Refused midway, the request fails in the body parser, which closes the connection: the rest is never read.
    payload.pipe(counted)
    return counted
  })
}
