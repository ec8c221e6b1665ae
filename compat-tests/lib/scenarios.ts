// The scenario list every family runs, the topics the harness creates for each, and the data each one
// produces, so that every client (TypeScript, Python, Java, Go) is held to the same bytes.

export const scenarioNames = [
  'metadata',
  'admin-create-describe-delete',
  'produce-consume-none',
  'produce-consume-gzip',
  'produce-consume-snappy',
  'produce-consume-lz4',
  'produce-consume-zstd',
  'keys-headers-nulls',
  'timestamps-create-time',
  'timestamps-log-append-time',
  'large-record-1mib',
  'idempotent-producer',
  'group-commit-resume',
  'consume-from-timestamp',
  'sasl-scram-tls',
  'acl-denied',
  'compacted-topic',
  'transactions-read-committed',
  'kip848-group',
] as const

export type ScenarioName = (typeof scenarioNames)[number]

export function isScenarioName(name: string): name is ScenarioName {
  return (scenarioNames as readonly string[]).includes(name)
}

export const codecIds = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
export type Codec = keyof typeof codecIds
export const codecs = Object.keys(codecIds) as Codec[]

/** The codec a `produce-consume-<codec>` scenario uses, else undefined. */
export function codecOf(scenario: ScenarioName): Codec | undefined {
  const match = /^produce-consume-(\w+)$/.exec(scenario)
  return match ? (match[1] as Codec) : undefined
}

export interface TopicSpec {
  partitions: number
  configs: Record<string, string>
}

/** The topic the harness creates before a scenario runs; undefined: the client creates its own. */
export function topicSpecOf(scenario: ScenarioName): TopicSpec | undefined {
  switch (scenario) {
    case 'metadata':
      return { partitions: 3, configs: {} }
    case 'admin-create-describe-delete':
      return undefined
    case 'timestamps-log-append-time':
      return { partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } }
    case 'large-record-1mib':
      return { partitions: 1, configs: { 'max.message.bytes': String(largeRecord.maxMessageBytes) } }
    case 'group-commit-resume':
    case 'kip848-group':
      return { partitions: group.partitions, configs: {} }
    case 'compacted-topic':
      return { partitions: 1, configs: compacted.configs }
    default:
      return { partitions: 1, configs: {} }
  }
}

/** produce-consume-<codec>: 100 records of compressible 1 KiB text. */
export const codecRecords = {
  count: 100,
  key(index: number): Buffer {
    return Buffer.from(`key-${index}`)
  },
  value(index: number): Buffer {
    const line = `record ${index} of the zombi compatibility harness; `
    return Buffer.from(line.repeat(Math.ceil(1024 / line.length)).slice(0, 1024))
  },
}

export interface HarnessRecord {
  key: Buffer | null
  value: Buffer | null
  headers: [string, Buffer][]
}

/** keys-headers-nulls: exactly these records, in this order. */
export const keysHeadersNullsRecords: readonly HarnessRecord[] = [
  {
    key: Buffer.from('k1'),
    value: Buffer.from('v1'),
    headers: [['h1', Buffer.from('a')], ['h1', Buffer.from('b')], ['h2', Buffer.from([0x00, 0xff])]],
  },
  { key: null, value: Buffer.from('v2'), headers: [] },
  { key: Buffer.from('k3'), value: null, headers: [] },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [] },
]

export const timestamps = {
  base: 1_600_000_000_000,
  /** timestamps-create-time: base + i. */
  createTimeCount: 3,
  /** timestamps-log-append-time: produced with `base`, read back with the broker's clock. */
  logAppendTimeCount: 3,
  /** Wall-clock slack around the produce/consume window for LogAppendTime. */
  slackMs: 1000,
  /** consume-from-timestamp: base + 1000 * i, i = 0..9; look up base + 4500, expect offset 5. */
  fromTimestampCount: 10,
  fromTimestampStepMs: 1000,
  fromTimestampLookup: 1_600_000_000_000 + 4500,
  fromTimestampExpectedOffset: 5,
}

export const largeRecord = {
  valueBytes: 1_048_576,
  maxMessageBytes: 2_097_152,
}

export const idempotent = { count: 100 }

export const group = {
  partitions: 4,
  /** Records per partition before the commit, and in total after it. */
  firstPerPartition: 10,
  secondTotal: 20,
}

export const admin = {
  partitions: 3,
  configName: 'retention.ms',
  configValue: '3600000',
}

/**
 * sasl-scram-tls: over the SASL_SSL listener (SCRAM-SHA-512, or 256 where a client lacks 512), produce
 * these records and consume them back byte-exact.
 */
export const secureRecords = {
  count: 5,
  key(index: number): Buffer {
    return Buffer.from(`secure-key-${index}`)
  },
  value(index: number): Buffer {
    return Buffer.from(`secure value ${index} over SASL_SSL with SCRAM`)
  },
}

/**
 * acl-denied: the harness writes `readableCount` records (over PLAINTEXT) before the client runs; the
 * client, as a user with READ on the topic and the group but no WRITE, must be refused a produce with
 * its authorization error, consume those records, and not see the hidden topic (which exists, with no
 * ACL for that user) in the metadata of all topics.
 */
export const aclDenied = {
  readableCount: 3,
  key(index: number): Buffer {
    return Buffer.from(`readable-key-${index}`)
  },
  value(index: number): Buffer {
    return Buffer.from(`readable value ${index}`)
  },
  /** What the client tries to write; it must never be stored. */
  deniedValue: Buffer.from('this write must be refused'),
}

/**
 * compacted-topic: the harness writes `count` records (in batches of `batchRecords`) to a compacted
 * topic, has them flushed to Iceberg and waits until the log cleaner removed older versions; the client
 * then reads from the beginning up to the last offset, and must see only records written at those
 * offsets, the latest of every key last (a tombstone as a null value), with offset gaps between; and a
 * record without a key must be refused.
 */
export const compacted = {
  count: 200,
  batchRecords: 10,
  keys: 10,
  configs: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01' } as Record<string, string>,
  key(offset: number): Buffer {
    return Buffer.from(`compact-key-${offset % 10}`)
  },
  /** Every 9th record (offset 4, 13, ...) is a tombstone; so is the latest of compact-key-3 (offset 193). */
  value(offset: number): Buffer | null {
    return offset % 9 === 4 ? null : Buffer.from(`compact value ${offset}`)
  },
  /** The offset of the latest record of each key. */
  latestOffsets(): number[] {
    return Array.from({ length: 10 }, (_, key) => 190 + key)
  },
  keylessValue: Buffer.from('a record without a key on a compacted topic'),
}

/**
 * transactions-read-committed: one transactional producer (transactional id `<topic>-tx`) commits
 * `committedFirst` records, aborts `aborted`, commits `committedSecond`, all to partition 0; a
 * read_committed consumer from the beginning reads exactly the committed values, in order.
 */
export const transactions = {
  committedFirst: 3,
  aborted: 2,
  committedSecond: 2,
  /** The i-th committed record's value (0 .. committedFirst + committedSecond - 1). */
  committedValue(index: number): string {
    return `txn-committed-${index}`
  },
  abortedValue(index: number): string {
    return `txn-aborted-${index}`
  },
}
