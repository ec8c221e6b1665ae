// Group administration: DeleteGroups, OffsetDelete, and the per-group state and lag that metrics
// and stats report. DescribeGroups and ListGroups read the groups themselves.
import type { BrokerLog } from '../log/broker-log.ts'
import { CONSUMER_PROTOCOL_TYPE, decodeSubscriptionTopics } from '../protocol/consumer-protocol.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { Group, GroupState } from './group.ts'
import type { Membership } from './membership.ts'
import type { ConsumerGroups } from './consumer-groups.ts'
import type { ConsumerGroupState } from './consumer-group.ts'

export interface GroupSnapshot {
  groupId: string
  /** A classic group's state, or a consumer group's (Empty, Assigning, Reconciling, Stable). */
  state: GroupState | ConsumerGroupState
  members: number
  generationId: number
  partitions: Array<{ topic: string; partition: number; committed: number; highWatermark: number; lag: number }>
}

/** Topics the members of a consumer group subscribe to (from their protocol metadata). */
function subscribedTopics(group: Group): Set<string> {
  const topics = new Set<string>()
  if (group.protocolType !== CONSUMER_PROTOCOL_TYPE) return topics
  for (const member of group.members.values()) {
    for (const protocol of member.protocols) for (const topic of decodeSubscriptionTopics(protocol.metadata)) topics.add(topic)
  }
  return topics
}

/** Deletes empty groups with their offsets; an error code per group. */
export async function deleteGroups(membership: Membership, groupIds: string[]): Promise<ErrorCode[]> {
  const results: ErrorCode[] = []
  for (const groupId of groupIds) {
    const group = membership.group(groupId)
    if (group === undefined || group.state === 'Dead') results.push(ErrorCode.GROUP_ID_NOT_FOUND)
    else if (group.state !== 'Empty' || group.members.size > 0) results.push(ErrorCode.NON_EMPTY_GROUP)
    else {
      group.state = 'Dead'
      membership.forget(group)
      await membership.offsets.delete(groupId)
      await membership.persist(group)
      results.push(ErrorCode.NONE)
    }
  }
  return results
}

/**
 * Deletes committed offsets of topics the group does not subscribe to (OffsetDelete): the group-level
 * error, or one error per partition. As in Kafka, an active group that is not a consumer group
 * cannot name its subscriptions and is refused as a whole, and unknown partitions are errors.
 */
export async function deleteOffsets(membership: Membership, log: BrokerLog, groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<ErrorCode | ErrorCode[]> {
  const group = membership.group(groupId)
  if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND
  if (group.members.size > 0 && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return ErrorCode.NON_EMPTY_GROUP
  const subscribed = group.state === 'Empty' ? new Set<string>() : subscribedTopics(group)
  const errors = partitions.map((p): ErrorCode => {
    const topic = log.topicByName(p.topic)
    if (topic === undefined || topic.partitions[p.partition] === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    return subscribed.has(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE
  })
  await membership.offsets.delete(groupId, partitions.filter((_, i) => errors[i] === ErrorCode.NONE))
  membership.disposeIfUnused(group)
  return errors
}

/** Group state and lag per committed partition, for metrics (classic groups, then consumer groups with their group epoch). */
export function groupSnapshots(membership: Membership, consumerGroups: ConsumerGroups, log: BrokerLog): GroupSnapshot[] {
  const lag = (groupId: string): GroupSnapshot['partitions'] => [...membership.offsets.all(groupId)].map(([topic, partition, committed]) => {
    const highWatermark = log.partition(topic, partition)?.highWatermark ?? -1
    return { topic, partition, committed: committed.offset, highWatermark, lag: highWatermark < 0 ? -1 : Math.max(0, highWatermark - committed.offset) }
  })
  return [
    ...[...membership.groups()].map((group) => ({ groupId: group.groupId, state: group.state, members: group.members.size, generationId: group.generationId, partitions: lag(group.groupId) })),
    ...[...consumerGroups.groups()].map((group) => ({ groupId: group.groupId, state: group.state, members: group.members.size, generationId: group.groupEpoch, partitions: lag(group.groupId) })),
  ]
}

/** OffsetDelete on a consumer-protocol group: as for classic groups, topics its members subscribe to are refused. */
export async function deleteConsumerGroupOffsets(membership: Membership, consumerGroups: ConsumerGroups, log: BrokerLog, groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<ErrorCode[]> {
  const group = consumerGroups.group(groupId)!
  const subscribed = new Set<string>()
  for (const member of group.members.values()) for (const topic of consumerGroups.subscribedTopics(member)) subscribed.add(topic)
  const errors = partitions.map((p): ErrorCode => {
    const topic = log.topicByName(p.topic)
    if (topic === undefined || topic.partitions[p.partition] === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    return subscribed.has(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE
  })
  await membership.offsets.delete(groupId, partitions.filter((_, i) => errors[i] === ErrorCode.NONE))
  return errors
}
