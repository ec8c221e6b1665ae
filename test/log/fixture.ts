// A BrokerLog over a hot store in memory, with helpers to create topics and append values.
import { BrokerLog, type BrokerLogOptions } from '../../src/log/broker-log.ts'
import { Topic } from '../../src/log/topic.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

export async function memoryLog(options: Partial<BrokerLogOptions> = {}): Promise<{ log: BrokerLog; store: MemoryHotStore }> {
  const store = new MemoryHotStore()
  await store.open()
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 1 << 20, ...options })
  await log.open()
  return { log, store }
}

export async function topicOf(log: BrokerLog, name: string, partitions = 1): Promise<Topic> {
  const created = await log.createTopic(name, partitions, {})
  if (!(created instanceof Topic)) throw new Error(created.message)
  return created
}

/** One batch of the values (timestamps `timestamp`, +1, ...). */
export function batchOf(values: string[], timestamp = 1_000): Buffer {
  return encodeBatch(values.map((value, i) => ({ key: null, value: Buffer.from(value), timestamp: timestamp + i })))
}
