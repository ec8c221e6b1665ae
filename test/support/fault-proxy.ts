// An HTTP reverse proxy on 127.0.0.1 in front of an S3 server (moto) whose faults tests switch at run
// time: S3 error answers (500 InternalError, 503 SlowDown, 501 NotImplemented), a connection reset in
// the middle of the request body, a reset after the store already did the work (the answer is lost),
// a response body cut short, delayed answers (a slow store), and a stripped header (a store that
// ignores it). Clients must use path-style addressing so the proxy sees bucket and key in the path.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Fault =
  | { kind: 'status'; status: number; code: string }
  | { kind: 'reset-mid-body'; afterBytes: number }
  | { kind: 'reset-after-forward' }
  | { kind: 'truncate-response'; afterBytes: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'strip-header'; header: string }

/** What a fault matches on: the method and the path with its query (e.g. /bucket/key?partNumber=2&uploadId=…). */
export interface Match {
  method?: string
  url?: RegExp
  header?: string
}

interface Rule {
  fault: Fault
  remaining: number
  match: Match
}

export interface Seen {
  method: string
  url: string
  fault: Fault['kind'] | null
}

const statusCodes: Record<string, string> = { InternalError: 'We encountered an internal error. Please try again.', SlowDown: 'Please reduce your request rate.', NotImplemented: 'A header you provided implies functionality that is not implemented.' }

export const serverError: Fault = { kind: 'status', status: 500, code: 'InternalError' }
export const slowDown: Fault = { kind: 'status', status: 503, code: 'SlowDown' }
export const notImplemented: Fault = { kind: 'status', status: 501, code: 'NotImplemented' }

export class FaultProxy {
  readonly #server: Server
  readonly #upstream: URL
  #rules: Rule[] = []
  /** Every request the proxy got, in arrival order, with the fault it met. */
  readonly seen: Seen[] = []

  private constructor(server: Server, upstream: URL) {
    this.#server = server
    this.#upstream = upstream
  }

  static async start(upstream: string): Promise<FaultProxy> {
    const server = createServer()
    const proxy = new FaultProxy(server, new URL(upstream))
    server.on('request', (request, response) => proxy.#handle(request, response))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** Applies `fault` to the next `times` matching requests (Infinity: until clear()). */
  inject(fault: Fault, times = 1, match: Match = {}): void {
    this.#rules.push({ fault, remaining: times, match })
  }

  /** Drops every pending fault and forgets the requests seen: pass-through again. */
  clear(): void {
    this.#rules = []
    this.seen.length = 0
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise((resolve) => this.#server.close(resolve))
  }

  #take(request: IncomingMessage): Fault | null {
    const rule = this.#rules.find(({ match, remaining }) => remaining > 0 &&
      (match.method === undefined || match.method === request.method) &&
      (match.url === undefined || match.url.test(request.url ?? '')) &&
      (match.header === undefined || request.headers[match.header] !== undefined))
    if (rule === undefined) return null
    rule.remaining--
    return rule.fault
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const fault = this.#take(request)
    this.seen.push({ method: request.method ?? '', url: request.url ?? '', fault: fault?.kind ?? null })
    request.on('error', () => undefined)
    response.on('error', () => undefined)
    switch (fault?.kind) {
      case 'status':
        request.resume()
        request.once('end', () => {
          const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>${statusCodes[fault.code] ?? fault.code}</Message><RequestId>fault-proxy</RequestId></Error>`
          response.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) })
          response.end(request.method === 'HEAD' ? undefined : body)
        })
        return
      case 'reset-mid-body': {
        let received = 0
        request.on('data', (chunk: Buffer) => {
          received += chunk.length
          if (received >= fault.afterBytes) request.socket.destroy()
        })
        request.once('end', () => request.socket.destroy())
        return
      }
      default:
        this.#forward(request, response, fault)
    }
  }

  #forward(request: IncomingMessage, response: ServerResponse, fault: Fault | null): void {
    const headers: IncomingHttpHeaders = fault?.kind === 'strip-header'
      ? Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== fault.header))
      : request.headers
    const upstream = httpRequest({ host: this.#upstream.hostname, port: this.#upstream.port, method: request.method, path: request.url, headers }, (answer) => {
      const relay = (): void => {
        if (fault?.kind === 'reset-after-forward') {
          answer.resume()
          answer.once('end', () => request.socket.destroy())
          return
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        if (fault?.kind === 'truncate-response') {
          let sent = 0
          answer.on('data', (chunk: Buffer) => {
            if (sent + chunk.length >= fault.afterBytes) {
              response.write(chunk.subarray(0, fault.afterBytes - sent))
              response.flushHeaders()
              setImmediate(() => request.socket.destroy())
              answer.destroy()
              return
            }
            sent += chunk.length
            response.write(chunk)
          })
          answer.once('end', () => response.end())
          return
        }
        answer.pipe(response)
      }
      if (fault?.kind === 'delay') setTimeout(relay, fault.ms)
      else relay()
    })
    upstream.on('error', () => request.socket.destroy())
    request.pipe(upstream)
  }
}
