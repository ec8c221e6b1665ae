// OffsetCommit: durable in the same group commit as produced records.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readOffsetCommitRequest, writeOffsetCommitResponse, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/offset-commit.ts'
import type { OffsetCommitEntry } from '../../groups/offsets.ts'
import { defineHandler } from '../handler.ts'

export const offsetCommit = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  read: readOffsetCommitRequest,
  write: writeOffsetCommitResponse,
  async handle(request, context) {
    const entries: OffsetCommitEntry[] = []
    for (const topic of request.topics) {
      for (const p of topic.partitions) {
        entries.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })
      }
    }
    // v0 has no generation or member: a simple (group-less) commit.
    const generationId = context.apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1
    const errors = await context.groups.commitOffsets(request.groupId, generationId, request.memberId, request.groupInstanceId, entries)
    let i = 0
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors[i++]! })),
      })),
    }
  },
})
