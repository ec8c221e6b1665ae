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
  validate: (value: string) => string | null
  /** Whether Zombi acts on it today (others are accepted and reported, for client compatibility). */
  enforced: boolean
}

export interface BrokerDefaults {
  maxMessageBytes: number
}

const long = (min: number) => (v: string): string | null =>
  /^-?\d+$/.test(v) && Number(v) >= min ? null : `must be an integer >= ${min}`
const oneOf = (...values: string[]) => (v: string): string | null =>
  values.includes(v) ? null : `must be one of ${values.join(', ')}`
const bool = oneOf('true', 'false')
const ratio = (v: string): string | null => (/^\d*\.?\d+(e-?\d+)?$/i.test(v) && Number(v) >= 0 && Number(v) <= 1 ? null : 'must be a number between 0 and 1')
const list = (...values: string[]) => (v: string): string | null =>
  v.split(',').every((x) => values.includes(x.trim())) ? null : `must be a list of ${values.join(', ')}`

export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  // compact: the log cleaner (src/log/log-cleaner.ts, docs/compacted-topics.md) keeps the latest record per key
  // in the hot log for ever; delete: the topic's retention.ms/retention.bytes apply (to its Iceberg table).
  { name: 'cleanup.policy', type: 'LIST', defaultValue: () => 'delete', validate: list('delete', 'compact'), enforced: true },
  { name: 'compression.type', type: 'STRING', defaultValue: () => 'producer', validate: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'), enforced: false },
  { name: 'max.message.bytes', type: 'INT', defaultValue: (d) => String(d.maxMessageBytes), validate: long(0), enforced: true },
  { name: 'message.timestamp.type', type: 'STRING', defaultValue: () => 'CreateTime', validate: oneOf('CreateTime', 'LogAppendTime'), enforced: true },
  // Retention of the topic's Iceberg table (src/iceberg/retention.ts): the table is the long-term
  // store, so a topic without retention.ms keeps everything (-1), not Kafka's 7 days.
  { name: 'retention.ms', type: 'LONG', defaultValue: () => '-1', validate: long(-1), enforced: true },
  { name: 'retention.bytes', type: 'LONG', defaultValue: () => '-1', validate: long(-1), enforced: true },
  // A compacted partition's active segment (never cleaned): its newest batches up to segment.bytes, and
  // none whose first batch is older than segment.ms (the shared log's own files roll at ZOMBI_SEGMENT_BYTES).
  { name: 'segment.bytes', type: 'INT', defaultValue: () => '1073741824', validate: long(14), enforced: true },
  { name: 'segment.ms', type: 'LONG', defaultValue: () => '604800000', validate: long(1), enforced: true },
  { name: 'min.insync.replicas', type: 'INT', defaultValue: () => '1', validate: long(1), enforced: false },
  { name: 'unclean.leader.election.enable', type: 'BOOLEAN', defaultValue: () => 'false', validate: bool, enforced: false },
  { name: 'message.timestamp.before.max.ms', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(0), enforced: false },
  { name: 'message.timestamp.after.max.ms', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(0), enforced: false },
  // The log cleaner's rules (docs/compacted-topics.md).
  { name: 'delete.retention.ms', type: 'LONG', defaultValue: () => '86400000', validate: long(0), enforced: true },
  { name: 'min.compaction.lag.ms', type: 'LONG', defaultValue: () => '0', validate: long(0), enforced: true },
  { name: 'max.compaction.lag.ms', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(1), enforced: true },
  { name: 'min.cleanable.dirty.ratio', type: 'DOUBLE', defaultValue: () => '0.5', validate: ratio, enforced: true },
  { name: 'flush.messages', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(1), enforced: false },
  // How the topic's Iceberg table holds values (docs/typed-tables.md): key_value keeps the bytes only;
  // the others also decode them into a typed `value` column with the schema registry's schemas.
  { name: 'zombi.iceberg.mode', type: 'STRING', defaultValue: () => 'key_value', validate: oneOf('key_value', 'value_schema_id_prefix', 'value_schema_latest', 'json'), enforced: true },
  { name: 'flush.ms', type: 'LONG', defaultValue: () => '9223372036854775807', validate: long(0), enforced: false },
]

const BY_NAME = new Map(TOPIC_CONFIGS.map((c) => [c.name, c]))

export function topicConfigDefinition(name: string): TopicConfigDefinition | undefined {
  return BY_NAME.get(name)
}

/** Returns why a topic config entry is invalid, or null. */
export function topicConfigProblem(name: string, value: string | null): string | null {
  const def = BY_NAME.get(name)
  if (def === undefined) return `unknown topic config ${name}`
  if (value === null) return `${name} needs a value`
  const why = def.validate(value)
  return why === null ? null : `${name}=${value} ${why}`
}

/** Why a topic's configs do not fit together (Kafka's cross-checks), or null. */
export function topicConfigsProblem(configs: Record<string, string>): string | null {
  const minLag = configs['min.compaction.lag.ms']
  const maxLag = configs['max.compaction.lag.ms']
  if (minLag !== undefined && maxLag !== undefined && Number(minLag) > Number(maxLag)) {
    return `min.compaction.lag.ms=${minLag} is above max.compaction.lag.ms=${maxLag}`
  }
  return null
}

/** The effective value of a topic config. */
export function effectiveTopicConfig(configs: Record<string, string>, name: string, defaults: BrokerDefaults): string {
  return configs[name] ?? BY_NAME.get(name)?.defaultValue(defaults) ?? ''
}
