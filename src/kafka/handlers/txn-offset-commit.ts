// TxnOffsetCommit: consumer offsets that become the group's committed offsets only when the
// transaction commits (and are dropped when it aborts): consume-transform-produce exactly once.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readTxnOffsetCommitRequest, writeTxnOffsetCommitResponse, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.ts'
import { MAX_OFFSET_METADATA_BYTES } from '../../groups/offsets.ts'
import type { TxnOffset } from '../../groups/transactions/coordinator.ts'
import { AclOperation, allowed, allowedOnGroup, allowedOnTopic, ResourceType } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const txnOffsetCommit = defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 4,
  read: readTxnOffsetCommitRequest,
  write: writeTxnOffsetCommitResponse,
  async handle(request, context) {
    const answer = (code: (topic: string, partition: number) => ErrorCode): TxnOffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code(t.name, p.partitionIndex) })) })),
    })
    if (!allowed(context, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    if (!allowedOnGroup(context, AclOperation.READ, request.groupId)) return answer(() => ErrorCode.GROUP_AUTHORIZATION_FAILED)
    const groupError = context.groups.validateTransactionalCommit(request.groupId, request.generationId, request.memberId, request.groupInstanceId)
    if (groupError !== ErrorCode.NONE) return answer(() => groupError)
    const refused = new Map<string, ErrorCode>()
    const offsets: TxnOffset[] = []
    for (const topic of request.topics) {
      const denied = !allowedOnTopic(context, AclOperation.READ, topic.name)
      for (const p of topic.partitions) {
        const key = `${topic.name}/${p.partitionIndex}`
        if (denied) refused.set(key, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
        else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > MAX_OFFSET_METADATA_BYTES) refused.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE)
        else offsets.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })
      }
    }
    const codes = offsets.length === 0 ? [] : await context.groups.transactions.commitOffsets(request.transactionalId, request.groupId, request.producerId, request.producerEpoch, offsets)
    const byKey = new Map(offsets.map((o, i) => [`${o.topic}/${o.partition}`, codes[i]!]))
    return answer((topic, partition) => refused.get(`${topic}/${partition}`) ?? byKey.get(`${topic}/${partition}`) ?? ErrorCode.NONE)
  },
})
