// SyncGroup: the leader's assignment makes the group Stable; every member gets its part once the
// stable group is stored, and a member syncing a stable group gets its current assignment back.
import { ErrorCode } from '../protocol/generated/errors.ts'
import { NO_ASSIGNMENT, syncError, type SyncResult } from './group.ts'
import type { Membership } from './membership.ts'

/** The leader's assignments are used, a follower's ignored; protocol type and name (v5+) are checked when given. */
export function syncGroup(membership: Membership, groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, protocolType: string | null, protocolName: string | null, assignments: Array<{ memberId: string; assignment: Buffer }>): Promise<SyncResult> | SyncResult {
  const group = membership.group(groupId)
  const member = membership.validateMember(group, memberId, groupInstanceId, generationId)
  if (typeof member === 'number') return syncError(member)
  const g = group!
  if ((protocolType !== null && protocolType !== g.protocolType) || (protocolName !== null && protocolName !== g.protocolName)) {
    return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  }
  membership.touch(g, member)
  if (g.state === 'PreparingRebalance') return syncError(ErrorCode.REBALANCE_IN_PROGRESS)
  if (g.state === 'Stable') return { errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: member.assignment }
  return new Promise((resolve) => {
    member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
    member.awaitingSync = resolve
    if (member.memberId !== g.leaderId) return
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]))
    for (const m of g.members.values()) m.assignment = byMember.get(m.memberId) ?? NO_ASSIGNMENT
    g.state = 'Stable'
    membership.logger.debug({ group: g.groupId, generation: g.generationId }, 'group stable')
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
    membership.persist(g).then(answer, (error: unknown) => {
      membership.logger.error({ err: error, group: g.groupId }, 'storing group metadata failed')
      answer()
    })
  })
}
