// OffsetForLeaderEpoch: consistent with the leader epoch -1 that Metadata, Fetch, ListOffsets and
// stored batches report. Clients skip offset validation while the epoch is -1, so they rarely ask;
// one that does holds an epoch from elsewhere (a commit made with another broker, a batch stored
// before epochs were stamped, or a seek() with an epoch). A partition here has one leadership
// and is never truncated, so any epoch ends at the log end: the answer is that epoch and the high
// watermark. Answering epoch -1 instead would make librdkafka reset the position ("No epoch found
// less or equal to ..."). An undefined requested epoch gets Kafka's undefined answer (-1, -1).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readOffsetForLeaderEpochRequest, writeOffsetForLeaderEpochResponse, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'

const UNDEFINED_EPOCH = -1
const UNDEFINED_EPOCH_OFFSET = -1

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
          if (!allowedOnTopic(context, AclOperation.DESCRIBE, t.topic)) return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, partition: p.partition, leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
          const partition = context.log.partition(t.topic, p.partition)
          if (partition === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: p.partition, leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
          if (p.leaderEpoch < 0) return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: p.leaderEpoch, endOffset: partition.highWatermark }
        }),
      })),
    }
  },
})
