// OffsetDelete: removes committed offsets of topics the group no longer subscribes to.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readOffsetDeleteRequest, writeOffsetDeleteResponse, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../../protocol/generated/offset-delete.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup, allowedOnTopic } from '../authorize.ts'

export const offsetDelete = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  read: readOffsetDeleteRequest,
  write: writeOffsetDeleteResponse,
  async handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.DELETE, request.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] }
    const deniedTopics = new Set(request.topics.filter((t) => !allowedOnTopic(context, AclOperation.READ, t.name)).map((t) => t.name))
    const partitions = request.topics.filter((t) => !deniedTopics.has(t.name)).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })))
    const result = await context.groups.deleteOffsets(request.groupId, partitions)
    if (typeof result === 'number') return { errorCode: result, throttleTimeMs: 0, topics: [] }
    let i = 0
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: deniedTopics.has(t.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : result[i++]! })),
      })),
    }
  },
})
