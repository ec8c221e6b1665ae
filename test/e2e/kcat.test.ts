// kcat (librdkafka) against the real server: metadata listing, produce and consume with every codec,
// keys, headers, nulls, binary payloads, several partitions and timestamps, compared byte for byte.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Producer, ProduceAcks } from '@platformatic/kafka'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, kcatConsume, type KcatRecord } from './fixtures/kcat.ts'
import { codecIds, codecs, readPartition } from './fixtures/platformatic.ts'

const partitionsPerTopic = 3
const recordDelimiter = '\x1e'
const keyDelimiter = '\x1f'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_DEFAULT_PARTITIONS: String(partitionsPerTopic) })
})

afterAll(async () => {
  await broker?.cleanup()
})

/** Produces with `-D \x1e -K \x1f`, so keys and values may hold newlines and tabs. */
async function kcatProduce(topic: string, input: string | Buffer, extraArgs: readonly string[]): Promise<void> {
  await kcat(
    // A long linger puts one invocation's records in one batch (kcat reads all stdin at once anyway).
    ['-P', '-b', broker.bootstrap, '-t', topic, ...kcatCommonArgs, '-X', 'linger.ms=1000', '-D', '\\x1e', '-K', '\\x1f', ...extraArgs],
    { input },
  )
}

interface Expected {
  key: string | Buffer | null
  value: string | Buffer | null
}

function toBuffer(data: string | Buffer | null): Buffer | null {
  return data === null ? null : Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')
}

/** What kcat should print for records produced in one invocation, offsets counted from `firstOffset`. */
function expectedRecords(partition: number, firstOffset: number, headers: string, records: Expected[]): Omit<KcatRecord, 'timestamp'>[] {
  return records.map((record, index) => ({
    partition,
    offset: firstOffset + index,
    key: toBuffer(record.key),
    value: toBuffer(record.value),
    headers,
  }))
}

function withoutTimestamps(records: KcatRecord[]): Omit<KcatRecord, 'timestamp'>[] {
  return records.map(({ timestamp: _timestamp, ...rest }) => rest)
}

// Compressible on purpose: librdkafka sends a batch uncompressed when compressing does not make it smaller.
const largeValue = `${'zombies walk slowly but they never stop; '.repeat(2_000)}end`

/** Input lines for -Z mode and what each becomes. */
const nullableCases: { line: string; expected: Expected }[] = [
  { line: `k1${keyDelimiter}v1`, expected: { key: 'k1', value: 'v1' } },
  { line: `${keyDelimiter}value with a null key`, expected: { key: null, value: 'value with a null key' } },
  { line: `tombstone${keyDelimiter}`, expected: { key: 'tombstone', value: null } },
  { line: 'no key delimiter at all', expected: { key: null, value: 'no key delimiter at all' } },
  { line: `multi${keyDelimiter}line one\nline two\twith a tab\r\n`, expected: { key: 'multi', value: 'line one\nline two\twith a tab\r\n' } },
  { line: `ключ ☃${keyDelimiter}héllo wörld 🧟`, expected: { key: 'ключ ☃', value: 'héllo wörld 🧟' } },
  { line: `large${keyDelimiter}${largeValue}`, expected: { key: 'large', value: largeValue } },
]

describe('kcat', () => {
  test('-L lists the broker at its advertised address and a topic with its partitions', async () => {
    const topic = uniqueTopic('kcat-metadata')
    await kcatProduce(topic, `k${keyDelimiter}v${recordDelimiter}`, ['-p', '0'])

    const result = await kcat(['-L', '-J', '-b', broker.bootstrap, '-t', topic, ...kcatCommonArgs])
    const metadata = JSON.parse(result.stdout.toString('utf8')) as {
      brokers: { id: number; name: string }[]
      topics: { topic: string; error?: string; partitions: { partition: number; leader: number; error?: string }[] }[]
    }
    expect(metadata.brokers).toHaveLength(1)
    const [onlyBroker] = metadata.brokers
    expect(onlyBroker!.name).toBe(broker.bootstrap)
    const listed = metadata.topics.find((entry) => entry.topic === topic)
    expect(listed, JSON.stringify(metadata)).toBeDefined()
    expect(listed!.error).toBeUndefined()
    expect(listed!.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2])
    for (const partition of listed!.partitions) {
      expect(partition.leader).toBe(onlyBroker!.id)
      expect(partition.error).toBeUndefined()
    }

    // Without -t: every topic, ours included.
    const all = await kcat(['-L', '-b', broker.bootstrap, ...kcatCommonArgs])
    const text = all.stdout.toString('utf8')
    expect(text).toContain(`broker ${onlyBroker!.id} at ${broker.bootstrap}`)
    expect(text).toContain(`topic "${topic}" with ${partitionsPerTopic} partitions:`)
  })

  describe.each(codecs)('-z %s', (codec) => {
    test('keys, null keys, null values, headers and large values round-trip byte-exact', async () => {
      const topic = uniqueTopic(`kcat-${codec}`)
      const input = nullableCases.map((entry) => entry.line + recordDelimiter).join('')
      const before = Date.now()
      await kcatProduce(topic, input, ['-p', '0', '-z', codec, '-Z', '-H', 'h1=v1', '-H', 'h2=two words', '-H', 'empty=', '-H', 'nullvalue'])
      const after = Date.now()

      const records = await kcatConsume(broker.bootstrap, topic, { partition: 0 })
      expect(withoutTimestamps(records)).toEqual(
        expectedRecords(0, 0, 'h1=v1,h2=two words,empty=,nullvalue=NULL', nullableCases.map((entry) => entry.expected)),
      )
      for (const record of records) {
        // librdkafka stamps CreateTime when kcat hands it the record.
        expect(record.timestamp).toBeGreaterThanOrEqual(before - 1_000)
        expect(record.timestamp).toBeLessThanOrEqual(after + 1_000)
      }

      // The stored batches carry the codec kcat asked for (bytes are kept as produced). librdkafka sends a
      // batch uncompressed when compressing does not shrink it, which happens to small batches, so only
      // the batch holding the large value is sure to be compressed.
      const stored = await readPartition(broker.bootstrap, topic, 0)
      expect(stored.highWatermark).toBe(nullableCases.length)
      const largeOffset = nullableCases.findIndex((entry) => entry.expected.key === 'large')
      const largeBatch = stored.batches.find((batch) => batch.baseOffset <= largeOffset && largeOffset < batch.baseOffset + batch.recordCount)
      expect(largeBatch, JSON.stringify(stored.batches)).toBeDefined()
      expect(largeBatch!.attributes & 0x07).toBe(codecIds[codec])
      for (const batch of stored.batches) expect([codecIds.none, codecIds[codec]]).toContain(batch.attributes & 0x07)
    })

    test('empty keys and empty values stay empty, not null, without -Z', async () => {
      const topic = uniqueTopic(`kcat-empty-${codec}`)
      const cases: Expected[] = [
        { key: '', value: 'empty key' },
        { key: 'empty value', value: '' },
        { key: 'k', value: 'v' },
      ]
      const input = cases.map((entry) => `${entry.key as string}${keyDelimiter}${entry.value as string}${recordDelimiter}`).join('')
      await kcatProduce(topic, input, ['-p', '0', '-z', codec])

      const records = await kcatConsume(broker.bootstrap, topic, { partition: 0 })
      expect(withoutTimestamps(records)).toEqual(expectedRecords(0, 0, '', cases))
    })
  })

  test('a binary file is one record, byte-exact (all 256 byte values, NULs and delimiters included)', async () => {
    const topic = uniqueTopic('kcat-binary')
    const payload = Buffer.alloc(256 * 64)
    for (let index = 0; index < payload.length; index++) payload[index] = (index * 7 + (index >> 8)) & 0xff
    const file = join(broker.dataDir, `${topic}.bin`)
    await writeFile(file, payload)
    await kcat(['-P', '-b', broker.bootstrap, '-t', topic, ...kcatCommonArgs, '-p', '0', '-k', 'binary-key', file])

    const records = await kcatConsume(broker.bootstrap, topic, { partition: 0 })
    expect(records).toHaveLength(1)
    expect(records[0]!.key).toEqual(Buffer.from('binary-key'))
    expect(records[0]!.value!.equals(payload)).toBe(true)
  })

  test('records produced to several partitions are read back per partition with dense offsets', async () => {
    const topic = uniqueTopic('kcat-partitions')
    const perPartition = [4, 1, 6]
    for (let partition = 0; partition < partitionsPerTopic; partition++) {
      const lines = Array.from({ length: perPartition[partition]! }, (_, index) => `p${partition}-k${index}${keyDelimiter}p${partition}-v${index}${recordDelimiter}`)
      await kcatProduce(topic, lines.join(''), ['-p', String(partition), '-z', 'lz4'])
    }
    // Second invocation on partition 0: offsets continue after the first batch.
    await kcatProduce(topic, `p0-k-late${keyDelimiter}p0-v-late${recordDelimiter}`, ['-p', '0'])

    // All partitions at once (no -p): kcat assigns every partition of the topic.
    const all = await kcatConsume(broker.bootstrap, topic)
    for (let partition = 0; partition < partitionsPerTopic; partition++) {
      const expected = Array.from({ length: perPartition[partition]! }, (_, index) => ({ key: `p${partition}-k${index}`, value: `p${partition}-v${index}` }))
      if (partition === 0) expected.push({ key: 'p0-k-late', value: 'p0-v-late' })
      const got = all.filter((record) => record.partition === partition)
      expect(withoutTimestamps(got)).toEqual(expectedRecords(partition, 0, '', expected))
    }
    expect(all).toHaveLength(4 + 1 + 6 + 1)

    // And from an absolute offset in the middle of a batch.
    const tail = await kcatConsume(broker.bootstrap, topic, { partition: 2, offset: '3' })
    expect(tail.map((record) => record.offset)).toEqual([3, 4, 5])
    expect(tail.map((record) => record.value!.toString())).toEqual(['p2-v3', 'p2-v4', 'p2-v5'])
  })

  test('kcat produce and consume count in the door="kafka" families of /metrics, their batch bytes and errors included', async () => {
    const scrape = async (): Promise<(series: string) => number> => {
      const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
      return (series) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.slice(series.length + 1) ?? 0)
    }
    const topic = uniqueTopic('kcat-metrics')
    const before = await scrape()
    await kcatProduce(topic, ['a', 'b', 'c', 'd'].map((value) => `k${keyDelimiter}${value}${recordDelimiter}`).join(''), ['-p', '1'])
    expect(await kcatConsume(broker.bootstrap, topic, { partition: 1, offset: 'beginning' })).toHaveLength(4)
    // Past the end: the broker answers OFFSET_OUT_OF_RANGE before kcat resets its offset.
    await kcatConsume(broker.bootstrap, topic, { partition: 1, offset: '100' })
    const after = await scrape()
    const delta = (series: string): number => after(series) - before(series)
    expect(delta('zombi_writes_total{door="kafka"}')).toBe(4)
    // One batch of 4 small records: the 61-byte batch header and a few bytes per record.
    expect(delta('zombi_write_bytes_total{door="kafka"}')).toBeGreaterThan(61 + 4 * 3)
    expect(delta('zombi_write_bytes_total{door="kafka"}')).toBeLessThan(61 + 4 * 20)
    expect(delta('zombi_reads_total{door="kafka"}')).toBe(4)
    expect(delta('zombi_errors_total{door="kafka",code="OFFSET_OUT_OF_RANGE"}')).toBeGreaterThanOrEqual(1)
  })

  test('explicit timestamps set by a producer are printed exactly and -o s@<ms> starts at the right offset', async () => {
    const topic = uniqueTopic('kcat-timestamps')
    // kcat cannot set a timestamp when producing, so another client writes them.
    const base = 1_700_000_000_000n
    const timestamps = [base, base + 1_000n, base + 2_000n, base + 3_000n]
    const producer = new Producer({ clientId: 'zombi-e2e-timestamps', bootstrapBrokers: [broker.bootstrap], retries: 3, autocreateTopics: true })
    try {
      await producer.send({
        acks: ProduceAcks.ALL,
        messages: timestamps.map((timestamp, index) => ({
          topic,
          partition: 1,
          key: Buffer.from(`t${index}`),
          value: Buffer.from(`at ${timestamp}`),
          timestamp,
        })),
      })
    } finally {
      await producer.close()
    }

    const records = await kcatConsume(broker.bootstrap, topic, { partition: 1 })
    expect(records.map((record) => [record.offset, record.timestamp, record.value!.toString()])).toEqual(
      timestamps.map((timestamp, index) => [index, Number(timestamp), `at ${timestamp}`]),
    )

    // ListOffsets by timestamp: the first record at or after base + 1500 is offset 2.
    const fromTime = await kcatConsume(broker.bootstrap, topic, { partition: 1, offset: `s@${base + 1_500n}` })
    expect(fromTime.map((record) => record.offset)).toEqual([2, 3])

    // -Q asks ListOffsets directly.
    const query = await kcat(['-Q', '-b', broker.bootstrap, ...kcatCommonArgs, '-t', `${topic}:1:${base + 1_000n}`])
    expect(query.stdout.toString('utf8').trim()).toBe(`${topic} [1] offset 1`)
  })
})
