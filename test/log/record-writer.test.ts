import { describe, expect, it } from 'vitest'
import { IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { partitionForKey } from '../../src/log/partitioner.ts'
import { RecordWriter, type RecordToWrite } from '../../src/log/record-writer.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { makeLog, topicOf } from '../support/log.ts'

function record(value: string, fields: Partial<RecordToWrite> = {}): RecordToWrite {
  return { key: null, value: Buffer.from(value), headers: [], timestamp: 1_000, partition: -1, idempotencyKey: null, ...fields }
}

describe('RecordWriter', () => {
  it('places records by explicit partition, else by key as Kafka clients do, else round robin', async () => {
    const { log, store } = await makeLog()
    const topic = await topicOf(log, 'placed', 3)
    const writer = new RecordWriter(log, new IdempotencyKeys(store))
    const key = Buffer.from('customer-7')
    const written = await writer.write(topic, [record('a', { partition: 2 }), record('b', { key }), record('c'), record('d'), record('e')])
    expect(written).toEqual([
      { partition: 2, offset: 0 },
      { partition: partitionForKey(key, 3), offset: expect.any(Number) },
      { partition: 0, offset: expect.any(Number) }, { partition: 1, offset: expect.any(Number) }, { partition: 2, offset: expect.any(Number) },
    ])
  })

  it('refuses a missing partition naming the record, and writes nothing', async () => {
    const { log, store } = await makeLog()
    const topic = await topicOf(log, 'missing', 2)
    const writer = new RecordWriter(log, new IdempotencyKeys(store))
    expect(await writer.write(topic, [record('a', { partition: 0 }), record('b', { partition: 5 })])).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, record: 1 })
    expect(topic.partitions.map((p) => p.nextOffset)).toEqual([0, 0])
  })

  it('answers a key used while its first write is still in flight with that write, storing it once', async () => {
    const { log, store } = await makeLog()
    const topic = await topicOf(log, 'keyed')
    const writer = new RecordWriter(log, new IdempotencyKeys(store))
    // Both start in the same tick: the second sees the key the first registered when its append got offsets.
    const [first, second] = await Promise.all([
      writer.write(topic, [record('x', { idempotencyKey: 'k' })]),
      writer.write(topic, [record('y', { idempotencyKey: 'k' })]),
    ])
    expect(second).toEqual(first)
    expect(topic.partitions[0]!.highWatermark).toBe(1)
  })
})
