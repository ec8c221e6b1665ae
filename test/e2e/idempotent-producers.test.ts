// Idempotent producers from real clients: InitProducerId, sequenced batches, every record once.
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { readPartition } from './fixtures/platformatic.ts'
import { pythonJsonLines } from './fixtures/python.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.cleanup()
})

describe('idempotent producers', () => {
  test('kafkajs with idempotent: true writes every record exactly once, in order', async () => {
    const topic = uniqueTopic('idem-kafkajs')
    const kafka = new Kafka({ clientId: 'zombi-e2e-idempotent', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true })
    await producer.connect()
    try {
      for (let i = 0; i < 20; i++) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ partition: 0, value: `r${i * 50 + j}` })) })
      }
    } finally {
      await producer.disconnect()
    }
    const contents = await readPartition(broker.bootstrap, topic, 0)
    expect(contents.records.map((r) => r.value!.toString())).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`))
    expect(contents.records.map((r) => r.offset)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  test('confluent-kafka with enable.idempotence writes every record exactly once, in order', async () => {
    const topic = uniqueTopic('idem-confluent')
    const input = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ key: null, value: Buffer.from(`c${i}`).toString('base64'), headers: [], partition: 0 })).join('\n') + '\n'
    const reports = await pythonJsonLines('compat-tests/confluent-kafka-python/produce.py', ['--bootstrap', broker.bootstrap, '--topic', topic, '--idempotence'], { input }) as Array<{ offset: number }>
    expect(reports.map((r) => r.offset)).toEqual(Array.from({ length: 2000 }, (_, i) => i))
    const contents = await readPartition(broker.bootstrap, topic, 0)
    expect(contents.records.map((r) => r.value!.toString())).toEqual(Array.from({ length: 2000 }, (_, i) => `c${i}`))
    expect(broker.logs()).not.toMatch(/OUT_OF_ORDER|refused InitProducerId/)
  })
})
