// OffsetFetch: one group (v0-7) or several (v8+); a partition without a commit answers -1, no error.
// With require_stable (v7+, what read_committed consumers send), a partition whose offset an open
// transaction is about to commit answers UNSTABLE_OFFSET_COMMIT, which clients retry (KIP-447).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readOffsetFetchRequest, writeOffsetFetchResponse, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/offset-fetch.ts'
import { AclOperation, allowedOnGroup, allowedOnTopic } from '../authorize.ts'
import { defineHandler, type RequestContext } from '../handler.ts'

interface PartitionOffset {
  partitionIndex: number
  committedOffset: number
  committedLeaderEpoch: number
  metadata: string | null
  errorCode: ErrorCode
}

/**
 * The requested partitions of a group (null topics: every committed partition of a topic the client
 * may describe); a requested topic it may not describe answers TOPIC_AUTHORIZATION_FAILED.
 */
function lookup(context: RequestContext, groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null, requireStable: boolean): Array<{ name: string; partitions: PartitionOffset[] }> {
  const { groups } = context
  const unstable = (topic: string, partition: number): boolean => requireStable && groups.transactions.hasPendingOffset(groupId, topic, partition)
  if (topics === null) {
    const byTopic = new Map<string, PartitionOffset[]>()
    for (const [topic, partition, committed] of groups.committedOffsets(groupId)) {
      if (!allowedOnTopic(context, AclOperation.DESCRIBE, topic)) continue
      let partitions = byTopic.get(topic)
      if (partitions === undefined) byTopic.set(topic, partitions = [])
      partitions.push(unstable(topic, partition)
        ? { partitionIndex: partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
        : { partitionIndex: partition, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE })
    }
    return [...byTopic].map(([name, partitions]) => ({ name, partitions }))
  }
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex): PartitionOffset => {
      if (!allowedOnTopic(context, AclOperation.DESCRIBE, topic.name)) return { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
      if (unstable(topic.name, partitionIndex)) return { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
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
    if (context.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((group) => {
          if (!allowedOnGroup(context, AclOperation.DESCRIBE, group.groupId)) return { groupId: group.groupId, topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
          // v9+: a consumer-group member names itself and its epoch; a stale one reads nothing (KIP-848).
          const refusal = context.groups.validateOffsetFetch(group.groupId, group.memberId, group.memberEpoch)
          if (refusal !== ErrorCode.NONE) return { groupId: group.groupId, topics: [], errorCode: refusal }
          return { groupId: group.groupId, topics: lookup(context, group.groupId, group.topics, request.requireStable), errorCode: ErrorCode.NONE }
        }),
      }
    }
    if (!allowedOnGroup(context, AclOperation.DESCRIBE, request.groupId)) {
      // v2+ has a top-level error; v0-1 only per partition.
      const topics = (request.topics ?? []).map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })),
      }))
      return { throttleTimeMs: 0, topics: context.apiVersion >= 2 ? [] : topics, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groups: [] }
    }
    // v0-1 cannot ask for "all topics" (null arrives from v2).
    return { throttleTimeMs: 0, topics: lookup(context, request.groupId, request.topics, context.apiVersion >= 7 && request.requireStable), errorCode: ErrorCode.NONE, groups: [] }
  },
})
