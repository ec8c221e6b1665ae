// The groups of this broker and the rebalance state machine of the classic group protocol:
// Empty -> PreparingRebalance (members rejoin) -> CompletingRebalance (the leader assigns) ->
// Stable, with session timers, member removal and the forgetting of groups that hold nothing.
// The group operations (join.ts, sync.ts, heartbeat.ts, leave.ts, offsets.ts, admin.ts) move
// groups through it; nothing outside groups/ changes group state.
import type { Config } from '../config/index.ts'
import type { Logger } from '../observability/logger.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { Group, joinError, syncError, type JoinResult, type Member } from './group.ts'
import type { GroupStore } from './group-store.ts'
import type { OffsetStore } from './offset-store.ts'

/** The group settings of the broker's Config (ZOMBI_GROUP_*, ZOMBI_OFFSETS_RETENTION_MINUTES). */
export type GroupSettings = Pick<Config, 'groupInitialRebalanceDelayMs' | 'groupMinSessionTimeoutMs' | 'groupMaxSessionTimeoutMs' | 'groupMaxSize' | 'offsetsRetentionMs'>

export class Membership {
  readonly settings: GroupSettings
  readonly logger: Logger
  /** Committed offsets: a group that holds some is never forgotten while empty. */
  readonly offsets: OffsetStore
  readonly #store: GroupStore
  readonly #groups = new Map<string, Group>()
  #closed = false

  constructor(settings: GroupSettings, logger: Logger, store: GroupStore, offsets: OffsetStore) {
    this.settings = settings
    this.logger = logger
    this.offsets = offsets
    this.#store = store
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Takes the groups back after a restart: those known only by committed offsets exist, empty, as in
   * Kafka; stored stable groups come back with their members, whose sessions start again now, so
   * members that died with the broker are evicted after their session timeout.
   */
  restore(offsetGroupIds: Iterable<string>, stored: Group[]): void {
    const now = Date.now()
    for (const groupId of offsetGroupIds) this.create(groupId, now)
    for (const group of stored) {
      group.emptySinceMs = group.members.size > 0 ? null : now
      this.#groups.set(group.groupId, group)
      for (const member of group.members.values()) this.touch(group, member)
    }
  }

  group(groupId: string): Group | undefined {
    return this.#groups.get(groupId)
  }

  groups(): IterableIterator<Group> {
    return this.#groups.values()
  }

  /** A new, empty group under this id. */
  create(groupId: string, now = Date.now()): Group {
    const group = new Group(groupId)
    group.emptySinceMs = now
    this.#groups.set(groupId, group)
    return group
  }

  /** Drops a group from memory (its stored form and offsets are the caller's). */
  forget(group: Group): void {
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId)
  }

  /** Writes (or, for an empty group, removes) the stored form of a group; durable on resolve. */
  persist(group: Group): Promise<void> {
    return this.#store.save(group)
  }

  /** Stops every timer and answers held requests (shutdown). */
  close(): void {
    this.#closed = true
    for (const group of this.#groups.values()) {
      if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
      for (const timer of group.pendingMembers.values()) clearTimeout(timer)
      for (const member of group.members.values()) {
        if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
        member.awaitingJoin?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId))
        member.awaitingSync?.(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE))
        member.awaitingJoin = null
        member.awaitingSync = null
      }
    }
  }

  /** The member a request names, or the error code for a stranger, a fenced instance or an old generation. */
  validateMember(group: Group | undefined, memberId: string, groupInstanceId: string | null, generationId: number): Member | ErrorCode {
    if (group === undefined || group.state === 'Dead') return ErrorCode.UNKNOWN_MEMBER_ID
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId)
      if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    const member = group.members.get(memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    return member
  }

  /** Holds a member's JoinGroup until the rebalance completes, starting one if none is under way. */
  awaitJoin(group: Group, member: Member): Promise<JoinResult> {
    return new Promise((resolve) => {
      // A second join from the same member replaces the first, which learns it was superseded.
      member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId))
      member.awaitingJoin = resolve
      this.#stopSessionTimer(member)
      if (group.state === 'PreparingRebalance') this.#maybeCompleteJoin(group)
      else this.#prepareRebalance(group, `member ${member.memberId} joined`)
    })
  }

  joinResult(group: Group, member: Member): JoinResult {
    const isLeader = member.memberId === group.leaderId
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(group.protocolName!) }))
        : [],
    }
  }

  #prepareRebalance(group: Group, reason: string): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) {
        member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
        member.awaitingSync = null
      }
    }
    const wasEmpty = group.state === 'Empty'
    group.state = 'PreparingRebalance'
    this.logger.debug({ group: group.groupId, reason }, 'rebalance started')
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    // A new group waits a little for its other members; otherwise wait for every member up to the rebalance timeout.
    const delay = wasEmpty ? Math.min(this.settings.groupInitialRebalanceDelayMs, group.maxRebalanceTimeoutMs()) : group.maxRebalanceTimeoutMs()
    group.initialDelayRunning = wasEmpty
    group.rebalanceTimer = setTimeout(() => {
      group.rebalanceTimer = null
      group.initialDelayRunning = false
      this.#completeJoin(group)
    }, delay)
    group.rebalanceTimer.unref()
    this.#maybeCompleteJoin(group)
  }

  #maybeCompleteJoin(group: Group): void {
    if (group.state === 'PreparingRebalance' && !group.initialDelayRunning && group.allMembersJoined()) this.#completeJoin(group)
  }

  #completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    group.rebalanceTimer = null
    let joined = 0
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin !== null) joined++
      // A static member keeps its place while away (KIP-345); only its session timeout removes it.
      else if (member.groupInstanceId === null) this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID, false)
    }
    if (group.members.size > 0 && joined === 0) {
      // Only absent static members are left: wait for them to come back or for their sessions to end.
      group.rebalanceTimer = setTimeout(() => {
        group.rebalanceTimer = null
        this.#completeJoin(group)
      }, group.maxRebalanceTimeoutMs())
      group.rebalanceTimer.unref()
      return
    }
    group.generationId++
    if (group.members.size === 0) {
      this.#becomeEmpty(group)
      return
    }
    group.protocolName = group.selectProtocol()
    // The leader must be a member that rejoined: it alone gets the member list to assign from.
    if (group.leaderId === null || group.members.get(group.leaderId)?.awaitingJoin == null) {
      group.leaderId = [...group.members.values()].find((m) => m.awaitingJoin !== null)!.memberId
    }
    group.state = 'CompletingRebalance'
    this.logger.debug({ group: group.groupId, generation: group.generationId, members: group.members.size }, 'rebalance joined')
    for (const member of group.members.values()) {
      const respond = member.awaitingJoin
      if (respond === null) continue
      member.awaitingJoin = null
      this.touch(group, member)
      respond(this.joinResult(group, member))
    }
  }

  #becomeEmpty(group: Group): void {
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    group.rebalanceTimer = null
    group.initialDelayRunning = false
    group.state = 'Empty'
    group.leaderId = null
    group.protocolName = null
    // Kafka keeps the protocol type of an emptied group: it is still a consumer group, not a "simple"
    // one (librdkafka's is_simple_consumer_group reads an empty type as simple).
    group.emptySinceMs = Date.now()
    this.persist(group).catch((error: unknown) => this.logger.error({ err: error, group: group.groupId }, 'removing group metadata failed'))
    this.disposeIfUnused(group)
  }

  /**
   * Forgets an empty group that holds nothing: no members, no pending member ids, no offsets.
   * Without this every group id ever joined (say, a flood of first joins under random ids) would
   * stay in memory and in ListGroups until the offset retention ran out.
   */
  disposeIfUnused(group: Group): void {
    if (group.state !== 'Empty' || group.members.size > 0 || group.pendingMembers.size > 0) return
    if (this.offsets.hasOffsets(group.groupId) || this.#groups.get(group.groupId) !== group) return
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    group.rebalanceTimer = null
    group.state = 'Dead'
    this.#groups.delete(group.groupId)
  }

  /** Drops a member and moves the group on: rebalance, completion, or empty. */
  removeMember(group: Group, member: Member, answer: ErrorCode, rebalance = true): void {
    this.#stopSessionTimer(member)
    group.members.delete(member.memberId)
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) group.staticMembers.delete(member.groupInstanceId)
    member.awaitingJoin?.(joinError(answer, member.memberId))
    member.awaitingSync?.(syncError(answer))
    member.awaitingJoin = null
    member.awaitingSync = null
    if (!rebalance) return
    if (group.members.size === 0) {
      if (group.state !== 'Empty') {
        group.generationId++
        this.#becomeEmpty(group)
      }
      return
    }
    if (group.leaderId === member.memberId) group.leaderId = null
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.#prepareRebalance(group, `member ${member.memberId} left`)
    else this.#maybeCompleteJoin(group)
  }

  /** Restarts a member's session timer: heard from it now. */
  touch(group: Group, member: Member): void {
    this.#stopSessionTimer(member)
    if (member.awaitingJoin !== null || this.#closed) return
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null
      if (group.members.get(member.memberId) !== member) return
      // A member blocked in SyncGroup cannot heartbeat; the leader's own session bounds that wait.
      if (member.awaitingSync !== null) {
        this.touch(group, member)
        return
      }
      this.logger.info({ group: group.groupId, member: member.memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'member session expired')
      this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID)
    }, member.sessionTimeoutMs)
    member.sessionTimer.unref()
  }

  #stopSessionTimer(member: Member): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
    member.sessionTimer = null
  }
}
