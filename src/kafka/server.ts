// One Kafka listener (plain TCP or TLS): accepts connections within the socket guard's limits, hands each to a Connection, and on
// shutdown stops accepting, lets in-flight requests finish (bounded), then closes sockets. The guard is broker-wide, shared
// by every listener, and closed by its owner.
import net from 'node:net'
import tls from 'node:tls'
import type { Logger } from '../observability/logger.ts'
import { presentedUnverifiedCertificate, tlsPrincipal, type TlsCredentials } from '../security/tls.ts'
import { Connection } from './connection.ts'
import type { Router, ServerContext } from './router.ts'
import type { SocketGuard } from './socket-guard.ts'

/** Kafka's principal of a client that has not authenticated. */
export const ANONYMOUS = 'User:ANONYMOUS'

export class KafkaServer {
  readonly #server: net.Server
  readonly #connections = new Set<Connection>()
  readonly #logger: Logger
  readonly guard: SocketGuard
  #unsubscribe: (() => void) | null = null

  /** With `tls`, the listener speaks TLS with those credentials (reloaded when their files change). */
  constructor(router: Router, context: ServerContext, logger: Logger, guard: SocketGuard, tlsCredentials?: TlsCredentials) {
    this.#logger = logger
    this.guard = guard
    const accept = (socket: net.Socket, principal: string, directReads: boolean): void => {
      const address = socket.remoteAddress ?? 'unknown'
      const refused = guard.admit(address)
      if (refused !== null) {
        // Closing the newest connection keeps every established client served.
        logger.warn({ remote: `${address}:${socket.remotePort}`, reason: refused, connections: guard.connectionCount }, 'refusing connection: over a connection limit')
        socket.on('error', () => undefined)
        socket.destroy()
        return
      }
      const connection = new Connection(socket, router, context, logger, guard, principal, directReads)
      guard.add(connection)
      this.#connections.add(connection)
      context.metrics?.kafkaConnections.inc()
      connection.socket.on('close', () => {
        this.#connections.delete(connection)
        context.metrics?.kafkaConnections.dec()
      })
    }
    if (tlsCredentials === undefined) {
      // Not read until the connection takes the socket over for direct reads (connection.ts).
      this.#server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => accept(socket, ANONYMOUS, true))
      return
    }
    const server = tls.createServer({ ...tlsCredentials.serverOptions(), noDelay: true, handshakeTimeout: context.config.requestTimeoutMs }, (socket) => {
      if (presentedUnverifiedCertificate(socket)) {
        logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: socket.authorizationError?.toString() }, 'refusing TLS connection: its client certificate does not verify')
        socket.on('error', () => undefined)
        socket.destroy()
        return
      }
      accept(socket, tlsPrincipal(socket) ?? ANONYMOUS, false)
    })
    server.on('tlsClientError', (error, socket) => {
      logger.info({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: error.message }, 'TLS handshake failed')
    })
    this.#unsubscribe = tlsCredentials.subscribe(() => server.setSecureContext(tlsCredentials.serverOptions()))
    this.#server = server
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
    this.#unsubscribe?.()
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
