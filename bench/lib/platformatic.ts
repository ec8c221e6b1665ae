// Load generator on @platformatic/kafka: a Producer with several multi-record sends in flight (acks=-1),
// and a group-less Consumer.fetch() loop from offset 0 to the end (consumer groups are not served yet).
import { randomBytes } from 'node:crypto'
import { Consumer, Producer, type MessageToProduce } from '@platformatic/kafka'
import { avroRecord, fillRecord, type ClientLoad, type Measurement, type Workload } from './scenarios.ts'

const clientId = 'zombi-bench'
/** Bytes of record values per send(), i.e. per Produce request (librdkafka's batch.size default is 1 MB). */
const bytesPerSend = 256 * 1024
/** send() calls in flight at once; the connection must allow as many in-flight requests. */
const sendsInFlight = 8
/** Distinct record values reused across sends, so building messages costs little bench CPU. */
const distinctFillerValues = 1024
/**
 * Random values span 16 MiB: more than a Parquet page (1 MiB) and its dictionary limit, so neither zstd nor
 * dictionary encoding finds repeats and the files stay as large as the payload.
 */
const randomValueBytes = 16 * 1024 * 1024
/** Like max.partition.fetch.bytes in the Java client and librdkafka. */
const partitionMaxBytes = 1_048_576
const timeoutMs = 60_000

function recordValues(workload: Workload): Buffer[] {
  if (workload.payload === 'random') {
    const count = Math.max(1, Math.ceil(randomValueBytes / workload.recordBytes))
    const pool = randomBytes(count * workload.recordBytes)
    return Array.from({ length: count }, (_, index) => pool.subarray(index * workload.recordBytes, (index + 1) * workload.recordBytes))
  }
  if (workload.payload === 'avro') return Array.from({ length: distinctFillerValues }, (_, index) => avroRecord(index, workload.recordBytes))
  return Array.from({ length: distinctFillerValues }, (_, index) => {
    const value = Buffer.allocUnsafe(workload.recordBytes)
    fillRecord(value, index)
    return value
  })
}

export function platformaticLoad(): ClientLoad {
  return {
    client: '@platformatic/kafka',

    async prepare() {},

    async produce(bootstrap, topic, workload): Promise<Measurement> {
      const values = recordValues(workload)
      const distinctValues = values.length
      const perSend = Math.max(1, Math.floor(bytesPerSend / workload.recordBytes))
      // N producers are N clients (N connections), each with its own sends in flight, drawing from one counter.
      const producers = Array.from({ length: workload.producers ?? 1 }, () => new Producer({
        clientId, bootstrapBrokers: [bootstrap], acks: -1, maxInflights: sendsInFlight, timeout: timeoutMs, retries: 0,
        compression: workload.compression ?? 'none',
      }))
      try {
        // Create the topic and connect before the clock starts, as a long-running producer would be.
        for (const producer of producers) await producer.metadata({ topics: [topic], autocreateTopics: true })
        const started = performance.now()
        let next = 0
        let end = 0n
        const sendLoop = async (producer: Producer<Buffer, Buffer, Buffer, Buffer>): Promise<void> => {
          while (next < workload.records) {
            const first = next
            const count = Math.min(perSend, workload.records - first)
            next += count
            const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = new Array(count)
            for (let i = 0; i < count; i++) messages[i] = { topic, partition: 0, value: values[(first + i) % distinctValues]! }
            const result = await producer.send({ messages })
            const baseOffset = result.offsets?.[0]?.offset
            if (baseOffset === undefined) throw new Error('send() returned no offset')
            if (baseOffset + BigInt(count) > end) end = baseOffset + BigInt(count)
          }
        }
        await Promise.all(producers.flatMap((producer) => Array.from({ length: sendsInFlight }, () => sendLoop(producer))))
        const seconds = (performance.now() - started) / 1000
        if (end !== BigInt(workload.records)) throw new Error(`sent ${workload.records} records but the last batch ends at offset ${end}`)
        return { records: workload.records, bytes: workload.records * workload.recordBytes, seconds }
      } finally {
        await Promise.all(producers.map((producer) => producer.close(true)))
      }
    },

    async fetch(bootstrap, topic, workload): Promise<Measurement> {
      // The constructor wants a group id; this reader never joins, commits or looks up a coordinator.
      const consumer = new Consumer({ clientId, bootstrapBrokers: [bootstrap], groupId: `${clientId}-unused`, timeout: timeoutMs, retries: 0 })
      try {
        const metadata = await consumer.metadata({ topics: [topic] })
        const topicMetadata = metadata.topics.get(topic)
        if (!topicMetadata) throw new Error(`no metadata for ${topic}`)
        const leader = topicMetadata.partitions[0]!.leader
        const target = BigInt(workload.records)
        let seconds = 0
        for (let pass = 0; pass < workload.fetchPasses; pass++) {
          const started = performance.now()
          let offset = 0n
          while (offset < target) {
            const response = await consumer.fetch({
              node: leader,
              maxWaitTime: 100,
              topics: [{
                topicId: topicMetadata.id,
                partitions: [{ partition: 0, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes }],
              }],
            })
            const partition = response.responses[0]?.partitions[0]
            if (!partition) throw new Error('fetch response without the partition')
            if (partition.errorCode !== 0) throw new Error(`fetch at offset ${offset}: error code ${partition.errorCode}`)
            if (partition.highWatermark !== target) throw new Error(`high watermark ${partition.highWatermark}, expected ${target}`)
            for (const batch of partition.records ?? []) {
              // A batch comes whole even when it starts before the fetch offset; records before it are skipped.
              const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
              if (last >= offset) offset = last + 1n
              if (batch.records.length !== batch.lastOffsetDelta + 1) throw new Error(`batch at ${batch.firstOffset} has ${batch.records.length} records, expected ${batch.lastOffsetDelta + 1}`)
            }
          }
          seconds += (performance.now() - started) / 1000
        }
        const records = workload.records * workload.fetchPasses
        return { records, bytes: records * workload.recordBytes, seconds }
      } finally {
        await consumer.close(true)
      }
    },
  }
}
