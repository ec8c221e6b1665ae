// A loopback TCP proxy that cuts connections at random points, for the fault tests: each connection
// gets a random cut point in the requests it carries (the broker sees a torn frame, and any requests
// before it may be appended without their responses reaching the client) or in the responses (the
// client loses acknowledgements of appended batches), until a bounded number of cuts were made.
import net from 'node:net'

export interface FaultProxyOptions {
  /** The broker's Kafka port on 127.0.0.1. */
  upstreamPort: number
  /** No more cuts after this many; later connections pass everything through. */
  maxCuts: number
  /** Cut points in client-to-broker bytes are drawn from [min, max]. */
  requestCutBytes: [number, number]
  /** Cut points in broker-to-client bytes are drawn from [min, max]. */
  responseCutBytes: [number, number]
  /** Seed of the cut schedule, so a failing run can be repeated. */
  seed: number
}

export interface CutRecord {
  connection: number
  direction: 'request' | 'response'
  afterBytes: number
  reset: boolean
  /**
   * Requests the broker had received in full on this connection whose responses the client never
   * got: if they were produce requests, the broker appended them and the client must retry them as
   * duplicates.
   */
  unanswered: number
}

/** Counts complete Kafka frames (4-byte size, then that many bytes) in a byte stream. */
class FrameCounter {
  frames = 0
  #header = Buffer.alloc(4)
  #headerBytes = 0
  #bodyLeft = -1

  push(chunk: Buffer): void {
    let position = 0
    while (position < chunk.length) {
      if (this.#bodyLeft < 0) {
        const take = Math.min(4 - this.#headerBytes, chunk.length - position)
        chunk.copy(this.#header, this.#headerBytes, position, position + take)
        this.#headerBytes += take
        position += take
        if (this.#headerBytes === 4) {
          this.#headerBytes = 0
          this.#bodyLeft = this.#header.readInt32BE(0)
        }
      } else {
        const take = Math.min(this.#bodyLeft, chunk.length - position)
        this.#bodyLeft -= take
        position += take
      }
      if (this.#bodyLeft === 0) {
        this.frames += 1
        this.#bodyLeft = -1
      }
    }
  }
}

/** mulberry32: a small seeded PRNG, good enough for a cut schedule. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class FaultProxy {
  /** The cuts made since the last arm(). */
  cuts: CutRecord[] = []
  /** While false, every connection passes through untouched (setup, reading back). */
  cutting = false
  #server: net.Server
  #options: FaultProxyOptions
  #random: () => number
  #connections = 0
  #sockets = new Set<net.Socket>()

  private constructor(server: net.Server, options: FaultProxyOptions) {
    this.#server = server
    this.#options = options
    this.#random = prng(options.seed)
  }

  /**
   * Listens on 127.0.0.1 (ephemeral port), disarmed; the upstream port can be set later with
   * `upstreamPort` (the broker must advertise the proxy's port, so it starts after the proxy).
   */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = net.createServer()
    const proxy = new FaultProxy(server, options)
    server.on('connection', (client) => proxy.#accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    return proxy
  }

  /** Starts cutting, with a fresh budget of `maxCuts`. */
  arm(): void {
    this.cuts = []
    this.cutting = true
  }

  disarm(): void {
    this.cutting = false
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port
  }

  set upstreamPort(port: number) {
    this.#options.upstreamPort = port
  }

  get connections(): number {
    return this.#connections
  }

  #between([min, max]: [number, number]): number {
    return min + Math.floor(this.#random() * (max - min + 1))
  }

  #accept(client: net.Socket): void {
    const id = ++this.#connections
    const upstream = net.connect({ host: '127.0.0.1', port: this.#options.upstreamPort })
    this.#sockets.add(client)
    this.#sockets.add(upstream)
    client.on('close', () => this.#sockets.delete(client))
    upstream.on('close', () => this.#sockets.delete(upstream))
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())

    // Decide this connection's fate up front: one cut point in one direction, or none.
    let cut: CutRecord | undefined
    if (this.cutting && this.cuts.length < this.#options.maxCuts) {
      const direction = this.#random() < 0.5 ? 'request' : 'response'
      const range = direction === 'request' ? this.#options.requestCutBytes : this.#options.responseCutBytes
      cut = { connection: id, direction, afterBytes: this.#between(range), reset: this.#random() < 0.5, unanswered: 0 }
    }
    const requests = new FrameCounter()
    const responses = new FrameCounter()
    const unanswered = () => requests.frames - responses.frames
    this.#pipe(client, upstream, requests, cut?.direction === 'request' ? cut : undefined, unanswered)
    this.#pipe(upstream, client, responses, cut?.direction === 'response' ? cut : undefined, unanswered)
  }

  /** Forwards `from` to `to`; with a cut, forwards exactly `afterBytes` bytes, then tears both down. */
  #pipe(from: net.Socket, to: net.Socket, frames: FrameCounter, cut: CutRecord | undefined, unanswered: () => number): void {
    let forwarded = 0
    let done = false
    from.on('data', (chunk: Buffer) => {
      if (done) return
      if (cut === undefined || !this.cutting || this.cuts.length >= this.#options.maxCuts || forwarded + chunk.length < cut.afterBytes) {
        forwarded += chunk.length
        frames.push(chunk)
        if (!to.write(chunk)) {
          from.pause()
          to.once('drain', () => from.resume())
        }
        return
      }
      done = true
      const partial = chunk.subarray(0, cut.afterBytes - forwarded)
      frames.push(partial)
      cut.unanswered = unanswered()
      this.cuts.push(cut)
      // The receiving side gets the partial bytes, then FIN; the sending side gets an RST or a FIN.
      to.end(partial, () => to.destroy())
      if (cut.reset) from.resetAndDestroy()
      else from.destroy()
    })
    from.on('end', () => to.end())
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
