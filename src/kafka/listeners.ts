// The broker's Kafka listeners: one server per ZOMBI_LISTENERS entry, each telling its clients its
// own advertised address, all sharing the router, the broker's state and the socket guard.
import { formatListeners, usesSasl, usesTls, type ListenerSpec } from '../config/listeners.ts'
import type { Logger } from '../observability/logger.ts'
import type { SaslServices } from '../security/sasl-session.ts'
import type { TlsCredentials } from '../security/tls.ts'
import type { BrokerIdentity } from './handler.ts'
import type { Router, ServerContext } from './router.ts'
import { KafkaServer } from './server.ts'
import type { SocketGuard } from './socket-guard.ts'

export interface OpenListener {
  name: string
  protocol: ListenerSpec['protocol']
  /** The bound port. */
  port: number
  /** What its clients are told (Metadata and the like). */
  advertised: string
}

export class KafkaListeners {
  readonly #servers: KafkaServer[] = []
  readonly #guard: SocketGuard
  readonly opened: OpenListener[] = []

  private constructor(guard: SocketGuard) {
    this.#guard = guard
  }

  /**
   * Binds every listener (ports first, so advertised.listeners can name the bound ports of port-0
   * listeners), then answers. `tls` is required when a listener uses TLS and `sasl` when one uses SASL
   * (config has checked both).
   */
  static async open(
    specs: readonly ListenerSpec[], router: Router, shared: Omit<ServerContext, 'broker'>, identity: { nodeId: number; clusterId: string },
    logger: Logger, guard: SocketGuard, tls: TlsCredentials | null, sasl: SaslServices | null,
  ): Promise<KafkaListeners> {
    const listeners = new KafkaListeners(guard)
    const brokers: BrokerIdentity[] = []
    try {
      for (const spec of specs) {
        const broker: BrokerIdentity = { nodeId: identity.nodeId, host: spec.advertisedHost, port: 0, clusterId: identity.clusterId, rack: null, advertisedListeners: '' }
        const context: ServerContext = { ...shared, broker }
        if (usesSasl(spec.protocol) && sasl !== null) context.sasl = sasl
        const server = new KafkaServer(router, context, logger.child({ listener: spec.name }), guard, usesTls(spec.protocol) ? tls ?? undefined : undefined)
        listeners.#servers.push(server)
        const port = await server.listen(spec.host, spec.port)
        broker.port = spec.advertisedPort ?? port
        brokers.push(broker)
        listeners.opened.push({ name: spec.name, protocol: spec.protocol, port, advertised: `${broker.host}:${broker.port}` })
      }
    } catch (error) {
      await listeners.close(0)
      throw error
    }
    const advertised = formatListeners(specs.map((spec, i) => ({ name: spec.name, host: brokers[i]!.host, port: brokers[i]!.port })))
    for (const broker of brokers) broker.advertisedListeners = advertised
    return listeners
  }

  get connectionCount(): number {
    return this.#servers.reduce((sum, server) => sum + server.connectionCount, 0)
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all(this.#servers.map((server) => server.close(graceMs)))
    this.#guard.close()
  }
}
