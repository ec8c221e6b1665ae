// The broker, once main.ts has its settings and V8 flags: storage -> log -> servers -> flusher;
// SIGTERM/SIGINT stop gracefully (with a final flush to Iceberg).
import { randomUUID } from 'node:crypto'
import v8 from 'node:v8'
import type { Catalog } from './catalog/catalog.ts'
import { ConnectOnUse } from './catalog/connect-on-use.ts'
import { FilesystemCatalog } from './catalog/filesystem.ts'
import { connectRestCatalog } from './catalog/rest.ts'
import { servedTables, type ReaderStorage } from './catalog/served-tables.ts'
import { unknownSettings, type Config } from './config/index.ts'
import { ZombiError } from './errors.ts'
import { buildHttpApp } from './http/app.ts'
import { ColdReader } from './iceberg/cold-reader.ts'
import { Compactor } from './iceberg/compaction.ts'
import { COMPACTION_NICENESS, EncodePool } from './iceberg/encode-pool.ts'
import { Flusher, deadLetterTable } from './iceberg/flusher.ts'
import { deadLetterSource } from './iceberg/typed-rows.ts'
import { currentSnapshot } from './iceberg/metadata.ts'
import { FlushMetrics, registerFlushMetrics } from './iceberg/metrics.ts'
import { removeInterruptedWrites } from './iceberg/orphan-cleanup.ts'
import { SnapshotExpirer } from './iceberg/expiry.ts'
import { GroupCoordinator } from './groups/coordinator.ts'
import { registerGroupMetrics } from './groups/metrics.ts'
import { allHandlers } from './kafka/handlers/index.ts'
import { KafkaTraffic, registerKafkaMetrics } from './kafka/metrics.ts'
import { ProduceBudget } from './kafka/produce-budget.ts'
import { ReadBufferPool } from './kafka/read-buffers.ts'
import { RequestBufferPool } from './kafka/request-buffers.ts'
import { SocketGuard } from './kafka/socket-guard.ts'
import { Router } from './kafka/router.ts'
import { KafkaListeners } from './kafka/listeners.ts'
import { BrokerLog } from './log/broker-log.ts'
import { HotRetention } from './log/hot-retention.ts'
import { WorkerBatchCleaner } from './log/batch-cleaner.ts'
import { LogCleaner } from './log/log-cleaner.ts'
import { IdempotencyKeys } from './log/idempotency-keys.ts'
import { registerLogMetrics } from './log/metrics.ts'
import { effectiveTopicConfig } from './log/topic-config.ts'
import { LocalObjectStore } from './objectstore/local.ts'
import type { ObjectStore } from './objectstore/object-store.ts'
import { createLogger, type Logger } from './observability/logger.ts'
import { MemoryRelief, registerMemoryReliefMetrics, tuneMalloc } from './observability/memory-relief.ts'
import { MemoryBudgets, registerMemoryMetrics } from './observability/memory.ts'
import { EVENT_LOOP_DELAY_BUCKETS, EventLoopDelaySampler } from './observability/event-loop-delay.ts'
import { Metrics } from './observability/metrics.ts'
import { registerSchemaRegistryMetrics } from './schema/metrics.ts'
import { SchemaRegistry } from './schema/registry.ts'
import { Authorizer } from './security/authorizer.ts'
import { CredentialStore } from './security/credentials.ts'
import { JwtValidator } from './security/jwt.ts'
import type { SaslServices } from './security/sasl-session.ts'
import { TlsCredentials } from './security/tls.ts'
import { DiskHotStore } from './storage/disk-store.ts'
import type { HotStore } from './storage/hot-store.ts'
import { registerHotStoreMetrics } from './storage/metrics.ts'

// V8 otherwise runs a full mark-compact each time ArrayBuffer memory has grown by 64 MiB since the
// last one, however small the JS heap: produced batches are ArrayBuffer memory (request buffers kept
// by the fetch cache), so a 1 KiB produce stream at 100 MB/s paid one every ~0.6 s (about half of the
// broker's produce CPU went to GC threads, docs/benchmarks.md). With this V8 option that memory
// counts toward the heap's global limit instead, which grows with the heap like any allocation.
v8.setFlagsFromString('--external-memory-accounted-in-global-limit')

const CLUSTER_ID_KEY = 'broker/cluster-id'
const SHUTDOWN_GRACE_MS = 5000
const EXPIRY_CHECK_MS = 60_000
/** Fetch read slabs kept for reuse between responses: a consumer's few responses in flight fit; more is left to the GC. */
const FETCH_READ_POOL_BYTES = 16 << 20
/** Request and read buffers kept for reuse between requests: a few producers' requests in flight fit; more is left to the GC. */
const PRODUCE_REQUEST_POOL_BYTES = 32 << 20

/** Kafka cluster ids are 16 random bytes in URL-safe base64 (22 characters); kept across restarts. */
async function clusterId(store: HotStore): Promise<string> {
  const [existing] = await store.scanState(CLUSTER_ID_KEY)
  if (existing !== undefined) return existing.value.toString('utf8')
  const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url')
  await store.writeState([{ key: CLUSTER_ID_KEY, value: Buffer.from(id) }])
  return id
}

/** Cold storage is unhealthy while a topic's last flush to Iceberg failed (the hot log keeps its records meanwhile). */
function coldStorageHealth(failing: Array<{ topic: string; failures: number; error: string }>, warehouse: string): { ok: boolean; detail: string } {
  if (failing.length === 0) return { ok: true, detail: warehouse }
  const [first] = failing
  return { ok: false, detail: `flush to Iceberg failing for ${failing.length} topic(s), e.g. ${first!.topic} (${first!.failures} attempts): ${first!.error}` }
}

/**
 * Where readers of the embedded REST catalog find the table files: the S3 endpoint, region and path style of
 * ZOMBI_S3_*, and, only with ZOMBI_ICEBERG_VEND_CREDENTIALS, the credentials the broker's AWS chain resolves.
 */
async function readerStorage(config: Config): Promise<ReaderStorage> {
  if (config.storage === 'local') return { storage: 'local', endpoint: null, region: '', pathStyle: false, credentials: null }
  // Only for what the AWS chain resolves (region, keys); it sends no request.
  const { S3Client } = await import('@aws-sdk/client-s3')
  const aws = new S3Client(config.s3Region === null ? {} : { region: config.s3Region })
  // As ZOMBI_S3_REGION says: unset takes AWS_REGION or the profile's region, else us-east-1.
  const region = config.s3Region ?? await aws.config.region().catch(() => 'us-east-1')
  return {
    storage: 's3', endpoint: config.icebergS3Endpoint ?? config.s3Endpoint, region, pathStyle: config.s3ForcePathStyle,
    credentials: config.icebergVendCredentials ? () => aws.config.credentials() : null,
  }
}

/**
 * Where the table files go: the local warehouse directory or the S3 bucket (config has checked the combination).
 * The AWS SDK is loaded only for S3: it is about 28 MiB of a broker's resident memory.
 */
async function openWarehouse(config: Config, logger: Logger): Promise<ObjectStore & { close?(): void }> {
  if (config.storage === 'local') return new LocalObjectStore(config.warehouse, { fsync: config.durability === 'fsync' })
  if (config.s3Bucket === null) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_STORAGE=s3 needs ZOMBI_S3_BUCKET')
  const { S3ObjectStore } = await import('./objectstore/s3.ts')
  return new S3ObjectStore({
    bucket: config.s3Bucket, prefix: config.s3Prefix, endpoint: config.s3Endpoint, region: config.s3Region, forcePathStyle: config.s3ForcePathStyle,
    maxRetries: config.s3MaxRetries, maxConcurrentUploads: config.maxConcurrentS3Uploads, logger,
  })
}

/**
 * The catalog of the topic tables. A REST catalog is connected in the background: the broker serves
 * Kafka while it is unreachable, and flushes wait (failing, retried, visible in /health) until it answers.
 */
function openCatalog(config: Config, warehouse: ObjectStore, logger: Logger): Catalog {
  if (config.catalogType === 'filesystem') return new FilesystemCatalog(warehouse)
  const url = config.catalogUrl
  if (url === null) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_CATALOG_TYPE=rest needs ZOMBI_CATALOG_URL')
  const catalog = new ConnectOnUse(warehouse, () => connectRestCatalog({
    url, warehouse: config.catalogWarehouse, token: config.catalogToken, credential: config.catalogCredential,
    oauth2Uri: config.catalogOauth2Uri, scope: config.catalogScope, store: warehouse, namespace: config.catalogNamespace,
  }))
  catalog.connected().then(
    () => logger.info({ url }, 'connected to the Iceberg REST catalog'),
    (error: unknown) => logger.error({ err: error, url }, 'the Iceberg REST catalog is unreachable; flushes to Iceberg wait for it, the hot log keeps every record'),
  )
  return catalog
}

/** The hot store's own health (a full disk names itself: "disk full: 12 MB free, floor 64 MB"), or why closing it failed. */
function hotStorageHealth(store: HotStore, closeError: unknown): { ok: boolean; detail: string } {
  if (closeError !== null) return { ok: false, detail: `closing the hot store failed: ${String(closeError)}` }
  const { ok, detail } = store.health()
  return { ok, detail }
}

/** The users file's users created, the JWKS loaded (null when neither door takes tokens). */
async function authenticationSources(config: Config, credentials: CredentialStore, logger: Logger): Promise<JwtValidator | null> {
  if (config.saslUsersFile !== null) await credentials.bootstrap(config.saslUsersFile, config.saslScramIterations, logger)
  if (!config.saslEnabledMechanisms.includes('OAUTHBEARER') && !config.httpAuthSchemes.includes('bearer')) return null
  const jwt = new JwtValidator({ jwksFile: config.oauthJwksFile, jwksUrl: config.oauthJwksUrl, issuer: config.oauthIssuer, audience: config.oauthAudience, clockSkewMs: config.oauthClockSkewMs })
  await jwt.load()
  return jwt
}

/** What the SASL listeners share (null without SASL listeners). */
function saslServices(config: Config, credentials: CredentialStore, jwt: JwtValidator | null, logger: Logger): SaslServices | null {
  if (config.saslEnabledMechanisms.length === 0) return null
  return {
    mechanisms: config.saslEnabledMechanisms, credentials, jwt: config.saslEnabledMechanisms.includes('OAUTHBEARER') ? jwt : null,
    sessionLifetimeMs: config.saslSessionLifetimeMs, failedAuthenticationDelayMs: config.saslFailedAuthDelayMs, logger,
  }
}

async function start(config: Config, logger: Logger): Promise<void> {
  const store = new DiskHotStore({ dir: config.dataDir, durability: config.durability, segmentBytes: config.segmentBytes, minFreeBytes: config.minFreeDiskBytes, logger })
  const recovery = await store.open()
  if (recovery.reindexedBatches > 0 || recovery.truncatedBytes > 0) {
    logger.warn({ reindexedBatches: recovery.reindexedBatches, truncatedBytes: recovery.truncatedBytes }, 'hot log recovered after an unclean stop')
  }
  let storeClosed: unknown = null
  const warehouse = await openWarehouse(config, logger)
  const catalog = openCatalog(config, warehouse, logger)
  // Reads below the hot log's start, for both doors: HTTP reads and Kafka Fetch/ListOffsets.
  const coldReader = new ColdReader(catalog, config.catalogNamespace)
  const log = new BrokerLog({
    store, logger, defaults: { maxMessageBytes: config.maxMessageBytes, syncsEveryAppend: config.durability === 'fsync' }, fetchCacheBytes: config.fetchCacheBytes, maxPartitions: config.maxPartitions,
    readCold: (table, query) => coldReader.read(table, query),
    coldFetchCacheBytes: config.coldFetchCacheBytes,
    // A full disk is answered (KAFKA_STORAGE_ERROR / 507) and rolled back; this is only for what
    // cannot be undone in place, e.g. a failed fdatasync, after which what is on disk is unknown.
    // Like a Kafka log-dir failure on a single broker: stop rather than serve with a hole.
    onStorageFailure: () => process.exit(1),
    autoCreateTopics: config.autoCreateTopics,
    defaultPartitions: config.defaultPartitions,
  })
  await log.open(recovery)
  const groups = new GroupCoordinator(log, logger, config)
  // Loaded before the listener opens, so no client ever sees COORDINATOR_LOAD_IN_PROGRESS.
  await groups.load()
  const idempotencyKeys = new IdempotencyKeys(store)
  await idempotencyKeys.load()
  const schemaRegistry = await SchemaRegistry.open(store, { maxVersions: config.schemaRegistryMaxVersions, maxBytes: config.schemaRegistryMaxBytes }, logger)

  const shutdown = new AbortController()
  const retention = new HotRetention({
    store, logger, topics: () => log.topics(), retentionMs: config.hotRetentionMs, retentionBytes: config.hotRetentionBytes,
  })
  // After an Iceberg commit, in a later macrotask: by then every acknowledged append is in the in-memory index.
  let retentionSoon: NodeJS.Timeout | null = null
  const enforceRetention = (): void => {
    retention.enforce().catch((error: unknown) => logger.error({ err: error }, 'hot retention pass failed'))
    // The topics' retention.ms/retention.bytes over what Kafka and HTTP readers see (the hot log and the table).
    log.enforceTopicRetention(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'topic retention pass failed'))
  }
  const scheduleRetention = (): void => {
    if (shutdown.signal.aborted) return
    retentionSoon ??= setTimeout(() => {
      retentionSoon = null
      enforceRetention()
    }, 100)
  }

  log.onFlushed(scheduleRetention)
  const cleaner = new LogCleaner({
    store, logger, topics: () => log.topics(),
    relocateBefore: () => retention.wantedBefore(),
    onCleaned: scheduleRetention,
    ioMaxBytesPerSecond: config.logCleanerIoMaxBytesPerSecond,
    dedupeBufferBytes: config.logCleanerDedupeBufferBytes,
    // Decompressing and rebuilding batches off the event loop, below its priority.
    engine: new WorkerBatchCleaner(),
  })
  await cleaner.load()
  cleaner.start(config.logCleanerBackoffMs)

  const flushMetrics = new FlushMetrics()
  const produceBudget = new ProduceBudget(config.kafkaMaxInflightProduceBytes)
  // Slabs Fetch reads batches from the log files into, kept between responses up to this much.
  const readBuffers = new ReadBufferPool(FETCH_READ_POOL_BYTES)
  // Buffers requests and reads go into; one comes back once the Produce requests in it are answered.
  const requestBuffers = new RequestBufferPool(PRODUCE_REQUEST_POOL_BYTES)
  const memoryRelief = new MemoryRelief(logger)
  memoryRelief.trimEvery(config.mallocTrimMs)
  const socketGuard = new SocketGuard({
    maxBufferedRequestBytes: config.maxBufferedRequestBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    connectionsMaxIdleMs: config.connectionsMaxIdleMs,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
  }, { discarded: (bytes) => memoryRelief.dropped(bytes) })
  const metrics = new Metrics()
  registerGroupMetrics(metrics, groups)
  registerLogMetrics(metrics, log, retention.stats, cleaner.stats)
  registerHotStoreMetrics(metrics, store)
  registerFlushMetrics(metrics, flushMetrics)
  registerKafkaMetrics(metrics, socketGuard, produceBudget)
  registerMemoryReliefMetrics(metrics, memoryRelief)
  registerSchemaRegistryMetrics(metrics, schemaRegistry)
  const loopDelay = new EventLoopDelaySampler(metrics.histogram('zombi_event_loop_delay_seconds', 'How much later than due the main thread ran a 10 ms timer', EVENT_LOOP_DELAY_BUCKETS))

  const router = new Router(allHandlers)
  const tls = config.tlsCertFile === null || config.tlsKeyFile === null ? null : new TlsCredentials({
    certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, caFile: config.tlsCaFile, clientAuth: config.tlsClientAuth, reloadCheckMs: config.tlsReloadCheckMs,
  }, logger)
  const credentials = new CredentialStore(store)
  await credentials.load()
  const jwt = await authenticationSources(config, credentials, logger)
  const sasl = saslServices(config, credentials, jwt, logger)
  const authorizer = new Authorizer(store, { superUsers: config.superUserList, allowIfNoAcl: config.allowIfNoAcl })
  await authorizer.load()
  const kafka = await KafkaListeners.open(
    config.kafkaListeners, router, { log, groups, config, supportedApis: router.supportedApis, shutdown: shutdown.signal, metrics, produceBudget, traffic: new KafkaTraffic(metrics), credentials, authorizer, readBuffers, requestBuffers },
    { nodeId: config.nodeId, clusterId: await clusterId(store) }, logger, socketGuard, tls, sasl,
  )
  const kafkaPort = kafka.opened[0]!.port
  const flushPool = new EncodePool(config.flushWorkers, { recycleBytes: config.encodeWorkerMaxBytes, idleMs: config.encodeWorkerIdleMs || Number.POSITIVE_INFINITY })
  const flusher = new Flusher({
    // The flusher hands back the partitions this log gave it.
    source: log,
    catalog,
    namespace: config.catalogNamespace,
    pool: flushPool,
    metrics: flushMetrics,
    logger,
    targetFileBytes: config.targetFileBytes,
    intervalMs: config.flushIntervalMs,
    recreatedTopicPolicy: config.recreatedTopicTable,
    schemas: schemaRegistry,
  })
  // Before the flusher starts, so no flush of this process is writing files yet (the grace period
  // protects other writers); a failure here only leaves garbage, it must not stop the broker.
  try {
    await removeInterruptedWrites({ catalog, namespace: config.catalogNamespace, graceMs: config.orphanGraceMs, logger })
  } catch (error) {
    logger.error({ err: error }, 'removing files left in the warehouse by interrupted writes failed; they stay until the next start')
  }
  await flusher.start()
  // By default rewrites run on the flush workers when no flush runs (one worker's memory, not two); with
  // ZOMBI_COMPACTION_OWN_WORKER on a worker of their own below the flush encoders' priority (nice 19
  // against 10), so a flush never queues behind a rewrite, nor waits for its CPU.
  const compactionPool = config.compactionOwnWorker
    ? new EncodePool(1, { niceness: COMPACTION_NICENESS, recycleBytes: config.encodeWorkerMaxBytes, idleMs: config.encodeWorkerIdleMs || Number.POSITIVE_INFINITY })
    : flushPool
  const compactor = new Compactor({
    catalog,
    namespace: config.catalogNamespace,
    pool: compactionPool,
    ownsPool: config.compactionOwnWorker,
    logger,
    compactedFileBytes: config.compactedFileBytes,
    maxReadBytes: config.compactionMaxReadBytes,
    flushesIdle: () => flusher.whenIdle(),
    metrics: flushMetrics,
  })
  const memory = new MemoryBudgets()
  memory.add('fetch_cache', config.fetchCacheBytes, () => log.fetchCacheUsedBytes)
  if (log.cold !== null) {
    const cold = log.cold
    memory.add('cold_fetch_cache', config.coldFetchCacheBytes, () => cold.usedBytes)
  }
  memory.add('buffered_requests', config.maxBufferedRequestBytes, () => socketGuard.bufferedRequestBytes)
  memory.add('inflight_produce', config.kafkaMaxInflightProduceBytes, () => produceBudget.inflightBytes)
  // Slabs kept between Fetch responses (those lent to responses being written count with them).
  memory.add('fetch_read_slabs', FETCH_READ_POOL_BYTES, () => readBuffers.freeBytes)
  // Produce request buffers kept between requests (those of requests being handled count in inflight_produce).
  memory.add('produce_request_buffers', PRODUCE_REQUEST_POOL_BYTES, () => requestBuffers.freeBytes)
  memory.addWorkers(flushPool)
  if (compactionPool !== flushPool) memory.addWorkers(compactionPool)
  memoryRelief.collectGarbageBuffersAbove(config.garbageBufferBytes, () => memory.usedBytes())
  registerMemoryMetrics(metrics, memory)
  // Every topic's table and its dead-letter table where one was ever written: one listing per pass,
  // so a pass does not load (and, on a REST catalog, ask for) a missing dead-letter table per topic.
  compactor.start(config.compactionIntervalMs, async () => {
    const existing = new Set(await catalog.listTables(config.catalogNamespace))
    return [...log.topics()].flatMap((topic) => [topic.name, deadLetterTable(topic.name)]).filter((table) => existing.has(table))
  })
  const snapshotExpirer = new SnapshotExpirer({
    catalog,
    namespace: config.catalogNamespace,
    policy: { retentionMs: config.snapshotRetentionMs, minKeep: config.snapshotMinKeep },
    intervalMs: config.snapshotExpiryIntervalMs,
    metrics: flushMetrics,
    logger,
    // The topic's retention.ms/retention.bytes govern its table; retention.bytes is per Kafka partition,
    // so the table as a whole keeps retention.bytes × partitions.
    // A dead-letter table holds records of its topic: the topic's retention governs it too.
    retention: (table) => {
      const topic = log.topicByName(deadLetterSource(table) ?? table)
      if (topic === undefined) return null
      const retentionMs = Number(effectiveTopicConfig(topic.configs, 'retention.ms', log.defaults))
      const retentionBytes = Number(effectiveTopicConfig(topic.configs, 'retention.bytes', log.defaults))
      return { retentionMs, retentionBytes: retentionBytes < 0 ? -1 : retentionBytes * topic.partitions.length }
    },
    onRetention: (table) => log.tableRowsRemoved(table),
  })
  // A first pass right away: a broker restarted more often than the interval still expires.
  if (config.snapshotExpiryIntervalMs > 0) {
    snapshotExpirer.start()
    void snapshotExpirer.runOnce()
  }
  const http = await buildHttpApp({
    log, groups, keys: idempotencyKeys, metrics, config, schemaRegistry, logger,
    iceberg: {
      flush: (table) => flusher.flush(table),
      compact: async (table) => {
        const done = await compactor.compact(table)
        return { ...done, snapshotId: done.snapshotId === null ? null : done.snapshotId.toString() }
      },
      describe: async (table) => {
        const loaded = await catalog.loadTable({ namespace: config.catalogNamespace, name: table })
        if (loaded === null) return null
        const snapshot = currentSnapshot(loaded.metadata)
        return {
          metadataLocation: loaded.metadataLocation,
          tableUuid: loaded.metadata['table-uuid'],
          formatVersion: loaded.metadata['format-version'],
          currentSnapshotId: snapshot === undefined ? null : snapshot['snapshot-id'].toString(),
          snapshots: loaded.metadata.snapshots.length,
          summary: snapshot?.summary ?? {},
        }
      },
    },
    readCold: (table, query) => coldReader.read(table, query),
    icebergCatalog: servedTables(catalog, config.catalogNamespace, await readerStorage(config)),
    components: () => ({
      hot_storage: hotStorageHealth(store, storeClosed),
      kafka_listener: { ok: !shutdown.signal.aborted },
      cold_storage: coldStorageHealth(flusher.failing(), config.warehouse),
    }),
    stats: () => ({ kafka_connections: kafka.connectionCount }),
    access: {
      basic: config.httpAuthSchemes.includes('basic') ? credentials : null, bearer: config.httpAuthSchemes.includes('bearer') ? jwt : null,
      authorizer, metricsOpen: config.httpMetricsOpen, topicExists: (name) => log.topicByName(name) !== undefined,
      failedAuthenticationDelayMs: config.saslFailedAuthDelayMs, logger,
    },
    ...(config.httpTls && tls !== null ? { https: tls } : {}),
  })
  await http.listen({ host: config.host, port: config.httpPort })
  const httpAddress = http.server.address()
  const httpPort = typeof httpAddress === 'object' && httpAddress !== null ? httpAddress.port : config.httpPort
  const expiry = setInterval(() => {
    log.expireProducers(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'expiring idle producer state failed'))
    idempotencyKeys.expire(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'expiring idempotency keys failed'))
    groups.expireOffsets(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'expiring group offsets failed'))
    groups.expireTransactionalIds(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'expiring transactional ids failed'))
  }, EXPIRY_CHECK_MS)
  expiry.unref()
  const retentionTimer = setInterval(enforceRetention, config.hotRetentionCheckMs)
  retentionTimer.unref()

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    shutdown.abort()
    clearInterval(expiry)
    clearInterval(retentionTimer)
    if (retentionSoon !== null) clearTimeout(retentionSoon)
    await cleaner.close()
    await retention.close()
    groups.close()
    await kafka.close(SHUTDOWN_GRACE_MS)
    memoryRelief.close()
    loopDelay.close()
    await http.close()
    // A compaction in flight finishes its rewrite and commit (or gives up and removes its files) first.
    await compactor.close().catch((error: unknown) => logger.error({ err: error }, 'stopping compaction failed'))
    await snapshotExpirer.close()
    try {
      // Produce has stopped: everything acknowledged goes to Iceberg before the process ends.
      await flusher.close()
    } catch (error) {
      logger.error({ err: error }, 'final flush to Iceberg failed; the records stay in the hot log and are flushed at the next start')
    }
    warehouse.close?.()
    try {
      await store.close()
    } catch (error) {
      storeClosed = error
      logger.error({ err: error }, 'closing the hot store failed')
      process.exit(1)
    }
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  // Logged last: a supervisor that sends SIGTERM as soon as it reads "zombi ready" must find the
  // handlers installed (on a loaded machine it did not, and SIGTERM killed the process unflushed).
  logger.info({ kafkaPort, httpPort, dataDir: config.dataDir, warehouse: config.warehouse, catalog: config.catalogType === 'rest' ? config.catalogUrl : 'filesystem', durability: config.durability, advertised: kafka.opened[0]!.advertised, listeners: kafka.opened, httpTls: config.httpTls }, 'zombi ready')
}

/** Runs the broker on `config` until SIGTERM/SIGINT; a failed start exits the process with code 1. */
export function runBroker(config: Config, nodeFlagWarnings: readonly string[]): void {
  const logger = createLogger(config.logLevel)
  for (const { name, nearest } of unknownSettings(process.env)) logger.warn({ variable: name, nearest }, `${name} is not a Zombi setting and is ignored (nearest known: ${nearest}); see --help`)
  for (const warning of nodeFlagWarnings) logger.warn(warning)
  // Before anything starts a thread: arenas are made as threads first allocate.
  const malloc = tuneMalloc(config.mallocArenaMax, config.mallocMmapThresholdKib * 1024, logger)
  if (malloc.length > 0) logger.debug({ malloc }, 'glibc malloc tuned')
  start(config, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, 'zombi failed to start')
    process.exit(1)
  })
}
