// Consumer-protocol groups in the hot store, beside the classic ones (group-store.ts): the whole
// group as JSON under its id, written before a heartbeat that changed it is answered, so member
// epochs, assignments and the target survive a restart.
import type { HotStore } from '../storage/hot-store.ts'
import type { TopicPartitions } from './assignors.ts'
import { ConsumerGroup, ConsumerMember, type MemberState } from './consumer-group.ts'

const PREFIX = 'cgroupmeta/'

type StoredPartitions = Array<[string, number[]]>

interface StoredConsumerGroup {
  groupId: string
  groupEpoch: number
  assignmentEpoch: number
  subscriptionMetadata: string
  emptySinceMs: number | null
  target: Array<[string, StoredPartitions]>
  members: Array<{
    memberId: string
    instanceId: string | null
    rackId: string | null
    clientId: string
    clientHost: string
    memberEpoch: number
    previousMemberEpoch: number
    state: MemberState
    rebalanceTimeoutMs: number
    subscribedTopicNames: string[]
    subscribedTopicRegex: string | null
    serverAssignor: string | null
    assigned: StoredPartitions
    pendingRevocation: StoredPartitions
  }>
}

function stateKey(groupId: string): string {
  return `${PREFIX}${groupId.length}:${groupId}`
}

function partitionsOf(stored: StoredPartitions): TopicPartitions {
  return new Map(stored.map(([topic, partitions]) => [topic, [...partitions]]))
}

export class ConsumerGroupStore {
  readonly #store: HotStore

  constructor(store: HotStore) {
    this.#store = store
  }

  async load(): Promise<ConsumerGroup[]> {
    const groups: ConsumerGroup[] = []
    for (const { value } of await this.#store.scanState(PREFIX)) {
      const stored = JSON.parse(value.toString('utf8')) as StoredConsumerGroup
      const group = new ConsumerGroup(stored.groupId)
      group.groupEpoch = stored.groupEpoch
      group.assignmentEpoch = stored.assignmentEpoch
      group.subscriptionMetadata = stored.subscriptionMetadata
      group.emptySinceMs = stored.emptySinceMs
      group.targetAssignment = new Map(stored.target.map(([memberId, partitions]) => [memberId, partitionsOf(partitions)]))
      for (const m of stored.members) {
        const member = new ConsumerMember(m.memberId, m.instanceId, m.clientId, m.clientHost, m.rebalanceTimeoutMs)
        member.rackId = m.rackId
        member.memberEpoch = m.memberEpoch
        member.previousMemberEpoch = m.previousMemberEpoch
        member.state = m.state
        member.subscribedTopicNames = m.subscribedTopicNames
        member.subscribedTopicRegex = m.subscribedTopicRegex
        member.serverAssignor = m.serverAssignor
        group.members.set(member.memberId, member)
        group.setOwnership(member, partitionsOf(m.assigned), partitionsOf(m.pendingRevocation))
        if (member.instanceId !== null) group.staticMembers.set(member.instanceId, member.memberId)
      }
      groups.push(group)
    }
    return groups
  }

  /** Writes the group (or removes a dead one); durable on resolve. */
  save(group: ConsumerGroup): Promise<void> {
    if (group.dead) return this.#store.writeState([{ key: stateKey(group.groupId), value: null }])
    const stored: StoredConsumerGroup = {
      groupId: group.groupId,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      subscriptionMetadata: group.subscriptionMetadata,
      emptySinceMs: group.emptySinceMs,
      target: [...group.targetAssignment].map(([memberId, partitions]) => [memberId, [...partitions]]),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId, instanceId: m.instanceId, rackId: m.rackId, clientId: m.clientId, clientHost: m.clientHost,
        memberEpoch: m.memberEpoch, previousMemberEpoch: m.previousMemberEpoch, state: m.state, rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        subscribedTopicNames: m.subscribedTopicNames, subscribedTopicRegex: m.subscribedTopicRegex, serverAssignor: m.serverAssignor,
        assigned: [...m.assigned], pendingRevocation: [...m.pendingRevocation],
      })),
    }
    return this.#store.writeState([{ key: stateKey(group.groupId), value: Buffer.from(JSON.stringify(stored)) }])
  }
}
