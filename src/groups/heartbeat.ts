// Heartbeat: keeps a member's session alive and tells it when a rebalance wants it to rejoin.
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { Membership } from './membership.ts'

export function heartbeat(membership: Membership, groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): ErrorCode {
  const group = membership.group(groupId)
  const member = membership.validateMember(group, memberId, groupInstanceId, generationId)
  if (typeof member === 'number') return member
  membership.touch(group!, member)
  return group!.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
}
