// ConsumerGroupHeartbeat (KIP-848): checks the request as Kafka does, joins (dynamic members, static
// members taking their place back), leaves (epoch -1, or -2 for a static member away for a while),
// fences stale epochs, records subscription changes, moves the group epoch when they or the subscribed
// topics changed, and takes the member one reconciliation step towards its target (consumer-groups.ts).
import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { TopicPartitions } from './assignors.ts'
import { ConsumerMember, isSubset, JOIN_EPOCH, LEAVE_EPOCH, samePartitions, STATIC_LEAVE_EPOCH, type ConsumerGroup } from './consumer-group.ts'
import type { ConsumerGroups } from './consumer-groups.ts'

export interface ConsumerHeartbeat {
  groupId: string
  memberId: string
  memberEpoch: number
  instanceId: string | null
  rackId: string | null
  rebalanceTimeoutMs: number
  subscribedTopicNames: string[] | null
  subscribedTopicRegex: string | null
  serverAssignor: string | null
  /** The partitions the member says it holds, by topic name (null: unchanged since its last heartbeat). */
  ownedPartitions: TopicPartitions | null
  /** Which topics the client may describe: regex matches are filtered by it, as Kafka filters them by ACLs. */
  mayDescribe?: (topic: string) => boolean
  /** ConsumerGroupHeartbeat v0: the coordinator hands out member ids; from v1 clients make their own (KIP-1082). */
  serverGeneratesMemberId: boolean
  clientId: string
  clientHost: string
}

export interface ConsumerHeartbeatResult {
  errorCode: ErrorCode
  errorMessage: string | null
  memberId: string | null
  memberEpoch: number
  heartbeatIntervalMs: number
  /** Null when the member's assignment did not change. */
  assignment: TopicPartitions | null
}

function failure(errorCode: ErrorCode, errorMessage: string): ConsumerHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Handles one heartbeat; a group it changed is durable before the answer. */
export async function consumerHeartbeat(groups: ConsumerGroups, request: ConsumerHeartbeat): Promise<ConsumerHeartbeatResult> {
  const outcome = heartbeat(groups, request)
  if (outcome.changed !== null) await groups.persist(outcome.changed)
  return outcome.result
}

function heartbeat(groups: ConsumerGroups, request: ConsumerHeartbeat): { result: ConsumerHeartbeatResult; changed: ConsumerGroup | null } {
  const refused = (errorCode: ErrorCode, message: string) => ({ result: failure(errorCode, message), changed: null })
  if (groups.closed) return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the coordinator is shutting down')
  const problem = requestProblem(groups, request)
  if (problem !== null) return { result: problem, changed: null }
  const epoch = request.memberEpoch
  let group = groups.group(request.groupId)
  if (group === undefined) {
    if (epoch !== JOIN_EPOCH) return refused(ErrorCode.GROUP_ID_NOT_FOUND, `consumer group ${request.groupId} not found`)
    const classic = groups.membership.group(request.groupId)
    if (classic !== undefined && (classic.members.size > 0 || classic.pendingMembers.size > 0)) {
      return refused(ErrorCode.GROUP_ID_NOT_FOUND, `group ${request.groupId} is not a consumer group: it has members of the classic protocol`)
    }
    if (classic !== undefined) {
      // An empty classic group (offsets only) becomes a consumer group and keeps its offsets.
      classic.state = 'Dead'
      groups.membership.forget(classic)
    }
    group = groups.create(request.groupId)
  }
  let member: ConsumerMember
  let bump = false
  let dirty = false
  if (epoch === JOIN_EPOCH) {
    const joined = join(groups, group, request)
    if (typeof joined === 'number') {
      groups.disposeIfUnused(group)
      return refused(joined, joined === ErrorCode.UNRELEASED_INSTANCE_ID
        ? `static member with instance id ${request.instanceId} is still in group ${group.groupId}`
        : `group ${group.groupId} has reached its maximum size (${groups.settings.groupMaxSize})`)
    }
    ;({ member, bump } = joined)
    dirty = true
  } else {
    const known = group.members.get(request.memberId)
    if (known === undefined) return refused(ErrorCode.UNKNOWN_MEMBER_ID, `member ${request.memberId} is not in group ${group.groupId}`)
    if (request.instanceId !== null && known.instanceId !== request.instanceId) {
      return refused(ErrorCode.FENCED_INSTANCE_ID, `member ${request.memberId} has instance id ${known.instanceId ?? 'none'}, not ${request.instanceId}`)
    }
    member = known
    if (epoch === LEAVE_EPOCH || (epoch === STATIC_LEAVE_EPOCH && member.instanceId === null)) {
      groups.removeMember(group, member, 'left the group')
      return { result: { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null }, changed: group }
    }
    if (epoch === STATIC_LEAVE_EPOCH) {
      // A static member going away for a while keeps its partitions until its session ends.
      groups.stopRevocationTimer(member)
      if (member.memberEpoch !== STATIC_LEAVE_EPOCH) member.previousMemberEpoch = member.memberEpoch
      member.memberEpoch = STATIC_LEAVE_EPOCH
      groups.touch(group, member)
      return { result: { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: STATIC_LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null }, changed: group }
    }
    const fenced = epochProblem(member, epoch, request.ownedPartitions)
    if (fenced !== null) return refused(ErrorCode.FENCED_MEMBER_EPOCH, fenced)
  }
  if (request.mayDescribe !== undefined) member.mayDescribe = request.mayDescribe
  if (request.rebalanceTimeoutMs !== -1 && request.rebalanceTimeoutMs !== member.rebalanceTimeoutMs) [member.rebalanceTimeoutMs, dirty] = [request.rebalanceTimeoutMs, true]
  if (request.rackId !== null && request.rackId !== member.rackId) [member.rackId, dirty] = [request.rackId, true]
  if (request.subscribedTopicNames !== null && !sameList(request.subscribedTopicNames, member.subscribedTopicNames)) {
    member.subscribedTopicNames = [...request.subscribedTopicNames]
    bump = true
  }
  if (request.subscribedTopicRegex !== null) {
    const regex = request.subscribedTopicRegex === '' ? null : request.subscribedTopicRegex
    if (regex !== member.subscribedTopicRegex) [member.subscribedTopicRegex, bump] = [regex, true]
  }
  if (request.serverAssignor !== null && request.serverAssignor !== member.serverAssignor) [member.serverAssignor, bump] = [request.serverAssignor, true]
  const metadata = groups.subscriptionMetadata(group)
  if (metadata !== group.subscriptionMetadata) [group.subscriptionMetadata, bump] = [metadata, true]
  if (bump) {
    group.groupEpoch++
    groups.logger.debug({ group: group.groupId, groupEpoch: group.groupEpoch, member: member.memberId }, 'consumer group epoch moved')
  }
  if (group.groupEpoch > group.assignmentEpoch) groups.computeTarget(group)
  const previousEpoch = member.memberEpoch
  const previousAssigned = member.assigned
  const moved = groups.reconcileMember(group, member, request.ownedPartitions)
  groups.touch(group, member)
  const assignmentChanged = moved && (member.memberEpoch !== previousEpoch || !samePartitions(member.assigned, previousAssigned))
  const send = epoch === JOIN_EPOCH || assignmentChanged || (request.ownedPartitions !== null && !samePartitions(request.ownedPartitions, member.assigned))
  return {
    result: {
      errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: groups.settings.groupConsumerHeartbeatIntervalMs, assignment: send ? member.assigned : null,
    },
    changed: dirty || bump || moved ? group : null,
  }
}

/** Kafka's checks of a ConsumerGroupHeartbeat before it looks at the group; null when it passes them. */
function requestProblem(groups: ConsumerGroups, request: ConsumerHeartbeat): ConsumerHeartbeatResult | null {
  const invalid = (message: string) => failure(ErrorCode.INVALID_REQUEST, message)
  if (request.groupId === '') return invalid('GroupId can\'t be empty')
  if (request.memberEpoch < STATIC_LEAVE_EPOCH) return invalid(`MemberEpoch ${request.memberEpoch} is invalid`)
  if (request.memberId === '' && !(request.serverGeneratesMemberId && request.memberEpoch === JOIN_EPOCH)) return invalid('MemberId can\'t be empty')
  if (request.memberEpoch === JOIN_EPOCH) {
    if (request.rebalanceTimeoutMs === -1) return invalid('RebalanceTimeoutMs must be provided in the first request')
    if (request.ownedPartitions !== null && request.ownedPartitions.size > 0) return invalid('TopicPartitions must be empty when (re-)joining')
    if (request.subscribedTopicNames === null && request.subscribedTopicRegex === null) return invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in the first request')
  }
  if (request.memberEpoch === STATIC_LEAVE_EPOCH && request.instanceId === null) return invalid('InstanceId can\'t be null when MemberEpoch is -2')
  if (request.serverAssignor !== null && !groups.assignors.includes(request.serverAssignor)) {
    return failure(ErrorCode.UNSUPPORTED_ASSIGNOR, `assignor ${request.serverAssignor} is not supported; this broker offers ${groups.assignors.join(', ')}`)
  }
  if (request.subscribedTopicRegex !== null && request.subscribedTopicRegex !== '') {
    const pattern = groups.pattern(request.subscribedTopicRegex)
    if (typeof pattern === 'string') return failure(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${JSON.stringify(request.subscribedTopicRegex)} is refused: ${pattern}`)
  }
  return null
}

/** A member epoch ahead of the member's, or behind it other than by a lost answer, is fenced; null when valid. */
function epochProblem(member: ConsumerMember, epoch: number, owned: TopicPartitions | null): string | null {
  if (member.memberEpoch === STATIC_LEAVE_EPOCH) return `static member ${member.memberId} left the group; it must rejoin with epoch 0`
  if (epoch > member.memberEpoch) return `member epoch ${epoch} is ahead of the coordinator's ${member.memberEpoch}`
  // One epoch behind, holding nothing it was not given: the answer that moved it on was lost.
  if (epoch < member.memberEpoch && (epoch !== member.previousMemberEpoch || owned === null || !isSubset(owned, member.assigned))) {
    return `member epoch ${epoch} is behind the coordinator's ${member.memberEpoch}`
  }
  return null
}

function join(groups: ConsumerGroups, group: ConsumerGroup, request: ConsumerHeartbeat): { member: ConsumerMember; bump: boolean } | ErrorCode {
  const memberId = request.memberId === '' ? randomUUID() : request.memberId
  if (request.instanceId !== null) {
    const previousId = group.staticMembers.get(request.instanceId)
    const previous = previousId === undefined ? undefined : group.members.get(previousId)
    if (previous !== undefined && previous.memberEpoch !== STATIC_LEAVE_EPOCH && previous.memberId !== memberId) return ErrorCode.UNRELEASED_INSTANCE_ID
    if (previous !== undefined && previous.memberEpoch === STATIC_LEAVE_EPOCH) return { member: replaceStatic(groups, group, previous, memberId, request), bump: false }
  }
  const existing = group.members.get(memberId)
  if (existing === undefined && group.members.size >= groups.settings.groupMaxSize) return ErrorCode.GROUP_MAX_SIZE_REACHED
  // A known member joining again (after being fenced) starts over, holding nothing.
  if (existing !== undefined) groups.detach(group, existing)
  const member = new ConsumerMember(memberId, request.instanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs)
  group.members.set(memberId, member)
  if (member.instanceId !== null) group.staticMembers.set(member.instanceId, memberId)
  group.emptySinceMs = null
  return { member, bump: true }
}

/** A static member back under a new member id takes the place, epoch and partitions of its previous incarnation. */
function replaceStatic(groups: ConsumerGroups, group: ConsumerGroup, previous: ConsumerMember, memberId: string, request: ConsumerHeartbeat): ConsumerMember {
  const member = new ConsumerMember(memberId, request.instanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs)
  member.memberEpoch = previous.previousMemberEpoch
  member.previousMemberEpoch = previous.previousMemberEpoch
  member.state = previous.state
  member.subscribedTopicNames = previous.subscribedTopicNames
  member.subscribedTopicRegex = previous.subscribedTopicRegex
  member.serverAssignor = previous.serverAssignor
  member.rackId = previous.rackId
  const { assigned, pendingRevocation } = previous
  const target = group.targetAssignment.get(previous.memberId)
  groups.detach(group, previous)
  group.members.set(memberId, member)
  group.staticMembers.set(request.instanceId!, memberId)
  group.setOwnership(member, assigned, pendingRevocation)
  if (target !== undefined) group.targetAssignment.set(memberId, target)
  if (member.state === 'unrevoked') groups.startRevocationTimer(group, member)
  return member
}
