// Turns ZOMBI_* environment variables and --ZOMBI_*=value flags into a validated, typed config.
import path from 'node:path'
import { ZombiError } from '../errors.ts'
import { SETTINGS, type SettingDefinition, type SettingName } from './settings.ts'

export interface Config {
  host: string
  kafkaPort: number
  httpPort: number
  advertisedHost: string
  advertisedKafkaPort: number | null
  nodeId: number
  dataDir: string
  durability: 'fsync' | 'none'
  segmentBytes: number
  minFreeDiskBytes: number
  hotRetentionMs: number
  hotRetentionBytes: number
  hotRetentionCheckMs: number
  kafkaMaxInflightProduceBytes: number
  autoCreateTopics: boolean
  defaultPartitions: number
  maxPartitions: number
  maxRequestBytes: number
  maxBufferedRequestBytes: number
  requestTimeoutMs: number
  connectionsMaxIdleMs: number
  maxConnections: number
  maxConnectionsPerAddress: number
  maxMessageBytes: number
  fetchCacheBytes: number
  groupInitialRebalanceDelayMs: number
  groupMinSessionTimeoutMs: number
  groupMaxSessionTimeoutMs: number
  groupMaxSize: number
  offsetsRetentionMs: number
  maxInflightWrites: number
  maxInflightBytes: number
  httpMaxBodyBytes: number
  logLevel: string
  warehouse: string
  catalogType: 'filesystem'
  catalogNamespace: string
  targetFileBytes: number
  flushIntervalMs: number
  flushWorkers: number
  recreatedTopicTable: 'replace' | 'continue'
  orphanGraceMs: number
}

type RawSettings = Partial<Record<SettingName, string>>

/** Reads `--NAME=value` / `--NAME value` flags; flags win over the environment. */
export function parseFlags(argv: readonly string[]): RawSettings {
  const known = new Set<string>(SETTINGS.map((s) => s.name))
  const out: RawSettings = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new ZombiError('CONFIG_INVALID', `unexpected argument "${arg}" (settings are --ZOMBI_NAME=value)`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!known.has(name)) throw new ZombiError('CONFIG_INVALID', `unknown setting ${name}; see --help`)
    const value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new ZombiError('CONFIG_INVALID', `${name} needs a value`)
    out[name as SettingName] = value
  }
  return out
}

function validate(def: SettingDefinition, raw: string): string | number | boolean {
  const fail = (why: string): never => {
    throw new ZombiError('CONFIG_INVALID', `${def.name}=${JSON.stringify(raw)} is invalid: ${why}`)
  }
  switch (def.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) fail('expected an integer')
      const n = Number(raw)
      if (def.min !== undefined && n < def.min) fail(`must be >= ${def.min}`)
      if (def.max !== undefined && n > def.max) fail(`must be <= ${def.max}`)
      return n
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (v === 'true' || v === '1' || v === 'yes') return true
      if (v === 'false' || v === '0' || v === 'no') return false
      return fail('expected true or false')
    }
    case 'enum':
      if (!def.values!.includes(raw)) fail(`allowed values: ${def.values!.join(', ')}`)
      return raw
    case 'path':
    case 'string':
      if (raw.trim() === '') fail('must not be empty')
      return raw
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Config {
  const flags = parseFlags(argv)
  const values = new Map<string, string | number | boolean | null>()
  for (const def of SETTINGS as readonly SettingDefinition[]) {
    const raw = flags[def.name as SettingName] ?? env[def.name] ?? def.default
    values.set(def.name, raw === null || raw === undefined ? null : validate(def, raw))
  }
  const get = <T>(name: SettingName): T => values.get(name) as T
  const host = get<string>('ZOMBI_HOST')
  const dataDir = path.resolve(get<string>('ZOMBI_DATA_DIR'))
  if (get<string>('ZOMBI_CATALOG_TYPE') === 'rest') {
    throw new ZombiError('CONFIG_INVALID', 'ZOMBI_CATALOG_TYPE=rest is not implemented yet; use filesystem (the default)')
  }
  const namespace = get<string>('ZOMBI_CATALOG_NAMESPACE')
  if (!/^[A-Za-z0-9_-]+$/.test(namespace)) {
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_CATALOG_NAMESPACE=${JSON.stringify(namespace)} is invalid: use letters, digits, _ and -`)
  }
  const maxRequestBytes = get<number>('ZOMBI_MAX_REQUEST_BYTES')
  const maxBufferedRequestBytes = get<number>('ZOMBI_MAX_BUFFERED_REQUEST_MB') * 1024 * 1024
  if (maxBufferedRequestBytes < maxRequestBytes) {
    // Otherwise one request of the allowed size could never finish arriving.
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_MAX_BUFFERED_REQUEST_MB (${maxBufferedRequestBytes} bytes) must be at least ZOMBI_MAX_REQUEST_BYTES (${maxRequestBytes})`)
  }
  const wildcard = host === '0.0.0.0' || host === '::'
  return {
    host,
    kafkaPort: get('ZOMBI_KAFKA_PORT'),
    httpPort: get('ZOMBI_PORT'),
    advertisedHost: get<string | null>('ZOMBI_ADVERTISED_HOST') ?? (wildcard ? '127.0.0.1' : host),
    advertisedKafkaPort: get('ZOMBI_ADVERTISED_KAFKA_PORT'),
    nodeId: get('ZOMBI_NODE_ID'),
    dataDir,
    durability: get('ZOMBI_DURABILITY'),
    segmentBytes: get('ZOMBI_SEGMENT_BYTES'),
    minFreeDiskBytes: get<number>('ZOMBI_MIN_FREE_DISK_MB') * 1024 * 1024,
    hotRetentionMs: get('ZOMBI_HOT_RETENTION_MS'),
    hotRetentionBytes: get('ZOMBI_HOT_RETENTION_BYTES'),
    hotRetentionCheckMs: get<number>('ZOMBI_HOT_RETENTION_CHECK_SECS') * 1000,
    kafkaMaxInflightProduceBytes: get<number>('ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB') * 1024 * 1024,
    autoCreateTopics: get('ZOMBI_AUTO_CREATE_TOPICS'),
    defaultPartitions: get('ZOMBI_DEFAULT_PARTITIONS'),
    maxPartitions: get('ZOMBI_MAX_PARTITIONS'),
    maxRequestBytes,
    maxBufferedRequestBytes,
    requestTimeoutMs: get('ZOMBI_REQUEST_TIMEOUT_MS'),
    connectionsMaxIdleMs: get('ZOMBI_CONNECTIONS_MAX_IDLE_MS'),
    maxConnections: get('ZOMBI_MAX_CONNECTIONS'),
    maxConnectionsPerAddress: get('ZOMBI_MAX_CONNECTIONS_PER_IP'),
    maxMessageBytes: get('ZOMBI_MAX_MESSAGE_BYTES'),
    fetchCacheBytes: get<number>('ZOMBI_FETCH_CACHE_MB') * 1024 * 1024,
    groupInitialRebalanceDelayMs: get('ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS'),
    groupMinSessionTimeoutMs: get('ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS'),
    groupMaxSessionTimeoutMs: get('ZOMBI_GROUP_MAX_SESSION_TIMEOUT_MS'),
    groupMaxSize: get('ZOMBI_GROUP_MAX_SIZE'),
    offsetsRetentionMs: get<number>('ZOMBI_OFFSETS_RETENTION_MINUTES') * 60_000,
    maxInflightWrites: get('ZOMBI_MAX_INFLIGHT_WRITES'),
    maxInflightBytes: get<number>('ZOMBI_MAX_INFLIGHT_BYTES_MB') * 1024 * 1024,
    httpMaxBodyBytes: get<number>('ZOMBI_HTTP_MAX_BODY_MB') * 1024 * 1024,
    logLevel: get('ZOMBI_LOG_LEVEL'),
    warehouse: path.resolve(get<string | null>('ZOMBI_WAREHOUSE') ?? path.join(dataDir, 'warehouse')),
    catalogType: 'filesystem',
    catalogNamespace: namespace,
    targetFileBytes: get<number>('ZOMBI_TARGET_FILE_SIZE_MB') * 1024 * 1024,
    flushIntervalMs: get<number>('ZOMBI_FLUSH_INTERVAL_SECS') * 1000,
    flushWorkers: get('ZOMBI_FLUSH_WORKERS'),
    recreatedTopicTable: get('ZOMBI_RECREATED_TOPIC_TABLE'),
    orphanGraceMs: get<number>('ZOMBI_ORPHAN_GRACE_SECS') * 1000,
  }
}

/** The settings table as markdown (docs/config.md) or as --help text. */
export function renderSettings(format: 'markdown' | 'help'): string {
  const defs = SETTINGS as readonly SettingDefinition[]
  const allowed = (d: SettingDefinition): string =>
    d.kind === 'enum' ? d.values!.join(' \\| ') : d.kind === 'integer' ? `integer ${d.min ?? ''}–${d.max ?? ''}` : d.kind
  if (format === 'help') {
    return defs
      .map((d) => `  ${d.name.padEnd(30)} ${d.description}\n  ${''.padEnd(30)} default: ${d.default ?? '(unset)'}; ${allowed(d).replace(/\\\|/g, '|')}`)
      .join('\n')
  }
  const rows = defs.map((d) => `| \`${d.name}\` | ${d.default === null ? '(unset)' : `\`${d.default}\``} | ${allowed(d)} | ${d.description} |`)
  return [
    '# Configuration',
    '',
    'Every setting is an environment variable, and the same name works as a command-line flag',
    '(`npm start -- --ZOMBI_KAFKA_PORT=9093`; flags win). Values are validated at start; an invalid',
    'value stops the process with a message naming the variable and what is allowed.',
    '',
    'Generated from `src/config/settings.ts` by `npm run docs:config`; a test fails when this file is stale.',
    '',
    '| name | default | allowed | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}
