// The one way tests build a BrokerLog: over a fresh in-memory hot store unless the test brings its
// own store (a disk store, a store that fails on purpose), with the topics it asks for created.
import { BrokerLog } from '../../src/log/broker-log.ts'
import { Topic } from '../../src/log/topic.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import type { HotStore } from '../../src/storage/hot-store.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

/** Kafka's message.max.bytes default, the broker's too. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588

export interface LogOptions<S extends HotStore = MemoryHotStore> {
  /** An unopened store; makeLog opens it and hands its recovery report to the log. Default: a new MemoryHotStore. */
  store?: S
  /** Topics to create, by name, with their partition counts. */
  topics?: Record<string, number>
  maxMessageBytes?: number
  /** Default 1 MiB; 0 makes every read go to the store. */
  fetchCacheBytes?: number
  maxPartitions?: number
  /** As ZOMBI_AUTO_CREATE_TOPICS and ZOMBI_DEFAULT_PARTITIONS (defaults: on, 1). */
  autoCreateTopics?: boolean
  defaultPartitions?: number
  now?: () => number
  /** Whether typed table modes are accepted (a schema registry backs them); default true. */
}

/** An opened in-memory hot store, for tests below the log. */
export async function openMemoryStore(): Promise<MemoryHotStore> {
  const store = new MemoryHotStore()
  await store.open()
  return store
}

/** An opened BrokerLog (and its opened store) holding the requested topics. */
export async function makeLog<S extends HotStore = MemoryHotStore>(options: LogOptions<S> = {}): Promise<{ log: BrokerLog; store: S }> {
  const store = (options.store ?? new MemoryHotStore()) as S
  const recovery = await store.open()
  const log = new BrokerLog({
    store, logger: silentLogger,
    defaults: { maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES },
    fetchCacheBytes: options.fetchCacheBytes ?? 1 << 20,
    maxPartitions: options.maxPartitions,
    autoCreateTopics: options.autoCreateTopics,
    defaultPartitions: options.defaultPartitions,
    now: options.now,
  })
  await log.open(recovery)
  for (const [name, partitions] of Object.entries(options.topics ?? {})) await topicOf(log, name, partitions)
  return { log, store }
}

/** Creates a topic, failing the test with the log's reason if it cannot. */
export async function topicOf(log: BrokerLog, name: string, partitions = 1): Promise<Topic> {
  const created = await log.createTopic(name, partitions, {})
  if (!(created instanceof Topic)) throw new Error(created.message)
  return created
}

/** One batch of the values (no keys; timestamps `timestamp`, +1, ...). */
export function batchOf(values: string[], timestamp = 1_000): Buffer {
  return encodeBatch(values.map((value, i) => ({ key: null, value: Buffer.from(value), timestamp: timestamp + i })))
}
