// ListOffsets: earliest, latest, max timestamp and by-timestamp lookups on the hot log.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readListOffsetsRequest, writeListOffsetsResponse, type ListOffsetsRequest, type ListOffsetsResponse } from '../../protocol/generated/list-offsets.ts'
import { firstRecordAtOrAfter, recordWithMaxTimestamp } from '../../protocol/records.ts'
import type { Partition } from '../../log/partition.ts'
import { defineHandler } from '../handler.ts'

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

function lookup(partition: Partition, timestamp: number): { offset: number; timestamp: number } {
  switch (timestamp) {
    case LATEST:
      return { offset: partition.highWatermark, timestamp: -1 }
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: partition.logStartOffset, timestamp: -1 }
    case LATEST_TIERED:
      // Nothing is tiered (yet): Kafka answers -1 when remote storage holds nothing.
      return { offset: -1, timestamp: -1 }
    case MAX_TIMESTAMP: {
      const found = partition.batchWithMaxTimestamp()
      const record = found === null ? null : recordWithMaxTimestamp(found.batch)
      return record ?? { offset: -1, timestamp: -1 }
    }
    default: {
      // The first batch whose max timestamp reaches the target holds the first such record.
      const found = partition.batchAtTimestamp(timestamp)
      const record = found === null ? null : firstRecordAtOrAfter(found.batch, timestamp)
      return record ?? { offset: -1, timestamp: -1 }
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
  handle(request, context) {
    const { log } = context
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((requested) => {
        const topic = log.topicByName(requested.name)
        return {
          name: requested.name,
          partitions: requested.partitions.map((p) => {
            const partition = topic?.partitions[p.partitionIndex]
            if (partition === undefined) return answer(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
            if (p.timestamp < LATEST_TIERED) return answer(p.partitionIndex, ErrorCode.INVALID_REQUEST, -1, -1)
            const found = lookup(partition, p.timestamp)
            return answer(p.partitionIndex, ErrorCode.NONE, found.offset, found.timestamp)
          }),
        }
      }),
    }
  },
})
