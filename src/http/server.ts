// The HTTP door. For now: health endpoints (the Zombi HTTP API itself arrives with fastify).
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HealthSource {
  /** Component name -> healthy? */
  components(): Record<string, boolean>
}

export class HttpServer {
  readonly #server: http.Server
  readonly #startedAt = Date.now()

  constructor(health: HealthSource) {
    this.#server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost')
      const send = (status: number, body: unknown): void => {
        const json = JSON.stringify(body)
        response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
        response.end(json)
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, { error: 'method_not_allowed', message: `${request.method} is not allowed here` })
      switch (url.pathname) {
        case '/health':
        case '/health/ready': {
          const components = health.components()
          const ready = Object.values(components).every(Boolean)
          return send(ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', uptime_secs: Math.floor((Date.now() - this.#startedAt) / 1000), components })
        }
        case '/health/live':
          return send(200, { status: 'ok' })
        default:
          return send(404, { error: 'not_found', message: `no route for ${url.pathname}` })
      }
    })
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject)
        resolve((this.#server.address() as AddressInfo).port)
      })
    })
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}
