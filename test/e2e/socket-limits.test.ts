// Socket limits on the real broker process: clients that hold half-sent requests are closed once the
// broker-wide budget is spent, a well-behaved client is served throughout, and the memory those buffers
// took is given back to the system once they are gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readProduceResponse, writeProduceRequest } from '../../src/protocol/generated/produce.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { startBroker, type Broker } from './fixtures/broker.ts'
import { RawClient } from './fixtures/raw-client.ts'

const MB = 1024 * 1024

async function metric(broker: Broker, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  const match = pattern.exec(text)
  if (match === null) throw new Error(`no ${pattern} in /metrics`)
  return Number(match[1])
}

async function produceOne(client: RawClient, value: string): Promise<number> {
  const reader = await client.request(ApiKey.Produce, 9, (w) => writeProduceRequest(w, 9, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: 'steady', partitionData: [{ index: 0, records: encodeBatch([{ key: null, value: Buffer.from(value) }]) }] }],
  }))
  return readProduceResponse(reader, 9).responses[0]!.partitionResponses[0]!.errorCode
}

describe('abusive connections on the real broker', () => {
  let broker: Broker

  beforeAll(async () => {
    broker = await startBroker({ ZOMBI_MAX_REQUEST_BYTES: String(16 * MB), ZOMBI_MAX_BUFFERED_REQUEST_MB: '64' })
  })

  afterAll(async () => {
    await broker?.cleanup()
  })

  it('closes the largest holders of half-sent requests over the budget, serves a bystander, and gives the memory back', async () => {
    const bystander = await RawClient.connect(broker.host, broker.kafkaPort)
    expect(await produceOne(bystander, 'before')).toBe(0)
    // Ten clients each announce 16 MiB and send 10 MiB of it: 100 MiB against a 64 MiB budget.
    const abusers: RawClient[] = []
    for (let i = 0; i < 10; i++) {
      const client = await RawClient.connect(broker.host, broker.kafkaPort)
      const head = Buffer.alloc(4)
      head.writeInt32BE(16 * MB)
      client.sendRaw(head)
      for (let sent = 0; sent < 10 * MB; sent += MB) client.sendRaw(Buffer.alloc(MB, i))
      abusers.push(client)
      expect(await produceOne(bystander, `during-${i}`)).toBe(0)
    }
    for (let i = 0; i < 200 && abusers.filter((c) => c.closed).length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    // At least 36 MiB over the budget: at least four of them had to go.
    expect(abusers.filter((c) => c.closed).length).toBeGreaterThanOrEqual(4)
    expect(await metric(broker, /zombi_kafka_buffered_request_bytes (\d+)/)).toBeLessThanOrEqual(64 * MB)
    expect(await metric(broker, /zombi_kafka_connections_closed_total\{reason="buffer_budget"\} (\d+)/)).toBeGreaterThanOrEqual(4)

    for (const client of abusers) client.close()
    for (let i = 0; i < 200 && await metric(broker, /zombi_kafka_buffered_request_bytes (\d+)/) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await metric(broker, /zombi_kafka_buffered_request_bytes (\d+)/)).toBe(0)
    // The relief runs once the dropped buffers have piled up (debounced, at most every 10 s).
    let relief: { rssBefore: number; rssAfter: number } | undefined
    for (let i = 0; i < 300 && relief === undefined; i++) {
      const line = broker.logs().split('\n').reverse().find((l) => l.includes('gave memory of dropped request buffers back'))
      if (line !== undefined) relief = JSON.parse(line) as { rssBefore: number; rssAfter: number }
      else await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(relief, 'no memory relief logged').toBeDefined()
    expect(relief!.rssAfter).toBeLessThan(relief!.rssBefore)
    expect(await produceOne(bystander, 'after')).toBe(0)
    bystander.close()
  })
})
