// The consumer-protocol groups of this broker (KIP-848): the group epoch moves when members join,
// leave or change what they subscribe to, or when a subscribed topic changes (new partitions, a
// topic created or deleted); the assignor then computes the target assignment of that epoch, and
// every heartbeat moves its member one step towards its target (consumer-group.ts reconcile).
// Sessions and revocations are bounded by timers. A group id is either a classic group (membership.ts)
// or a consumer group: an empty one of either kind can become the other.
import { randomUUID } from 'node:crypto'
import type { Config } from '../config/index.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import type { Logger } from '../observability/logger.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { assignorByName, type TopicPartitions } from './assignors.ts'
import { ConsumerGroup, ConsumerMember, isSubset, JOIN_EPOCH, LEAVE_EPOCH, reconcile, samePartitions, STATIC_LEAVE_EPOCH } from './consumer-group.ts'
import type { ConsumerGroupStore } from './consumer-group-store.ts'
import type { Membership } from './membership.ts'
import { compileTopicRegex, type TopicPattern } from './topic-regex.ts'

export type ConsumerGroupSettings = Pick<Config, 'groupConsumerSessionTimeoutMs' | 'groupConsumerHeartbeatIntervalMs' | 'groupConsumerAssignors' | 'groupMaxSize' | 'offsetsRetentionMs'>

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

export class ConsumerGroups {
  readonly #settings: ConsumerGroupSettings
  readonly #logger: Logger
  readonly #log: BrokerLog
  readonly #store: ConsumerGroupStore
  readonly #membership: Membership
  readonly #groups = new Map<string, ConsumerGroup>()
  readonly #assignors: string[]
  readonly #patterns = new Map<string, TopicPattern | string>()
  #closed = false

  constructor(settings: ConsumerGroupSettings, logger: Logger, log: BrokerLog, store: ConsumerGroupStore, membership: Membership) {
    this.#settings = settings
    this.#logger = logger
    this.#log = log
    this.#store = store
    this.#membership = membership
    this.#assignors = settings.groupConsumerAssignors.split(',').map((name) => name.trim())
  }

  get defaultAssignor(): string {
    return this.#assignors[0]!
  }

  /** Takes the stored groups back after a restart; their members' sessions start again now. */
  restore(stored: ConsumerGroup[]): void {
    for (const group of stored) {
      const classic = this.#membership.group(group.groupId)
      if (classic !== undefined) this.#membership.forget(classic)
      this.#groups.set(group.groupId, group)
      for (const member of group.members.values()) {
        this.#touch(group, member)
        if (member.state === 'unrevoked') this.#startRevocationTimer(group, member)
      }
    }
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.#groups.get(groupId)
  }

  groups(): IterableIterator<ConsumerGroup> {
    return this.#groups.values()
  }

  close(): void {
    this.#closed = true
    for (const group of this.#groups.values()) for (const member of group.members.values()) this.#stopTimers(member)
  }

  /** The topics a member's subscription names that exist now (names and regex matches). */
  subscribedTopics(member: ConsumerMember): Set<string> {
    const topics = new Set<string>()
    for (const name of member.subscribedTopicNames) if (this.#log.topicByName(name) !== undefined) topics.add(name)
    if (member.subscribedTopicRegex !== null) {
      const pattern = this.#pattern(member.subscribedTopicRegex)
      if (typeof pattern !== 'string') {
        for (const topic of this.#log.topics()) if (pattern.test(topic.name) && (member.mayDescribe?.(topic.name) ?? true)) topics.add(topic.name)
      }
    }
    return topics
  }

  async heartbeat(request: ConsumerHeartbeat): Promise<ConsumerHeartbeatResult> {
    const outcome = this.#heartbeat(request)
    if (outcome.changed !== null) await this.persist(outcome.changed)
    return outcome.result
  }

  /** Writes a group's stored form; durable on resolve. */
  persist(group: ConsumerGroup): Promise<void> {
    return this.#store.save(group)
  }

  #heartbeat(request: ConsumerHeartbeat): { result: ConsumerHeartbeatResult; changed: ConsumerGroup | null } {
    const refused = (errorCode: ErrorCode, message: string) => ({ result: failure(errorCode, message), changed: null })
    if (this.#closed) return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the coordinator is shutting down')
    const problem = this.#requestProblem(request)
    if (problem !== null) return { result: problem, changed: null }
    const epoch = request.memberEpoch
    let group = this.#groups.get(request.groupId)
    if (group === undefined) {
      if (epoch !== JOIN_EPOCH) return refused(ErrorCode.GROUP_ID_NOT_FOUND, `consumer group ${request.groupId} not found`)
      const classic = this.#membership.group(request.groupId)
      if (classic !== undefined && (classic.members.size > 0 || classic.pendingMembers.size > 0)) {
        return refused(ErrorCode.GROUP_ID_NOT_FOUND, `group ${request.groupId} is not a consumer group: it has members of the classic protocol`)
      }
      if (classic !== undefined) {
        // An empty classic group (offsets only) becomes a consumer group and keeps its offsets.
        classic.state = 'Dead'
        this.#membership.forget(classic)
      }
      group = new ConsumerGroup(request.groupId)
      group.emptySinceMs = Date.now()
      this.#groups.set(group.groupId, group)
    }
    let member: ConsumerMember
    let bump = false
    let dirty = false
    if (epoch === JOIN_EPOCH) {
      const joined = this.#join(group, request)
      if (typeof joined === 'number') {
        this.#disposeIfUnused(group)
        return refused(joined, joined === ErrorCode.UNRELEASED_INSTANCE_ID
          ? `static member with instance id ${request.instanceId} is still in group ${group.groupId}`
          : `group ${group.groupId} has reached its maximum size (${this.#settings.groupMaxSize})`)
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
        this.removeMember(group, member, 'left the group')
        return { result: { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null }, changed: group }
      }
      if (epoch === STATIC_LEAVE_EPOCH) {
        // A static member going away for a while keeps its partitions until its session ends.
        this.#stopRevocationTimer(member)
        if (member.memberEpoch !== STATIC_LEAVE_EPOCH) member.previousMemberEpoch = member.memberEpoch
        member.memberEpoch = STATIC_LEAVE_EPOCH
        this.#touch(group, member)
        return { result: { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: STATIC_LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null }, changed: group }
      }
      const fenced = this.#epochProblem(member, epoch, request.ownedPartitions)
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
    const metadata = this.#subscriptionMetadata(group)
    if (metadata !== group.subscriptionMetadata) [group.subscriptionMetadata, bump] = [metadata, true]
    if (bump) {
      group.groupEpoch++
      this.#logger.debug({ group: group.groupId, groupEpoch: group.groupEpoch, member: member.memberId }, 'consumer group epoch moved')
    }
    if (group.groupEpoch > group.assignmentEpoch) this.#computeTarget(group)
    const previousEpoch = member.memberEpoch
    const previousAssigned = member.assigned
    const moved = this.#reconcile(group, member, request.ownedPartitions)
    this.#touch(group, member)
    const assignmentChanged = moved && (member.memberEpoch !== previousEpoch || !samePartitions(member.assigned, previousAssigned))
    const send = epoch === JOIN_EPOCH || assignmentChanged || (request.ownedPartitions !== null && !samePartitions(request.ownedPartitions, member.assigned))
    return {
      result: {
        errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: member.memberEpoch,
        heartbeatIntervalMs: this.#settings.groupConsumerHeartbeatIntervalMs, assignment: send ? member.assigned : null,
      },
      changed: dirty || bump || moved ? group : null,
    }
  }

  /** Kafka's checks of a ConsumerGroupHeartbeat before it looks at the group; null when it passes them. */
  #requestProblem(request: ConsumerHeartbeat): ConsumerHeartbeatResult | null {
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
    if (request.serverAssignor !== null && !this.#assignors.includes(request.serverAssignor)) {
      return failure(ErrorCode.UNSUPPORTED_ASSIGNOR, `assignor ${request.serverAssignor} is not supported; this broker offers ${this.#assignors.join(', ')}`)
    }
    if (request.subscribedTopicRegex !== null && request.subscribedTopicRegex !== '') {
      const pattern = this.#pattern(request.subscribedTopicRegex)
      if (typeof pattern === 'string') return failure(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${JSON.stringify(request.subscribedTopicRegex)} is refused: ${pattern}`)
    }
    return null
  }

  /** A member epoch ahead of the member's, or behind it other than by a lost answer, is fenced; null when valid. */
  #epochProblem(member: ConsumerMember, epoch: number, owned: TopicPartitions | null): string | null {
    if (member.memberEpoch === STATIC_LEAVE_EPOCH) return `static member ${member.memberId} left the group; it must rejoin with epoch 0`
    if (epoch > member.memberEpoch) return `member epoch ${epoch} is ahead of the coordinator's ${member.memberEpoch}`
    // One epoch behind, holding nothing it was not given: the answer that moved it on was lost.
    if (epoch < member.memberEpoch && (epoch !== member.previousMemberEpoch || owned === null || !isSubset(owned, member.assigned))) {
      return `member epoch ${epoch} is behind the coordinator's ${member.memberEpoch}`
    }
    return null
  }

  #join(group: ConsumerGroup, request: ConsumerHeartbeat): { member: ConsumerMember; bump: boolean } | ErrorCode {
    const memberId = request.memberId === '' ? randomUUID() : request.memberId
    if (request.instanceId !== null) {
      const previousId = group.staticMembers.get(request.instanceId)
      const previous = previousId === undefined ? undefined : group.members.get(previousId)
      if (previous !== undefined && previous.memberEpoch !== STATIC_LEAVE_EPOCH && previous.memberId !== memberId) return ErrorCode.UNRELEASED_INSTANCE_ID
      if (previous !== undefined && previous.memberEpoch === STATIC_LEAVE_EPOCH) return { member: this.#replaceStatic(group, previous, memberId, request), bump: false }
    }
    const existing = group.members.get(memberId)
    if (existing === undefined && group.members.size >= this.#settings.groupMaxSize) return ErrorCode.GROUP_MAX_SIZE_REACHED
    // A known member joining again (after being fenced) starts over, holding nothing.
    if (existing !== undefined) this.#detach(group, existing)
    const member = new ConsumerMember(memberId, request.instanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs)
    group.members.set(memberId, member)
    if (member.instanceId !== null) group.staticMembers.set(member.instanceId, memberId)
    group.emptySinceMs = null
    return { member, bump: true }
  }

  /** A static member back under a new member id takes the place, epoch and partitions of its previous incarnation. */
  #replaceStatic(group: ConsumerGroup, previous: ConsumerMember, memberId: string, request: ConsumerHeartbeat): ConsumerMember {
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
    this.#detach(group, previous)
    group.members.set(memberId, member)
    group.staticMembers.set(request.instanceId!, memberId)
    group.setOwnership(member, assigned, pendingRevocation)
    if (target !== undefined) group.targetAssignment.set(memberId, target)
    if (member.state === 'unrevoked') this.#startRevocationTimer(group, member)
    return member
  }

  /** Takes a member out of the group without moving the group epoch. */
  #detach(group: ConsumerGroup, member: ConsumerMember): void {
    this.#stopTimers(member)
    group.releaseOwnership(member)
    group.members.delete(member.memberId)
    group.targetAssignment.delete(member.memberId)
    if (member.instanceId !== null && group.staticMembers.get(member.instanceId) === member.memberId) group.staticMembers.delete(member.instanceId)
  }

  /** Removes a member (it left, its session ended, it did not revoke in time): its partitions go to the others. */
  removeMember(group: ConsumerGroup, member: ConsumerMember, reason: string): void {
    this.#detach(group, member)
    group.groupEpoch++
    this.#logger.info({ group: group.groupId, member: member.memberId, groupEpoch: group.groupEpoch, reason }, 'consumer group member removed')
    if (group.members.size === 0) group.emptySinceMs = Date.now()
    this.#disposeIfUnused(group)
  }

  #removeLater(group: ConsumerGroup, member: ConsumerMember, reason: string): void {
    if (group.members.get(member.memberId) !== member) return
    this.removeMember(group, member, reason)
    this.persist(group).catch((error: unknown) => this.#logger.error({ err: error, group: group.groupId }, 'storing consumer group failed'))
  }

  /** Forgets an empty group that holds no offsets (its stored form goes with the next persist). */
  #disposeIfUnused(group: ConsumerGroup): void {
    if (group.members.size > 0 || this.#membership.offsets.hasOffsets(group.groupId)) return
    this.forget(group)
  }

  forget(group: ConsumerGroup): void {
    group.dead = true
    for (const member of group.members.values()) this.#stopTimers(member)
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId)
  }

  #computeTarget(group: ConsumerGroup): void {
    const assignor = assignorByName(group.assignorName(this.defaultAssignor)) ?? assignorByName(this.defaultAssignor)!
    const partitionCounts = new Map<string, number>()
    const members = [...group.members.values()].map((member) => {
      const topics = this.subscribedTopics(member)
      for (const topic of topics) partitionCounts.set(topic, this.#log.topicByName(topic)!.partitions.length)
      return { memberId: member.memberId, topics, previous: group.targetAssignment.get(member.memberId) ?? new Map<string, number[]>() }
    })
    group.targetAssignment = assignor.assign({ members, partitionCounts })
    group.assignmentEpoch = group.groupEpoch
  }

  /** Moves a member one step towards its target; whether anything about it changed. */
  #reconcile(group: ConsumerGroup, member: ConsumerMember, owned: TopicPartitions | null): boolean {
    const target = group.targetAssignment.get(member.memberId) ?? new Map<string, number[]>()
    const next = reconcile(member, target, group.assignmentEpoch, (topic, partition) => group.ownerOf(topic, partition), owned)
    if (next === null) return false
    const changed = next.memberEpoch !== member.memberEpoch || next.state !== member.state ||
      !samePartitions(next.assigned, member.assigned) || !samePartitions(next.pendingRevocation, member.pendingRevocation)
    if (!changed) return false
    if (next.memberEpoch !== member.memberEpoch) [member.previousMemberEpoch, member.memberEpoch] = [member.memberEpoch, next.memberEpoch]
    const wasUnrevoked = member.state === 'unrevoked'
    member.state = next.state
    group.setOwnership(member, next.assigned, next.pendingRevocation)
    if (member.state === 'unrevoked' && !wasUnrevoked) this.#startRevocationTimer(group, member)
    if (member.state !== 'unrevoked') this.#stopRevocationTimer(member)
    return true
  }

  /** Names, ids and partition counts of every topic the group subscribes to: a change moves the group epoch. */
  #subscriptionMetadata(group: ConsumerGroup): string {
    const topics = new Set<string>()
    for (const member of group.members.values()) for (const topic of this.subscribedTopics(member)) topics.add(topic)
    return [...topics].sort().map((name) => {
      const topic = this.#log.topicByName(name)!
      return `${name}:${topic.id}:${topic.partitions.length}`
    }).join(',')
  }

  #pattern(source: string): TopicPattern | string {
    let pattern = this.#patterns.get(source)
    if (pattern === undefined) {
      pattern = compileTopicRegex(source)
      // Bounded: patterns are few in practice, but each client could send another.
      if (this.#patterns.size >= 1000) this.#patterns.clear()
      this.#patterns.set(source, pattern)
    }
    return pattern
  }

  #touch(group: ConsumerGroup, member: ConsumerMember): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
    member.sessionTimer = null
    if (this.#closed) return
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null
      this.#removeLater(group, member, `session timeout (${this.#settings.groupConsumerSessionTimeoutMs} ms)`)
    }, this.#settings.groupConsumerSessionTimeoutMs)
    member.sessionTimer.unref()
  }

  #startRevocationTimer(group: ConsumerGroup, member: ConsumerMember): void {
    this.#stopRevocationTimer(member)
    if (this.#closed) return
    member.revocationTimer = setTimeout(() => {
      member.revocationTimer = null
      if (member.state === 'unrevoked') this.#removeLater(group, member, `partitions not revoked within the rebalance timeout (${member.rebalanceTimeoutMs} ms)`)
    }, member.rebalanceTimeoutMs)
    member.revocationTimer.unref()
  }

  #stopRevocationTimer(member: ConsumerMember): void {
    if (member.revocationTimer !== null) clearTimeout(member.revocationTimer)
    member.revocationTimer = null
  }

  #stopTimers(member: ConsumerMember): void {
    this.#stopRevocationTimer(member)
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
    member.sessionTimer = null
  }

  /** OffsetCommit by a consumer-group member: the error for the whole request, NONE when it may commit. */
  validateCommit(group: ConsumerGroup, memberId: string, memberEpoch: number, apiVersion: number): ErrorCode {
    // The admin client and consumers outside group management commit with epoch -1, to an empty group only.
    if (memberEpoch < 0 && memberId === '' && group.members.size === 0) return ErrorCode.NONE
    const member = group.members.get(memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH
  }

  /** OffsetFetch v9+ naming a member: the group-level error, NONE when it may read. */
  validateFetch(group: ConsumerGroup, memberId: string | null, memberEpoch: number): ErrorCode {
    if (memberId === null || (memberEpoch < 0 && memberId === '')) return ErrorCode.NONE
    const member = group.members.get(memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH
  }

  /** Deletes empty groups past the offset retention, with their offsets; their ids. */
  async expire(nowMs: number): Promise<string[]> {
    const expired: string[] = []
    for (const group of [...this.#groups.values()]) {
      const since = group.emptySinceMs
      if (group.members.size > 0 || since === null || nowMs - since < this.#settings.offsetsRetentionMs) continue
      let newest = 0
      for (const [, , committed] of this.#membership.offsets.all(group.groupId)) newest = Math.max(newest, committed.commitTimestampMs)
      if (nowMs - newest < this.#settings.offsetsRetentionMs) continue
      await this.#membership.offsets.delete(group.groupId)
      this.forget(group)
      await this.persist(group)
      expired.push(group.groupId)
    }
    return expired
  }
}
