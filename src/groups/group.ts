// The state of one classic consumer group: members, generation, chosen protocol, and the
// JoinGroup/SyncGroup responses held while a rebalance is in progress.
import type { ErrorCode } from '../protocol/generated/errors.ts'

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export interface ProtocolMetadata {
  name: string
  metadata: Buffer
}

export interface JoinResult {
  errorCode: ErrorCode
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leader: string
  /** KIP-814 (JoinGroup v9+): the leader must keep the current assignment instead of computing one. */
  skipAssignment?: boolean
  memberId: string
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>
}

export interface SyncResult {
  errorCode: ErrorCode
  protocolType: string | null
  protocolName: string | null
  assignment: Buffer
}

export const NO_ASSIGNMENT = Buffer.alloc(0)

export function joinError(errorCode: ErrorCode, memberId = ''): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] }
}

export function syncError(errorCode: ErrorCode): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: NO_ASSIGNMENT }
}

export class Member {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: ProtocolMetadata[]
  assignment: Buffer = Buffer.alloc(0)
  /** A JoinGroup response waiting for the rebalance to complete. */
  awaitingJoin: ((result: JoinResult) => void) | null = null
  /** A SyncGroup response waiting for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | null = null
  sessionTimer: NodeJS.Timeout | null = null

  constructor(memberId: string, groupInstanceId: string | null, clientId: string, clientHost: string, sessionTimeoutMs: number, rebalanceTimeoutMs: number, protocolType: string, protocols: ProtocolMetadata[]) {
    this.memberId = memberId
    this.groupInstanceId = groupInstanceId
    this.clientId = clientId
    this.clientHost = clientHost
    this.sessionTimeoutMs = sessionTimeoutMs
    this.rebalanceTimeoutMs = rebalanceTimeoutMs
    this.protocolType = protocolType
    this.protocols = protocols
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? Buffer.alloc(0)
  }

  sameProtocols(protocols: ProtocolMetadata[]): boolean {
    return protocols.length === this.protocols.length && protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
  }
}

export class Group {
  readonly groupId: string
  state: GroupState = 'Empty'
  generationId = 0
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  readonly members = new Map<string, Member>()
  /** Member ids handed out with MEMBER_ID_REQUIRED, valid until they join or expire. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>()
  /** group.instance.id -> member id (static membership). */
  readonly staticMembers = new Map<string, string>()
  rebalanceTimer: NodeJS.Timeout | null = null
  /** The first rebalance of an empty group waits this delay out even when everyone has joined. */
  initialDelayRunning = false
  /** When the group last became empty, for offset retention; null while it has members. */
  emptySinceMs: number | null = null

  constructor(groupId: string) {
    this.groupId = groupId
  }

  /** The protocol every member supports, preferring the members' earliest choices. */
  selectProtocol(): string | null {
    const members = [...this.members.values()]
    if (members.length === 0) return null
    const candidates = members[0]!.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)))
    if (candidates.length === 0) return null
    // Each member votes for its most preferred candidate; ties go to the first member's order.
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]))
    for (const member of members) {
      const choice = member.protocols.find((p) => votes.has(p.name))!.name
      votes.set(choice, votes.get(choice)! + 1)
    }
    let best = candidates[0]!
    for (const candidate of candidates) if (votes.get(candidate)! > votes.get(best)!) best = candidate
    return best
  }

  /** Whether a new member's protocols fit the group (same type, at least one protocol in common). */
  supports(protocolType: string, protocols: ProtocolMetadata[]): boolean {
    if (this.members.size === 0) return protocols.length > 0
    if (protocolType !== this.protocolType) return false
    return protocols.some((p) => [...this.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)))
  }

  /** Whether a member's new protocols still share one with every other member. */
  supportsExisting(member: Member, protocols: ProtocolMetadata[]): boolean {
    const others = [...this.members.values()].filter((m) => m !== member)
    return protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)))
  }

  allMembersJoined(): boolean {
    for (const member of this.members.values()) if (member.awaitingJoin === null) return false
    return true
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0
    for (const member of this.members.values()) max = Math.max(max, member.rebalanceTimeoutMs)
    return max
  }
}
