// ListOffsets: earliest, latest, max timestamp and by-timestamp lookups on the hot log and, below
// its start, on the topic's Iceberg table: earliest is the table's first offset, so a consumer that
// resets to earliest reads the table from its beginning.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readListOffsetsRequest, writeListOffsetsResponse, type ListOffsetsRequest, type ListOffsetsResponse } from '../../protocol/generated/list-offsets.ts'
import { firstRecordAtOrAfter, recordWithMaxTimestamp } from '../../protocol/records.ts'
import type { BrokerLog } from '../../log/broker-log.ts'
import type { Partition } from '../../log/partition.ts'
import type { Topic } from '../../log/topic.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number]

// Special timestamps of the request.
const LATEST = -1
const EARLIEST = -2
const MAX_TIMESTAMP = -3
const EARLIEST_LOCAL = -4
const LATEST_TIERED = -5

function answer(partitionIndex: number, errorCode: ErrorCode, offset: number, timestamp: number): PartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: offset >= 0 ? [offset] : [], timestamp, offset, leaderEpoch: -1 }
}

interface Found {
  offset: number
  timestamp: number
}

async function lookup(log: BrokerLog, topic: Topic, partition: Partition, timestamp: number): Promise<Found> {
  switch (timestamp) {
    case LATEST:
      return { offset: partition.highWatermark, timestamp: -1 }
    case EARLIEST:
      return { offset: await log.logStartOffset(topic, partition), timestamp: -1 }
    case EARLIEST_LOCAL:
      // Kafka's "local log start": the hot log's own, or the deletion floor above it.
      return { offset: Math.max(partition.logStartOffset, partition.deletedBefore), timestamp: -1 }
    case LATEST_TIERED:
      // The table is the tiered storage: its last offset, or -1 (as Kafka) while it holds nothing or is not read.
      return { offset: log.cold !== null && partition.flushedOffset > 0 ? partition.flushedOffset - 1 : -1, timestamp: -1 }
    case MAX_TIMESTAMP: {
      const found = partition.batchWithMaxTimestamp()
      const record = found === null ? null : recordWithMaxTimestamp(found.batch, partition.deletedBefore)
      return record ?? { offset: -1, timestamp: -1 }
    }
    default: {
      // Below the hot log the table answers first: its records come before any of the hot log's.
      const cold = log.cold === null ? null : await log.cold.offsetForTimestamp(topic, partition, timestamp)
      if (cold !== null) return cold
      // The first batch whose max timestamp reaches the target holds the first such record, unless
      // DeleteRecords cut that batch in two and the record lies below the cut: then a later batch does.
      for (let found = partition.batchAtTimestamp(timestamp); found !== null; found = partition.batchAtTimestamp(timestamp, found.lastOffset + 1)) {
        const record = firstRecordAtOrAfter(found.batch, timestamp, partition.deletedBefore)
        if (record !== null) return record
      }
      return { offset: -1, timestamp: -1 }
    }
  }
}

export const listOffsets = defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 9,
  read: readListOffsetsRequest,
  write: writeListOffsetsResponse,
  async handle(request, context) {
    const { log } = context
    const topics: ListOffsetsResponse['topics'] = []
    for (const requested of request.topics) {
      const topic = log.topicByName(requested.name)
      const denied = !allowedOnTopic(context, AclOperation.DESCRIBE, requested.name)
      const partitions: PartitionResponse[] = []
      for (const p of requested.partitions) {
        const partition = topic?.partitions[p.partitionIndex]
        if (denied) {
          partitions.push(answer(p.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1))
        } else if (topic === undefined || partition === undefined) {
          partitions.push(answer(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1))
        } else if (p.timestamp < LATEST_TIERED) {
          partitions.push(answer(p.partitionIndex, ErrorCode.INVALID_REQUEST, -1, -1))
        } else {
          try {
            const found = await lookup(log, topic, partition, p.timestamp)
            partitions.push(answer(p.partitionIndex, ErrorCode.NONE, found.offset, found.timestamp))
          } catch (error) {
            // The table cannot be read now: retriable, so the client asks again rather than resetting to a wrong offset.
            context.logger.warn({ err: error, topic: topic.name, partition: partition.id }, 'ListOffsets from the Iceberg table failed')
            partitions.push(answer(p.partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR, -1, -1))
          }
        }
      }
      topics.push({ name: requested.name, partitions })
    }
    return { throttleTimeMs: 0, topics }
  },
})
