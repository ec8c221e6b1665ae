// The harness's independent view of the broker: a raw Fetch reader (no group, no client-side
// record handling beyond decoding) that keeps every batch header, and topic creation for scenarios.
// Both are built on @platformatic/kafka's low-level calls, so they check the bytes Zombi stored,
// not what the client under test made of them.
import { Admin, Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import type { TopicSpec } from './scenarios.ts'

export interface RawRecord {
  offset: number
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
  headers: [Buffer | null, Buffer | null][]
}

export interface RawBatch {
  baseOffset: number
  /** Low 3 bits: codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd); 0x08: LogAppendTime. */
  attributes: number
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

export interface RawPartition {
  records: RawRecord[]
  batches: RawBatch[]
  highWatermark: number
}

export const logAppendTimeFlag = 0x08

/** Reads one partition from offset 0 up to the high watermark. */
export async function readPartition(bootstrap: string, topic: string, partition: number, timeoutMs = 30_000): Promise<RawPartition> {
  const consumer = new Consumer({
    clientId: 'zombi-compat-reader',
    bootstrapBrokers: [bootstrap],
    groupId: 'zombi-compat-reader-unused',
    retries: 3,
    timeout: 30_000,
    // Everything stored, aborted transactions included (the client's default is read_committed).
    isolationLevel: 0,
  })
  const deadline = Date.now() + timeoutMs
  try {
    const metadata = await consumer.metadata({ topics: [topic] })
    const topicMetadata = metadata.topics.get(topic)
    if (!topicMetadata) throw new Error(`metadata has no topic ${topic}`)
    const partitionMetadata = topicMetadata.partitions[partition]
    if (!partitionMetadata) throw new Error(`metadata of ${topic} has no partition ${partition}`)
    const contents: RawPartition = { records: [], batches: [], highWatermark: -1 }
    let offset = 0
    while (true) {
      const response = await consumer.fetch({
        node: partitionMetadata.leader,
        maxWaitTime: 100,
        topics: [{
          topicId: topicMetadata.id,
          partitions: [{ partition, fetchOffset: BigInt(offset), currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 4 * 1_048_576 }],
        }],
      })
      const partitionResponse = response.responses.flatMap((t) => t.partitions).find((p) => p.partitionIndex === partition)
      if (!partitionResponse) throw new Error(`Fetch response has no partition ${partition}`)
      if (partitionResponse.errorCode !== 0) throw new Error(`Fetch of ${topic}/${partition} at ${offset}: error ${partitionResponse.errorCode}`)
      contents.highWatermark = Number(partitionResponse.highWatermark)
      for (const batch of partitionResponse.records ?? []) {
        const baseOffset = Number(batch.firstOffset)
        if (!contents.batches.some((known) => known.baseOffset === baseOffset)) {
          contents.batches.push({
            baseOffset,
            attributes: batch.attributes,
            producerId: batch.producerId,
            producerEpoch: batch.producerEpoch,
            baseSequence: batch.firstSequence,
            recordCount: batch.records.length,
          })
        }
        for (const record of batch.records) {
          const recordOffset = baseOffset + record.offsetDelta
          if (recordOffset < offset) continue
          contents.records.push({
            offset: recordOffset,
            timestamp: (batch.attributes & logAppendTimeFlag) !== 0 ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta,
            key: record.key,
            value: record.value,
            headers: record.headers,
          })
          offset = recordOffset + 1
        }
      }
      if (offset >= contents.highWatermark) return contents
      if (Date.now() > deadline) throw new Error(`reading ${topic}/${partition}: at offset ${offset} of ${contents.highWatermark} at the deadline`)
    }
  } finally {
    await consumer.close(true)
  }
}

/** Creates `topic` as a scenario needs it. */
export async function createTopic(bootstrap: string, topic: string, spec: TopicSpec): Promise<void> {
  const admin = new Admin({ clientId: 'zombi-compat-admin', bootstrapBrokers: [bootstrap], retries: 3, timeout: 30_000 })
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: spec.partitions,
      replicas: 1,
      configs: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
    })
  } finally {
    await admin.close()
  }
}

export interface ReferenceRecord {
  partition: number
  key?: Buffer | null
  value: Buffer | null
  timestamp?: bigint
}

/**
 * Writes records with @platformatic/kafka, for the few scenarios where the client under test cannot
 * produce what it must then read (kcat -P sets no timestamps); the scenario's detail says so.
 */
export async function produceReference(bootstrap: string, topic: string, records: readonly ReferenceRecord[]): Promise<void> {
  const producer = new Producer({ clientId: 'zombi-compat-reference', bootstrapBrokers: [bootstrap], retries: 3 })
  try {
    await producer.send({
      acks: ProduceAcks.ALL,
      messages: records.map((record) => ({
        topic,
        partition: record.partition,
        key: record.key ?? undefined,
        value: record.value ?? undefined,
        ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
      })),
    })
  } finally {
    await producer.close()
  }
}
