// What every API handler is: the api key, the version range it really handles, its codec, and
// one `handle` covering all versions. The router builds dispatch and ApiVersions from this list.
import type { Config } from '../config/index.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import type { Logger } from '../observability/logger.ts'
import type { Reader } from '../protocol/reader.ts'
import type { Writer } from '../protocol/writer.ts'
import type { GroupCoordinator } from '../groups/coordinator.ts'
import type { Authorizer } from '../security/authorizer.ts'
import type { CredentialStore } from '../security/credentials.ts'
import type { SaslSession } from '../security/sasl-session.ts'
import type { KafkaTraffic } from './metrics.ts'
import type { ProduceBudget } from './produce-budget.ts'

/** The broker as clients of one listener see it (Metadata, FindCoordinator, DescribeCluster). */
export interface BrokerIdentity {
  nodeId: number
  /** The advertised address of the listener the client connected to. */
  host: string
  port: number
  clusterId: string
  rack: string | null
  /** Every listener's advertised address, NAME://host:port,... (advertised.listeners). */
  advertisedListeners: string
}

export interface SupportedApi {
  apiKey: number
  minVersion: number
  maxVersion: number
}

/** Per-request facts a handler may need; one object per connection, fields updated per request. */
export interface RequestContext {
  readonly log: BrokerLog
  readonly groups: GroupCoordinator
  readonly config: Config
  readonly logger: Logger
  readonly broker: BrokerIdentity
  readonly supportedApis: readonly SupportedApi[]
  /** Aborted when the broker begins to shut down or this request's connection closes (long polls end early). */
  readonly shutdown: AbortSignal
  /** Broker-wide bound on Produce bytes in flight (throttle_time_ms comes from it). */
  readonly produceBudget?: ProduceBudget
  /** Where Produce and Fetch count their records and errors (absent without metrics). */
  readonly traffic?: KafkaTraffic
  /** The users' SCRAM credentials (Describe/AlterUserScramCredentials). */
  readonly credentials: CredentialStore
  /** This connection's SASL state; null on a listener without SASL. */
  readonly sasl: SaslSession | null
  /** The ACLs every handler checks (see authorize.ts). */
  readonly authorizer: Authorizer
  /** The client's address without its port (ACLs name hosts). */
  readonly clientHost: string
  apiVersion: number
  correlationId: number
  clientId: string | null
  remoteAddress: string
  /** The client's principal in Kafka's form: User:ANONYMOUS, User:CN=... (mTLS). */
  principal: string
  /**
   * A buffer for `size` bytes of this request's response, reused for another response once this
   * one has been written (Fetch reads batches from the log files into it); absent without a pool.
   */
  readonly allocateResponseBytes?: (size: number) => Buffer
}

export interface Handler<Request, Response> {
  readonly apiKey: number
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  read(reader: Reader, version: number): Request
  write(writer: Writer, version: number, response: Response): void
  /**
   * Optional asynchronous step that must finish before `handle` runs, such as auto-creating
   * topics. While it runs, later requests of the same connection wait, so that the
   * synchronous part of `handle` (e.g. offset assignment) happens in request order.
   */
  prepare?(request: Request, context: RequestContext): Promise<void> | void
  /**
   * Returns the response, or null when the request gets none (Produce with acks=0). Work
   * whose order matters must happen before the first await: the next request of the
   * connection is dispatched as soon as this returns a promise.
   */
  handle(request: Request, context: RequestContext): Response | null | Promise<Response | null>
}

export type AnyHandler = Handler<unknown, unknown>

export function defineHandler<Request, Response>(handler: Handler<Request, Response>): AnyHandler {
  return handler as unknown as AnyHandler
}
