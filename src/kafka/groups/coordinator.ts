// The group coordinator of this single broker: the classic consumer-group protocol (join,
// sync, heartbeat, leave with rebalances, session expiry and static membership) and the
// committed offsets. It is the one place that owns group state.
import { randomUUID } from 'node:crypto'
import { storageRefusal, type BrokerLog } from '../../log/broker-log.ts'
import type { Logger } from '../../observability/logger.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { Group, Member, type GroupState, type JoinResult, type ProtocolMetadata, type SyncResult } from './group.ts'
import { OffsetStore, type CommittedOffset } from './offset-store.ts'

export interface GroupSettings {
  /** Delay before the first rebalance of an empty group completes, so joiners arrive together. */
  initialRebalanceDelayMs: number
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
  /** Largest number of members (joined or pending) per group. */
  maxGroupSize: number
  /** Offsets of a group that stays empty this long are deleted. */
  offsetsRetentionMs: number
  /** Longest committed-offset metadata string. */
  maxMetadataBytes: number
}

export const DEFAULT_GROUP_SETTINGS: GroupSettings = {
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  maxGroupSize: 1000,
  offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  maxMetadataBytes: 4096,
}

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

export interface OffsetCommitEntry {
  topic: string
  partition: number
  offset: number
  leaderEpoch: number
  metadata: string | null
}

export interface GroupSnapshot {
  groupId: string
  state: GroupState
  members: number
  generationId: number
  partitions: Array<{ topic: string; partition: number; committed: number; highWatermark: number; lag: number }>
}

const NO_ASSIGNMENT = Buffer.alloc(0)
/**
 * Protocol metadata one member may send with JoinGroup (all its protocols together). Real
 * subscriptions take bytes to kilobytes; the leader receives every member's metadata and stable
 * groups are stored with it, and Kafka itself fails a group whose stored form passes 1 MiB.
 */
export const MAX_MEMBER_METADATA_BYTES = 1024 * 1024
const GROUP_METADATA_PREFIX = 'groupmeta/'

/** The persisted form of a stable group, so members keep their generation across a broker restart. */
interface StoredGroup {
  groupId: string
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leaderId: string | null
  members: Array<{
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    sessionTimeoutMs: number
    rebalanceTimeoutMs: number
    protocolType: string
    protocols: Array<{ name: string; metadata: string }>
    assignment: string
  }>
}

function groupMetadataKey(groupId: string): string {
  return `${GROUP_METADATA_PREFIX}${groupId.length}:${groupId}`
}

function joinError(errorCode: ErrorCode, memberId = ''): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] }
}

function syncError(errorCode: ErrorCode): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: NO_ASSIGNMENT }
}

export class GroupCoordinator {
  readonly offsets: OffsetStore
  readonly #log: BrokerLog
  readonly #logger: Logger
  readonly #settings: GroupSettings
  readonly #groups = new Map<string, Group>()
  /** When each group last became empty (for offset retention). */
  readonly #emptySince = new Map<string, number>()
  #closed = false

  constructor(log: BrokerLog, logger: Logger, settings: Partial<GroupSettings> = {}) {
    this.#log = log
    this.#logger = logger
    this.#settings = { ...DEFAULT_GROUP_SETTINGS, ...settings }
    this.offsets = new OffsetStore(log.store)
  }

  async load(): Promise<void> {
    await this.offsets.load()
    const now = Date.now()
    // Groups known only by their committed offsets exist, empty, as in Kafka.
    for (const groupId of this.offsets.groupIds()) {
      this.#groups.set(groupId, new Group(groupId))
      this.#emptySince.set(groupId, now)
    }
    // Stable groups come back with their generation and members; each member's session starts
    // again now, so members that died with the broker are evicted after their session timeout.
    for (const { value } of await this.#log.store.scanState(GROUP_METADATA_PREFIX)) {
      const stored = JSON.parse(value.toString('utf8')) as StoredGroup
      const group = new Group(stored.groupId)
      group.generationId = stored.generationId
      group.protocolType = stored.protocolType
      group.protocolName = stored.protocolName
      group.leaderId = stored.leaderId
      for (const m of stored.members) {
        const member = new Member(m.memberId, m.groupInstanceId, m.clientId, m.clientHost, m.sessionTimeoutMs, m.rebalanceTimeoutMs, m.protocolType,
          m.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata, 'base64') })))
        member.assignment = Buffer.from(m.assignment, 'base64')
        group.members.set(member.memberId, member)
        if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, member.memberId)
      }
      group.state = group.members.size > 0 ? 'Stable' : 'Empty'
      this.#groups.set(group.groupId, group)
      if (group.members.size > 0) this.#emptySince.delete(group.groupId)
      for (const member of group.members.values()) this.#touch(group, member)
    }
  }

  /** Writes (or, for an empty group, removes) the stored form of a group; durable on resolve. */
  #persist(group: Group): Promise<void> {
    if (group.members.size === 0 || group.state === 'Dead') return this.#log.store.writeState([{ key: groupMetadataKey(group.groupId), value: null }])
    const stored: StoredGroup = {
      groupId: group.groupId,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs, rebalanceTimeoutMs: m.rebalanceTimeoutMs, protocolType: m.protocolType,
        protocols: m.protocols.map((p) => ({ name: p.name, metadata: p.metadata.toString('base64') })),
        assignment: m.assignment.toString('base64'),
      })),
    }
    return this.#log.store.writeState([{ key: groupMetadataKey(group.groupId), value: Buffer.from(JSON.stringify(stored)) }])
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

  group(groupId: string): Group | undefined {
    return this.#groups.get(groupId)
  }

  // ---------------------------------------------------------------- join

  join(request: JoinRequest): Promise<JoinResult> | JoinResult {
    const result = this.#join(request)
    const group = this.#groups.get(request.groupId)
    if (group !== undefined) this.#disposeIfUnused(group)
    return result
  }

  #join(request: JoinRequest): Promise<JoinResult> | JoinResult {
    if (this.#closed) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId)
    if (request.groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, request.memberId)
    const { minSessionTimeoutMs, maxSessionTimeoutMs, maxGroupSize } = this.#settings
    if (request.sessionTimeoutMs < minSessionTimeoutMs || request.sessionTimeoutMs > maxSessionTimeoutMs) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, request.memberId)
    }
    if (request.protocols.length === 0) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId)
    let metadataBytes = 0
    for (const protocol of request.protocols) metadataBytes += protocol.metadata.length
    if (metadataBytes > MAX_MEMBER_METADATA_BYTES) {
      this.#logger.warn({ group: request.groupId, client: request.clientId, metadataBytes, max: MAX_MEMBER_METADATA_BYTES }, 'refused JoinGroup: protocol metadata too large')
      return joinError(ErrorCode.INVALID_REQUEST, request.memberId)
    }
    let group = this.#groups.get(request.groupId)
    if (group === undefined) {
      group = new Group(request.groupId)
      this.#groups.set(request.groupId, group)
      this.#emptySince.set(request.groupId, Date.now())
    }
    const rebalanceTimeoutMs = request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs

    if (request.memberId === '') {
      if (!group.supports(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
      if (group.members.size + group.pendingMembers.size >= maxGroupSize) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED)
      const memberId = `${request.clientId || 'member'}-${randomUUID()}`
      if (request.groupInstanceId !== null) return this.#joinStatic(group, memberId, request, rebalanceTimeoutMs)
      if (request.requireKnownMemberId) {
        // The client must come back with this id; until then it only holds a bounded pending slot.
        const timer = setTimeout(() => {
          group.pendingMembers.delete(memberId)
          this.#disposeIfUnused(group)
        }, request.sessionTimeoutMs)
        timer.unref()
        group.pendingMembers.set(memberId, timer)
        return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId)
      }
      return this.#addMemberAndRebalance(group, memberId, request, rebalanceTimeoutMs)
    }

    const pending = group.pendingMembers.get(request.memberId)
    if (pending !== undefined) {
      clearTimeout(pending)
      group.pendingMembers.delete(request.memberId)
      if (!group.supports(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId)
      return this.#addMemberAndRebalance(group, request.memberId, request, rebalanceTimeoutMs)
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
      this.#touch(group, member)
      return this.#joinResult(group, member)
    }
    return this.#awaitJoin(group, member)
  }

  #joinStatic(group: Group, memberId: string, request: JoinRequest, rebalanceTimeoutMs: number): Promise<JoinResult> | JoinResult {
    const instanceId = request.groupInstanceId!
    const oldMemberId = group.staticMembers.get(instanceId)
    const old = oldMemberId === undefined ? undefined : group.members.get(oldMemberId)
    if (old === undefined) return this.#addMemberAndRebalance(group, memberId, request, rebalanceTimeoutMs)
    // The same instance came back (restart): the old member id is fenced, the new one takes its place.
    const wasLeader = group.leaderId === old.memberId
    this.#removeMember(group, old, ErrorCode.FENCED_INSTANCE_ID, false)
    const member = this.#newMember(group, memberId, request, rebalanceTimeoutMs)
    if (wasLeader) group.leaderId = member.memberId
    member.assignment = old.assignment
    if (group.state === 'Stable' && old.sameProtocols(request.protocols)) {
      this.#touch(group, member)
      this.#persist(group).catch((error: unknown) => this.#logger.error({ err: error, group: group.groupId }, 'storing group metadata failed'))
      const result = this.#joinResult(group, member)
      if (!wasLeader) return result
      // The returning leader must not assign again: a stable group would not pass a new assignment on.
      // KIP-814 says so (v9+); older clients are told the previous id leads, so they act as followers.
      if (request.supportsSkipAssignment === true) return { ...result, skipAssignment: true }
      return { ...result, leader: old.memberId, members: [] }
    }
    return this.#awaitJoin(group, member)
  }

  #newMember(group: Group, memberId: string, request: JoinRequest, rebalanceTimeoutMs: number): Member {
    const member = new Member(memberId, request.groupInstanceId, request.clientId, request.clientHost, request.sessionTimeoutMs, rebalanceTimeoutMs, request.protocolType, request.protocols)
    group.members.set(memberId, member)
    if (request.groupInstanceId !== null) group.staticMembers.set(request.groupInstanceId, memberId)
    if (group.members.size === 1) group.protocolType = request.protocolType
    this.#emptySince.delete(group.groupId)
    return member
  }

  #addMemberAndRebalance(group: Group, memberId: string, request: JoinRequest, rebalanceTimeoutMs: number): Promise<JoinResult> {
    return this.#awaitJoin(group, this.#newMember(group, memberId, request, rebalanceTimeoutMs))
  }

  #awaitJoin(group: Group, member: Member): Promise<JoinResult> {
    return new Promise((resolve) => {
      // A second join from the same member replaces the first, which learns it was superseded.
      member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId))
      member.awaitingJoin = resolve
      this.#stopSessionTimer(member)
      if (group.state === 'PreparingRebalance') this.#maybeCompleteJoin(group)
      else this.#prepareRebalance(group, `member ${member.memberId} joined`)
    })
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
    this.#logger.debug({ group: group.groupId, reason }, 'rebalance started')
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    // A new group waits a little for its other members; otherwise wait for every member up to the rebalance timeout.
    const delay = wasEmpty ? Math.min(this.#settings.initialRebalanceDelayMs, group.maxRebalanceTimeoutMs()) : group.maxRebalanceTimeoutMs()
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
      else if (member.groupInstanceId === null) this.#removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID, false)
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
    this.#logger.debug({ group: group.groupId, generation: group.generationId, members: group.members.size }, 'rebalance joined')
    for (const member of group.members.values()) {
      const respond = member.awaitingJoin
      if (respond === null) continue
      member.awaitingJoin = null
      this.#touch(group, member)
      respond(this.#joinResult(group, member))
    }
  }

  #joinResult(group: Group, member: Member): JoinResult {
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

  #becomeEmpty(group: Group): void {
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    group.rebalanceTimer = null
    group.initialDelayRunning = false
    group.state = 'Empty'
    group.leaderId = null
    group.protocolName = null
    // Kafka keeps the protocol type of an emptied group: it is still a consumer group, not a "simple"
    // one (librdkafka's is_simple_consumer_group reads an empty type as simple).
    this.#emptySince.set(group.groupId, Date.now())
    this.#persist(group).catch((error: unknown) => this.#logger.error({ err: error, group: group.groupId }, 'removing group metadata failed'))
    this.#disposeIfUnused(group)
  }

  /**
   * Forgets an empty group that holds nothing: no members, no pending member ids, no offsets.
   * Without this every group id ever joined (say, a flood of first joins under random ids) would
   * stay in memory and in ListGroups until the offset retention ran out.
   */
  #disposeIfUnused(group: Group): void {
    if (group.state !== 'Empty' || group.members.size > 0 || group.pendingMembers.size > 0) return
    if (this.offsets.hasOffsets(group.groupId) || this.#groups.get(group.groupId) !== group) return
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer)
    group.rebalanceTimer = null
    group.state = 'Dead'
    this.#groups.delete(group.groupId)
    this.#emptySince.delete(group.groupId)
  }

  // ---------------------------------------------------------------- sync, heartbeat, leave

  #validateMember(group: Group | undefined, memberId: string, groupInstanceId: string | null, generationId: number): Member | ErrorCode {
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

  sync(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, protocolType: string | null, protocolName: string | null, assignments: Array<{ memberId: string; assignment: Buffer }>): Promise<SyncResult> | SyncResult {
    const group = this.#groups.get(groupId)
    const member = this.#validateMember(group, memberId, groupInstanceId, generationId)
    if (typeof member === 'number') return syncError(member)
    if ((protocolType !== null && protocolType !== group!.protocolType) || (protocolName !== null && protocolName !== group!.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    }
    const g = group!
    this.#touch(g, member)
    if (g.state === 'PreparingRebalance') return syncError(ErrorCode.REBALANCE_IN_PROGRESS)
    if (g.state === 'Stable') return { errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: member.assignment }
    return new Promise((resolve) => {
      member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
      member.awaitingSync = resolve
      if (member.memberId !== g.leaderId) return
      const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]))
      for (const m of g.members.values()) m.assignment = byMember.get(m.memberId) ?? NO_ASSIGNMENT
      g.state = 'Stable'
      this.#logger.debug({ group: g.groupId, generation: g.generationId }, 'group stable')
      const generation = g.generationId
      // Assignments are answered once the stable group is durable, as Kafka writes group metadata first.
      const answer = (): void => {
        if (g.generationId !== generation) return
        for (const m of g.members.values()) {
          const respond = m.awaitingSync
          m.awaitingSync = null
          respond?.({ errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment })
        }
      }
      this.#persist(g).then(answer, (error: unknown) => {
        this.#logger.error({ err: error, group: g.groupId }, 'storing group metadata failed')
        answer()
      })
    })
  }

  heartbeat(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): ErrorCode {
    const group = this.#groups.get(groupId)
    const member = this.#validateMember(group, memberId, groupInstanceId, generationId)
    if (typeof member === 'number') return member
    this.#touch(group!, member)
    return group!.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  /** Removes members that leave on purpose; returns an error code per member. */
  leave(groupId: string, leaving: Array<{ memberId: string; groupInstanceId: string | null }>): ErrorCode[] {
    const group = this.#groups.get(groupId)
    if (group === undefined) return leaving.map(() => ErrorCode.UNKNOWN_MEMBER_ID)
    const errors = leaving.map(({ memberId, groupInstanceId }) => {
      let id = memberId
      if (groupInstanceId !== null) {
        const current = group.staticMembers.get(groupInstanceId)
        if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
        if (memberId !== '' && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID
        id = current
      }
      const member = group.members.get(id)
      if (member === undefined) {
        const pending = group.pendingMembers.get(id)
        if (pending === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
        clearTimeout(pending)
        group.pendingMembers.delete(id)
        return ErrorCode.NONE
      }
      this.#removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID)
      return ErrorCode.NONE
    })
    this.#disposeIfUnused(group)
    return errors
  }

  /** Drops a member and moves the group on: rebalance, completion, or empty. */
  #removeMember(group: Group, member: Member, answer: ErrorCode, rebalance = true): void {
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
  #touch(group: Group, member: Member): void {
    this.#stopSessionTimer(member)
    if (member.awaitingJoin !== null || this.#closed) return
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null
      if (group.members.get(member.memberId) !== member) return
      // A member blocked in SyncGroup cannot heartbeat; the leader's own session bounds that wait.
      if (member.awaitingSync !== null) {
        this.#touch(group, member)
        return
      }
      this.#logger.info({ group: group.groupId, member: member.memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'member session expired')
      this.#removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID)
    }, member.sessionTimeoutMs)
    member.sessionTimer.unref()
  }

  #stopSessionTimer(member: Member): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer)
    member.sessionTimer = null
  }

  // ---------------------------------------------------------------- offsets

  /**
   * Commits offsets for a group member (or, with generation -1 and no member, for a simple
   * consumer of an empty group). Returns an error code per entry; valid entries are durable
   * when the promise resolves.
   */
  async commitOffsets(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, entries: OffsetCommitEntry[]): Promise<ErrorCode[]> {
    if (groupId === '') return entries.map(() => ErrorCode.INVALID_GROUP_ID)
    let group = this.#groups.get(groupId)
    let groupError: ErrorCode = ErrorCode.NONE
    if (generationId < 0 && memberId === '' && (group === undefined || group.state === 'Empty')) {
      if (group === undefined) {
        group = new Group(groupId)
        this.#groups.set(groupId, group)
        this.#emptySince.set(groupId, Date.now())
      }
    } else {
      const member = this.#validateMember(group, memberId, groupInstanceId, generationId)
      if (typeof member === 'number') groupError = member
      else {
        this.#touch(group!, member)
        if (group!.state === 'CompletingRebalance') groupError = ErrorCode.REBALANCE_IN_PROGRESS
      }
    }
    if (groupError !== ErrorCode.NONE) return entries.map(() => groupError)
    const now = Date.now()
    const accepted: Array<{ topic: string; partition: number; committed: CommittedOffset }> = []
    const errors = entries.map((entry) => {
      const topic = this.#log.topicByName(entry.topic)
      if (topic === undefined || topic.partitions[entry.partition] === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      if (entry.metadata !== null && Buffer.byteLength(entry.metadata) > this.#settings.maxMetadataBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE
      if (entry.offset < -1) return ErrorCode.INVALID_COMMIT_OFFSET_SIZE
      accepted.push({ topic: entry.topic, partition: entry.partition, committed: { offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: entry.metadata, commitTimestampMs: now } })
      return ErrorCode.NONE
    })
    if (accepted.length > 0) {
      try {
        await this.offsets.commit(groupId, accepted)
      } catch (error) {
        if (storageRefusal(error) === null) throw error
        // Not durable (disk full). Kafka answers a failed offsets append with NOT_COORDINATOR; clients
        // treat COORDINATOR_NOT_AVAILABLE alike (find the coordinator, retry) and it says what happened.
        // The offsets stay applied in memory: a later commit or a restart settles them.
        this.#logger.warn({ err: error, group: groupId }, 'committed offsets could not be stored')
        return errors.map((code) => (code === ErrorCode.NONE ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code))
      }
    }
    // A simple group created for commits that were all refused holds nothing.
    if (group !== undefined) this.#disposeIfUnused(group)
    return errors
  }

  fetchOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId, topic, partition)
  }

  // ---------------------------------------------------------------- admin

  groups(): IterableIterator<Group> {
    return this.#groups.values()
  }

  /** Deletes empty groups with their offsets; an error code per group. */
  async deleteGroups(groupIds: string[]): Promise<ErrorCode[]> {
    const results: ErrorCode[] = []
    for (const groupId of groupIds) {
      const group = this.#groups.get(groupId)
      if (group === undefined || group.state === 'Dead') results.push(ErrorCode.GROUP_ID_NOT_FOUND)
      else if (group.state !== 'Empty' || group.members.size > 0) results.push(ErrorCode.NON_EMPTY_GROUP)
      else {
        group.state = 'Dead'
        this.#groups.delete(groupId)
        this.#emptySince.delete(groupId)
        await this.offsets.delete(groupId)
        await this.#persist(group)
        results.push(ErrorCode.NONE)
      }
    }
    return results
  }

  /** Topics the members of a consumer group subscribe to (from their protocol metadata). */
  subscribedTopics(group: Group): Set<string> {
    const topics = new Set<string>()
    if (group.protocolType !== 'consumer') return topics
    for (const member of group.members.values()) {
      for (const protocol of member.protocols) {
        const metadata = protocol.metadata
        try {
          // Consumer protocol subscription: version int16, then an array of int16-length strings.
          let position = 2
          const count = metadata.readInt32BE(position)
          position += 4
          for (let i = 0; i < count; i++) {
            const length = metadata.readInt16BE(position)
            position += 2
            topics.add(metadata.toString('utf8', position, position + length))
            position += length
          }
        } catch {
          // Unparseable metadata subscribes to nothing we can name.
        }
      }
    }
    return topics
  }

  /**
   * Deletes committed offsets of topics the group does not subscribe to (OffsetDelete): the group-level
   * error, or one error per partition. As in Kafka, an active group that is not a consumer group
   * cannot name its subscriptions and is refused as a whole, and unknown partitions are errors.
   */
  async deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<ErrorCode | ErrorCode[]> {
    const group = this.#groups.get(groupId)
    if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND
    if (group.members.size > 0 && group.protocolType !== 'consumer') return ErrorCode.NON_EMPTY_GROUP
    const subscribed = group.state === 'Empty' ? new Set<string>() : this.subscribedTopics(group)
    const errors = partitions.map((p): ErrorCode => {
      const topic = this.#log.topicByName(p.topic)
      if (topic === undefined || topic.partitions[p.partition] === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      return subscribed.has(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE
    })
    await this.offsets.delete(groupId, partitions.filter((_, i) => errors[i] === ErrorCode.NONE))
    this.#disposeIfUnused(group)
    return errors
  }

  /** Deletes offsets of groups empty for longer than the retention (Kafka's offsets.retention.minutes). */
  async expireOffsets(nowMs: number): Promise<string[]> {
    const expired: string[] = []
    for (const [groupId, since] of this.#emptySince) {
      const group = this.#groups.get(groupId)
      if (group === undefined || group.state !== 'Empty' || nowMs - since < this.#settings.offsetsRetentionMs) continue
      let newest = 0
      for (const [, , committed] of this.offsets.all(groupId)) newest = Math.max(newest, committed.commitTimestampMs)
      if (nowMs - newest < this.#settings.offsetsRetentionMs) continue
      await this.offsets.delete(groupId)
      this.#groups.delete(groupId)
      this.#emptySince.delete(groupId)
      expired.push(groupId)
    }
    return expired
  }

  /** Group state and lag per committed partition, for metrics. */
  snapshot(): GroupSnapshot[] {
    return [...this.#groups.values()].map((group) => ({
      groupId: group.groupId,
      state: group.state,
      members: group.members.size,
      generationId: group.generationId,
      partitions: [...this.offsets.all(group.groupId)].map(([topic, partition, committed]) => {
        const highWatermark = this.#log.partition(topic, partition)?.highWatermark ?? -1
        return { topic, partition, committed: committed.offset, highWatermark, lag: highWatermark < 0 ? -1 : Math.max(0, highWatermark - committed.offset) }
      }),
    }))
  }
}
