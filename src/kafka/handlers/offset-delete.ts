// OffsetDelete: removes committed offsets of topics the group no longer subscribes to.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readOffsetDeleteRequest, writeOffsetDeleteResponse, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../../protocol/generated/offset-delete.ts'
import { defineHandler } from '../handler.ts'

export const offsetDelete = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  read: readOffsetDeleteRequest,
  write: writeOffsetDeleteResponse,
  async handle(request, context) {
    const partitions = request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })))
    const result = await context.groups.deleteOffsets(request.groupId, partitions)
    if (typeof result === 'number') return { errorCode: result, throttleTimeMs: 0, topics: [] }
    let i = 0
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: result[i++]! })) })),
    }
  },
})
