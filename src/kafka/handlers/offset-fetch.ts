// OffsetFetch: one group (v0-7) or several (v8+); a partition without a commit answers -1, no error.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readOffsetFetchRequest, writeOffsetFetchResponse, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/offset-fetch.ts'
import type { GroupCoordinator } from '../../groups/coordinator.ts'
import { defineHandler } from '../handler.ts'

interface PartitionOffset {
  partitionIndex: number
  committedOffset: number
  committedLeaderEpoch: number
  metadata: string | null
  errorCode: ErrorCode
}

/** The requested partitions of a group (null topics: every committed partition). */
function lookup(groups: GroupCoordinator, groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null): Array<{ name: string; partitions: PartitionOffset[] }> {
  if (topics === null) {
    const byTopic = new Map<string, PartitionOffset[]>()
    for (const [topic, partition, committed] of groups.committedOffsets(groupId)) {
      let partitions = byTopic.get(topic)
      if (partitions === undefined) byTopic.set(topic, partitions = [])
      partitions.push({ partitionIndex: partition, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE })
    }
    return [...byTopic].map(([name, partitions]) => ({ name, partitions }))
  }
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex): PartitionOffset => {
      const committed = groups.fetchOffset(groupId, topic.name, partitionIndex)
      return committed === undefined
        ? { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
        : { partitionIndex, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE }
    }),
  }))
}

export const offsetFetch = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 9,
  read: readOffsetFetchRequest,
  write: writeOffsetFetchResponse,
  handle(request, context) {
    const { groups } = context
    if (context.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((group) => ({ groupId: group.groupId, topics: lookup(groups, group.groupId, group.topics), errorCode: ErrorCode.NONE })),
      }
    }
    // v0-1 cannot ask for "all topics" (null arrives from v2).
    return { throttleTimeMs: 0, topics: lookup(groups, request.groupId, request.topics), errorCode: ErrorCode.NONE, groups: [] }
  },
})
