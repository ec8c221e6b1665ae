// The Kafka TCP listener: accepts connections, hands each to a Connection, and on shutdown
// stops accepting, lets in-flight requests finish (bounded), then closes sockets.
import net from 'node:net'
import type { Logger } from '../observability/logger.ts'
import { Connection } from './connection.ts'
import type { Router, ServerContext } from './router.ts'

export class KafkaServer {
  readonly #server: net.Server
  readonly #connections = new Set<Connection>()
  readonly #logger: Logger

  constructor(router: Router, context: ServerContext, logger: Logger) {
    this.#logger = logger
    this.#server = net.createServer({ noDelay: true }, (socket) => {
      const connection = new Connection(socket, router, context, logger)
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
    await closed
    this.#logger.debug('kafka listener closed')
  }
}
