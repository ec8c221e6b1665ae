// LeaveGroup: members that leave on purpose (by member id, or by group.instance.id from v3) are
// removed at once instead of after their session, and the group rebalances without them.
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { Membership } from './membership.ts'

/** Removes the leaving members; returns an error code per member. */
export function leaveGroup(membership: Membership, groupId: string, leaving: Array<{ memberId: string; groupInstanceId: string | null }>): ErrorCode[] {
  const group = membership.group(groupId)
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
    membership.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID)
    return ErrorCode.NONE
  })
  membership.disposeIfUnused(group)
  return errors
}
