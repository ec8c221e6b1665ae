// The Kafka TCP listener: accepts connections within the socket guard's limits, hands each to a Connection, and on shutdown
// stops accepting, lets in-flight requests finish (bounded), then closes sockets.
import net from 'node:net'
import type { Logger } from '../observability/logger.ts'
import { Connection } from './connection.ts'
import type { Router, ServerContext } from './router.ts'
import type { SocketGuard } from './socket-guard.ts'

export class KafkaServer {
  readonly #server: net.Server
  readonly #connections = new Set<Connection>()
  readonly #logger: Logger
  readonly guard: SocketGuard

  constructor(router: Router, context: ServerContext, logger: Logger, guard: SocketGuard) {
    this.#logger = logger
    this.guard = guard
    this.#server = net.createServer({ noDelay: true }, (socket) => {
      const address = socket.remoteAddress ?? 'unknown'
      const refused = guard.admit(address)
      if (refused !== null) {
        // Closing the newest connection keeps every established client served.
        logger.warn({ remote: `${address}:${socket.remotePort}`, reason: refused, connections: guard.connectionCount }, 'refusing connection: over a connection limit')
        socket.on('error', () => undefined)
        socket.destroy()
        return
      }
      const connection = new Connection(socket, router, context, logger, guard)
      guard.add(connection)
      this.#connections.add(connection)
      context.metrics?.kafkaConnections.inc()
      socket.on('close', () => {
        this.#connections.delete(connection)
        context.metrics?.kafkaConnections.dec()
      })
    })
  }
  get connectionCount(): number {
    return this.#connections.size
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject)
        resolve((this.#server.address() as net.AddressInfo).port)
      })
    })
  }

  /** Stops accepting and reading; waits up to `graceMs` for in-flight responses, then closes. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const connection of this.#connections) connection.stopReading()
    const deadline = Date.now() + graceMs
    while (Date.now() < deadline && [...this.#connections].some((c) => !c.idle && !c.closed)) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    for (const connection of this.#connections) connection.destroy()
    this.guard.close()
    await closed
    this.#logger.debug('kafka listener closed')
  }
}
