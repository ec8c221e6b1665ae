// kcat (Debian's package, librdkafka inside) against Zombi: each scenario drives the kcat command line.
import { deepStrictEqual } from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findKcat, kcat, kcatCommonArgs, kcatConsume, kcatVersion, runKcat, type KcatRecord } from '../../test/e2e/fixtures/kcat.ts'
import { compactedProblem } from '../lib/compacted.ts'
import { runFamilyMain, type ScenarioContext, type ScenarioEntry } from '../lib/family.ts'
import { RunningProcess, waitFor } from '../lib/process.ts'
import { produceReference, readPartition } from '../lib/reader.ts'
import {
  aclDenied, codecRecords, compacted, group, secureRecords, idempotent, keysHeadersNullsRecords, largeRecord, timestamps, type Codec, type ScenarioName,
} from '../lib/scenarios.ts'

const recordDelimiter = '\x1e'
const keyDelimiter = '\x1f'

/** kcat -P with -D \x1e -K \x1f, so that values may hold anything but those two bytes. */
async function produce(context: ScenarioContext, input: string | Buffer, extraArgs: readonly string[]): Promise<void> {
  await kcat(
    ['-P', '-b', context.bootstrap, '-t', context.topic, ...kcatCommonArgs, '-D', '\\x1e', ...extraArgs],
    { input, timeoutMs: context.remainingMs() },
  )
}

interface JsonRecord {
  partition: number
  offset: number
  tstype: string
  ts: number
  payload: string | null
}

/** kcat -C -J (JSON envelope: shows the timestamp type) from `offset` to the end of partition 0. */
async function consumeJson(context: ScenarioContext, offset = 'beginning'): Promise<JsonRecord[]> {
  const result = await kcat(['-C', '-b', context.bootstrap, '-t', context.topic, '-p', '0', '-o', offset, '-e', '-q', '-J', ...kcatCommonArgs],
    { timeoutMs: context.remainingMs() })
  return result.stdout.toString('utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as JsonRecord)
}

async function metadata(context: ScenarioContext): Promise<string> {
  const result = await kcat(['-L', '-J', '-b', context.bootstrap, '-t', context.topic, ...kcatCommonArgs], { timeoutMs: context.remainingMs() })
  const listing = JSON.parse(result.stdout.toString('utf8')) as {
    brokers: { id: number; name: string }[]
    topics: { topic: string; error?: string; partitions: { partition: number; leader: number }[] }[]
  }
  deepStrictEqual(listing.brokers.map((broker) => broker.name), [context.bootstrap], 'brokers')
  const topic = listing.topics.find((entry) => entry.topic === context.topic)
  if (!topic) throw new Error(`kcat -L does not list ${context.topic}`)
  if (topic.error) throw new Error(`topic error ${topic.error}`)
  deepStrictEqual(topic.partitions.map((partition) => partition.partition).sort(), [0, 1, 2], 'partitions')
  const brokerId = listing.brokers[0]!.id
  if (!topic.partitions.every((partition) => partition.leader === brokerId)) throw new Error('a partition is not led by the broker')
  return `kcat -L: 1 broker ${context.bootstrap}, partitions 0-2`
}

function produceConsume(codec: Codec): (context: ScenarioContext) => Promise<string> {
  return async (context) => {
    const input = Array.from({ length: codecRecords.count }, (_, index) =>
      Buffer.concat([codecRecords.key(index), Buffer.from(keyDelimiter), codecRecords.value(index), Buffer.from(recordDelimiter)]))
    // One invocation reads all of stdin; a long linger puts the records in one batch.
    await produce(context, Buffer.concat(input), ['-p', '0', '-K', '\\x1f', '-z', codec, '-X', 'linger.ms=500'])
    const records = await kcatConsume(context.bootstrap, context.topic, { partition: 0, timeoutMs: context.remainingMs() })
    deepStrictEqual(
      records.map((record) => [record.offset, record.key?.toString('hex'), record.value?.toString('hex')]),
      Array.from({ length: codecRecords.count }, (_, index) => [index, codecRecords.key(index).toString('hex'), codecRecords.value(index).toString('hex')]),
      'records read back',
    )
    return `kcat -P -z ${codec}, -C: ${codecRecords.count} records`
  }
}

/**
 * kcat -H takes header values from argv, which cannot carry a NUL byte, so record 1's h2 is the text
 * `ff` here instead of the bytes 00 ff; every other byte is the scenario's.
 */
const kcatHeaderValue = 'ff'

async function keysHeadersNulls(context: ScenarioContext): Promise<string> {
  const [withHeaders, nullKey, tombstone, empties] = keysHeadersNullsRecords
  // One invocation per record: -H applies to every record of a run, -Z to every empty field.
  await produce(context, `k1${keyDelimiter}v1${recordDelimiter}`, ['-p', '0', '-K', '\\x1f', '-H', 'h1=a', '-H', 'h1=b', '-H', `h2=${kcatHeaderValue}`])
  await produce(context, `v2${recordDelimiter}`, ['-p', '0'])
  await produce(context, `k3${keyDelimiter}${recordDelimiter}`, ['-p', '0', '-K', '\\x1f', '-Z'])
  await produce(context, `${keyDelimiter}${recordDelimiter}`, ['-p', '0', '-K', '\\x1f'])
  const expected = [
    { key: withHeaders!.key, value: withHeaders!.value, headers: `h1=a,h1=b,h2=${kcatHeaderValue}` },
    { key: nullKey!.key, value: nullKey!.value, headers: '' },
    { key: tombstone!.key, value: tombstone!.value, headers: '' },
    { key: empties!.key, value: empties!.value, headers: '' },
  ]
  const shown = (records: { key: Buffer | null; value: Buffer | null; headers: string }[]): unknown[] =>
    records.map((record) => [record.key?.toString('hex') ?? null, record.value?.toString('hex') ?? null, record.headers])
  const records: KcatRecord[] = await kcatConsume(context.bootstrap, context.topic, { partition: 0, timeoutMs: context.remainingMs() })
  deepStrictEqual(shown(records), shown(expected), 'kcat -C output (key, value, headers)')
  // The generic broker-side check expects h2 = 00 ff; check kcat's variant with the independent reader.
  const stored = await readPartition(context.bootstrap, context.topic, 0)
  deepStrictEqual(
    shown(stored.records.map((record) => ({
      key: record.key,
      value: record.value,
      headers: record.headers.map(([name, value]) => `${name?.toString() ?? ''}=${value?.toString() ?? ''}`).join(','),
    }))),
    shown(expected),
    'records stored by the broker',
  )
  context.brokerCheckedHere()
  return `null key, tombstone (-Z), empty key/value, repeated headers; h2 is text "${kcatHeaderValue}" (kcat -H cannot pass a NUL byte); broker: the 4 records byte-exact`
}

async function timestampsCreateTime(context: ScenarioContext): Promise<string> {
  await produceReference(context.bootstrap, context.topic, Array.from({ length: timestamps.createTimeCount }, (_, index) => ({
    partition: 0, value: Buffer.from(`t${index}`), timestamp: BigInt(timestamps.base + index),
  })))
  const records = await consumeJson(context)
  deepStrictEqual(
    records.map((record) => [record.ts, record.tstype]),
    Array.from({ length: timestamps.createTimeCount }, (_, index) => [timestamps.base + index, 'create']),
    '(timestamp, type) read by kcat',
  )
  return 'kcat -P cannot set timestamps: @platformatic/kafka produced them; kcat -C -J read them and type create'
}

async function timestampsLogAppendTime(context: ScenarioContext): Promise<string> {
  const started = Date.now()
  const input = Array.from({ length: timestamps.logAppendTimeCount }, (_, index) => `t${index}${recordDelimiter}`).join('')
  await produce(context, input, ['-p', '0'])
  const records = await consumeJson(context)
  const ended = Date.now()
  if (records.length !== timestamps.logAppendTimeCount) throw new Error(`read ${records.length} records`)
  for (const record of records) {
    if (record.tstype !== 'logappend') throw new Error(`timestamp type ${record.tstype}, expected logappend`)
    if (record.ts < started - timestamps.slackMs || record.ts > ended + timestamps.slackMs) {
      throw new Error(`timestamp ${record.ts} outside the wall-clock window [${started}, ${ended}]`)
    }
  }
  return 'kcat -P (it sets no timestamp, so librdkafka stamps now), -C -J: broker append time, type logappend'
}

async function largeRecordScenario(context: ScenarioContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'zombi-compat-kcat-'))
  try {
    const value = Buffer.alloc(largeRecord.valueBytes)
    for (let index = 0; index < value.length; index += 4) value.writeUInt32LE((Math.random() * 0x1_0000_0000) >>> 0, index)
    const file = join(directory, 'large.bin')
    await writeFile(file, value)
    // A file argument is sent whole as one record.
    await kcat(['-P', '-b', context.bootstrap, '-t', context.topic, '-p', '0', ...kcatCommonArgs,
      '-X', `message.max.bytes=${largeRecord.maxMessageBytes}`, file], { timeoutMs: context.remainingMs() })
    const records = await kcatConsume(context.bootstrap, context.topic, {
      partition: 0,
      timeoutMs: context.remainingMs(),
      extraArgs: ['-X', `fetch.max.bytes=${2 * largeRecord.maxMessageBytes}`, '-X', `max.partition.fetch.bytes=${largeRecord.maxMessageBytes}`,
        '-X', `receive.message.max.bytes=${3 * largeRecord.maxMessageBytes}`],
    })
    if (records.length !== 1) throw new Error(`read ${records.length} records, expected 1`)
    if (!records[0]!.value?.equals(value)) throw new Error(`value of ${records[0]!.value?.length} bytes differs from the ${value.length} produced`)
    return `${value.length} bytes (-X message.max.bytes=${largeRecord.maxMessageBytes})`
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
}

async function idempotentProducer(context: ScenarioContext): Promise<string> {
  const input = Array.from({ length: idempotent.count }, (_, index) => `i${index}${recordDelimiter}`).join('')
  // librdkafka's default is enable.idempotence=false; switch it on.
  await produce(context, input, ['-p', '0', '-X', 'enable.idempotence=true'])
  const records = await kcatConsume(context.bootstrap, context.topic, { partition: 0, timeoutMs: context.remainingMs() })
  deepStrictEqual(records.map((record) => record.value?.toString()), Array.from({ length: idempotent.count }, (_, index) => `i${index}`), 'values')
  return `${idempotent.count} records once each (-X enable.idempotence=true)`
}

/** A kcat -G member; stderr (not -q) carries its "rebalanced ... assigned:" lines. */
function groupMember(context: ScenarioContext, exitAtEnd: boolean): RunningProcess {
  return new RunningProcess(findKcat(), [
    '-b', context.bootstrap, '-G', context.group, ...kcatCommonArgs,
    '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500',
    '-f', '%p\\t%s\\n', '-u', ...(exitAtEnd ? ['-e'] : []), context.topic,
  ])
}

/** The partitions of the member's last "assigned:" line. */
function lastAssignment(member: RunningProcess): number[] {
  const lines = member.stderr().split('\n').filter((line) => line.includes('rebalanced') && line.includes('assigned:'))
  const last = lines.at(-1)
  if (last === undefined) return []
  return [...last.slice(last.indexOf('assigned:')).matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])).sort()
}

function values(member: RunningProcess): string[] {
  return member.stdout().toString('utf8').split('\n').filter((line) => line !== '').map((line) => line.split('\t')[1]!)
}

async function groupCommitResume(context: ScenarioContext): Promise<string> {
  for (let partition = 0; partition < group.partitions; partition++) {
    const input = Array.from({ length: group.firstPerPartition }, (_, index) => `first-${partition}-${index}${recordDelimiter}`).join('')
    await produce(context, input, ['-p', String(partition)])
  }
  const members = [groupMember(context, false), groupMember(context, false)]
  const expectedFirst = Array.from({ length: group.partitions * group.firstPerPartition },
    (_, n) => `first-${Math.floor(n / group.firstPerPartition)}-${n % group.firstPerPartition}`).sort()
  let assignments: number[][] = []
  try {
    await waitFor(() => {
      assignments = members.map(lastAssignment)
      // Settled, and each member has read its partitions to the end (librdkafka commits on revoke, and
      // on close what it read), so the commits cover every record.
      return assignments.every((owned) => owned.length > 0) && assignments.flat().length === group.partitions &&
        members.every((member, index) => assignments[index]!.every((partition) =>
          values(member).includes(`first-${partition}-${group.firstPerPartition - 1}`)))
    }, context.remainingMs(20_000), () => `2 members owning all partitions and all records read; assignments ${JSON.stringify(assignments)}, ` +
      `${members.flatMap(values).length} records\n${members.map((member) => member.stderr()).join('\n')}`)
    deepStrictEqual(assignments.flat().sort(), Array.from({ length: group.partitions }, (_, index) => index), 'partitions owned once each')
    deepStrictEqual([...new Set(members.flatMap(values))].sort(), expectedFirst, 'records read by the two members')
  } finally {
    // SIGTERM: kcat closes the consumer, which commits the offsets it consumed (enable.auto.commit).
    await Promise.all(members.map((member) => member.stop('SIGTERM')))
  }
  for (let n = 0; n < group.secondTotal; n++) await produceOne(context, n)
  const resumed = groupMember(context, true)
  const exit = await Promise.race([
    resumed.exited,
    new Promise<'timeout'>((resolveTimeout) => setTimeout(() => resolveTimeout('timeout'), context.remainingMs(2000))),
  ])
  if (exit === 'timeout') await resumed.stop('SIGKILL')
  deepStrictEqual(values(resumed).sort(), Array.from({ length: group.secondTotal }, (_, n) => `second-${n}`).sort(),
    `records read after resuming (kcat -G -e exit ${JSON.stringify(exit)})`)
  return `members owned ${JSON.stringify(assignments[0])} and ${JSON.stringify(assignments[1])}; committed on SIGTERM; resumed at the commits`
}

async function produceOne(context: ScenarioContext, n: number): Promise<void> {
  await produce(context, `second-${n}${recordDelimiter}`, ['-p', String(n % group.partitions)])
}

async function consumeFromTimestamp(context: ScenarioContext): Promise<string> {
  await produceReference(context.bootstrap, context.topic, Array.from({ length: timestamps.fromTimestampCount }, (_, index) => ({
    partition: 0, value: Buffer.from(`t${index}`), timestamp: BigInt(timestamps.base + timestamps.fromTimestampStepMs * index),
  })))
  const query = await kcat(['-Q', '-b', context.bootstrap, ...kcatCommonArgs, '-t', `${context.topic}:0:${timestamps.fromTimestampLookup}`],
    { timeoutMs: context.remainingMs() })
  const answer = query.stdout.toString('utf8').trim()
  if (answer !== `${context.topic} [0] offset ${timestamps.fromTimestampExpectedOffset}`) throw new Error(`kcat -Q answered ${JSON.stringify(answer)}`)
  const records = await consumeJson(context, `s@${timestamps.fromTimestampLookup}`)
  deepStrictEqual(records.map((record) => [record.offset, record.payload]),
    Array.from({ length: timestamps.fromTimestampCount - timestamps.fromTimestampExpectedOffset },
      (_, index) => [index + timestamps.fromTimestampExpectedOffset, `t${index + timestamps.fromTimestampExpectedOffset}`]),
    'records from -o s@<ms>')
  return `kcat -Q -> ${timestamps.fromTimestampExpectedOffset}, -o s@<ms> reads 5..9 (records produced by @platformatic/kafka: kcat -P sets no timestamps)`
}

/** librdkafka's settings for the SASL_SSL listener and the scenario's user. */
function secureArgs(context: ScenarioContext): string[] {
  const secure = context.secure
  if (!secure) throw new Error(`${context.scenario} has no secure listener`)
  return ['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${secure.caFile}`, '-X', `sasl.mechanism=${secure.mechanism}`,
    '-X', `sasl.username=${secure.username}`, '-X', `sasl.password=${secure.password}`]
}

async function saslScramTls(context: ScenarioContext): Promise<string> {
  const secure = context.secure!
  const input = Array.from({ length: secureRecords.count }, (_, index) =>
    Buffer.concat([secureRecords.key(index), Buffer.from(keyDelimiter), secureRecords.value(index), Buffer.from(recordDelimiter)]))
  await kcat(['-P', '-b', secure.bootstrap, '-t', context.topic, ...kcatCommonArgs, ...secureArgs(context), '-D', '\\x1e', '-K', '\\x1f', '-p', '0'],
    { input: Buffer.concat(input), timeoutMs: context.remainingMs() })
  const records = await kcatConsume(secure.bootstrap, context.topic, { partition: 0, extraArgs: secureArgs(context), timeoutMs: context.remainingMs() })
  deepStrictEqual(
    records.map((record) => [record.key?.toString('hex'), record.value?.toString('hex')]),
    Array.from({ length: secureRecords.count }, (_, index) => [secureRecords.key(index).toString('hex'), secureRecords.value(index).toString('hex')]),
    'records read back over SASL_SSL',
  )
  return `kcat -P/-C over SASL_SSL (${secure.mechanism}): ${secureRecords.count} records`
}

async function aclDeniedScenario(context: ScenarioContext): Promise<string> {
  const secure = context.secure!
  const produced = await runKcat(['-P', '-b', secure.bootstrap, '-t', context.topic, '-p', '0', '-m', '15', '-X', 'message.timeout.ms=10000', ...secureArgs(context)],
    { input: Buffer.concat([aclDenied.deniedValue, Buffer.from('\n')]), timeoutMs: context.remainingMs() })
  if (produced.code === 0) throw new Error('kcat -P succeeded without WRITE on the topic')
  if (!/Topic authorization failed/i.test(produced.stderr)) throw new Error(`kcat -P failed, but not with an authorization error: ${produced.stderr.trim().split('\n').at(-1)}`)
  const records = await kcatConsume(secure.bootstrap, context.topic, { partition: 0, extraArgs: secureArgs(context), timeoutMs: context.remainingMs() })
  deepStrictEqual(
    records.map((record) => [record.key?.toString('hex'), record.value?.toString('hex')]),
    Array.from({ length: aclDenied.readableCount }, (_, index) => [aclDenied.key(index).toString('hex'), aclDenied.value(index).toString('hex')]),
    'records read with READ only',
  )
  const listing = await kcat(['-L', '-J', '-b', secure.bootstrap, ...kcatCommonArgs, ...secureArgs(context)], { timeoutMs: context.remainingMs() })
  const topics = (JSON.parse(listing.stdout.toString('utf8')) as { topics: { topic: string }[] }).topics.map((entry) => entry.topic)
  if (!topics.includes(context.topic)) throw new Error(`kcat -L does not list the readable topic ${context.topic} (lists ${topics.join(', ')})`)
  if (topics.includes(secure.hiddenTopic)) throw new Error(`kcat -L lists ${secure.hiddenTopic}, which the user may not describe`)
  return `kcat -P refused (Topic authorization failed); -C read the ${aclDenied.readableCount} records; -L lists ${topics.length} topic(s), not the hidden one`
}

async function compactedTopic(context: ScenarioContext): Promise<string> {
  // -Z: a null value prints as NULL, so a tombstone stays null.
  const records = await kcatConsume(context.bootstrap, context.topic, { partition: 0, extraArgs: ['-Z'], timeoutMs: context.remainingMs() })
  const problem = compactedProblem(records)
  if (problem !== null) throw new Error(problem)
  const produced = await runKcat(['-P', '-b', context.bootstrap, '-t', context.topic, '-p', '0', '-m', '15', '-X', 'message.timeout.ms=10000'],
    { input: Buffer.concat([compacted.keylessValue, Buffer.from('\n')]), timeoutMs: context.remainingMs() })
  if (produced.code === 0) throw new Error('kcat -P of a record without a key succeeded on the compacted topic')
  if (!/failed to validate record/i.test(produced.stderr)) throw new Error(`kcat -P failed, but not with INVALID_RECORD: ${produced.stderr.trim().split('\n').at(-1)}`)
  return `-C -Z read ${records.length} of ${compacted.count} records: the latest per key at its offset, tombstone NULL; -P of a keyless record refused (Broker failed to validate record)`
}

function version(): string {
  const line = kcatVersion()
  const kcatRelease = /Version (\S+)/.exec(line)?.[1] ?? line
  const librdkafka = /librdkafka (\S+)/.exec(line)?.[1]
  return librdkafka ? `${kcatRelease} (librdkafka ${librdkafka})` : kcatRelease
}

const scenarios: Record<ScenarioName, ScenarioEntry> = {
  'metadata': metadata,
  'admin-create-describe-delete': { skip: 'kcat has no admin commands (no topic create/describe-config/delete)' },
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
  'transactions-read-committed': { skip: 'kcat has no transactional producer (librdkafka\'s transactions API is not reachable from its command line); its consumer reads read_committed, as librdkafka does by default' },
  'kip848-group': { skip: "Debian's librdkafka 2.0.2 predates group.protocol=consumer (KIP-848 came to librdkafka later; confluent-kafka's 2.16 has it)" },
}

runFamilyMain({ family: 'kcat', client: 'kcat (Debian)', version, scenarios })
