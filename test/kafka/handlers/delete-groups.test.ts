import { describe, expect, it } from 'vitest'
import { deleteGroups } from '../../../src/kafka/handlers/delete-groups.ts'
import type { DeleteGroupsResponse } from '../../../src/protocol/generated/delete-groups.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { joinStable } from '../../groups/fixtures/coordinator.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

describe('DeleteGroups', () => {
  it('deletes an empty group with its offsets, refuses a group with members and answers unknown ones GROUP_ID_NOT_FOUND', async () => {
    const { context, groups } = await makeHandlerContext({ topics: { orders: 1 } })
    await groups.commitOffsets('empty', -1, '', null, [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }])
    await joinStable(groups, { groupId: 'live' })
    const response = await exchange<DeleteGroupsResponse>(deleteGroups, 2, { groupsNames: ['empty', 'live', 'unknown'] }, context)
    expect(response.results).toEqual([
      { groupId: 'empty', errorCode: ErrorCode.NONE },
      { groupId: 'live', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'unknown', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ])
    expect(groups.fetchOffset('empty', 'orders', 0)).toBeUndefined()
    expect(groups.group('live')).toBeDefined()
  })

  it('answers a v0 client in its encoding', async () => {
    const { context } = await makeHandlerContext()
    expect((await exchange<DeleteGroupsResponse>(deleteGroups, 0, { groupsNames: ['unknown'] }, context)).results).toEqual([{ groupId: 'unknown', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }])
  })
})
