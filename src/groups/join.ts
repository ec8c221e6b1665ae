// JoinGroup: checks the request, hands out member ids (MEMBER_ID_REQUIRED from v4), lets a static
// member take back its place, and holds the join until the rebalance it starts or joins completes.
import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { joinError, Member, type Group, type JoinResult, type ProtocolMetadata } from './group.ts'
import type { Membership } from './membership.ts'

export interface JoinRequest {
  groupId: string
  memberId: string
  groupInstanceId: string | null
  protocolType: string
  protocols: ProtocolMetadata[]
  sessionTimeoutMs: number
  /** -1 (v0): the session timeout. */
  rebalanceTimeoutMs: number
  /** Version >= 4 hands out member ids with MEMBER_ID_REQUIRED first. */
  requireKnownMemberId: boolean
  /** Version >= 9 understands skip_assignment (KIP-814). */
  supportsSkipAssignment?: boolean
  clientId: string
  clientHost: string
}

/**
 * Protocol metadata one member may send with JoinGroup (all its protocols together). Real
 * subscriptions take bytes to kilobytes; the leader receives every member's metadata and stable
 * groups are stored with it, and Kafka itself fails a group whose stored form passes 1 MiB.
 */
export const MAX_MEMBER_METADATA_BYTES = 1024 * 1024

export function joinGroup(membership: Membership, request: JoinRequest): Promise<JoinResult> | JoinResult {
  const result = join(membership, request)
  const group = membership.group(request.groupId)
  if (group !== undefined) membership.disposeIfUnused(group)
  return result
}

function join(membership: Membership, request: JoinRequest): Promise<JoinResult> | JoinResult {
  if (membership.closed) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId)
  if (request.groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, request.memberId)
  const { groupMinSessionTimeoutMs, groupMaxSessionTimeoutMs, groupMaxSize } = membership.settings
  if (request.sessionTimeoutMs < groupMinSessionTimeoutMs || request.sessionTimeoutMs > groupMaxSessionTimeoutMs) {
    return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, request.memberId)
  }
  if (request.protocols.length === 0) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId)
  let metadataBytes = 0
  for (const protocol of request.protocols) metadataBytes += protocol.metadata.length
  if (metadataBytes > MAX_MEMBER_METADATA_BYTES) {
    membership.logger.warn({ group: request.groupId, client: request.clientId, metadataBytes, max: MAX_MEMBER_METADATA_BYTES }, 'refused JoinGroup: protocol metadata too large')
    return joinError(ErrorCode.INVALID_REQUEST, request.memberId)
  }
  const group = membership.group(request.groupId) ?? membership.create(request.groupId)
  const rebalanceTimeoutMs = request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs

  if (request.memberId === '') {
    if (!group.supports(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    if (group.members.size + group.pendingMembers.size >= groupMaxSize) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED)
    const memberId = `${request.clientId || 'member'}-${randomUUID()}`
    if (request.groupInstanceId !== null) return joinStatic(membership, group, memberId, request, rebalanceTimeoutMs)
    if (request.requireKnownMemberId) {
      // The client must come back with this id; until then it only holds a bounded pending slot.
      const timer = setTimeout(() => {
        group.pendingMembers.delete(memberId)
        membership.disposeIfUnused(group)
      }, request.sessionTimeoutMs)
      timer.unref()
      group.pendingMembers.set(memberId, timer)
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId)
    }
    return membership.awaitJoin(group, addMember(group, memberId, request, rebalanceTimeoutMs))
  }

  const pending = group.pendingMembers.get(request.memberId)
  if (pending !== undefined) {
    clearTimeout(pending)
    group.pendingMembers.delete(request.memberId)
    if (!group.supports(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId)
    return membership.awaitJoin(group, addMember(group, request.memberId, request, rebalanceTimeoutMs))
  }
  const member = group.members.get(request.memberId)
  if (member === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId)
  if (request.groupInstanceId !== null && group.staticMembers.get(request.groupInstanceId) !== request.memberId) {
    return joinError(ErrorCode.FENCED_INSTANCE_ID, request.memberId)
  }
  if (request.protocolType !== group.protocolType || !group.supportsExisting(member, request.protocols)) {
    return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId)
  }
  const changed = !member.sameProtocols(request.protocols)
  member.protocols = request.protocols
  member.sessionTimeoutMs = request.sessionTimeoutMs
  member.rebalanceTimeoutMs = rebalanceTimeoutMs
  // A follower rejoining a stable group with the same metadata gets the current generation back.
  if (group.state === 'Stable' && !changed && member.memberId !== group.leaderId) {
    membership.touch(group, member)
    return membership.joinResult(group, member)
  }
  return membership.awaitJoin(group, member)
}

function joinStatic(membership: Membership, group: Group, memberId: string, request: JoinRequest, rebalanceTimeoutMs: number): Promise<JoinResult> | JoinResult {
  const instanceId = request.groupInstanceId!
  const oldMemberId = group.staticMembers.get(instanceId)
  const old = oldMemberId === undefined ? undefined : group.members.get(oldMemberId)
  if (old === undefined) return membership.awaitJoin(group, addMember(group, memberId, request, rebalanceTimeoutMs))
  // The same instance came back (restart): the old member id is fenced, the new one takes its place.
  const wasLeader = group.leaderId === old.memberId
  membership.removeMember(group, old, ErrorCode.FENCED_INSTANCE_ID, false)
  const member = addMember(group, memberId, request, rebalanceTimeoutMs)
  if (wasLeader) group.leaderId = member.memberId
  member.assignment = old.assignment
  if (group.state === 'Stable' && old.sameProtocols(request.protocols)) {
    membership.touch(group, member)
    membership.persist(group).catch((error: unknown) => membership.logger.error({ err: error, group: group.groupId }, 'storing group metadata failed'))
    const result = membership.joinResult(group, member)
    if (!wasLeader) return result
    // The returning leader must not assign again: a stable group would not pass a new assignment on.
    // KIP-814 says so (v9+); older clients are told the previous id leads, so they act as followers.
    if (request.supportsSkipAssignment === true) return { ...result, skipAssignment: true }
    return { ...result, leader: old.memberId, members: [] }
  }
  return membership.awaitJoin(group, member)
}

function addMember(group: Group, memberId: string, request: JoinRequest, rebalanceTimeoutMs: number): Member {
  const member = new Member(memberId, request.groupInstanceId, request.clientId, request.clientHost, request.sessionTimeoutMs, rebalanceTimeoutMs, request.protocolType, request.protocols)
  group.members.set(memberId, member)
  if (request.groupInstanceId !== null) group.staticMembers.set(request.groupInstanceId, memberId)
  if (group.members.size === 1) group.protocolType = request.protocolType
  group.emptySinceMs = null
  return member
}
