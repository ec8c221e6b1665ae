import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { loadConfig, nearestSetting, parseFlags, renderSettings, settingDefault, unknownSettings, type Config } from '../../src/config/index.ts'
import type { ListenerSpec } from '../../src/config/listeners.ts'
import { SETTINGS } from '../../src/config/settings.ts'
import { ZombiError } from '../../src/errors.ts'

describe('config', () => {
  it('uses the documented defaults on an empty environment', () => {
    const config = loadConfig({})
    expect(config.kafkaPort).toBe(9092)
    expect(config.httpPort).toBe(8080)
    expect(config.host).toBe('127.0.0.1')
    expect(config.durability).toBe('fsync')
    expect(config.autoCreateTopics).toBe(true)
    expect(config.defaultPartitions).toBe(1)
    expect(config.maxRequestBytes).toBe(100 * 1024 * 1024)
    expect(config.dataDir.endsWith('/data')).toBe(true)
    expect(config.advertisedHost).toBe('127.0.0.1')
  })

  it('reads ZOMBI_* variables and lets flags win over them', () => {
    const config = loadConfig({ ZOMBI_KAFKA_PORT: '9093', ZOMBI_AUTO_CREATE_TOPICS: 'false' }, ['--ZOMBI_KAFKA_PORT=9094', '--ZOMBI_DURABILITY', 'none'])
    expect(config.kafkaPort).toBe(9094)
    expect(config.durability).toBe('none')
    expect(config.autoCreateTopics).toBe(false)
  })

  it('advertises loopback when binding to a wildcard address', () => {
    expect(loadConfig({ ZOMBI_HOST: '0.0.0.0' }).advertisedHost).toBe('127.0.0.1')
    expect(loadConfig({ ZOMBI_HOST: '0.0.0.0', ZOMBI_ADVERTISED_HOST: 'broker.local' }).advertisedHost).toBe('broker.local')
  })

  it.each([
    [{ ZOMBI_KAFKA_PORT: 'abc' }, /ZOMBI_KAFKA_PORT="abc" is invalid: expected an integer/],
    [{ ZOMBI_KAFKA_PORT: '70000' }, /ZOMBI_KAFKA_PORT="70000" is invalid: must be <= 65535/],
    [{ ZOMBI_DURABILITY: 'sometimes' }, /ZOMBI_DURABILITY="sometimes" is invalid: allowed values: fsync, none/],
    [{ ZOMBI_AUTO_CREATE_TOPICS: 'maybe' }, /ZOMBI_AUTO_CREATE_TOPICS="maybe" is invalid: expected true or false/],
    [{ ZOMBI_DEFAULT_PARTITIONS: '0' }, /ZOMBI_DEFAULT_PARTITIONS="0" is invalid: must be >= 1/],
    [{ ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: '45000' }, /ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS \(45000\) must be below ZOMBI_GROUP_CONSUMER_SESSION_TIMEOUT_MS \(45000\)/],
    [{ ZOMBI_GROUP_CONSUMER_ASSIGNORS: 'uniform,sticky' }, /ZOMBI_GROUP_CONSUMER_ASSIGNORS="uniform,sticky" is invalid: name uniform and\/or range/],
  ])('names the variable and what is allowed for %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
    expect(() => loadConfig(env)).toThrow(ZombiError)
  })

  it('rejects unknown flags and flags without a value', () => {
    expect(() => parseFlags(['--ZOMBI_NOPE=1'])).toThrow(/unknown setting ZOMBI_NOPE/)
    expect(() => parseFlags(['--ZOMBI_KAFKA_PROT=1'])).toThrow(/unknown setting ZOMBI_KAFKA_PROT \(nearest known: ZOMBI_KAFKA_PORT\)/)
    expect(() => parseFlags(['--ZOMBI_PORT'])).toThrow(/ZOMBI_PORT needs a value/)
    expect(() => parseFlags(['stray'])).toThrow(/unexpected argument/)
  })

  it('keeps docs/config.md in step with the settings table (npm run docs:config)', () => {
    const docs = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8')
    expect(docs).toBe(renderSettings('markdown'))
  })

  it('reports unknown ZOMBI_* variables with the nearest known name, and starts anyway', () => {
    const env = { ZOMBI_S3_BUKET: 'events', ZOMBI_KAFKA_PROT: '9093', ZOMBI_PORT: '8081', PATH: '/bin', ZOMBIE_X: '1' }
    expect(unknownSettings(env)).toEqual([
      { name: 'ZOMBI_KAFKA_PROT', nearest: 'ZOMBI_KAFKA_PORT' },
      { name: 'ZOMBI_S3_BUKET', nearest: 'ZOMBI_S3_BUCKET' },
    ])
    expect(loadConfig(env).httpPort).toBe(8081)
    expect(unknownSettings({ ZOMBI_PORT: '1', ZOMBI_DATA_DIR: '/d' })).toEqual([])
  })

  it('finds the setting a misspelt name meant', () => {
    expect(nearestSetting('ZOMBI_DATADIR')).toBe('ZOMBI_DATA_DIR')
    expect(nearestSetting('ZOMBI_FLUSH_INTERVAL_SEC')).toBe('ZOMBI_FLUSH_INTERVAL_SECS')
    expect(nearestSetting('ZOMBI_WAREHOUSE')).toBe('ZOMBI_WAREHOUSE')
  })

  it('gives every row its own config field', () => {
    const fields = SETTINGS.map((s) => s.field)
    expect(new Set(fields).size).toBe(fields.length)
    // Derived from several rows: kafkaListeners (ZOMBI_LISTENERS or ZOMBI_HOST/ZOMBI_KAFKA_PORT/ZOMBI_ADVERTISED_*), saslEnabledMechanisms (ZOMBI_SASL_MECHANISMS and the listeners), superUserList, allowIfNoAcl.
    expect(Object.keys(loadConfig({})).sort()).toEqual([...fields, 'kafkaListeners', 'saslEnabledMechanisms', 'httpAuthSchemes', 'superUserList', 'allowIfNoAcl'].sort())
  })

  it('converts MiB, seconds and minutes into the fields\' bytes and milliseconds', () => {
    const config = loadConfig({
      ZOMBI_MIN_FREE_DISK_MB: '3', ZOMBI_HOT_RETENTION_CHECK_SECS: '7', ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB: '5', ZOMBI_MAX_BUFFERED_REQUEST_MB: '300',
      ZOMBI_FETCH_CACHE_MB: '0', ZOMBI_OFFSETS_RETENTION_MINUTES: '2', ZOMBI_MAX_INFLIGHT_BYTES_MB: '9', ZOMBI_HTTP_MAX_BODY_MB: '4',
      ZOMBI_TARGET_FILE_SIZE_MB: '6', ZOMBI_FLUSH_INTERVAL_SECS: '11', ZOMBI_SEGMENT_BYTES: '2000000', ZOMBI_HOT_RETENTION_MS: '-1',
    })
    const MiB = 1024 * 1024
    expect(config).toMatchObject({
      minFreeDiskBytes: 3 * MiB, hotRetentionCheckMs: 7000, kafkaMaxInflightProduceBytes: 5 * MiB, maxBufferedRequestBytes: 300 * MiB,
      fetchCacheBytes: 0, offsetsRetentionMs: 120_000, maxInflightBytes: 9 * MiB, httpMaxBodyBytes: 4 * MiB,
      targetFileBytes: 6 * MiB, flushIntervalMs: 11_000, segmentBytes: 2_000_000, hotRetentionMs: -1,
    })
  })

  it('derives the warehouse from the data dir and resolves paths', () => {
    expect(loadConfig({ ZOMBI_DATA_DIR: '/srv/zombi' })).toMatchObject({ dataDir: '/srv/zombi', warehouse: '/srv/zombi/warehouse' })
    expect(loadConfig({ ZOMBI_DATA_DIR: '/srv/zombi', ZOMBI_WAREHOUSE: '/lake' }).warehouse).toBe('/lake')
    expect(loadConfig({ ZOMBI_WAREHOUSE: 'lake' }).warehouse).toBe(path.resolve('lake'))
  })

  it.each([
    [{ ZOMBI_CATALOG_TYPE: 'rest' }, /ZOMBI_CATALOG_TYPE=rest needs ZOMBI_CATALOG_URL/],
    [{ ZOMBI_CATALOG_TYPE: 'rest', ZOMBI_CATALOG_URL: 'catalog:8181' }, /ZOMBI_CATALOG_URL="catalog:8181" is invalid/],
    [{ ZOMBI_CATALOG_URL: 'http://c:8181' }, /ZOMBI_CATALOG_URL is set but ZOMBI_CATALOG_TYPE=filesystem/],
    [{ ZOMBI_CATALOG_TYPE: 'rest', ZOMBI_CATALOG_URL: 'http://c', ZOMBI_CATALOG_TOKEN: 't', ZOMBI_CATALOG_CREDENTIAL: 'a:b' }, /ZOMBI_CATALOG_TOKEN and ZOMBI_CATALOG_CREDENTIAL are both set/],
    [{ ZOMBI_CATALOG_TYPE: 'rest', ZOMBI_CATALOG_URL: 'http://c', ZOMBI_CATALOG_CREDENTIAL: 'secret' }, /ZOMBI_CATALOG_CREDENTIAL is invalid/],
    [{ ZOMBI_CATALOG_TYPE: 'rest', ZOMBI_CATALOG_URL: 'http://c', ZOMBI_CATALOG_OAUTH2_URI: 'http://c/t' }, /ZOMBI_CATALOG_OAUTH2_URI is set without ZOMBI_CATALOG_CREDENTIAL/],
    [{ ZOMBI_S3_BUCKET: 'lake' }, /ZOMBI_S3_BUCKET is set but ZOMBI_STORAGE=local/],
    [{ ZOMBI_ICEBERG_VEND_CREDENTIALS: 'true' }, /ZOMBI_ICEBERG_VEND_CREDENTIALS=true but ZOMBI_STORAGE=local/],
    [{ ZOMBI_STORAGE: 's3' }, /ZOMBI_STORAGE=s3 needs ZOMBI_S3_BUCKET/],
    [{ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'Lake_1' }, /ZOMBI_S3_BUCKET="Lake_1" is invalid/],
    [{ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'lake', ZOMBI_WAREHOUSE: '/x' }, /ZOMBI_WAREHOUSE is a local directory/],
    [{ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'lake', ZOMBI_S3_PREFIX: '/a/' }, /ZOMBI_S3_PREFIX="\/a\/" is invalid/],
    [{ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'lake', ZOMBI_S3_ENDPOINT: 'localhost:9000' }, /ZOMBI_S3_ENDPOINT="localhost:9000" is invalid/],
    [{ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'lake', ZOMBI_ICEBERG_S3_ENDPOINT: 's3:9000' }, /ZOMBI_ICEBERG_S3_ENDPOINT="s3:9000" is invalid/],
    [{ ZOMBI_ICEBERG_S3_ENDPOINT: 'http://s3:9000' }, /ZOMBI_ICEBERG_S3_ENDPOINT is set but ZOMBI_STORAGE=local/],
    [{ ZOMBI_CATALOG_NAMESPACE: 'a.b' }, /ZOMBI_CATALOG_NAMESPACE="a.b" is invalid/],
    [{ ZOMBI_MAX_REQUEST_BYTES: '2097152', ZOMBI_MAX_BUFFERED_REQUEST_MB: '1' }, /ZOMBI_MAX_BUFFERED_REQUEST_MB \(1048576 bytes\) must be at least ZOMBI_MAX_REQUEST_BYTES \(2097152\)/],
  ])('refuses settings that contradict each other or are not implemented: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
  })

  it('names an S3 warehouse by its URI and accepts a REST catalog with credentials', () => {
    expect(loadConfig({ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'lake', ZOMBI_S3_PREFIX: 'prod/zombi' }).warehouse).toBe('s3://lake/prod/zombi')
    expect(loadConfig({ ZOMBI_STORAGE: 's3', ZOMBI_S3_BUCKET: 'lake' }).warehouse).toBe('s3://lake')
    expect(loadConfig({ ZOMBI_CATALOG_TYPE: 'rest', ZOMBI_CATALOG_URL: 'http://c:8181', ZOMBI_CATALOG_CREDENTIAL: 'id:se:cret' })).toMatchObject({ catalogType: 'rest', catalogScope: 'catalog' })
  })

  it('serves table defaults in the field\'s unit to code without a loaded config', () => {
    expect(settingDefault('segmentBytes')).toBe(256 * 1024 * 1024)
    expect(settingDefault('fetchCacheBytes')).toBe(0)
    expect(settingDefault('advertisedKafkaPort')).toBeNull()
    expect(settingDefault('snapshotRetentionMs')).toBe(3_600_000)
  })

  it('types every field as the settings table says', () => {
    expectTypeOf<Config>().toEqualTypeOf<{
      host: string; kafkaPort: number; httpPort: number; advertisedHost: string; advertisedKafkaPort: number | null; nodeId: number
      listeners: string | null; advertisedListeners: string | null; listenerSecurityProtocolMap: string | null; tlsCertFile: string | null
      tlsKeyFile: string | null; tlsCaFile: string | null; tlsClientAuth: 'none' | 'requested' | 'required'; tlsReloadCheckMs: number
      httpAuth: string; httpTls: boolean; httpMetricsOpen: boolean; httpAuthSchemes: Array<'basic' | 'bearer'>
      superUsers: string | null; allowEveryoneIfNoAclFound: boolean | null; superUserList: string[]; allowIfNoAcl: boolean
      kafkaListeners: ListenerSpec[]; saslEnabledMechanisms: Array<'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER'>
      saslMechanisms: string | null; saslUsersFile: string | null; saslScramIterations: number; saslSessionLifetimeMs: number; saslFailedAuthDelayMs: number
      oauthJwksFile: string | null; oauthJwksUrl: string | null; oauthIssuer: string | null; oauthAudience: string | null; oauthClockSkewMs: number
      dataDir: string; durability: 'fsync' | 'none'; segmentBytes: number; minFreeDiskBytes: number; hotRetentionMs: number
      hotRetentionBytes: number; hotRetentionCheckMs: number; logCleanerBackoffMs: number; logCleanerIoMaxBytesPerSecond: number; logCleanerDedupeBufferBytes: number; kafkaMaxInflightProduceBytes: number; kafkaConnectionInflightProduceBytes: number; autoCreateTopics: boolean
      defaultPartitions: number; maxPartitions: number; maxRequestBytes: number; maxBufferedRequestBytes: number; requestTimeoutMs: number
      connectionsMaxIdleMs: number; maxConnections: number; maxConnectionsPerAddress: number; maxMessageBytes: number
      fetchCacheBytes: number; coldFetchCacheBytes: number; groupInitialRebalanceDelayMs: number; groupMinSessionTimeoutMs: number; groupMaxSessionTimeoutMs: number
      groupMaxSize: number; groupConsumerSessionTimeoutMs: number; groupConsumerHeartbeatIntervalMs: number; groupConsumerAssignors: string
      offsetsRetentionMs: number; transactionMaxTimeoutMs: number; maxInflightWrites: number; maxInflightBytes: number; httpMaxBodyBytes: number
      logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; storage: 'local' | 's3'; warehouse: string; s3Bucket: string | null
      s3Prefix: string | null; s3Endpoint: string | null; s3Region: string | null; s3ForcePathStyle: boolean; s3MaxRetries: number
      maxConcurrentS3Uploads: number; catalogType: 'filesystem' | 'rest'; catalogUrl: string | null; catalogWarehouse: string | null
      catalogToken: string | null; catalogCredential: string | null; catalogOauth2Uri: string | null; catalogScope: string; icebergS3Endpoint: string | null
      icebergVendCredentials: boolean; catalogNamespace: string; targetFileBytes: number; mallocArenaMax: number; mallocMmapThresholdKib: number; mallocTrimMs: number; garbageBufferBytes: number; v8SemiSpaceMib: number; encodeWorkerIdleMs: number; encodeWorkerMaxBytes: number; flushIntervalMs: number; flushWorkers: number; recreatedTopicTable: 'replace' | 'continue'
      compactionIntervalMs: number; compactedFileBytes: number; compactionOwnWorker: boolean; compactionMaxReadBytes: number; orphanGraceMs: number; snapshotRetentionMs: number
      snapshotMinKeep: number; snapshotExpiryIntervalMs: number; schemaRegistryMaxVersions: number; schemaRegistryMaxBytes: number
    }>()
  })
})
