// kafkajs (npm) against Zombi. kafkajs has no group-less consumer, so every read joins a group of its own.
import { deepStrictEqual } from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import {
  CompressionTypes, Kafka, logLevel, type ConfigResourceTypes, type Consumer, type ConsumerConfig, type IHeaders, type KafkaMessage,
  type Message, type Producer, type ProducerConfig,
} from 'kafkajs'
import { compactedProblem, type ReadRecord } from '../lib/compacted.ts'
import { runFamilyMain, type ScenarioContext, type ScenarioEntry } from '../lib/family.ts'
import { waitFor } from '../lib/process.ts'
import {
  aclDenied, admin as adminScenario, codecRecords, compacted, group, idempotent, keysHeadersNullsRecords, largeRecord, secureRecords, timestamps, transactions, type Codec, type ScenarioName,
} from '../lib/scenarios.ts'

/** A client of the scenario's listener: PLAINTEXT, or SASL_SSL as the scenario's user in the secured scenarios. */
function client(context: ScenarioContext): Kafka {
  const secure = context.secure
  if (secure) {
    return new Kafka({
      clientId: 'compat-kafkajs', brokers: [secure.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 },
      ssl: { ca: [readFileSync(secure.caFile, 'utf8')] },
      sasl: secure.mechanism === 'SCRAM-SHA-512'
        ? { mechanism: 'scram-sha-512', username: secure.username, password: secure.password }
        : { mechanism: 'scram-sha-256', username: secure.username, password: secure.password },
    })
  }
  return new Kafka({ clientId: 'compat-kafkajs', brokers: [context.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } })
}

async function withProducer<T>(context: ScenarioContext, config: ProducerConfig, use: (producer: Producer) => Promise<T>): Promise<T> {
  const producer = client(context).producer(config)
  await producer.connect()
  try {
    return await use(producer)
  } finally {
    await producer.disconnect()
  }
}

interface Consumed {
  partition: number
  message: KafkaMessage
}

/** The timestamp type kafkajs decoded from the batch (0 CreateTime, 1 LogAppendTime); not in its types. */
function timestampType(message: KafkaMessage): number | undefined {
  return (message as KafkaMessage & { batchContext?: { timestampType?: number } }).batchContext?.timestampType
}

/** Reads `count` records of the topic through a fresh group, from the beginning or from `fromOffset` of partition 0. */
async function consume(context: ScenarioContext, count: number, options: { fromOffset?: number; config?: Partial<ConsumerConfig> } = {}): Promise<Consumed[]> {
  const consumer = client(context).consumer({
    groupId: `${context.group}-reader-${randomBytes(3).toString('hex')}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    ...options.config,
  })
  const consumed: Consumed[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [context.topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        consumed.push({ partition, message })
      },
    })
    if (options.fromOffset !== undefined) consumer.seek({ topic: context.topic, partition: 0, offset: String(options.fromOffset) })
    await waitFor(() => consumed.length >= count, context.remainingMs(2000), () => `${count} records (read ${consumed.length})`)
  } finally {
    await consumer.disconnect()
  }
  return consumed
}

function hex(data: Buffer | null): string | null {
  return data === null ? null : data.toString('hex')
}

async function metadata(context: ScenarioContext): Promise<string> {
  const admin = client(context).admin()
  await admin.connect()
  try {
    const cluster = await admin.describeCluster()
    deepStrictEqual(cluster.brokers.map((broker) => `${broker.host}:${broker.port}`), [context.bootstrap], 'brokers')
    const { topics } = await admin.fetchTopicMetadata({ topics: [context.topic] })
    const partitions = topics[0]!.partitions
    deepStrictEqual(partitions.map((partition) => partition.partitionId).sort(), [0, 1, 2], 'partitions')
    if (!partitions.every((partition) => partition.leader === cluster.brokers[0]!.nodeId)) throw new Error('a partition is not led by the broker')
    return `describeCluster, fetchTopicMetadata: 1 broker ${context.bootstrap}, partitions 0-2`
  } finally {
    await admin.disconnect()
  }
}

async function adminCreateDescribeDelete(context: ScenarioContext): Promise<string> {
  const admin = client(context).admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: context.topic, numPartitions: adminScenario.partitions, configEntries: [{ name: adminScenario.configName, value: adminScenario.configValue }] }],
    })
    if (!created) throw new Error('createTopics answered false (topic already there?)')
    const { topics } = await admin.fetchTopicMetadata({ topics: [context.topic] })
    deepStrictEqual(topics[0]!.partitions.length, adminScenario.partitions, 'partitions after create')
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: topicResource, name: context.topic, configNames: [adminScenario.configName] }],
    })
    const entry = described.resources[0]!.configEntries.find((config) => config.configName === adminScenario.configName)
    deepStrictEqual(entry?.configValue, adminScenario.configValue, adminScenario.configName)
    await admin.deleteTopics({ topics: [context.topic] })
    const deadline = Date.now() + 10_000
    while ((await admin.listTopics()).includes(context.topic)) {
      if (Date.now() > deadline) throw new Error('the deleted topic is still listed after 10 s')
      await new Promise((resolveWait) => setTimeout(resolveWait, 100))
    }
    return 'createTopics, fetchTopicMetadata, describeConfigs, deleteTopics, listTopics'
  } finally {
    await admin.disconnect()
  }
}

/** ConfigResourceTypes.TOPIC: kafkajs's CommonJS build does not expose the enum as a named ESM export. */
const topicResource = 2 as ConfigResourceTypes

const kafkajsCodecs: Partial<Record<Codec, CompressionTypes>> = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

function produceConsume(codec: Codec): ScenarioEntry {
  const compression = kafkajsCodecs[codec]
  if (compression === undefined) {
    return { skip: `kafkajs ships only gzip; ${codec} needs a third-party codec package registered in CompressionCodecs` }
  }
  return async (context) => {
    const messages: Message[] = Array.from({ length: codecRecords.count }, (_, index) => ({
      key: codecRecords.key(index), value: codecRecords.value(index), partition: 0,
    }))
    await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, compression, messages }))
    const consumed = await consume(context, codecRecords.count)
    deepStrictEqual(
      consumed.map(({ message }) => [message.offset, hex(message.key), hex(message.value)]),
      Array.from({ length: codecRecords.count }, (_, index) => [String(index), codecRecords.key(index).toString('hex'), codecRecords.value(index).toString('hex')]),
      'records read back',
    )
    return `${codecRecords.count} records in one send()`
  }
}

/** kafkajs headers are an object: a repeated name is an array of its values, in order. */
function toKafkajsHeaders(headers: readonly [string, Buffer][]): IHeaders {
  const result: IHeaders = {}
  for (const [name, value] of headers) {
    const known = result[name]
    result[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value]
  }
  return result
}

function flattenHeaders(headers: IHeaders | undefined): [string, string | null][] {
  const flat: [string, string | null][] = []
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) flat.push([name, one === undefined ? null : Buffer.from(one).toString('hex')])
  }
  return flat
}

async function keysHeadersNulls(context: ScenarioContext): Promise<string> {
  const messages: Message[] = keysHeadersNullsRecords.map((record) => ({
    key: record.key, value: record.value, partition: 0, headers: toKafkajsHeaders(record.headers),
  }))
  await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages }))
  const consumed = await consume(context, keysHeadersNullsRecords.length)
  deepStrictEqual(
    consumed.map(({ message }) => [hex(message.key), hex(message.value), flattenHeaders(message.headers)]),
    keysHeadersNullsRecords.map((record) => [hex(record.key), hex(record.value), record.headers.map(([name, value]) => [name, value.toString('hex')])]),
    'records read back (key, value, headers)',
  )
  return 'null key, tombstone, empty key/value, repeated headers'
}

async function timestampsCreateTime(context: ScenarioContext): Promise<string> {
  const messages: Message[] = Array.from({ length: timestamps.createTimeCount }, (_, index) => ({
    value: `t${index}`, partition: 0, timestamp: String(timestamps.base + index),
  }))
  await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages }))
  const consumed = await consume(context, timestamps.createTimeCount)
  deepStrictEqual(
    consumed.map(({ message }) => [message.timestamp, timestampType(message)]),
    Array.from({ length: timestamps.createTimeCount }, (_, index) => [String(timestamps.base + index), 0]),
    '(timestamp, timestamp type) read back',
  )
  return 'timestamps and CreateTime type'
}

async function timestampsLogAppendTime(context: ScenarioContext): Promise<string> {
  const started = Date.now()
  const messages: Message[] = Array.from({ length: timestamps.logAppendTimeCount }, (_, index) => ({
    value: `t${index}`, partition: 0, timestamp: String(timestamps.base),
  }))
  const produced = await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages }))
  const consumed = await consume(context, timestamps.logAppendTimeCount)
  const ended = Date.now()
  for (const { message } of consumed) {
    const timestamp = Number(message.timestamp)
    if (timestamp < started - timestamps.slackMs || timestamp > ended + timestamps.slackMs) {
      throw new Error(`timestamp ${timestamp} outside the wall-clock window [${started}, ${ended}]`)
    }
    if (timestampType(message) !== 1) throw new Error(`timestamp type ${timestampType(message)}, expected 1 (LogAppendTime)`)
  }
  const appendTimes = produced.map((metadata) => Number(metadata.logAppendTime))
  if (!appendTimes.every((time) => time >= started - timestamps.slackMs && time <= ended + timestamps.slackMs)) {
    throw new Error(`produce response logAppendTime ${JSON.stringify(appendTimes)} outside the window`)
  }
  return 'broker append time, LogAppendTime type, also logAppendTime in the produce response'
}

async function largeRecordScenario(context: ScenarioContext): Promise<string> {
  const value = randomBytes(largeRecord.valueBytes)
  await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages: [{ key: 'large', value, partition: 0 }] }))
  const consumed = await consume(context, 1, { config: { maxBytesPerPartition: largeRecord.maxMessageBytes, maxBytes: 2 * largeRecord.maxMessageBytes } })
  if (!consumed[0]!.message.value?.equals(value)) throw new Error(`value of ${consumed[0]!.message.value?.length} bytes differs from the ${value.length} produced`)
  return `${value.length} bytes (kafkajs sets no client-side size limit; consumer maxBytesPerPartition raised)`
}

async function idempotentProducer(context: ScenarioContext): Promise<string> {
  const messages: Message[] = Array.from({ length: idempotent.count }, (_, index) => ({ value: `i${index}`, partition: 0 }))
  // kafkajs's default is idempotent: false; switch it on (it needs maxInFlightRequests 1).
  await withProducer(context, { idempotent: true, maxInFlightRequests: 1 }, (producer) => producer.send({ topic: context.topic, acks: -1, messages }))
  const consumed = await consume(context, idempotent.count)
  deepStrictEqual(consumed.map(({ message }) => message.value?.toString()), Array.from({ length: idempotent.count }, (_, index) => `i${index}`), 'values')
  return `${idempotent.count} records once each (idempotent: true; off by default)`
}

interface Member {
  consumer: Consumer
  assignment: number[]
  /** Next offset per partition, from what this member read. */
  positions: Map<number, number>
  values: string[]
}

async function startMember(context: ScenarioContext): Promise<Member> {
  const consumer = client(context).consumer({ groupId: context.group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  const member: Member = { consumer, assignment: [], positions: new Map(), values: [] }
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    member.assignment = [...(event.payload.memberAssignment[context.topic] ?? [])].sort()
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [context.topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      member.values.push(message.value!.toString())
      member.positions.set(partition, Number(message.offset) + 1)
    },
  })
  return member
}

async function groupCommitResume(context: ScenarioContext): Promise<string> {
  const first: Message[] = []
  for (let partition = 0; partition < group.partitions; partition++) {
    for (let index = 0; index < group.firstPerPartition; index++) first.push({ value: `first-${partition}-${index}`, partition })
  }
  const second: Message[] = Array.from({ length: group.secondTotal }, (_, n) => ({ value: `second-${n}`, partition: n % group.partitions }))
  await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages: first }))
  const members = await Promise.all([startMember(context), startMember(context)])
  let owned: number[][]
  try {
    // Settled, and each member has read its own partitions to the end, so its commit covers them.
    await waitFor(
      () => members.every((member) => member.assignment.length > 0) &&
        members.flatMap((member) => member.assignment).length === group.partitions &&
        members.every((member) => member.assignment.every((partition) => member.positions.get(partition) === group.firstPerPartition)),
      context.remainingMs(20_000),
      () => `2 members owning all partitions, each read to the end: ${JSON.stringify(members.map((member) => [member.assignment, [...member.positions]]))}`,
    )
    owned = members.map((member) => member.assignment)
    deepStrictEqual(owned.flat().sort(), Array.from({ length: group.partitions }, (_, index) => index), 'partitions owned once each')
    deepStrictEqual([...new Set(members.flatMap((member) => member.values))].sort(), first.map((message) => String(message.value)).sort(), 'records read by the two members')
    for (const member of members) {
      await member.consumer.commitOffsets(member.assignment.map((partition) => ({ topic: context.topic, partition, offset: String(member.positions.get(partition)) })))
    }
  } finally {
    for (const member of members) await member.consumer.disconnect()
  }
  await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages: second }))
  const resumed = await startMember(context)
  try {
    await waitFor(() => resumed.values.length >= group.secondTotal, context.remainingMs(3000), () => `${group.secondTotal} records after resuming (read ${resumed.values.length})`)
    // A little longer, to see a record read twice if the commits were lost.
    await new Promise((resolveWait) => setTimeout(resolveWait, 500))
  } finally {
    await resumed.consumer.disconnect()
  }
  deepStrictEqual(resumed.values.sort(), second.map((message) => String(message.value)).sort(), 'records read after resuming')
  return `members owned ${JSON.stringify(owned[0])} and ${JSON.stringify(owned[1])}; commitOffsets; resumed at the commits`
}

async function consumeFromTimestamp(context: ScenarioContext): Promise<string> {
  const messages: Message[] = Array.from({ length: timestamps.fromTimestampCount }, (_, index) => ({
    value: `t${index}`, partition: 0, timestamp: String(timestamps.base + timestamps.fromTimestampStepMs * index),
  }))
  await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, acks: -1, messages }))
  const admin = client(context).admin()
  await admin.connect()
  let offsets: { partition: number; offset: string }[]
  try {
    offsets = await admin.fetchTopicOffsetsByTimestamp(context.topic, timestamps.fromTimestampLookup)
  } finally {
    await admin.disconnect()
  }
  deepStrictEqual(offsets, [{ partition: 0, offset: String(timestamps.fromTimestampExpectedOffset) }], 'fetchTopicOffsetsByTimestamp')
  const remaining = timestamps.fromTimestampCount - timestamps.fromTimestampExpectedOffset
  const consumed = await consume(context, remaining, { fromOffset: timestamps.fromTimestampExpectedOffset })
  // kafkajs keeps a seek made before the group assigned the partition and applies it at the first fetch.
  deepStrictEqual(consumed.slice(0, remaining).map(({ message }) => [message.offset, message.value?.toString()]),
    Array.from({ length: remaining }, (_, index) => [String(index + timestamps.fromTimestampExpectedOffset), `t${index + timestamps.fromTimestampExpectedOffset}`]),
    'records from the offset')
  return `fetchTopicOffsetsByTimestamp -> ${timestamps.fromTimestampExpectedOffset}, seek, read 5..9`
}

async function saslScramTls(context: ScenarioContext): Promise<string> {
  await withProducer(context, {}, (producer) => producer.send({
    topic: context.topic,
    messages: Array.from({ length: secureRecords.count }, (_, index) => ({ partition: 0, key: secureRecords.key(index), value: secureRecords.value(index) })),
  }))
  const consumed = await consume(context, secureRecords.count)
  deepStrictEqual(
    consumed.map(({ message }) => [hex(message.key), hex(message.value)]),
    Array.from({ length: secureRecords.count }, (_, index) => [secureRecords.key(index).toString('hex'), secureRecords.value(index).toString('hex')]),
    'records read back over SASL_SSL',
  )
  return `${context.secure!.mechanism} over SASL_SSL: ${secureRecords.count} records`
}

async function aclDeniedScenario(context: ScenarioContext): Promise<string> {
  let refused: unknown
  try {
    await withProducer(context, {}, (producer) => producer.send({ topic: context.topic, messages: [{ partition: 0, value: aclDenied.deniedValue }] }))
  } catch (error) {
    refused = error
  }
  if (refused === undefined) throw new Error('the produce succeeded without WRITE on the topic')
  const type = (refused as { type?: string }).type
  if (type !== 'TOPIC_AUTHORIZATION_FAILED') throw new Error(`the produce failed, but not with TOPIC_AUTHORIZATION_FAILED: ${String(refused)}`)
  const consumed = await consume(context, aclDenied.readableCount)
  deepStrictEqual(
    consumed.map(({ message }) => [hex(message.key), hex(message.value)]),
    Array.from({ length: aclDenied.readableCount }, (_, index) => [aclDenied.key(index).toString('hex'), aclDenied.value(index).toString('hex')]),
    'records read with READ only',
  )
  const admin = client(context).admin()
  await admin.connect()
  try {
    const topics = await admin.listTopics()
    if (!topics.includes(context.topic)) throw new Error(`listTopics lacks the readable topic ${context.topic}: ${topics.join(', ')}`)
    if (topics.includes(context.secure!.hiddenTopic)) throw new Error(`listTopics lists ${context.secure!.hiddenTopic}, which the user may not describe`)
    return `produce refused with ${type}; a group read the ${aclDenied.readableCount} records; listTopics: ${topics.length} topic(s), not the hidden one`
  } finally {
    await admin.disconnect()
  }
}

function version(): string {
  const require = createRequire(import.meta.url)
  return (require('kafkajs/package.json') as { version: string }).version
}

async function compactedTopic(context: ScenarioContext): Promise<string> {
  const consumer = client(context).consumer({
    groupId: `${context.group}-reader-${randomBytes(3).toString('hex')}`, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200,
  })
  const read: ReadRecord[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [context.topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        read.push({ offset: Number(message.offset), key: message.key, value: message.value })
      },
    })
    await waitFor(() => read.some((record) => record.offset >= compacted.count - 1), context.remainingMs(5000), () => `offset ${compacted.count - 1} (read ${read.length} records)`)
  } finally {
    await consumer.disconnect()
  }
  const problem = compactedProblem(read)
  if (problem !== null) throw new Error(problem)
  let refused: unknown
  try {
    await withProducer(context, { retry: { retries: 0 } }, (producer) => producer.send({ topic: context.topic, acks: -1, messages: [{ partition: 0, value: compacted.keylessValue }] }))
  } catch (error) {
    refused = error
  }
  if (refused === undefined) throw new Error('a record without a key was accepted by the compacted topic')
  return `read ${read.length} of ${compacted.count} records: the latest per key at its offset, tombstone null; keyless record refused (${(refused as Error).message})`
}

async function transactionsReadCommitted(context: ScenarioContext): Promise<string> {
  const { committedFirst, aborted, committedSecond } = transactions
  const messages = (values: string[]): Message[] => values.map((value) => ({ value, partition: 0 }))
  const range = (count: number, value: (i: number) => string, from = 0): string[] => Array.from({ length: count }, (_, i) => value(from + i))
  await withProducer(context, { transactionalId: `${context.topic}-tx`, idempotent: true, maxInFlightRequests: 1 }, async (producer) => {
    const first = await producer.transaction()
    await first.send({ topic: context.topic, messages: messages(range(committedFirst, transactions.committedValue)) })
    await first.commit()
    const second = await producer.transaction()
    await second.send({ topic: context.topic, messages: messages(range(aborted, transactions.abortedValue)) })
    await second.abort()
    const third = await producer.transaction()
    await third.send({ topic: context.topic, messages: messages(range(committedSecond, transactions.committedValue, committedFirst)) })
    await third.commit()
  })
  // kafkajs consumers are read_committed unless readUncommitted is set.
  const consumed = await consume(context, committedFirst + committedSecond)
  deepStrictEqual(consumed.map(({ message }) => message.value?.toString()), range(committedFirst + committedSecond, transactions.committedValue), 'values read_committed')
  return `${committedFirst + committedSecond} committed records read back, the ${aborted} aborted ones skipped (producer.transaction(), read_committed by default)`
}

const scenarios: Record<ScenarioName, ScenarioEntry> = {
  'metadata': metadata,
  'admin-create-describe-delete': adminCreateDescribeDelete,
  'produce-consume-none': produceConsume('none'),
  'produce-consume-gzip': produceConsume('gzip'),
  'produce-consume-snappy': produceConsume('snappy'),
  'produce-consume-lz4': produceConsume('lz4'),
  'produce-consume-zstd': produceConsume('zstd'),
  'keys-headers-nulls': keysHeadersNulls,
  'timestamps-create-time': timestampsCreateTime,
  'timestamps-log-append-time': timestampsLogAppendTime,
  'large-record-1mib': largeRecordScenario,
  'idempotent-producer': idempotentProducer,
  'group-commit-resume': groupCommitResume,
  'consume-from-timestamp': consumeFromTimestamp,
  'sasl-scram-tls': saslScramTls,
  'acl-denied': aclDeniedScenario,
  'compacted-topic': compactedTopic,
  'transactions-read-committed': transactionsReadCommitted,
  'kip848-group': { skip: 'kafkajs 2.2.4 has only the classic group protocol (JoinGroup/SyncGroup); no KIP-848 consumer' },
}

runFamilyMain({ family: 'kafkajs', client: 'kafkajs', version, scenarios })
