// Topic names and topic-level configs: what is accepted, the defaults DescribeConfigs reports,
// and validation for CreateTopics.

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/
export const MAX_TOPIC_NAME_LENGTH = 249

/** Returns why a topic name is invalid, or null when it is fine (Kafka's rules). */
export function topicNameProblem(name: string | null): string | null {
  if (name === null || name.length === 0) return 'topic name is empty'
  if (name === '.' || name === '..') return 'topic name cannot be "." or ".."'
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`
  if (!LEGAL_TOPIC_NAME.test(name)) return 'topic name may contain only ASCII letters, digits, ".", "_" and "-"'
  return null
}

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD'

/** Kafka's DescribeConfigs config type ids. */
export const CONFIG_TYPE_ID: Record<ConfigType, number> = {
  BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9,
}

export interface TopicConfigDefinition {
  name: string
  type: ConfigType
  /** Broker default as a string (function: depends on broker settings). */
  defaultValue: (brokerDefaults: BrokerDefaults) => string
  /** Why the value is refused (after "name=value "), or null; some answers depend on the broker's settings. */
  validate: (value: string, brokerDefaults: BrokerDefaults) => string | null
  /** Whether Zombi acts on it today (others are accepted and reported, for client compatibility). */
  enforced: boolean
}

export interface BrokerDefaults {
  maxMessageBytes: number
  /** Whether every acknowledged append is fsync-ed first (ZOMBI_DURABILITY=fsync, the default when absent). */
  syncsEveryAppend?: boolean
}

/** Kafka's "never" for flush.messages and flush.ms (Long.MAX_VALUE). */
const NEVER = '9223372036854775807'

const long = (min: number) => (v: string): string | null =>
  /^-?\d+$/.test(v) && Number(v) >= min ? null : `must be an integer >= ${min}`
const oneOf = (...values: string[]) => (v: string): string | null =>
  values.includes(v) ? null : `must be one of ${values.join(', ')}`
const list = (...values: string[]) => (v: string): string | null =>
  v.split(',').every((x) => values.includes(x.trim())) ? null : `must be a list of ${values.join(', ')}`
/** A config for machinery Zombi does not have: only the value that describes what Zombi does is accepted. */
const only = (value: string, why: string) => (v: string): string | null =>
  v === value ? null : `is not supported: ${why} (only ${value === '' ? 'an empty value' : value} is accepted)`
/**
 * flush.messages / flush.ms bound how much may wait unsynced; with ZOMBI_DURABILITY=fsync nothing is
 * acknowledged unsynced, which meets every bound. Without fsync only "never" holds.
 */
const flushBound = (min: number) => (v: string, defaults: BrokerDefaults): string | null => {
  const why = long(min)(v)
  if (why !== null) return why
  if (defaults.syncsEveryAppend === false && v !== NEVER) return `needs ZOMBI_DURABILITY=fsync: this broker acknowledges appends before they are synced (ZOMBI_DURABILITY=none), so only ${NEVER} holds`
  return null
}

export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  { name: 'cleanup.policy', type: 'LIST', defaultValue: () => 'delete', validate: list('delete', 'compact'), enforced: false },
  // producer: batches are stored as their producer compressed them; a codec: recompressed to it on append.
  { name: 'compression.type', type: 'STRING', defaultValue: () => 'producer', validate: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'), enforced: true },
  { name: 'max.message.bytes', type: 'INT', defaultValue: (d) => String(d.maxMessageBytes), validate: long(0), enforced: true },
  { name: 'message.timestamp.type', type: 'STRING', defaultValue: () => 'CreateTime', validate: oneOf('CreateTime', 'LogAppendTime'), enforced: true },
  // Retention of the whole log: the Kafka view's log start moves past what they put out (the hot log,
  // BrokerLog.enforceTopicRetention) and the Iceberg table drops whole files (src/iceberg/retention.ts).
  // The table is the long-term store, so a topic without retention.ms keeps everything (-1), not Kafka's 7 days.
  { name: 'retention.ms', type: 'LONG', defaultValue: () => '-1', validate: long(-1), enforced: true },
  { name: 'retention.bytes', type: 'LONG', defaultValue: () => '-1', validate: long(-1), enforced: true },
  { name: 'segment.bytes', type: 'INT', defaultValue: () => '1073741824', validate: long(14), enforced: false },
  { name: 'segment.ms', type: 'LONG', defaultValue: () => '604800000', validate: long(1), enforced: false },
  // One replica per partition: above 1, Produce with acks=all is answered NOT_ENOUGH_REPLICAS, as Kafka does.
  { name: 'min.insync.replicas', type: 'INT', defaultValue: () => '1', validate: long(1), enforced: true },
  { name: 'unclean.leader.election.enable', type: 'BOOLEAN', defaultValue: () => 'false', validate: only('false', 'a Zombi partition has one replica, which always leads; there is no out-of-sync replica to elect'), enforced: true },
  // CreateTime batches whose first or max timestamp lies further in the past / future are refused INVALID_TIMESTAMP.
  { name: 'message.timestamp.before.max.ms', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(0), enforced: true },
  { name: 'message.timestamp.after.max.ms', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(0), enforced: true },
  { name: 'delete.retention.ms', type: 'LONG', defaultValue: () => '86400000', validate: long(0), enforced: false },
  { name: 'min.compaction.lag.ms', type: 'LONG', defaultValue: () => '0', validate: long(0), enforced: false },
  { name: 'flush.messages', type: 'LONG', defaultValue: () => NEVER, validate: flushBound(1), enforced: true },
  // How the topic's Iceberg table holds values (docs/typed-tables.md): key_value keeps the bytes only;
  // the others also decode them into a typed `value` column with the schema registry's schemas.
  { name: 'zombi.iceberg.mode', type: 'STRING', defaultValue: () => 'key_value', validate: oneOf('key_value', 'value_schema_id_prefix', 'value_schema_latest', 'json'), enforced: true },
  { name: 'flush.ms', type: 'LONG', defaultValue: () => NEVER, validate: flushBound(0), enforced: true },
  // Kafka machinery Zombi does not have: accepted at the one value that describes Zombi.
  { name: 'preallocate', type: 'BOOLEAN', defaultValue: () => 'false', validate: only('false', 'hot-log segments are broker-wide files that grow by appends'), enforced: true },
  { name: 'leader.replication.throttled.replicas', type: 'LIST', defaultValue: () => '', validate: only('', 'a Zombi partition has no followers, so there is no replication to throttle'), enforced: true },
  { name: 'follower.replication.throttled.replicas', type: 'LIST', defaultValue: () => '', validate: only('', 'a Zombi partition has no followers, so there is no replication to throttle'), enforced: true },
  // The Iceberg table is every topic's remote tier.
  { name: 'remote.storage.enable', type: 'BOOLEAN', defaultValue: () => 'true', validate: only('true', 'every Zombi topic is tiered to its Iceberg table'), enforced: true },
  { name: 'remote.log.copy.disable', type: 'BOOLEAN', defaultValue: () => 'false', validate: only('false', 'every Zombi topic is flushed to its Iceberg table'), enforced: true },
]

/** Kafka topic configs refused whatever their value, with the reason (docs/topic-configs.md). */
export const REFUSED_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'local.retention.ms': 'the hot log is broker-wide; its retention is ZOMBI_HOT_RETENTION_MS, and retention.ms governs the whole log',
  'local.retention.bytes': 'the hot log is broker-wide; its retention is ZOMBI_HOT_RETENTION_BYTES, and retention.bytes governs the whole log',
  'remote.log.delete.on.disable': 'tiering to the Iceberg table cannot be turned off',
  'remote.copy.lag.ms': 'records go to the Iceberg table by ZOMBI_FLUSH_INTERVAL_SECS and ZOMBI_TARGET_FILE_SIZE_MB',
  'remote.copy.lag.bytes': 'records go to the Iceberg table by ZOMBI_FLUSH_INTERVAL_SECS and ZOMBI_TARGET_FILE_SIZE_MB',
  'index.interval.bytes': 'Zombi indexes every record batch (in classic-level); there is no sparse offset index to space out',
  'segment.index.bytes': 'Zombi has no per-segment index files; the batch index lives in classic-level',
  'segment.jitter.ms': 'hot-log segments are broker-wide and roll at ZOMBI_SEGMENT_BYTES',
  'file.delete.delay.ms': 'hot-log segments are broker-wide; hot retention deletes them once flushed and past ZOMBI_HOT_RETENTION_*',
  'message.downconversion.enable': 'Zombi never converts record batches to older message formats',
  'message.timestamp.difference.max.ms': 'removed in Apache Kafka 4.0; use message.timestamp.before.max.ms and message.timestamp.after.max.ms',
  'max.decompressed.message.bytes': 'not implemented: batches are stored compressed and only decoded by the flusher',
  'compression.gzip.level': 'broker-side recompression uses each codec\'s default level',
  'compression.lz4.level': 'broker-side recompression uses each codec\'s default level',
  'compression.zstd.level': 'broker-side recompression uses each codec\'s default level',
  'errors.deadletterqueue.group.enable': 'share groups are not implemented',
}

const BY_NAME = new Map(TOPIC_CONFIGS.map((c) => [c.name, c]))

export function topicConfigDefinition(name: string): TopicConfigDefinition | undefined {
  return BY_NAME.get(name)
}

/** Returns why a topic config entry is invalid, or null. */
export function topicConfigProblem(name: string, value: string | null, defaults: BrokerDefaults = { maxMessageBytes: 0 }): string | null {
  const def = BY_NAME.get(name)
  const refused = REFUSED_TOPIC_CONFIGS[name]
  if (refused !== undefined) return `${name} is not supported: ${refused}`
  if (def === undefined) return `unknown topic config ${name}`
  if (value === null) return `${name} needs a value`
  const why = def.validate(value, defaults)
  return why === null ? null : `${name}=${value} ${why}`
}

/** The effective value of a topic config. */
export function effectiveTopicConfig(configs: Record<string, string>, name: string, defaults: BrokerDefaults): string {
  return configs[name] ?? BY_NAME.get(name)?.defaultValue(defaults) ?? ''
}
