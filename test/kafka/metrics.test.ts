import { beforeEach, expect, test } from 'vitest'
import type { RequestContext } from '../../src/kafka/handler.ts'
import { fetch } from '../../src/kafka/handlers/fetch.ts'
import { produce } from '../../src/kafka/handlers/produce.ts'
import { KafkaTraffic } from '../../src/kafka/metrics.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import type { FetchRequest } from '../../src/protocol/generated/fetch.ts'
import type { ProduceRequest } from '../../src/protocol/generated/produce.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { makeHandlerContext } from './fixtures/broker-parts.ts'
import { fetchPartition, fetchRequest, produceRequest } from './fixtures/requests.ts'

let metrics: Metrics
let context: RequestContext

beforeEach(async () => {
  metrics = new Metrics()
  context = (await makeHandlerContext({ topics: { metered: 1 }, apiVersion: 9, traffic: new KafkaTraffic(metrics) })).context
})

/** The sample lines of one family, without HELP and TYPE. */
async function samples(name: string): Promise<string[]> {
  return (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((line) => !line.startsWith('#'))
}

const produceTo = (partitionData: ProduceRequest['topicData'][number]['partitionData'], name = 'metered'): ProduceRequest => produceRequest({ [name]: partitionData })
const fetchFrom = (fetchOffset: number, partition = 0): FetchRequest => fetchRequest([{ topic: 'metered', partitions: [fetchPartition(partition, fetchOffset)] }])

const records = (...values: string[]) => values.map((value) => ({ key: null, value: Buffer.from(value) }))

test('Kafka Produce counts records from the batch headers and the batch bytes under door="kafka"', async () => {
  const first = encodeBatch(records('a', 'b', 'c'))
  const second = encodeBatch(records('d', 'e'))
  // Two batches in one partition's records, as a client may send them.
  await produce.handle(produceTo([{ index: 0, records: Buffer.concat([first, second]) }]), context)
  expect(await samples('zombi_writes_total')).toContain('zombi_writes_total{door="kafka"} 5')
  expect(await samples('zombi_write_bytes_total')).toContain(`zombi_write_bytes_total{door="kafka"} ${first.length + second.length}`)
})

test('Kafka Produce errors are counted per partition under their Kafka names, and refused records are not counted as written', async () => {
  await produce.handle(produceTo([{ index: 0, records: encodeBatch(records('fine')) }, { index: 7, records: encodeBatch(records('nowhere')) }]), context)
  await produce.handle({ ...produceTo([{ index: 0, records: encodeBatch(records('x')) }]), acks: 2 }, context)
  await produce.handle(produceTo([{ index: 0, records: encodeBatch(records('x')) }], 'bad/name'), context)
  expect(await samples('zombi_errors_total')).toEqual([
    'zombi_errors_total{door="kafka",code="UNKNOWN_TOPIC_OR_PARTITION"} 1',
    'zombi_errors_total{door="kafka",code="INVALID_REQUIRED_ACKS"} 1',
    'zombi_errors_total{door="kafka",code="INVALID_TOPIC_EXCEPTION"} 1',
  ])
  expect(await samples('zombi_writes_total')).toContain('zombi_writes_total{door="kafka"} 1')
})

test('Kafka Fetch counts the records of the batches it returns, and its errors', async () => {
  await produce.handle(produceTo([{ index: 0, records: encodeBatch(records('a', 'b')) }]), context)
  await produce.handle(produceTo([{ index: 0, records: encodeBatch(records('c', 'd', 'e')) }]), context)
  await fetch.handle(fetchFrom(0), context)
  expect(await samples('zombi_reads_total')).toContain('zombi_reads_total{door="kafka"} 5')
  await fetch.handle(fetchFrom(99), context)
  await fetch.handle(fetchFrom(0, 3), context)
  await fetch.handle({ ...fetchFrom(0), sessionId: 12 }, { ...context, apiVersion: 12 } as RequestContext)
  expect(await samples('zombi_errors_total')).toEqual([
    'zombi_errors_total{door="kafka",code="OFFSET_OUT_OF_RANGE"} 1',
    'zombi_errors_total{door="kafka",code="UNKNOWN_TOPIC_OR_PARTITION"} 1',
    'zombi_errors_total{door="kafka",code="FETCH_SESSION_ID_NOT_FOUND"} 1',
  ])
  expect(await samples('zombi_reads_total')).toContain('zombi_reads_total{door="kafka"} 5')
})
