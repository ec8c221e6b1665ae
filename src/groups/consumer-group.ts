// The state of one consumer-protocol group (KIP-848): its epoch, the target assignment the server
// computed for that epoch, its members with their own epochs and current assignments, and which
// member owns each partition now, so a partition goes to its new owner only once the old one
// has let it go.
import type { TopicPartitions } from './assignors.ts'

export const CONSUMER_GROUP_PROTOCOL_TYPE = 'consumer'

/** Member epochs with a meaning of their own in ConsumerGroupHeartbeat. */
export const JOIN_EPOCH = 0
export const LEAVE_EPOCH = -1
export const STATIC_LEAVE_EPOCH = -2

/**
 * stable: the member has all of its target. unrevoked: it must give partitions up first (its epoch
 * stays until it says it did). unreleased: it has the new epoch but waits for partitions others
 * still hold.
 */
export type MemberState = 'stable' | 'unrevoked' | 'unreleased'

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable'

export class ConsumerMember {
  readonly memberId: string
  instanceId: string | null
  rackId: string | null = null
  clientId: string
  clientHost: string
  memberEpoch = 0
  previousMemberEpoch = -1
  state: MemberState = 'stable'
  rebalanceTimeoutMs: number
  subscribedTopicNames: string[] = []
  subscribedTopicRegex: string | null = null
  serverAssignor: string | null = null
  /** Partitions the member may use now. */
  assigned: TopicPartitions = new Map()
  /** Partitions it still holds but must give up. */
  pendingRevocation: TopicPartitions = new Map()
  /**
   * Which topics the member's principal may describe (ACLs), for its regex matches; from its latest
   * heartbeat, so not stored: until the member's first heartbeat after a restart, matches are not filtered.
   */
  mayDescribe: ((topic: string) => boolean) | null = null
  sessionTimer: NodeJS.Timeout | null = null
  revocationTimer: NodeJS.Timeout | null = null

  constructor(memberId: string, instanceId: string | null, clientId: string, clientHost: string, rebalanceTimeoutMs: number) {
    this.memberId = memberId
    this.instanceId = instanceId
    this.clientId = clientId
    this.clientHost = clientHost
    this.rebalanceTimeoutMs = rebalanceTimeoutMs
  }
}

export class ConsumerGroup {
  readonly groupId: string
  groupEpoch = 0
  assignmentEpoch = 0
  readonly members = new Map<string, ConsumerMember>()
  /** group.instance.id -> member id (static membership). */
  readonly staticMembers = new Map<string, string>()
  /** The target assignment of assignmentEpoch, per member id. */
  targetAssignment = new Map<string, TopicPartitions>()
  /** "topic\0partition" -> the member id holding it (assigned or pending revocation). */
  readonly owners = new Map<string, string>()
  /** What the subscribed topics looked like when the group epoch last moved (names, ids, partition counts). */
  subscriptionMetadata = ''
  /** When the group last became empty, for offset retention; null while it has members. */
  emptySinceMs: number | null = null
  dead = false

  constructor(groupId: string) {
    this.groupId = groupId
  }

  get state(): ConsumerGroupState {
    if (this.members.size === 0) return 'Empty'
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning'
    for (const member of this.members.values()) {
      if (member.memberEpoch !== this.assignmentEpoch || member.state !== 'stable') return 'Reconciling'
    }
    return 'Stable'
  }

  /** The assignor most members ask for, else the default (Kafka's preferred server assignor). */
  assignorName(defaultName: string): string {
    const votes = new Map<string, number>()
    for (const member of this.members.values()) if (member.serverAssignor !== null) votes.set(member.serverAssignor, (votes.get(member.serverAssignor) ?? 0) + 1)
    let best = defaultName
    let bestVotes = 0
    for (const [name, count] of votes) if (count > bestVotes) [best, bestVotes] = [name, count]
    return best
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(`${topic}\u0000${partition}`)
  }

  /** Records the partitions a member holds (assigned and pending revocation), replacing what it held before. */
  setOwnership(member: ConsumerMember, assigned: TopicPartitions, pendingRevocation: TopicPartitions): void {
    this.releaseOwnership(member)
    member.assigned = assigned
    member.pendingRevocation = pendingRevocation
    for (const map of [assigned, pendingRevocation]) {
      for (const [topic, partitions] of map) for (const p of partitions) this.owners.set(`${topic}\u0000${p}`, member.memberId)
    }
  }

  releaseOwnership(member: ConsumerMember): void {
    for (const map of [member.assigned, member.pendingRevocation]) {
      for (const [topic, partitions] of map) {
        for (const p of partitions) {
          const key = `${topic}\u0000${p}`
          if (this.owners.get(key) === member.memberId) this.owners.delete(key)
        }
      }
    }
  }
}

export function samePartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  let sizeA = 0
  for (const [topic, partitions] of a) {
    if (partitions.length === 0) continue
    sizeA++
    const other = b.get(topic)
    if (other === undefined || other.length !== partitions.length) return false
    const set = new Set(other)
    if (!partitions.every((p) => set.has(p))) return false
  }
  let sizeB = 0
  for (const partitions of b.values()) if (partitions.length > 0) sizeB++
  return sizeA === sizeB
}

/** Whether `owned` holds any of `partitions`. */
export function holdsAny(owned: TopicPartitions, partitions: TopicPartitions): boolean {
  for (const [topic, list] of partitions) {
    const held = owned.get(topic)
    if (held === undefined) continue
    const set = new Set(held)
    if (list.some((p) => set.has(p))) return true
  }
  return false
}

/** Whether every partition of `inner` is in `outer`. */
export function isSubset(inner: TopicPartitions, outer: TopicPartitions): boolean {
  for (const [topic, list] of inner) {
    if (list.length === 0) continue
    const set = new Set(outer.get(topic) ?? [])
    if (!list.every((p) => set.has(p))) return false
  }
  return true
}

export interface Reconciled {
  state: MemberState
  memberEpoch: number
  assigned: TopicPartitions
  pendingRevocation: TopicPartitions
}

/**
 * The next step of a member towards its target assignment (incremental reconciliation): keep what
 * stays, ask it to revoke what goes (its epoch waits until it has), and hand it new partitions only
 * once no other member holds them. `owned` is what the member says it holds (null: not sent).
 */
export function reconcile(member: Pick<ConsumerMember, 'memberId' | 'memberEpoch' | 'state' | 'assigned' | 'pendingRevocation'>, target: TopicPartitions, targetEpoch: number, ownerOf: (topic: string, partition: number) => string | undefined, owned: TopicPartitions | null): Reconciled | null {
  const unchanged = null
  switch (member.state) {
    case 'stable':
      if (member.memberEpoch === targetEpoch) return unchanged
      break
    case 'unrevoked':
      // Still holding partitions it must give up: nothing moves until it reports them released.
      if (owned === null || holdsAny(owned, member.pendingRevocation)) return unchanged
      break
    case 'unreleased':
      break
  }
  const assigned: TopicPartitions = new Map()
  const revoke: TopicPartitions = new Map()
  const toAssign: TopicPartitions = new Map()
  let unreleased = false
  const topics = new Set([...target.keys(), ...member.assigned.keys()])
  for (const topic of [...topics].sort()) {
    const targetSet = new Set(target.get(topic) ?? [])
    const current = member.assigned.get(topic) ?? []
    const keep = current.filter((p) => targetSet.has(p))
    const gone = current.filter((p) => !targetSet.has(p))
    const keepSet = new Set(keep)
    const fresh: number[] = []
    for (const p of target.get(topic) ?? []) {
      if (keepSet.has(p)) continue
      const owner = ownerOf(topic, p)
      if (owner === undefined || owner === member.memberId) fresh.push(p)
      else unreleased = true
    }
    if (keep.length > 0) assigned.set(topic, keep)
    if (gone.length > 0) revoke.set(topic, gone)
    if (fresh.length > 0) toAssign.set(topic, fresh)
  }
  // With `owned` sent and none of the revoked partitions in it, the member already let them go.
  if (revoke.size > 0 && (owned === null || holdsAny(owned, revoke))) {
    return { state: 'unrevoked', memberEpoch: member.memberEpoch, assigned, pendingRevocation: revoke }
  }
  for (const [topic, partitions] of toAssign) assigned.set(topic, [...(assigned.get(topic) ?? []), ...partitions].sort((a, b) => a - b))
  return { state: unreleased ? 'unreleased' : 'stable', memberEpoch: targetEpoch, assigned, pendingRevocation: new Map() }
}
