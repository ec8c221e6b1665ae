// Dispatch by api key, built from the handler list, which is also the ApiVersions answer:
// nothing can be advertised that has no handler.
import type { Config } from '../config/index.ts'
import { ZombiError } from '../errors.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { ApiVersionsResponse } from '../protocol/generated/api-versions.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { GroupCoordinator } from '../groups/coordinator.ts'
import type { Authorizer } from '../security/authorizer.ts'
import type { CredentialStore } from '../security/credentials.ts'
import type { SaslServices } from '../security/sasl-session.ts'
import type { KafkaTraffic } from './metrics.ts'
import type { ProduceBudget } from './produce-budget.ts'
import type { ReadBufferPool } from './read-buffers.ts'
import type { RequestBufferPool } from './request-buffers.ts'
import type { AnyHandler, BrokerIdentity, SupportedApi } from './handler.ts'

/** What every connection shares. */
export interface ServerContext {
  log: BrokerLog
  groups: GroupCoordinator
  config: Config
  broker: BrokerIdentity
  supportedApis: readonly SupportedApi[]
  shutdown: AbortSignal
  metrics?: Metrics
  produceBudget?: ProduceBudget
  traffic?: KafkaTraffic
  credentials: CredentialStore
  authorizer: Authorizer
  /** Set on SASL listeners only: each connection then starts unauthenticated. */
  sasl?: SaslServices
  /** Where Fetch reads batches from the hot log's files (absent: a fresh buffer per batch). */
  readBuffers?: ReadBufferPool
  /** Where requests over 16 KiB and read buffers of 2 KiB and more come from, reused once their Produce requests are answered (absent: fresh buffers). */
  requestBuffers?: RequestBufferPool
}

export class Router {
  readonly #byKey = new Map<number, AnyHandler>()
  readonly supportedApis: readonly SupportedApi[]

  constructor(handlers: readonly AnyHandler[]) {
    for (const handler of handlers) {
      if (this.#byKey.has(handler.apiKey)) throw new ZombiError('INVALID_ARGUMENT', `two handlers for api key ${handler.apiKey}`)
      this.#byKey.set(handler.apiKey, handler)
    }
    this.supportedApis = [...this.#byKey.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey)
  }

  handler(apiKey: number): AnyHandler | undefined {
    return this.#byKey.get(apiKey)
  }

  /** ApiVersions v0 body for a request version we do not handle (error 35 + our ranges). */
  unsupportedApiVersionsResponse(): ApiVersionsResponse {
    return {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: this.supportedApis.map((api) => ({ ...api })),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    }
  }
}
