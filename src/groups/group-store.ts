// Stable groups in the hot store, so members keep their generation across a broker restart: a
// group with members is stored as JSON under its id, an empty or dead one is removed.
import type { HotStore } from '../storage/hot-store.ts'
import { Group, Member } from './group.ts'

const PREFIX = 'groupmeta/'

/** The persisted form of a stable group. */
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

function stateKey(groupId: string): string {
  // Group ids may contain '/', so the id is length-prefixed like the committed offsets' keys.
  return `${PREFIX}${groupId.length}:${groupId}`
}

export class GroupStore {
  readonly #store: HotStore

  constructor(store: HotStore) {
    this.#store = store
  }

  /** Every stored group as it was last stored: Stable with its members, or Empty if it had none. */
  async load(): Promise<Group[]> {
    const groups: Group[] = []
    for (const { value } of await this.#store.scanState(PREFIX)) {
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
      groups.push(group)
    }
    return groups
  }

  /** Writes (or, for an empty or dead group, removes) the stored form of a group; durable on resolve. */
  save(group: Group): Promise<void> {
    if (group.members.size === 0 || group.state === 'Dead') return this.#store.writeState([{ key: stateKey(group.groupId), value: null }])
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
    return this.#store.writeState([{ key: stateKey(group.groupId), value: Buffer.from(JSON.stringify(stored)) }])
  }
}
