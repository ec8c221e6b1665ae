// Limits at the Kafka socket, broker-wide: how many connections (in all and per client address),
// how many bytes of incomplete requests may be buffered, how long a request may take to arrive,
// and how long a connection may sit idle. Whatever breaks a limit closes that connection only.

export interface SocketLimits {
  /** Bytes of incomplete request frames, summed over every connection. */
  maxBufferedRequestBytes: number
  /** Longest a request frame may take from its first byte to its last. */
  requestTimeoutMs: number
  /** A connection with nothing in flight and no bytes received for this long is closed (Kafka's connections.max.idle.ms). */
  connectionsMaxIdleMs: number
  maxConnections: number
  maxConnectionsPerAddress: number
}

/** Why the broker closed or refused a connection (the label of zombi_kafka_connections_closed_total). */
export const CLOSE_REASONS = [
  'request_timeout', 'idle', 'buffer_budget', 'too_many_connections', 'too_many_connections_from_address', 'malformed_request', 'internal_error',
] as const

export type CloseReason = (typeof CLOSE_REASONS)[number]

/** What the guard needs to see of a connection. */
export interface GuardedConnection {
  readonly address: string
  /** Bytes buffered towards requests that have not fully arrived. */
  readonly partialBytes: number
  /** Date.now() when the oldest incomplete request began to arrive; 0 when none is (or while the broker itself stopped reading). */
  readonly partialSince: number
  /** Date.now() of the last bytes received or response written. */
  readonly lastActivityAt: number
  /** Requests being handled or responses not yet written: never idle then. */
  readonly busy: boolean
  closeFor(reason: CloseReason, detail: Record<string, unknown>): void
}

export interface SocketGuardEvents {
  /** Bytes of incomplete requests were dropped with their connections: memory worth giving back. */
  discarded?: (bytes: number) => void
}

export class SocketGuard {
  readonly limits: SocketLimits
  readonly #connections = new Set<GuardedConnection>()
  readonly #perAddress = new Map<string, number>()
  readonly #events: SocketGuardEvents
  readonly #sweeper: NodeJS.Timeout
  #bufferedBytes = 0
  /** Connections closed or refused by the broker, by reason (read by /metrics). */
  readonly closedByReason = new Map<CloseReason, number>(CLOSE_REASONS.map((reason) => [reason, 0]))

  constructor(limits: SocketLimits, events: SocketGuardEvents = {}) {
    this.limits = limits
    this.#events = events
    // One timer for every connection rather than one per request: a sweep is a pass over a Set.
    const every = Math.max(25, Math.min(1000, Math.floor(Math.min(limits.requestTimeoutMs, limits.connectionsMaxIdleMs) / 4)))
    this.#sweeper = setInterval(() => this.sweep(Date.now()), every)
    this.#sweeper.unref()
  }

  get bufferedRequestBytes(): number {
    return this.#bufferedBytes
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** Whether a new connection from `address` may be served; if not, the caller closes it at once. */
  admit(address: string): CloseReason | null {
    if (this.#connections.size >= this.limits.maxConnections) return this.#refused('too_many_connections')
    if ((this.#perAddress.get(address) ?? 0) >= this.limits.maxConnectionsPerAddress) return this.#refused('too_many_connections_from_address')
    return null
  }

  add(connection: GuardedConnection): void {
    this.#connections.add(connection)
    this.#perAddress.set(connection.address, (this.#perAddress.get(connection.address) ?? 0) + 1)
  }

  /** A connection has closed, for whatever reason: its buffered bytes no longer count. */
  remove(connection: GuardedConnection): void {
    if (!this.#connections.delete(connection)) return
    const left = this.#perAddress.get(connection.address)! - 1
    if (left === 0) this.#perAddress.delete(connection.address)
    else this.#perAddress.set(connection.address, left)
    const dropped = connection.partialBytes
    if (dropped > 0) {
      this.#bufferedBytes -= dropped
      this.#events.discarded?.(dropped)
    }
  }

  /** A connection's incomplete-request bytes changed by `delta`; over the budget, the largest holders are closed. */
  changeBuffered(delta: number): void {
    this.#bufferedBytes += delta
    if (delta > 0 && this.#bufferedBytes > this.limits.maxBufferedRequestBytes) this.#shed()
  }

  /** Counts a close made by the connection itself (malformed input, a failed handler). */
  noteClosed(reason: CloseReason): void {
    this.closedByReason.set(reason, this.closedByReason.get(reason)! + 1)
  }

  /** Closes connections whose request is overdue or that have been idle too long. */
  sweep(now: number): void {
    const { requestTimeoutMs, connectionsMaxIdleMs } = this.limits
    for (const connection of this.#connections) {
      const since = connection.partialSince
      if (since > 0 && now - since > requestTimeoutMs) {
        this.#close(connection, 'request_timeout', { bufferedBytes: connection.partialBytes, waitedMs: now - since, limitMs: requestTimeoutMs })
      } else if (!connection.busy && connection.partialBytes === 0 && now - connection.lastActivityAt > connectionsMaxIdleMs) {
        this.#close(connection, 'idle', { idleMs: now - connection.lastActivityAt, limitMs: connectionsMaxIdleMs })
      }
    }
  }

  close(): void {
    clearInterval(this.#sweeper)
  }

  /** Closes the connections holding the largest incomplete requests until the total fits the budget again. */
  #shed(): void {
    const holders = [...this.#connections].filter((c) => c.partialBytes > 0).sort((a, b) => b.partialBytes - a.partialBytes)
    for (const connection of holders) {
      if (this.#bufferedBytes <= this.limits.maxBufferedRequestBytes) return
      this.#close(connection, 'buffer_budget', { bufferedBytes: connection.partialBytes, brokerBufferedBytes: this.#bufferedBytes, limitBytes: this.limits.maxBufferedRequestBytes })
    }
  }

  #close(connection: GuardedConnection, reason: CloseReason, detail: Record<string, unknown>): void {
    connection.closeFor(reason, detail)
    // The connection's close event removes it too; removing here keeps the sums right within this pass.
    this.remove(connection)
    this.noteClosed(reason)
  }

  #refused(reason: CloseReason): CloseReason {
    this.noteClosed(reason)
    return reason
  }
}
