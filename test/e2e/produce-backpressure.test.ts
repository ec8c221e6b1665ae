// Broker-wide produce backpressure: Produce bytes in flight over ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB
// get throttle_time_ms and the sending connection stops being read until the budget drains; every
// acknowledged record is stored, other clients are still served, and a real client copes.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readProduceResponse, writeProduceRequest } from '../../src/protocol/generated/produce.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, kcatConsume } from './fixtures/kcat.ts'
import { RawClient } from './fixtures/raw-client.ts'

const PRODUCE_VERSION = 9
let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB: '1', ZOMBI_MAX_MESSAGE_BYTES: String(4 * 1024 * 1024) })
})

afterAll(async () => {
  await broker?.cleanup()
})

async function produce(client: RawClient, topic: string, values: string[], valueBytes: number): Promise<{ errorCode: number; baseOffset: number; throttleTimeMs: number }> {
  const records = encodeBatch(values.map((value) => ({ key: null, value: Buffer.from(value.padEnd(valueBytes, '.')) })))
  const reader = await client.request(ApiKey.Produce, PRODUCE_VERSION, (w) =>
    writeProduceRequest(w, PRODUCE_VERSION, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }))
  const response = readProduceResponse(reader, PRODUCE_VERSION)
  const partition = response.responses[0]!.partitionResponses[0]!
  return { errorCode: partition.errorCode, baseOffset: partition.baseOffset, throttleTimeMs: response.throttleTimeMs }
}

test('Produce over the broker-wide budget is throttled and paced, loses nothing, and other clients are served meanwhile', async () => {
  const topic = uniqueTopic('budget')
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  const other = await RawClient.connect(broker.host, broker.kafkaPort)
  try {
    // Within the budget: no throttle.
    expect(await produce(client, topic, ['small'], 10)).toMatchObject({ errorCode: 0, baseOffset: 0, throttleTimeMs: 0 })
    // Three requests of 1.5 MB each, pipelined on one connection: each alone is over the 1 MB budget.
    const big = await Promise.all([1, 2, 3].map((i) => produce(client, topic, [`big-${i}`], 1_500_000)))
    expect(big.map((r) => r.errorCode)).toEqual([0, 0, 0])
    expect(big.map((r) => r.baseOffset)).toEqual([1, 2, 3])
    // Each is answered while at least its own excess over the budget (~0.5 MB of 1 MB: ~44 ms) is in flight.
    for (const r of big) expect(r.throttleTimeMs).toBeGreaterThanOrEqual(40)
    // Another connection is served, and once the budget has drained nothing is throttled.
    expect(await produce(other, topic, ['other'], 10)).toMatchObject({ errorCode: 0, baseOffset: 4, throttleTimeMs: 0 })
    expect(await produce(client, topic, ['after'], 10)).toMatchObject({ errorCode: 0, baseOffset: 5, throttleTimeMs: 0 })
  } finally {
    client.close()
    other.close()
  }
  const values = (await kcatConsume(broker.bootstrap, topic, { partition: 0 })).map((record) => record.value!.toString().replace(/\.+$/, ''))
  expect(values).toEqual(['small', 'big-1', 'big-2', 'big-3', 'other', 'after'])
})

test('acks=0 requests hold their budget until stored, so a flood of them is paced too; every record is stored in order', async () => {
  const topic = uniqueTopic('budget-acks0')
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  try {
    // Six 1.5 MB acks=0 requests sent at once (no answers), then one acks=-1 request behind them.
    for (let i = 0; i < 6; i++) {
      const records = encodeBatch([{ key: null, value: Buffer.from(`fire-${i}`.padEnd(1_500_000, '.')) }])
      client.sendRaw(RawClient.frame(ApiKey.Produce, PRODUCE_VERSION, 1000 + i, (w) =>
        writeProduceRequest(w, PRODUCE_VERSION, { transactionalId: null, acks: 0, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] })))
    }
    // Answered after all six are stored (offset 6); it may be throttled, the last acks=0 request being in flight beside it.
    expect(await produce(client, topic, ['acked'], 10)).toMatchObject({ errorCode: 0, baseOffset: 6 })
  } finally {
    client.close()
  }
  const values = (await kcatConsume(broker.bootstrap, topic, { partition: 0 })).map((record) => record.value!.toString().replace(/\.+$/, ''))
  expect(values).toEqual(['fire-0', 'fire-1', 'fire-2', 'fire-3', 'fire-4', 'fire-5', 'acked'])
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  expect(metrics).toMatch(/^zombi_kafka_produce_inflight_bytes 0$/m)
})

test('librdkafka (kcat) producing 40 MB through a 1 MB budget gets every record stored', async () => {
  const topic = uniqueTopic('budget-kcat')
  const lines = Array.from({ length: 40_000 }, (_, i) => `${String(i).padStart(8, '0')}${'x'.repeat(992)}`)
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', ...kcatCommonArgs], { input: lines.join('\n') + '\n', timeoutMs: 120_000 })
  const consumed = await kcatConsume(broker.bootstrap, topic, { partition: 0, timeoutMs: 120_000 })
  expect(consumed).toHaveLength(lines.length)
  expect(consumed.every((record, i) => record.value!.toString().startsWith(String(i).padStart(8, '0')))).toBe(true)
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  expect(metrics).toMatch(/^zombi_kafka_produce_inflight_bytes 0$/m)
})
