// The consumer-protocol groups of this broker (KIP-848) and what moves them besides a heartbeat
// (consumer-heartbeat.ts): the target assignment of each group epoch (computed by the assignor the
// members name), one member's step towards it (consumer-group.ts reconcile), the subscribed topics
// as they are now (names, regex matches, partition counts), member removal, session and revocation
// timers, offset checks and expiry. A group id is either a classic group (membership.ts) or a
// consumer group: an empty one of either kind can become the other.
import type { Config } from '../config/index.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import type { Logger } from '../observability/logger.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { assignorByName, type TopicPartitions } from './assignors.ts'
import { ConsumerGroup, ConsumerMember, reconcile, samePartitions } from './consumer-group.ts'
import type { ConsumerGroupStore } from './consumer-group-store.ts'
import type { Membership } from './membership.ts'
import { compileTopicRegex, type TopicPattern } from './topic-regex.ts'

export type ConsumerGroupSettings = Pick<Config, 'groupConsumerSessionTimeoutMs' | 'groupConsumerHeartbeatIntervalMs' | 'groupConsumerAssignors' | 'groupMaxSize' | 'offsetsRetentionMs'>

export class ConsumerGroups {
  readonly settings: ConsumerGroupSettings
  readonly logger: Logger
  readonly #log: BrokerLog
  readonly #store: ConsumerGroupStore
  /** The classic groups: a group id is one kind or the other. */
  readonly membership: Membership
  readonly #groups = new Map<string, ConsumerGroup>()
  /** Assignors members may name (ZOMBI_GROUP_CONSUMER_ASSIGNORS), the default first. */
  readonly assignors: string[]
  readonly #patterns = new Map<string, TopicPattern | string>()
  #closed = false

  get closed(): boolean {
    return this.#closed
  }

  constructor(settings: ConsumerGroupSettings, logger: Logger, log: BrokerLog, store: ConsumerGroupStore, membership: Membership) {
    this.settings = settings
    this.logger = logger
    this.#log = log
    this.#store = store
    this.membership = membership
    this.assignors = settings.groupConsumerAssignors.split(',').map((name) => name.trim())
  }

  get defaultAssignor(): string {
    return this.assignors[0]!
  }

  /** Takes the stored groups back after a restart; their members' sessions start again now. */
  restore(stored: ConsumerGroup[]): void {
    for (const group of stored) {
      const classic = this.membership.group(group.groupId)
      if (classic !== undefined) this.membership.forget(classic)
      this.#groups.set(group.groupId, group)
      for (const member of group.members.values()) {
        this.touch(group, member)
        if (member.state === 'unrevoked') this.startRevocationTimer(group, member)
      }
    }
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.#groups.get(groupId)
  }

  groups(): IterableIterator<ConsumerGroup> {
    return this.#groups.values()
  }

  /** A new, empty consumer group under this id. */
  create(groupId: string): ConsumerGroup {
    const group = new ConsumerGroup(groupId)
    group.emptySinceMs = Date.now()
    this.#groups.set(groupId, group)
    return group
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
      const pattern = this.pattern(member.subscribedTopicRegex)
      if (typeof pattern !== 'string') {
        for (const topic of this.#log.topics()) if (pattern.test(topic.name) && (member.mayDescribe?.(topic.name) ?? true)) topics.add(topic.name)
      }
    }
    return topics
  }

  /** Writes a group's stored form; durable on resolve. */
  persist(group: ConsumerGroup): Promise<void> {
    return this.#store.save(group)
  }

  /** Takes a member out of the group without moving the group epoch. */
  detach(group: ConsumerGroup, member: ConsumerMember): void {
    this.#stopTimers(member)
    group.releaseOwnership(member)
    group.members.delete(member.memberId)
    group.targetAssignment.delete(member.memberId)
    if (member.instanceId !== null && group.staticMembers.get(member.instanceId) === member.memberId) group.staticMembers.delete(member.instanceId)
  }

  /** Removes a member (it left, its session ended, it did not revoke in time): its partitions go to the others. */
  removeMember(group: ConsumerGroup, member: ConsumerMember, reason: string): void {
    this.detach(group, member)
    group.groupEpoch++
    this.logger.info({ group: group.groupId, member: member.memberId, groupEpoch: group.groupEpoch, reason }, 'consumer group member removed')
    if (group.members.size === 0) group.emptySinceMs = Date.now()
    this.disposeIfUnused(group)
  }

  #removeLater(group: ConsumerGroup, member: ConsumerMember, reason: string): void {
    if (group.members.get(member.memberId) !== member) return
    this.removeMember(group, member, reason)
    this.persist(group).catch((error: unknown) => this.logger.error({ err: error, group: group.groupId }, 'storing consumer group failed'))
  }

  /** Forgets an empty group that holds no offsets (its stored form goes with the next persist). */
  disposeIfUnused(group: ConsumerGroup): void {
    if (group.members.size > 0 || this.membership.offsets.hasOffsets(group.groupId)) return
    this.forget(group)
  }

  forget(group: ConsumerGroup): void {
    group.dead = true
    for (const member of group.members.values()) this.#stopTimers(member)
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId)
  }

  computeTarget(group: ConsumerGroup): void {
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
  reconcileMember(group: ConsumerGroup, member: ConsumerMember, owned: TopicPartitions | null): boolean {
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
    if (member.state === 'unrevoked' && !wasUnrevoked) this.startRevocationTimer(group, member)
    if (member.state !== 'unrevoked') this.stopRevocationTimer(member)
    return true
  }

  /** Names, ids and partition counts of every topic the group subscribes to: a change moves the group epoch. */
  subscriptionMetadata(group: ConsumerGroup): string {
    const topics = new Set<string>()
    for (const member of group.members.values()) for (const topic of this.subscribedTopics(member)) topics.add(topic)
    return [...topics].sort().map((name) => {
      const topic = this.#log.topicByName(name)!
      return `${name}:${topic.id}:${topic.partitions.length}`
    }).join(',')
  }

  pattern(source: string): TopicPattern | string {
    let pattern = this.#patterns.get(source)
    if (pattern === undefined) {
      pattern = compileTopicRegex(source)
      // Bounded: patterns are few in practice, but each client could send another.
      if (this.#patterns.size >= 1000) this.#patterns.clear()
      this.#patterns.set(source, pattern)
    }
    return pattern
  }

  touch(group: ConsumerGroup, member: ConsumerMember): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
    member.sessionTimer = null
    if (this.#closed) return
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null
      this.#removeLater(group, member, `session timeout (${this.settings.groupConsumerSessionTimeoutMs} ms)`)
    }, this.settings.groupConsumerSessionTimeoutMs)
    member.sessionTimer.unref()
  }

  startRevocationTimer(group: ConsumerGroup, member: ConsumerMember): void {
    this.stopRevocationTimer(member)
    if (this.#closed) return
    member.revocationTimer = setTimeout(() => {
      member.revocationTimer = null
      if (member.state === 'unrevoked') this.#removeLater(group, member, `partitions not revoked within the rebalance timeout (${member.rebalanceTimeoutMs} ms)`)
    }, member.rebalanceTimeoutMs)
    member.revocationTimer.unref()
  }

  stopRevocationTimer(member: ConsumerMember): void {
    if (member.revocationTimer !== null) clearTimeout(member.revocationTimer)
    member.revocationTimer = null
  }

  #stopTimers(member: ConsumerMember): void {
    this.stopRevocationTimer(member)
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
    member.sessionTimer = null
  }

  /** OffsetCommit by a consumer-group member: the error for the whole request, NONE when it may commit. */
  validateCommit(group: ConsumerGroup, memberId: string, memberEpoch: number, apiVersion: number): ErrorCode {
    // The admin client and consumers outside group management commit with epoch -1, to an empty group only.
    if (memberEpoch < 0 && memberId === '' && group.members.size === 0) return ErrorCode.NONE
    const error = this.#memberEpochError(group, memberId, memberEpoch, ErrorCode.STALE_MEMBER_EPOCH)
    if (error === ErrorCode.UNKNOWN_MEMBER_ID) return error
    return apiVersion < 9 ? ErrorCode.UNSUPPORTED_VERSION : error
  }

  /** OffsetFetch v9+ naming a member: the group-level error, NONE when it may read. */
  validateFetch(group: ConsumerGroup, memberId: string | null, memberEpoch: number): ErrorCode {
    if (memberId === null || (memberEpoch < 0 && memberId === '')) return ErrorCode.NONE
    return this.#memberEpochError(group, memberId, memberEpoch, ErrorCode.STALE_MEMBER_EPOCH)
  }

  /** TxnOffsetCommit v3+ naming a member (its member epoch as the generation): a stale epoch is ILLEGAL_GENERATION there, as Kafka answers. */
  validateTransactionalCommit(group: ConsumerGroup, memberId: string, memberEpoch: number): ErrorCode {
    return this.#memberEpochError(group, memberId, memberEpoch, ErrorCode.ILLEGAL_GENERATION)
  }

  /** UNKNOWN_MEMBER_ID for a member the group does not have, `stale` for another epoch than the member's, else NONE. */
  #memberEpochError(group: ConsumerGroup, memberId: string, memberEpoch: number, stale: ErrorCode): ErrorCode {
    const member = group.members.get(memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : stale
  }

  /** Deletes empty groups past the offset retention, with their offsets; their ids. */
  async expire(nowMs: number): Promise<string[]> {
    const expired: string[] = []
    for (const group of [...this.#groups.values()]) {
      const since = group.emptySinceMs
      if (group.members.size > 0 || since === null || nowMs - since < this.settings.offsetsRetentionMs) continue
      let newest = 0
      for (const [, , committed] of this.membership.offsets.all(group.groupId)) newest = Math.max(newest, committed.commitTimestampMs)
      if (nowMs - newest < this.settings.offsetsRetentionMs) continue
      await this.membership.offsets.delete(group.groupId)
      this.forget(group)
      await this.persist(group)
      expired.push(group.groupId)
    }
    return expired
  }
}
