import { expect, test } from 'vitest'
import { loadConfig } from '../../../src/config/index.ts'
import type { RequestContext } from '../../../src/kafka/handler.ts'
import { produce } from '../../../src/kafka/handlers/produce.ts'
import { BrokerLog } from '../../../src/log/broker-log.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { ProduceRequest } from '../../../src/protocol/generated/produce.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { encodeBatch } from '../../../src/protocol/records.ts'
import { MemoryHotStore } from '../../../src/storage/memory-store.ts'

test('an acks=0 Produce has no response, but its handling ends only once the records are stored (so budgets and pending counts hold it)', async () => {
  const store = new MemoryHotStore()
  await store.open()
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
  await log.open()
  await log.createTopic('fire', 1, {})
  const context = { log, logger: silentLogger, config: loadConfig({}), apiVersion: 9 } as unknown as RequestContext
  const request: ProduceRequest = {
    transactionalId: null, acks: 0, timeoutMs: 1000,
    topicData: [{ name: 'fire', partitionData: [{ index: 0, records: encodeBatch([{ key: null, value: Buffer.from('and forget') }]) }] }],
  }
  const handled = produce.handle(request, context)
  expect(handled).toBeInstanceOf(Promise)
  // The memory store settles appends at the end of the tick: until then the handling is not done.
  let done = false
  void (handled as Promise<unknown>).then(() => { done = true })
  await Promise.resolve()
  expect(done).toBe(false)
  expect(await handled).toBeNull()
  expect(log.topicByName('fire')!.partitions[0]!.highWatermark).toBe(1)
})

test('a Produce on a full disk is answered KAFKA_STORAGE_ERROR per partition, with no offset given out', async () => {
  class FullStore extends MemoryHotStore {
    override hasSpaceFor(): boolean {
      return false
    }
  }
  const store = new FullStore()
  await store.open()
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
  await log.open()
  await log.createTopic('full', 2, {})
  const context = { log, logger: silentLogger, config: loadConfig({}), apiVersion: 9 } as unknown as RequestContext
  const records = (): Buffer => encodeBatch([{ key: null, value: Buffer.from('no room') }])
  const request: ProduceRequest = {
    transactionalId: null, acks: -1, timeoutMs: 1000,
    topicData: [{ name: 'full', partitionData: [{ index: 0, records: records() }, { index: 1, records: records() }] }],
  }
  const response = await produce.handle(request, context)
  const partitions = (response as { responses: Array<{ partitionResponses: Array<{ index: number; errorCode: number; baseOffset: number }> }> }).responses[0]!.partitionResponses
  expect(partitions.map(({ index, errorCode, baseOffset }) => ({ index, errorCode, baseOffset }))).toEqual([
    { index: 0, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
    { index: 1, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
  ])
  expect(log.topicByName('full')!.partitions.map((p) => p.nextOffset)).toEqual([0, 0])
})
