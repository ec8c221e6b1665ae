// End-to-end latency with @platformatic/kafka: one Producer (acks=-1) sends at a fixed rate while a group-less
// fetch loop in the same process reads the partition; each record's latency is from just before its send() to
// the arrival of the fetch response that holds it, on one clock (performance.now()).
import { Consumer, Producer, type MessageToProduce } from '@platformatic/kafka'
import { fillRecord, type Latency, type LatencyLoad } from './scenarios.ts'

const clientId = 'zombi-bench-latency'
/** The producer's pacing tick; each tick sends what the rate owes since the last one, as one request. */
const tickMs = 1
/** How long the consumer may wait for the last records after the last send. */
const drainMs = 30_000
/** Record value bytes per send() at most: well under the brokers' default 1 MiB max.message.bytes. */
const maxBytesPerSend = 256 * 1024
const timeoutMs = 60_000

function percentile(sorted: Float64Array, share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!
}

export function platformaticLatencyLoad(): LatencyLoad {
  return {
    client: '@platformatic/kafka',
    measures: 'produce to consume',
    async run(bootstrap, topic, recordBytes, ratePerSecond, seconds) {
      const total = Math.max(1, Math.round(ratePerSecond * seconds))
      const maxRecordsPerSend = Math.max(1, Math.floor(maxBytesPerSend / recordBytes))
      const sentAt = new Float64Array(total)
      const latencies = new Float64Array(total)
      let received = 0
      const producer = new Producer({ clientId, bootstrapBrokers: [bootstrap], acks: -1, maxInflights: 8, timeout: timeoutMs, retries: 0 })
      const consumer = new Consumer({ clientId, bootstrapBrokers: [bootstrap], groupId: `${clientId}-unused`, timeout: timeoutMs, retries: 0 })
      try {
        await producer.metadata({ topics: [topic], autocreateTopics: true })
        // The topic exists now; the consumer learns its id and leader before the clock starts.
        const metadata = await consumer.metadata({ topics: [topic] })
        const topicMetadata = metadata.topics.get(topic)
        if (!topicMetadata) throw new Error(`no metadata for ${topic}`)
        const leader = topicMetadata.partitions[0]!.leader

        let sendError: unknown
        let consumeError: unknown
        const consuming = (async (): Promise<void> => {
          let offset = 0n
          const deadline = performance.now() + seconds * 1000 + drainMs
          while (received < total && sendError === undefined) {
            if (performance.now() > deadline) throw new Error(`received ${received} of ${total} records ${drainMs} ms after the last send`)
            const response = await consumer.fetch({
              node: leader, maxWaitTime: 500, minBytes: 1,
              topics: [{ topicId: topicMetadata.id, partitions: [{ partition: 0, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1_048_576 }] }],
            })
            const arrived = performance.now()
            const partition = response.responses[0]?.partitions[0]
            if (!partition) throw new Error('fetch response without the partition')
            if (partition.errorCode !== 0) throw new Error(`fetch at offset ${offset}: error code ${partition.errorCode}`)
            for (const batch of partition.records ?? []) {
              for (const record of batch.records) {
                const recordOffset = batch.firstOffset + BigInt(record.offsetDelta)
                if (recordOffset < offset) continue
                if (!record.value) throw new Error(`record ${recordOffset} has no value`)
                // fillRecord starts every value with its zero-padded index.
                const index = Number(record.value.toString('latin1', 0, 10))
                latencies[received++] = arrived - sentAt[index]!
                offset = recordOffset + 1n
              }
            }
          }
        })().catch((error: unknown) => {
          // Kept, not left unhandled: the send loop below stops on it and it is rethrown after.
          consumeError = error
        })

        const started = performance.now()
        let sent = 0
        const sends: Promise<unknown>[] = []
        while (sent < total && sendError === undefined && consumeError === undefined) {
          const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1)
          // After a stall (GC, a busy machine) a tick may owe many records: one request stays under the batch limit.
          while (due > sent) {
            const count = Math.min(due - sent, maxRecordsPerSend)
            const values = Buffer.allocUnsafe(count * recordBytes)
            const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = new Array(count)
            const now = performance.now()
            for (let i = 0; i < count; i++) {
              const value = values.subarray(i * recordBytes, (i + 1) * recordBytes)
              fillRecord(value, sent + i)
              sentAt[sent + i] = now
              messages[i] = { topic, partition: 0, value }
            }
            sent += count
            sends.push(producer.send({ messages }).catch((error: unknown) => { sendError = error }))
          }
          await new Promise((resolve) => setTimeout(resolve, tickMs))
        }
        await Promise.all(sends)
        if (sendError !== undefined) throw sendError
        await consuming
        if (consumeError !== undefined) throw consumeError
        const elapsed = (performance.now() - started) / 1000
        const sorted = latencies.sort()
        const latency: Latency = { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), p999Ms: percentile(sorted, 0.999) }
        return { records: total, bytes: total * recordBytes, seconds: elapsed, latency }
      } finally {
        await Promise.all([producer.close(true), consumer.close(true)])
      }
    },
  }
}
