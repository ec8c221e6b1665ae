// OffsetCommit: durable in the same group commit as produced records. For a consumer-protocol group
// (KIP-848) the generation field carries the member epoch, checked from v9 (STALE_MEMBER_EPOCH).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readOffsetCommitRequest, writeOffsetCommitResponse, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/offset-commit.ts'
import type { OffsetCommitEntry } from '../../groups/offsets.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnGroup, allowedOnTopic } from '../authorize.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'

export const offsetCommit = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  read: readOffsetCommitRequest,
  write: writeOffsetCommitResponse,
  async handle(request, context) {
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) {
      return { throttleTimeMs: 0, topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })) })) }
    }
    // Offsets of topics the client may not READ are not committed; those partitions answer TOPIC_AUTHORIZATION_FAILED.
    const deniedTopics = new Set(request.topics.filter((topic) => !allowedOnTopic(context, AclOperation.READ, topic.name)).map((topic) => topic.name))
    const entries: OffsetCommitEntry[] = []
    for (const topic of request.topics) {
      if (deniedTopics.has(topic.name)) continue
      for (const p of topic.partitions) {
        entries.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })
      }
    }
    // v0 has no generation or member: a simple (group-less) commit.
    const generationId = context.apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1
    const errors = await context.groups.commitOffsets(request.groupId, generationId, request.memberId, request.groupInstanceId, entries, context.apiVersion)
    let i = 0
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: deniedTopics.has(topic.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : errors[i++]! })),
      })),
    }
  },
})
