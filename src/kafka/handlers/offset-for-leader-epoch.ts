// OffsetForLeaderEpoch: consistent with the leader epoch -1 that Metadata, Fetch and stored
// batches report (one broker, no leader changes): the end offset is the high watermark.
// Clients skip epoch validation while the epoch is -1; one that asks anyway gets the log end.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readOffsetForLeaderEpochRequest, writeOffsetForLeaderEpochResponse, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.ts'
import { defineHandler } from '../handler.ts'

export const offsetForLeaderEpoch = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  read: readOffsetForLeaderEpochRequest,
  write: writeOffsetForLeaderEpochResponse,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const partition = context.log.partition(t.topic, p.partition)
          if (partition === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: p.partition, leaderEpoch: -1, endOffset: -1 }
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: -1, endOffset: partition.highWatermark }
        }),
      })),
    }
  },
})
