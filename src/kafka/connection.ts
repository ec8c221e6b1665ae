// One client connection: frames in (size-prefixed, size checked before anything is allocated),
// requests dispatched in arrival order, responses written in request order even when a later
// one is ready first. Whatever goes wrong while reading, decoding, handling or answering this
// connection's requests closes this connection only: the broker serves everyone else on.
import type { Socket } from 'node:net'
import type { Logger } from '../observability/logger.ts'
import { SaslSession } from '../security/sasl-session.ts'
import { ApiKey, responseHeaderVersion, isFlexible } from '../protocol/generated/api-keys.ts'
import { ProtocolDecodeError, Reader } from '../protocol/reader.ts'
import { Writer } from '../protocol/writer.ts'
import type { AnyHandler, RequestContext } from './handler.ts'
import type { Router, ServerContext } from './router.ts'
import type { ReadBufferPool, ReadLease } from './read-buffers.ts'
import type { CloseReason, GuardedConnection, SocketGuard } from './socket-guard.ts'
import { socketWithDirectReads } from './direct-read.ts'

/** Responses not yet written beyond which the socket stops being read (bounded memory per client). */
const MAX_PENDING_RESPONSES = 256
/** Response bytes queued in the socket beyond which we stop reading requests until it drains. */
const MAX_QUEUED_RESPONSE_BYTES = 32 * 1024 * 1024
/** The smallest request: api key, api version, correlation id and a client id length (request header v1). */
export const MIN_REQUEST_BYTES = 10
/**
 * Direct reads: a request larger than this that has not fully arrived gets a buffer of its own, and
 * the socket reads the rest of it straight into that buffer (no socket chunk, no copy). Smaller
 * requests are read into a read buffer (several per read when they are pipelined) and stay views of it.
 */
export const OWN_BUFFER_ABOVE_BYTES = 16 * 1024
/**
 * Bounds of one read buffer: it doubles after a read that filled it, halves after a small one, and is
 * small again after a request with a buffer of its own, so an idle connection holds little memory. Each
 * read gets a fresh buffer (frames of the last one may still be in use), never a shared slab that one
 * idle connection's pending read would keep alive whole. Read buffers of 2 KiB and more (a busy
 * producer's) come from the request buffer pool and go back once their Produce requests are answered.
 */
const MIN_READ_BYTES = 1024
const MAX_READ_BYTES = 64 * 1024
const EMPTY: Buffer = Buffer.alloc(0)

/**
 * Where every connection encodes its responses. Encoding is synchronous and the Writer hands out slices that stay
 * valid after the next reset (it moves on to a fresh buffer when full), so one writer serves them all. A writer per
 * connection held 4 KiB from the start, more than half of an idle connection's memory (2,000 idle connections in
 * bench:compare's scale rows), and kept the scratch of its largest response (a Metadata answer over 1,000
 * partitions) for the connection's life.
 */
const responseWriter = new Writer(64 * 1024)

class PendingResponse {
  done = false
  /** performance.now() when the request was decoded, for the latency histogram. */
  startedAt = 0
  /** null: no response (acks=0) or not ready. */
  chunks: Buffer[] | null = null
  /** A Produce request's bytes, counted in the broker's produce budget and this connection's in-flight produce until the response. */
  produceBytes = 0
  /** Pooled buffers the response's bytes lie in, released once the response is written. */
  lease: ReadLease | null = null
}

class Context implements RequestContext {
  readonly log: RequestContext['log']
  readonly groups: RequestContext['groups']
  readonly config: RequestContext['config']
  readonly logger: Logger
  readonly broker: RequestContext['broker']
  readonly supportedApis: RequestContext['supportedApis']
  readonly shutdown: AbortSignal
  readonly produceBudget: RequestContext['produceBudget']
  readonly traffic: RequestContext['traffic']
  readonly credentials: RequestContext['credentials']
  readonly sasl: SaslSession | null
  readonly authorizer: RequestContext['authorizer']
  readonly clientHost: string
  apiVersion: number
  correlationId: number
  clientId: string | null
  remoteAddress: string
  principal: string

  constructor(server: ServerContext, logger: Logger, remoteAddress: string, apiVersion: number, correlationId: number, clientId: string | null, shutdown: AbortSignal, principal: string, sasl: SaslSession | null, clientHost: string) {
    this.log = server.log
    this.groups = server.groups
    this.config = server.config
    this.logger = logger
    this.broker = server.broker
    this.supportedApis = server.supportedApis
    this.shutdown = shutdown
    this.produceBudget = server.produceBudget
    this.traffic = server.traffic
    this.credentials = server.credentials
    this.sasl = sasl
    this.authorizer = server.authorizer
    this.clientHost = clientHost
    this.apiVersion = apiVersion
    this.correlationId = correlationId
    this.clientId = clientId
    this.remoteAddress = remoteAddress
    this.principal = principal
    this.#readBuffers = server.readBuffers
    if (this.#readBuffers !== undefined) this.allocateResponseBytes = this.#allocate
  }

  readonly allocateResponseBytes?: (size: number) => Buffer
  readonly #readBuffers: ReadBufferPool | undefined
  #lease: ReadLease | null = null

  readonly #allocate = (size: number): Buffer => (this.#lease ??= this.#readBuffers!.lease()).allocate(size)

  /** The pooled buffers this request's handler took, now owned by its pending response. */
  takeLease(): ReadLease | null {
    const lease = this.#lease
    this.#lease = null
    return lease
  }
}

interface DecodedRequest {
  /** The request's bytes (after the size prefix), which the body's byte fields are views of. */
  frame: Buffer
  handler: AnyHandler
  version: number
  correlationId: number
  clientId: string | null
  body: unknown
}

export class Connection implements GuardedConnection {
  readonly address: string
  readonly #socket: Socket
  readonly #router: Router
  readonly #server: ServerContext
  readonly #logger: Logger
  readonly #remote: string
  readonly #maxRequestBytes: number
  readonly #guard: SocketGuard
  // Frame assembly. 'data' events (TLS): chunks as Node read them.
  #chunks: Buffer[] = []
  /** Bytes of incomplete frames held: chunks (or the region's unparsed bytes) plus an own-buffer frame's size. */
  #buffered = 0
  #expected = -1
  // Direct reads (plain TCP): the socket reads into #region (the read buffer) after #regionEnd, or into #frame after #frameFilled.
  readonly #direct: boolean
  #region: Buffer = EMPTY
  /** Where the region's unparsed bytes start and end. */
  #regionStart = 0
  #regionEnd = 0
  #readSize = MIN_READ_BYTES * 4
  /** A large request being read straight into its own buffer (OWN_BUFFER_ABOVE_BYTES). */
  #frame: Buffer | null = null
  #frameFilled = 0
  /** #buffered as last reported to the guard. */
  #reportedPartial = 0
  #partialSince = 0
  #lastActivityAt = Date.now()
  /** The API being decoded or handled synchronously, for the log line if it throws. */
  #currentApi: string | null = null
  readonly #closedController = new AbortController()
  /**
   * Aborted when the broker shuts down or this connection closes: a long poll of a client that went
   * away ends then instead of holding this connection's memory until its own deadline.
   */
  readonly #ended: AbortSignal
  // Requests waiting for an earlier request's prepare step.
  #waiting: Buffer[] = []
  #preparing = false
  // Responses in request order.
  #pending: PendingResponse[] = []
  #pendingHead = 0
  #closed = false
  #paused = false
  /** Paused because the broker's produce budget is spent; resumed when it drains. */
  #pausedForBudget = false
  /** Produce request bytes read on this connection and not yet answered (ZOMBI_KAFKA_CONNECTION_INFLIGHT_PRODUCE_BYTES). */
  #produceBytes = 0
  /** Who the client is before SASL: User:ANONYMOUS, or the subject of its verified TLS certificate. */
  readonly #principal: string
  /** On a SASL listener: the client is served nothing but ApiVersions and SASL until it has authenticated. */
  readonly #sasl: SaslSession | null

  /**
   * With `directReads`, `accepted` is a plain TCP socket not yet read from (its server listens with
   * pauseOnConnect) and its reads go into buffers this connection picks; `socket` is then another
   * object over the same connection. Otherwise (TLS) its 'data' events are assembled into frames.
   */
  constructor(accepted: Socket, router: Router, server: ServerContext, logger: Logger, guard: SocketGuard, principal: string, directReads = false) {
    // Before the socket: its first read buffer is picked at once, from the server's pool.
    this.#server = server
    const socket = directReads ? socketWithDirectReads(accepted, { buffer: this.#nextReadBuffer, callback: this.#onDirectRead }) ?? accepted : accepted
    this.#direct = socket !== accepted
    this.#principal = principal
    this.#sasl = server.sasl === undefined ? null : new SaslSession(server.sasl, `${socket.remoteAddress}:${socket.remotePort}`)
    this.#socket = socket
    this.#router = router
    this.#guard = guard
    this.address = socket.remoteAddress ?? 'unknown'
    this.#remote = `${socket.remoteAddress}:${socket.remotePort}`
    this.#ended = AbortSignal.any([server.shutdown, this.#closedController.signal])
    this.#logger = logger
    this.#maxRequestBytes = server.config.maxRequestBytes
    socket.setNoDelay(true)
    if (!this.#direct) {
      socket.on('data', (chunk: Buffer) => this.#onData(chunk))
      if (directReads) socket.resume()
    }
    socket.on('error', (error) => this.#logger.debug({ remote: this.#remote, err: error.message }, 'connection error'))
    socket.on('close', () => {
      this.#closed = true
      this.#guard.remove(this)
      this.#closedController.abort()
      // Requests that will never be answered here give their produce budget back now.
      // Answers completed but not yet written (behind a slower one) never will be: their slabs are dropped.
      for (let i = this.#pendingHead; i < this.#pending.length; i++) {
        const slot = this.#pending[i]!
        this.#releaseProduce(slot)
        slot.lease?.abandon()
        slot.lease = null
      }
      this.#server.produceBudget?.forget(this.#onBudgetDrained)
      // Nothing is read into the read buffer any more; requests still in flight keep their holds on it.
      this.#server.requestBuffers?.release(this.#region)
      this.#region = EMPTY
      this.#regionStart = this.#regionEnd = 0
    })
    socket.on('drain', () => this.#maybeResume())
  }

  /** The socket this connection reads and writes (with direct reads, not the accepted object). */
  get socket(): Socket {
    return this.#socket
  }

  get idle(): boolean {
    return this.#pendingHead === this.#pending.length && this.#waiting.length === 0
  }

  get partialBytes(): number {
    return this.#reportedPartial
  }

  /** While the broker itself has stopped reading this socket, the client cannot be late. */
  get partialSince(): number {
    return this.#paused ? 0 : this.#partialSince
  }

  get lastActivityAt(): number {
    return this.#lastActivityAt
  }

  get busy(): boolean {
    return !this.idle || this.#socket.writableLength > 0
  }

  closeFor(reason: CloseReason, detail: Record<string, unknown>): void {
    if (this.#closed) return
    this.#logger.warn({ remote: this.#remote, reason, ...detail }, 'closing connection: over a socket limit')
    this.destroy()
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Stops reading new requests (shutdown); answered requests still go out. */
  stopReading(): void {
    this.#socket.pause()
    this.#paused = true
  }

  destroy(): void {
    this.#closed = true
    this.#socket.destroy()
  }

  #fail(message: string, details: Record<string, unknown> = {}): void {
    if (this.#closed) return
    this.#logger.warn({ remote: this.#remote, ...details }, message)
    this.#guard.noteClosed('malformed_request')
    this.destroy()
  }

  /** The error boundary: an exception anywhere on this connection's path ends this connection, not the broker. */
  #crash(error: unknown, api: string | null = this.#currentApi): void {
    this.#currentApi = null
    if (this.#closed) return
    this.#logger.error({ remote: this.#remote, api, err: error }, 'request failed unexpectedly; closing connection')
    this.#guard.noteClosed('internal_error')
    this.destroy()
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return
    this.#lastActivityAt = Date.now()
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    try {
      this.#readFrames()
    } catch (error) {
      this.#crash(error)
    }
    this.#reportPartial()
  }

  /** The buffer the next direct read fills: the rest of a large request, or a read buffer after the unparsed bytes. */
  readonly #nextReadBuffer = (): Buffer => {
    const frame = this.#frame
    if (frame !== null) return frame.subarray(this.#frameFilled)
    const unparsed = this.#regionEnd - this.#regionStart
    // A started request no larger than OWN_BUFFER_ABOVE_BYTES: room for all of it.
    const wanted = this.#expected >= 0 ? Math.max(this.#readSize, this.#expected - unparsed) : this.#readSize
    const pool = this.#server.requestBuffers
    const region = pool?.take(unparsed + wanted) ?? Buffer.allocUnsafeSlow(unparsed + wanted)
    // The bytes of a request or size prefix cut by the last read move in front (at most one small request).
    if (unparsed > 0) this.#region.copy(region, 0, this.#regionStart, this.#regionEnd)
    // The socket reads no more into the last buffer: it is back in the pool once its requests are answered.
    pool?.release(this.#region)
    this.#region = region
    this.#regionStart = 0
    this.#regionEnd = unparsed
    return region.subarray(unparsed)
  }

  readonly #onDirectRead = (bytes: number): boolean => {
    if (this.#closed) return false
    this.#lastActivityAt = Date.now()
    try {
      const frame = this.#frame
      if (frame !== null) {
        this.#frameFilled += bytes
        if (this.#frameFilled === frame.length) {
          this.#frame = null
          this.#buffered -= frame.length
          this.#partialSince = 0
          // The next request's size prefix is all the read buffer needs before a large one gets its own.
          this.#readSize = MIN_READ_BYTES
          this.#deliver(frame)
        }
      } else {
        const room = this.#region.length - this.#regionEnd
        if (bytes === room) this.#readSize = Math.min(this.#readSize * 2, MAX_READ_BYTES)
        else if (bytes < this.#readSize / 4) this.#readSize = Math.max(this.#readSize / 2, MIN_READ_BYTES)
        this.#regionEnd += bytes
        this.#buffered += bytes
        this.#readRegionFrames()
      }
    } catch (error) {
      this.#crash(error)
    }
    this.#reportPartial()
    return !this.#closed
  }

  /** Frames out of the region's unparsed bytes; a large request cut short moves to a buffer of its own. */
  #readRegionFrames(): void {
    let completed = false
    while (!this.#closed && this.#frame === null) {
      const region = this.#region
      if (this.#expected < 0) {
        if (this.#regionEnd - this.#regionStart < 4) break
        const size = region.readInt32BE(this.#regionStart)
        if (!this.#sizeAllowed(size)) return
        this.#regionStart += 4
        this.#buffered -= 4
        this.#expected = size
      }
      const unparsed = this.#regionEnd - this.#regionStart
      const size = this.#expected
      if (unparsed >= size) {
        const frame = region.subarray(this.#regionStart, this.#regionStart + size)
        // Released with the request (#recycle) if it is a Produce answered; any other keeps the buffer from reuse.
        this.#server.requestBuffers?.retain(frame)
        this.#regionStart += size
        this.#buffered -= size
        this.#expected = -1
        completed = true
        this.#deliver(frame)
        continue
      }
      if (size > OWN_BUFFER_ABOVE_BYTES) {
        // Held whole from now on, so the guard counts all of it (memory, not bytes received).
        const frame = this.#server.requestBuffers?.take(size) ?? Buffer.allocUnsafeSlow(size)
        region.copy(frame, 0, this.#regionStart, this.#regionEnd)
        this.#frame = frame
        this.#frameFilled = unparsed
        this.#buffered += size - unparsed
        this.#regionStart = this.#regionEnd
        this.#expected = -1
      }
      break
    }
    this.#notePartial(completed)
  }

  /** A size prefix within bounds, or the connection is closed. */
  #sizeAllowed(size: number): boolean {
    // Raw SASL tokens (after a v0 handshake) are as short as the mechanism makes them.
    const min = this.#sasl?.rawTokens === true ? 0 : MIN_REQUEST_BYTES
    if (size < min || size > this.#maxRequestBytes) {
      this.#fail('request frame size out of range; closing connection', { size, min, max: this.#maxRequestBytes })
      return false
    }
    return true
  }

  #deliver(frame: Buffer): void {
    if (this.#preparing) {
      this.#waiting.push(frame)
      this.#pauseIfBacklogged()
    } else {
      this.#dispatch(frame)
    }
  }

  /** Whether part of a request (or its size prefix) has arrived and the rest has not. */
  #midFrame(): boolean {
    return this.#buffered > 0 || this.#expected >= 0
  }

  #notePartial(completed: boolean): void {
    // Mid-frame also when only the size prefix has come (it is consumed, so nothing is buffered).
    if (!this.#midFrame()) this.#partialSince = 0
    else if (completed || this.#partialSince === 0) this.#partialSince = this.#lastActivityAt
  }

  #readFrames(): void {
    let completed = false
    while (!this.#closed) {
      if (this.#expected < 0) {
        if (this.#buffered < 4) break
        const size = this.#peekSize()
        if (!this.#sizeAllowed(size)) return
        this.#consume(4)
        this.#expected = size
      }
      if (this.#buffered < this.#expected) break
      const frame = this.#take(this.#expected)
      this.#expected = -1
      completed = true
      this.#deliver(frame)
    }
    this.#notePartial(completed)
  }

  /** Tells the guard how many bytes of incomplete requests this connection now holds. */
  #reportPartial(): void {
    const delta = this.#buffered - this.#reportedPartial
    if (delta === 0 || this.#closed) return
    this.#reportedPartial = this.#buffered
    this.#guard.changeBuffered(delta)
  }

  #backlog(): number {
    return this.#pending.length - this.#pendingHead + this.#waiting.length
  }

  #pauseIfBacklogged(): void {
    if (this.#backlog() >= MAX_PENDING_RESPONSES && !this.#paused) {
      this.#socket.pause()
      this.#paused = true
    }
  }

  #peekSize(): number {
    const first = this.#chunks[0]!
    if (first.length >= 4) return first.readInt32BE(0)
    const head = Buffer.concat(this.#chunks, this.#buffered).subarray(0, 4)
    return head.readInt32BE(0)
  }

  #consume(n: number): void {
    this.#take(n)
  }

  /** Removes and returns the next n buffered bytes (a view when they lie in one chunk). */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let copied = 0
      while (copied < n) {
        const chunk = this.#chunks[0]!
        const want = n - copied
        if (chunk.length <= want) {
          chunk.copy(out, copied)
          copied += chunk.length
          this.#chunks.shift()
        } else {
          chunk.copy(out, copied, 0, want)
          this.#chunks[0] = chunk.subarray(want)
          copied += want
        }
      }
    }
    this.#buffered -= n
    return out
  }

  #decode(frame: Buffer): DecodedRequest | null {
    const apiKey = frame.readInt16BE(0)
    const version = frame.readInt16BE(2)
    const correlationId = frame.readInt32BE(4)
    const handler = this.#router.handler(apiKey)
    if (handler === undefined) {
      this.#fail('unknown api key; closing connection', { apiKey, version })
      return null
    }
    if (version < handler.minVersion || version > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) {
        // Clients probe with their newest ApiVersions; answer v0 with error 35 and our ranges.
        return { frame, handler, version: -1, correlationId, clientId: null, body: null }
      }
      this.#fail('unsupported api version; closing connection', { api: handler.name, version, supported: `${handler.minVersion}-${handler.maxVersion}` })
      return null
    }
    try {
      const reader = new Reader(frame, 8)
      const clientId = reader.nullableString()
      if (isFlexible(apiKey, version)) reader.skipTaggedFields()
      const body = handler.read(reader, version)
      return { frame, handler, version, correlationId, clientId, body }
    } catch (error) {
      if (error instanceof ProtocolDecodeError || error instanceof RangeError) {
        this.#fail('malformed request; closing connection', { api: handler.name, version, err: error.message })
        return null
      }
      throw error
    }
  }

  /**
   * Kafka's rule for SASL listeners: before authentication only ApiVersions and the SASL requests;
   * after a session's lifetime (KIP-368) only a re-authentication. Anything else closes the connection.
   */
  #admitted(frame: Buffer, sasl: SaslSession): boolean {
    const apiKey = frame.readInt16BE(0)
    if (apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate) return true
    if (!sasl.authenticated) {
      if (apiKey === ApiKey.ApiVersions) return true
      this.#refuse('request before SASL authentication; closing connection', { apiKey })
      return false
    }
    if (sasl.expired(Date.now())) {
      this.#refuse('SASL session expired without re-authentication; closing connection', { apiKey, principal: sasl.principal })
      return false
    }
    return true
  }

  #refuse(message: string, details: Record<string, unknown>): void {
    this.#logger.info({ remote: this.#remote, ...details }, message)
    this.#guard.noteClosed('malformed_request')
    this.destroy()
  }

  /** A raw SASL token (after a v0 handshake): answered with a size-prefixed token, or the connection closes. */
  #rawToken(frame: Buffer, sasl: SaslSession): void {
    const slot = new PendingResponse()
    this.#pending.push(slot)
    sasl.authenticate(Buffer.from(frame)).then((result) => {
      if (this.#closed) return
      if (result.errorCode !== 0) {
        // v0 has no way to say why: the connection ends (the failure is logged by the session).
        this.destroy()
        return
      }
      const size = Buffer.allocUnsafe(4)
      size.writeInt32BE(result.authBytes.length)
      slot.chunks = [size, result.authBytes]
      slot.done = true
      this.#flush()
    }, (error: unknown) => this.#crash(error, 'SaslAuthenticate'))
  }

  #dispatch(frame: Buffer): void {
    const sasl = this.#sasl
    if (sasl !== null) {
      if (sasl.rawTokens) {
        this.#rawToken(frame, sasl)
        return
      }
      if (!this.#admitted(frame, sasl)) return
    }
    let request: DecodedRequest | null
    try {
      request = this.#decode(frame)
    } catch (error) {
      this.#fail('request decoding failed; closing connection', { err: (error as Error).message })
      return
    }
    if (request === null) return
    this.#currentApi = request.handler.name
    const slot = new PendingResponse()
    slot.startedAt = performance.now()
    this.#server.metrics?.kafkaBytesIn.inc(frame.length + 4)
    this.#pending.push(slot)
    this.#pauseIfBacklogged()
    const budget = this.#server.produceBudget
    if (request.handler.apiKey === ApiKey.Produce) {
      this.#countProduce(slot, frame.length)
      budget?.acquire(frame.length)
      if (budget?.overloaded === true && !this.#pausedForBudget) {
        // This client stops being read until the broker has caught up; its socket buffers push back.
        this.#pausedForBudget = true
        if (!this.#paused) {
          this.#socket.pause()
          this.#paused = true
        }
        budget.whenDrained(this.#onBudgetDrained)
      }
    }
    if (request.version === -1) {
      this.#complete(slot, request, this.#router.unsupportedApiVersionsResponse(), 0, null)
      return
    }
    const context = new Context(this.#server, this.#logger, this.#remote, request.version, request.correlationId, request.clientId, this.#ended, this.#sasl?.principal ?? this.#principal, this.#sasl, this.address)
    const { handler } = request
    let prepared: Promise<void> | void = undefined
    try {
      if (handler.prepare !== undefined) prepared = handler.prepare(request.body, context)
    } catch (error) {
      this.#handlerFailed(handler, error, context)
      return
    }
    if (prepared instanceof Promise) {
      this.#preparing = true
      prepared.then(
        () => {
          this.#preparing = false
          try {
            this.#run(slot, request, context)
            this.#drainWaiting()
          } catch (error) {
            this.#crash(error, handler.name)
          }
          this.#reportPartial()
        },
        (error: unknown) => this.#handlerFailed(handler, error, context),
      )
      this.#currentApi = null
      return
    }
    this.#run(slot, request, context)
    this.#currentApi = null
  }

  #drainWaiting(): void {
    while (!this.#preparing && this.#waiting.length > 0 && !this.#closed) this.#dispatch(this.#waiting.shift()!)
  }

  #run(slot: PendingResponse, request: DecodedRequest, context: Context): void {
    let result: unknown
    try {
      result = request.handler.handle(request.body, context)
    } catch (error) {
      this.#handlerFailed(request.handler, error, context)
      return
    }
    if (result instanceof Promise) {
      result.then(
        (response: unknown) => {
          this.#recycle(request)
          try {
            this.#complete(slot, request, response, request.version, context)
          } catch (error) {
            this.#crash(error, request.handler.name)
          }
        },
        (error: unknown) => this.#handlerFailed(request.handler, error, context),
      )
    } else {
      this.#recycle(request)
      this.#complete(slot, request, result, request.version, context)
    }
  }

  /**
   * A Produce request releases its hold on its buffer once its handler has fulfilled: every append has
   * settled, and what the log keeps of the batches is its own copy (request-buffers.ts). A handler that
   * failed may have left an append in flight, so its buffer is left to the garbage collector.
   */
  #recycle(request: DecodedRequest): void {
    if (request.handler.apiKey === ApiKey.Produce) this.#server.requestBuffers?.release(request.frame)
  }

  /** A failed request is never answered: slabs its handler read into are left to the GC, uncounted. */
  #handlerFailed(handler: AnyHandler, error: unknown, context: Context | null, slot?: PendingResponse): void {
    context?.takeLease()?.abandon()
    if (slot !== undefined) {
      slot.lease?.abandon()
      slot.lease = null
    }
    this.#crash(error, handler.name)
  }

  readonly #onBudgetDrained = (): void => {
    this.#pausedForBudget = false
    this.#maybeResume()
  }

  /**
   * Counts a Produce request against this connection's bound and stops reading at it: the client's
   * next requests then wait in its socket buffers, not in ours. A fast producer that pipelines
   * megabyte requests otherwise has tens of them read ahead, and builds more batches in its own
   * memory while they wait (kcat's RSS reached 400 MB against 150 MB on Kafka, whose one request
   * per connection at a time pushes back through TCP at once).
   */
  #countProduce(slot: PendingResponse, bytes: number): void {
    slot.produceBytes = bytes
    this.#produceBytes += bytes
    if (this.#atProduceBound() && !this.#paused) {
      this.#socket.pause()
      this.#paused = true
    }
  }

  /** Whether this connection's unanswered Produce bytes have reached its bound (0: no bound). */
  #atProduceBound(): boolean {
    const bound = this.#server.config.kafkaConnectionInflightProduceBytes
    return bound > 0 && this.#produceBytes >= bound
  }

  /** Gives a request's Produce bytes back to the broker's budget and this connection's bound. */
  #releaseProduce(slot: PendingResponse): void {
    if (slot.produceBytes === 0) return
    this.#produceBytes -= slot.produceBytes
    this.#server.produceBudget?.release(slot.produceBytes)
    slot.produceBytes = 0
  }

  #complete(slot: PendingResponse, request: DecodedRequest, response: unknown, version: number, context: Context | null): void {
    this.#releaseProduce(slot)
    slot.lease = context?.takeLease() ?? null
    if (this.#closed) {
      slot.lease?.abandon()
      return
    }
    if (response !== null) {
      const writer = responseWriter
      writer.reset()
      const sizePosition = writer.reserveInt32()
      writer.int32(request.correlationId)
      if (responseHeaderVersion(request.handler.apiKey, version) >= 1) writer.emptyTaggedFields()
      try {
        request.handler.write(writer, version, response)
      } catch (error) {
        this.#handlerFailed(request.handler, error, null, slot)
        return
      }
      writer.patchInt32(sizePosition, writer.length - 4)
      slot.chunks = writer.toChunks()
      this.#server.metrics?.kafkaBytesOut.inc(writer.length)
    }
    const metrics = this.#server.metrics
    if (metrics !== undefined && version >= 0) {
      const handles = metrics.kafkaRequest(request.handler.apiKey, version)
      handles.count.inc()
      handles.latency.observe((performance.now() - slot.startedAt) / 1000)
    }
    slot.done = true
    this.#flush()
  }

  #flush(): void {
    const socket = this.#socket
    let corked = false
    while (this.#pendingHead < this.#pending.length) {
      const slot = this.#pending[this.#pendingHead]!
      if (!slot.done) break
      this.#pending[this.#pendingHead++] = undefined as unknown as PendingResponse
      if (slot.chunks === null) {
        slot.lease?.release()
        continue
      }
      if (!corked) {
        socket.cork()
        corked = true
      }
      const { chunks, lease } = slot
      const last = chunks.length - 1
      for (let i = 0; i < last; i++) socket.write(chunks[i]!)
      // The callback runs once the bytes are handed to the kernel, or with an error when the socket
      // is destroyed first: either way nothing reads the slabs again.
      if (lease === null) socket.write(chunks[last]!)
      else socket.write(chunks[last]!, () => lease.release())
    }
    if (corked) {
      socket.uncork()
      this.#lastActivityAt = Date.now()
    }
    if (this.#sasl?.closing === true && this.#pendingHead === this.#pending.length) {
      // A failed SASL exchange: its answer goes out, then the connection ends (as Kafka does).
      this.#closed = true
      socket.end()
      return
    }
    if (this.#pendingHead === this.#pending.length) {
      this.#pending = []
      this.#pendingHead = 0
    }
    if (socket.writableLength > MAX_QUEUED_RESPONSE_BYTES && !this.#paused) {
      // A slow reader: stop taking requests until the socket drains instead of buffering without bound.
      socket.pause()
      this.#paused = true
      return
    }
    this.#maybeResume()
  }

  #maybeResume(): void {
    if (!this.#paused || this.#closed || this.#server.shutdown.aborted || this.#pausedForBudget) return
    if (this.#backlog() >= MAX_PENDING_RESPONSES / 2) return
    if (this.#atProduceBound()) return
    if (this.#socket.writableLength > MAX_QUEUED_RESPONSE_BYTES / 2) return
    this.#paused = false
    // The client could not send while we were not reading: its request's deadline starts again.
    if (this.#midFrame()) this.#partialSince = Date.now()
    this.#socket.resume()
  }
}
