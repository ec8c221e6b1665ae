import { beforeEach, expect, test } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import type { RequestContext } from '../../src/kafka/handler.ts'
import { fetch } from '../../src/kafka/handlers/fetch.ts'
import { produce } from '../../src/kafka/handlers/produce.ts'
import { KafkaTraffic } from '../../src/kafka/metrics.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import type { FetchRequest } from '../../src/protocol/generated/fetch.ts'
import type { ProduceRequest } from '../../src/protocol/generated/produce.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

let metrics: Metrics
let context: RequestContext

beforeEach(async () => {
  const store = new MemoryHotStore()
  await store.open()
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
  await log.open()
  await log.createTopic('metered', 1, {})
  metrics = new Metrics()
  context = { log, logger: silentLogger, config: loadConfig({}), apiVersion: 9, shutdown: new AbortController().signal, traffic: new KafkaTraffic(metrics) } as unknown as RequestContext
})

/** The sample lines of one family, without HELP and TYPE. */
async function samples(name: string): Promise<string[]> {
  return (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((line) => !line.startsWith('#'))
}

function produceRequest(partitionData: ProduceRequest['topicData'][number]['partitionData'], name = 'metered'): ProduceRequest {
  return { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name, partitionData }] }
}

function fetchRequest(fetchOffset: number, partition = 0): FetchRequest {
  return {
    clusterId: null, replicaId: -1, replicaState: null, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 'metered', topicId: '', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: '' }] }],
    forgottenTopicsData: [], rackId: '',
  }
}

const records = (...values: string[]) => values.map((value) => ({ key: null, value: Buffer.from(value) }))

test('Kafka Produce counts records from the batch headers and the batch bytes under door="kafka"', async () => {
  const first = encodeBatch(records('a', 'b', 'c'))
  const second = encodeBatch(records('d', 'e'))
  // Two batches in one partition's records, as a client may send them.
  await produce.handle(produceRequest([{ index: 0, records: Buffer.concat([first, second]) }]), context)
  expect(await samples('zombi_writes_total')).toContain('zombi_writes_total{door="kafka"} 5')
  expect(await samples('zombi_write_bytes_total')).toContain(`zombi_write_bytes_total{door="kafka"} ${first.length + second.length}`)
})

test('Kafka Produce errors are counted per partition under their Kafka names, and refused records are not counted as written', async () => {
  await produce.handle(produceRequest([{ index: 0, records: encodeBatch(records('fine')) }, { index: 7, records: encodeBatch(records('nowhere')) }]), context)
  await produce.handle({ ...produceRequest([{ index: 0, records: encodeBatch(records('x')) }]), acks: 2 }, context)
  await produce.handle(produceRequest([{ index: 0, records: encodeBatch(records('x')) }], 'bad/name'), context)
  expect(await samples('zombi_errors_total')).toEqual([
    'zombi_errors_total{door="kafka",code="UNKNOWN_TOPIC_OR_PARTITION"} 1',
    'zombi_errors_total{door="kafka",code="INVALID_REQUIRED_ACKS"} 1',
    'zombi_errors_total{door="kafka",code="INVALID_TOPIC_EXCEPTION"} 1',
  ])
  expect(await samples('zombi_writes_total')).toContain('zombi_writes_total{door="kafka"} 1')
})

test('Kafka Fetch counts the records of the batches it returns, and its errors', async () => {
  await produce.handle(produceRequest([{ index: 0, records: encodeBatch(records('a', 'b')) }]), context)
  await produce.handle(produceRequest([{ index: 0, records: encodeBatch(records('c', 'd', 'e')) }]), context)
  await fetch.handle(fetchRequest(0), context)
  expect(await samples('zombi_reads_total')).toContain('zombi_reads_total{door="kafka"} 5')
  await fetch.handle(fetchRequest(99), context)
  await fetch.handle(fetchRequest(0, 3), context)
  await fetch.handle({ ...fetchRequest(0), sessionId: 12 }, { ...context, apiVersion: 12 } as RequestContext)
  expect(await samples('zombi_errors_total')).toEqual([
    'zombi_errors_total{door="kafka",code="OFFSET_OUT_OF_RANGE"} 1',
    'zombi_errors_total{door="kafka",code="UNKNOWN_TOPIC_OR_PARTITION"} 1',
    'zombi_errors_total{door="kafka",code="FETCH_SESSION_ID_NOT_FOUND"} 1',
  ])
  expect(await samples('zombi_reads_total')).toContain('zombi_reads_total{door="kafka"} 5')
})
