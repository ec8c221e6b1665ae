// DeleteRecords (kafka-delete-records, Admin.deleteRecords): moves each partition's log start offset
// up to the given offset (-1: the high watermark), durably before the answer; Fetch, ListOffsets and
// HTTP reads never serve the records below it again. One broker leads every partition, so there is
// nothing to wait for and timeout_ms has no use.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDeleteRecordsRequest, writeDeleteRecordsResponse, type DeleteRecordsRequest, type DeleteRecordsResponse } from '../../protocol/generated/delete-records.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'

type TopicResult = DeleteRecordsResponse['topics'][number]

export const deleteRecords = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  read: readDeleteRecordsRequest,
  write: writeDeleteRecordsResponse,
  async handle(request, context) {
    const { log } = context
    const topics: TopicResult[] = []
    for (const requested of request.topics) {
      const partitions: TopicResult['partitions'] = []
      const failed = (partitionIndex: number, errorCode: ErrorCode): void => {
        partitions.push({ partitionIndex, lowWatermark: -1, errorCode })
      }
      const topic = log.topicByName(requested.name)
      const denied = !allowedOnTopic(context, AclOperation.DELETE, requested.name)
      for (const { partitionIndex, offset } of requested.partitions) {
        const partition = topic?.partitions[partitionIndex]
        if (denied) failed(partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
        else if (topic === undefined || partition === undefined) failed(partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        else {
          const result = await log.deleteRecords(topic, partition, offset)
          partitions.push({ partitionIndex, lowWatermark: result.lowWatermark, errorCode: result.errorCode })
        }
      }
      topics.push({ name: requested.name, partitions })
    }
    return { throttleTimeMs: 0, topics }
  },
})
