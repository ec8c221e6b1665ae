// Committed offsets as the group protocol allows them: OffsetCommit from a member of the current
// generation (or from a simple consumer of an empty group), OffsetFetch, and the expiry of the
// offsets of groups that stay empty past the retention.
import { storageRefusal, type BrokerLog } from '../log/broker-log.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { Membership } from './membership.ts'
import type { CommittedOffset } from './offset-store.ts'

/** Longest committed-offset metadata string (Kafka's offset.metadata.max.bytes default). */
export const MAX_OFFSET_METADATA_BYTES = 4096

export interface OffsetCommitEntry {
  topic: string
  partition: number
  offset: number
  leaderEpoch: number
  metadata: string | null
}

/**
 * Commits offsets for a group member (or, with generation -1 and no member, for a simple
 * consumer of an empty group). Returns an error code per entry; valid entries are durable
 * when the promise resolves.
 */
export async function commitOffsets(membership: Membership, log: BrokerLog, groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, entries: OffsetCommitEntry[], consumerGroupChecked = false): Promise<ErrorCode[]> {
  if (groupId === '') return entries.map(() => ErrorCode.INVALID_GROUP_ID)
  let group = membership.group(groupId)
  let groupError: ErrorCode = ErrorCode.NONE
  if (consumerGroupChecked) {
    // A consumer-protocol group (consumer-groups.ts validated the member and epoch): no classic group here.
    group = undefined
  } else if (generationId < 0 && memberId === '' && (group === undefined || group.state === 'Empty')) {
    group ??= membership.create(groupId)
  } else {
    const member = membership.validateMember(group, memberId, groupInstanceId, generationId)
    if (typeof member === 'number') groupError = member
    else {
      membership.touch(group!, member)
      if (group!.state === 'CompletingRebalance') groupError = ErrorCode.REBALANCE_IN_PROGRESS
    }
  }
  if (groupError !== ErrorCode.NONE) return entries.map(() => groupError)
  const now = Date.now()
  const accepted: Array<{ topic: string; partition: number; committed: CommittedOffset }> = []
  const errors = entries.map((entry) => {
    const topic = log.topicByName(entry.topic)
    if (topic === undefined || topic.partitions[entry.partition] === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if (entry.metadata !== null && Buffer.byteLength(entry.metadata) > MAX_OFFSET_METADATA_BYTES) return ErrorCode.OFFSET_METADATA_TOO_LARGE
    if (entry.offset < -1) return ErrorCode.INVALID_COMMIT_OFFSET_SIZE
    accepted.push({ topic: entry.topic, partition: entry.partition, committed: { offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: entry.metadata, commitTimestampMs: now } })
    return ErrorCode.NONE
  })
  if (accepted.length > 0) {
    try {
      await membership.offsets.commit(groupId, accepted)
    } catch (error) {
      if (storageRefusal(error) === null) throw error
      // Not durable (disk full). Kafka answers a failed offsets append with NOT_COORDINATOR; clients
      // treat COORDINATOR_NOT_AVAILABLE alike (find the coordinator, retry) and it says what happened.
      // The offsets stay applied in memory: a later commit or a restart settles them.
      membership.logger.warn({ err: error, group: groupId }, 'committed offsets could not be stored')
      return errors.map((code) => (code === ErrorCode.NONE ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code))
    }
  }
  // A simple group created for commits that were all refused holds nothing.
  if (group !== undefined) membership.disposeIfUnused(group)
  return errors
}

/** Deletes offsets of groups empty for longer than the retention (Kafka's offsets.retention.minutes). */
export async function expireOffsets(membership: Membership, nowMs: number): Promise<string[]> {
  const { offsetsRetentionMs } = membership.settings
  const expired: string[] = []
  for (const group of membership.groups()) {
    const since = group.emptySinceMs
    if (group.state !== 'Empty' || since === null || nowMs - since < offsetsRetentionMs) continue
    let newest = 0
    for (const [, , committed] of membership.offsets.all(group.groupId)) newest = Math.max(newest, committed.commitTimestampMs)
    if (nowMs - newest < offsetsRetentionMs) continue
    await membership.offsets.delete(group.groupId)
    membership.forget(group)
    expired.push(group.groupId)
  }
  return expired
}
