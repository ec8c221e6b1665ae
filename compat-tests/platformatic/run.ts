// @platformatic/kafka (npm) against Zombi: Producer, Consumer (consume() streams, which join a group),
// Admin and the consumer's listOffsetsWithTimestamps.
import { deepStrictEqual } from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  Admin, Consumer, ProduceAcks, Producer, type CompressionAlgorithmValue, type ConsumeOptions, type Message, type MessageToProduce,
  type ProducerOptions,
} from '@platformatic/kafka'
import { compactedProblem, type ReadRecord } from '../lib/compacted.ts'
import { runFamilyMain, type ScenarioContext, type ScenarioEntry } from '../lib/family.ts'
import { waitFor } from '../lib/process.ts'
import { repoRoot } from '../lib/results.ts'
import {
  aclDenied, admin as adminScenario, codecRecords, compacted, group, idempotent, keysHeadersNullsRecords, largeRecord, secureRecords, timestamps, transactions, type Codec, type ScenarioName,
} from '../lib/scenarios.ts'

type Options = ProducerOptions<Buffer, Buffer, Buffer, Buffer>

/** The scenario's listener: PLAINTEXT, or SASL_SSL as the scenario's user in the secured scenarios. */
function connection(context: ScenarioContext): Pick<Options, 'bootstrapBrokers' | 'tls' | 'sasl'> {
  const secure = context.secure
  if (!secure) return { bootstrapBrokers: [context.bootstrap] }
  return {
    bootstrapBrokers: [secure.bootstrap],
    tls: { ca: readFileSync(secure.caFile, 'utf8') },
    sasl: { mechanism: secure.mechanism, username: secure.username, password: secure.password },
  }
}

async function send(context: ScenarioContext, messages: MessageToProduce[], options: Partial<Options> = {}): Promise<void> {
  const producer = new Producer({ clientId: 'compat-platformatic', ...connection(context), retries: 5, ...options })
  try {
    await producer.send({ messages, acks: ProduceAcks.ALL })
  } finally {
    await producer.close()
  }
}

function consumer(context: ScenarioContext, groupId: string, groupProtocol: 'classic' | 'consumer' = 'classic'): Consumer<Buffer, Buffer, Buffer, Buffer> {
  return new Consumer({
    clientId: 'compat-platformatic', ...connection(context), groupId,
    sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, retries: 20, retryDelay: 100,
    ...(groupProtocol === 'consumer' ? { groupProtocol } : {}),
  })
}

/** Reads `count` records through a fresh group, from the beginning or from explicit offsets. */
async function consume(context: ScenarioContext, count: number, options: Partial<ConsumeOptions<Buffer, Buffer, Buffer, Buffer>> = {}): Promise<Message[]> {
  const reader = consumer(context, `${context.group}-reader-${randomBytes(3).toString('hex')}`)
  const messages: Message[] = []
  try {
    const stream = await reader.consume({ topics: [context.topic], mode: 'earliest', autocommit: false, maxWaitTime: 200, ...options })
    stream.on('data', (message: Message) => messages.push(message))
    try {
      await waitFor(() => messages.length >= count, context.remainingMs(2000), () => `${count} records (read ${messages.length})`)
    } finally {
      await stream.close()
    }
  } finally {
    await reader.close(true)
  }
  return messages
}

function hex(data: Buffer | null | undefined): string | null {
  return data === null || data === undefined ? null : data.toString('hex')
}

async function withAdmin<T>(context: ScenarioContext, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: 'compat-platformatic', ...connection(context), retries: 5 })
  try {
    return await use(admin)
  } finally {
    await admin.close()
  }
}

async function metadata(context: ScenarioContext): Promise<string> {
  return withAdmin(context, async (admin) => {
    const cluster = await admin.metadata({ topics: [context.topic] })
    deepStrictEqual([...cluster.brokers.values()].map((broker) => `${broker.host}:${broker.port}`), [context.bootstrap], 'brokers')
    const topic = cluster.topics.get(context.topic)
    if (!topic) throw new Error(`metadata has no ${context.topic}`)
    deepStrictEqual(topic.partitions.map((_, index) => index), [0, 1, 2], 'partitions')
    const brokerId = [...cluster.brokers.keys()][0]
    if (!topic.partitions.every((partition) => partition.leader === brokerId)) throw new Error('a partition is not led by the broker')
    return `Admin.metadata: 1 broker ${context.bootstrap}, partitions 0-2`
  })
}

async function adminCreateDescribeDelete(context: ScenarioContext): Promise<string> {
  return withAdmin(context, async (admin) => {
    await admin.createTopics({
      topics: [context.topic], partitions: adminScenario.partitions, replicas: 1,
      configs: [{ name: adminScenario.configName, value: adminScenario.configValue }],
    })
    const cluster = await admin.metadata({ topics: [context.topic] })
    deepStrictEqual(cluster.topics.get(context.topic)?.partitions.length, adminScenario.partitions, 'partitions after create')
    const described = await admin.describeConfigs({
      resources: [{ resourceType: 2, resourceName: context.topic, configurationKeys: [adminScenario.configName] }],
    })
    const entry = described[0]?.configs.find((config) => config.name === adminScenario.configName)
    deepStrictEqual(entry?.value, adminScenario.configValue, adminScenario.configName)
    await admin.deleteTopics({ topics: [context.topic] })
    const deadline = Date.now() + 10_000
    while ((await admin.listTopics()).includes(context.topic)) {
      if (Date.now() > deadline) throw new Error('the deleted topic is still listed after 10 s')
      await new Promise((resolveWait) => setTimeout(resolveWait, 100))
    }
    return 'createTopics, metadata, describeConfigs, deleteTopics, listTopics'
  })
}

function produceConsume(codec: Codec): ScenarioEntry {
  return async (context) => {
    const messages = Array.from({ length: codecRecords.count }, (_, index) => ({
      topic: context.topic, partition: 0, key: codecRecords.key(index), value: codecRecords.value(index),
    }))
    await send(context, messages, { compression: codec as CompressionAlgorithmValue })
    const consumed = await consume(context, codecRecords.count)
    deepStrictEqual(
      consumed.map((message) => [message.offset, hex(message.key), hex(message.value)]),
      Array.from({ length: codecRecords.count }, (_, index) => [BigInt(index), codecRecords.key(index).toString('hex'), codecRecords.value(index).toString('hex')]),
      'records read back',
    )
    return `${codecRecords.count} records in one send()`
  }
}

async function keysHeadersNulls(context: ScenarioContext): Promise<string> {
  // Distinct Buffer objects are distinct Map keys, so a repeated header name needs no special form.
  const messages: MessageToProduce[] = keysHeadersNullsRecords.map((record) => ({
    topic: context.topic, partition: 0,
    ...(record.key === null ? {} : { key: record.key }),
    ...(record.value === null ? {} : { value: record.value }),
    headers: new Map(record.headers.map(([name, value]) => [Buffer.from(name), value])),
  }))
  await send(context, messages)
  const consumed = await consume(context, keysHeadersNullsRecords.length)
  deepStrictEqual(
    consumed.map((message) => [hex(message.key), hex(message.value), message.headerEntries.map(([name, value]) => [name.toString(), hex(value)])]),
    keysHeadersNullsRecords.map((record) => [hex(record.key), hex(record.value), record.headers.map(([name, value]) => [name, value.toString('hex')])]),
    'records read back (key, value, headers)',
  )
  return 'null key, tombstone, empty key/value, repeated headers (headerEntries)'
}

async function timestampsCreateTime(context: ScenarioContext): Promise<string> {
  await send(context, Array.from({ length: timestamps.createTimeCount }, (_, index) => ({
    topic: context.topic, partition: 0, value: Buffer.from(`t${index}`), timestamp: BigInt(timestamps.base + index),
  })))
  const consumed = await consume(context, timestamps.createTimeCount)
  deepStrictEqual(consumed.map((message) => message.timestamp), Array.from({ length: timestamps.createTimeCount }, (_, index) => BigInt(timestamps.base + index)), 'timestamps')
  return 'timestamps (the client shows no timestamp type)'
}

async function timestampsLogAppendTime(context: ScenarioContext): Promise<string> {
  const started = Date.now()
  await send(context, Array.from({ length: timestamps.logAppendTimeCount }, (_, index) => ({
    topic: context.topic, partition: 0, value: Buffer.from(`t${index}`), timestamp: BigInt(timestamps.base),
  })))
  const consumed = await consume(context, timestamps.logAppendTimeCount)
  const ended = Date.now()
  for (const message of consumed) {
    const timestamp = Number(message.timestamp)
    if (timestamp < started - timestamps.slackMs || timestamp > ended + timestamps.slackMs) {
      throw new Error(`consumer timestamp ${timestamp} outside the wall-clock window [${started}, ${ended}] (the producer's was ${timestamps.base})`)
    }
  }
  return 'broker append time (the client shows no timestamp type)'
}

async function largeRecordScenario(context: ScenarioContext): Promise<string> {
  const value = randomBytes(largeRecord.valueBytes)
  await send(context, [{ topic: context.topic, partition: 0, key: Buffer.from('large'), value }])
  const consumed = await consume(context, 1, { maxBytesPerPartition: largeRecord.maxMessageBytes, maxBytes: 2 * largeRecord.maxMessageBytes })
  if (!consumed[0]!.value.equals(value)) throw new Error(`value of ${consumed[0]!.value.length} bytes differs from the ${value.length} produced`)
  return `${value.length} bytes (no client-side size limit; consumer maxBytesPerPartition raised)`
}

async function idempotentProducer(context: ScenarioContext): Promise<string> {
  // idempotent is off by default; switch it on.
  await send(context, Array.from({ length: idempotent.count }, (_, index) => ({ topic: context.topic, partition: 0, value: Buffer.from(`i${index}`) })), { idempotent: true })
  const consumed = await consume(context, idempotent.count)
  deepStrictEqual(consumed.map((message) => message.value.toString()), Array.from({ length: idempotent.count }, (_, index) => `i${index}`), 'values')
  return `${idempotent.count} records once each (idempotent: true; off by default)`
}

interface Member {
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  close(): Promise<void>
  assignment(): number[]
  positions: Map<number, bigint>
  values: string[]
}

async function startMember(context: ScenarioContext, groupProtocol: 'classic' | 'consumer'): Promise<Member> {
  const member = consumer(context, context.group, groupProtocol)
  const positions = new Map<number, bigint>()
  const values: string[] = []
  const stream = await member.consume({ topics: [context.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 200 })
  stream.on('data', (message: Message) => {
    values.push(message.value.toString())
    positions.set(message.partition, message.offset + 1n)
  })
  return {
    consumer: member,
    positions,
    values,
    assignment: () => (member.assignments ?? []).filter((entry) => entry.topic === context.topic).flatMap((entry) => entry.partitions).sort(),
    close: async () => {
      await stream.close()
      await member.close()
    },
  }
}

/** group-commit-resume with the classic protocol; kip848-group with groupProtocol 'consumer' (KIP-848). */
async function groupCommitResume(context: ScenarioContext, groupProtocol: 'classic' | 'consumer' = 'classic'): Promise<string> {
  const first: MessageToProduce[] = []
  for (let partition = 0; partition < group.partitions; partition++) {
    for (let index = 0; index < group.firstPerPartition; index++) first.push({ topic: context.topic, partition, value: Buffer.from(`first-${partition}-${index}`) })
  }
  const second: MessageToProduce[] = Array.from({ length: group.secondTotal }, (_, n) => ({ topic: context.topic, partition: n % group.partitions, value: Buffer.from(`second-${n}`) }))
  await send(context, first)
  const members = await Promise.all([startMember(context, groupProtocol), startMember(context, groupProtocol)])
  let owned: number[][]
  try {
    // Settled, and each member has read its own partitions to the end, so its commit covers them.
    await waitFor(
      () => members.every((member) => member.assignment().length > 0) &&
        members.flatMap((member) => member.assignment()).length === group.partitions &&
        members.every((member) => member.assignment().every((partition) => member.positions.get(partition) === BigInt(group.firstPerPartition))),
      context.remainingMs(20_000),
      () => `2 members owning all partitions, each read to the end: ${JSON.stringify(members.map((member) => [member.assignment(), [...member.positions].map(String)]))}`,
    )
    owned = members.map((member) => member.assignment())
    deepStrictEqual(owned.flat().sort(), Array.from({ length: group.partitions }, (_, index) => index), 'partitions owned once each')
    deepStrictEqual([...new Set(members.flatMap((member) => member.values))].sort(), first.map((message) => String(message.value)).sort(), 'records read by the two members')
    for (const member of members) {
      await member.consumer.commit({
        offsets: member.assignment().map((partition) => ({ topic: context.topic, partition, offset: member.positions.get(partition)!, leaderEpoch: -1 })),
      })
    }
  } finally {
    for (const member of members) await member.close()
  }
  await send(context, second)
  const resumed = await startMember(context, groupProtocol)
  try {
    await waitFor(() => resumed.values.length >= group.secondTotal, context.remainingMs(3000), () => `${group.secondTotal} records after resuming (read ${resumed.values.length})`)
    await new Promise((resolveWait) => setTimeout(resolveWait, 500))
  } finally {
    await resumed.close()
  }
  deepStrictEqual(resumed.values.sort(), second.map((message) => String(message.value)).sort(), 'records read after resuming')
  const prefix = groupProtocol === 'consumer' ? 'groupProtocol consumer: ' : ''
  return `${prefix}members owned ${JSON.stringify(owned[0])} and ${JSON.stringify(owned[1])}; Consumer.commit; resumed at the commits (mode committed)`
}

async function consumeFromTimestamp(context: ScenarioContext): Promise<string> {
  await send(context, Array.from({ length: timestamps.fromTimestampCount }, (_, index) => ({
    topic: context.topic, partition: 0, value: Buffer.from(`t${index}`), timestamp: BigInt(timestamps.base + timestamps.fromTimestampStepMs * index),
  })))
  const lookup = consumer(context, `${context.group}-lookup`)
  let found: { offset: bigint; timestamp: bigint } | undefined
  try {
    const offsets = await lookup.listOffsetsWithTimestamps({ topics: [context.topic], timestamp: BigInt(timestamps.fromTimestampLookup) })
    found = offsets.get(context.topic)?.get(0)
  } finally {
    await lookup.close(true)
  }
  deepStrictEqual(found, {
    offset: BigInt(timestamps.fromTimestampExpectedOffset),
    timestamp: BigInt(timestamps.base + timestamps.fromTimestampStepMs * timestamps.fromTimestampExpectedOffset),
  }, 'listOffsetsWithTimestamps')
  const remaining = timestamps.fromTimestampCount - timestamps.fromTimestampExpectedOffset
  const consumed = await consume(context, remaining, { mode: 'manual', offsets: [{ topic: context.topic, partition: 0, offset: found.offset }] })
  deepStrictEqual(consumed.map((message) => [message.offset, message.value.toString()]),
    Array.from({ length: remaining }, (_, index) => [BigInt(index + timestamps.fromTimestampExpectedOffset), `t${index + timestamps.fromTimestampExpectedOffset}`]),
    'records from the offset')
  return `listOffsetsWithTimestamps -> ${timestamps.fromTimestampExpectedOffset}, consume(mode manual) reads 5..9`
}

async function saslScramTls(context: ScenarioContext): Promise<string> {
  await send(context, Array.from({ length: secureRecords.count }, (_, index) => ({
    topic: context.topic, partition: 0, key: secureRecords.key(index), value: secureRecords.value(index),
  })))
  const messages = await consume(context, secureRecords.count)
  deepStrictEqual(
    messages.map((message) => [hex(message.key), hex(message.value)]),
    Array.from({ length: secureRecords.count }, (_, index) => [secureRecords.key(index).toString('hex'), secureRecords.value(index).toString('hex')]),
    'records read back over SASL_SSL',
  )
  return `${context.secure!.mechanism} over SASL_SSL: ${secureRecords.count} records`
}

/** The Kafka error names (apiId) anywhere in a @platformatic/kafka error and the errors it wraps. */
function protocolErrorIds(error: unknown, seen = new Set<unknown>()): string[] {
  if (typeof error !== 'object' || error === null || seen.has(error)) return []
  seen.add(error)
  const record = error as { apiId?: unknown; errors?: unknown; cause?: unknown }
  const own = typeof record.apiId === 'string' ? [record.apiId] : []
  const nested = Array.isArray(record.errors) ? record.errors.flatMap((inner) => protocolErrorIds(inner, seen)) : []
  return [...own, ...nested, ...protocolErrorIds(record.cause, seen)]
}

async function aclDeniedScenario(context: ScenarioContext): Promise<string> {
  let refused: unknown
  try {
    await send(context, [{ topic: context.topic, partition: 0, value: aclDenied.deniedValue }], { retries: 1 })
  } catch (error) {
    refused = error
  }
  if (refused === undefined) throw new Error('the produce succeeded without WRITE on the topic')
  const ids = protocolErrorIds(refused)
  if (!ids.includes('TOPIC_AUTHORIZATION_FAILED')) throw new Error(`the produce failed, but not with TOPIC_AUTHORIZATION_FAILED: ${String(refused)} (${ids.join(', ')})`)
  const messages = await consume(context, aclDenied.readableCount)
  deepStrictEqual(
    messages.map((message) => [hex(message.key), hex(message.value)]),
    Array.from({ length: aclDenied.readableCount }, (_, index) => [aclDenied.key(index).toString('hex'), aclDenied.value(index).toString('hex')]),
    'records read with READ only',
  )
  const topics = await withAdmin(context, (admin) => admin.listTopics())
  if (!topics.includes(context.topic)) throw new Error(`listTopics lacks the readable topic ${context.topic}: ${topics.join(', ')}`)
  if (topics.includes(context.secure!.hiddenTopic)) throw new Error(`listTopics lists ${context.secure!.hiddenTopic}, which the user may not describe`)
  return `produce refused with TOPIC_AUTHORIZATION_FAILED; a group read the ${aclDenied.readableCount} records; listTopics: ${topics.length} topic(s), not the hidden one`
}

async function compactedTopic(context: ScenarioContext): Promise<string> {
  const reader = consumer(context, `${context.group}-reader-${randomBytes(3).toString('hex')}`)
  const read: ReadRecord[] = []
  try {
    const stream = await reader.consume({ topics: [context.topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
    stream.on('data', (message: Message) => read.push({ offset: Number(message.offset), key: message.key ?? null, value: message.value ?? null }))
    try {
      await waitFor(() => read.some((record) => record.offset >= compacted.count - 1), context.remainingMs(5000), () => `offset ${compacted.count - 1} (read ${read.length} records)`)
    } finally {
      await stream.close()
    }
  } finally {
    await reader.close(true)
  }
  const problem = compactedProblem(read)
  if (problem !== null) throw new Error(problem)
  let refused: unknown
  try {
    await send(context, [{ topic: context.topic, partition: 0, value: compacted.keylessValue }], { retries: 0 })
  } catch (error) {
    refused = error
  }
  if (refused === undefined) throw new Error('a record without a key was accepted by the compacted topic')
  const ids = protocolErrorIds(refused)
  if (!ids.includes('INVALID_RECORD')) throw new Error(`the keyless produce failed, but not with INVALID_RECORD: ${String(refused)} (${ids.join(', ')})`)
  return `read ${read.length} of ${compacted.count} records: the latest per key at its offset, tombstone null; keyless record refused with INVALID_RECORD`
}

function version(): string {
  // The package's "exports" hide package.json from require(); read the installed file.
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'node_modules/@platformatic/kafka/package.json'), 'utf8')) as { version: string }
  return manifest.version
}

async function transactionsReadCommitted(context: ScenarioContext): Promise<string> {
  const { committedFirst, aborted, committedSecond } = transactions
  const range = (count: number, value: (i: number) => string, from = 0): MessageToProduce[] =>
    Array.from({ length: count }, (_, i) => ({ topic: context.topic, partition: 0, value: Buffer.from(value(from + i)) }))
  const producer = new Producer({ clientId: 'compat-platformatic', ...connection(context), retries: 5, idempotent: true, transactionalId: `${context.topic}-tx` })
  try {
    const first = await producer.beginTransaction()
    await first.send({ messages: range(committedFirst, transactions.committedValue), acks: ProduceAcks.ALL })
    await first.commit()
    const second = await producer.beginTransaction()
    await second.send({ messages: range(aborted, transactions.abortedValue), acks: ProduceAcks.ALL })
    await second.abort()
    const third = await producer.beginTransaction()
    await third.send({ messages: range(committedSecond, transactions.committedValue, committedFirst), acks: ProduceAcks.ALL })
    await third.commit()
  } finally {
    await producer.close()
  }
  const expected = Array.from({ length: committedFirst + committedSecond }, (_, i) => transactions.committedValue(i))
  const consumed = await consume(context, expected.length, { isolationLevel: 1 })
  deepStrictEqual(consumed.map((message) => message.value.toString()), expected, 'values read_committed')
  return `${expected.length} committed records read back with isolationLevel READ_COMMITTED, the ${aborted} aborted ones skipped (beginTransaction)`
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
  'group-commit-resume': (context) => groupCommitResume(context),
  'kip848-group': (context) => groupCommitResume(context, 'consumer'),
  'consume-from-timestamp': consumeFromTimestamp,
  'sasl-scram-tls': saslScramTls,
  'acl-denied': aclDeniedScenario,
  'compacted-topic': compactedTopic,
  'transactions-read-committed': transactionsReadCommitted,
}

runFamilyMain({ family: 'platformatic', client: '@platformatic/kafka', version, scenarios })
