import { describe, expect, it } from 'vitest'
import { listGroups } from '../../../src/kafka/handlers/list-groups.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { ListGroupsResponse } from '../../../src/protocol/generated/list-groups.ts'
import { joinNew, joinStable } from '../../groups/fixtures/coordinator.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const request = (statesFilter: string[] = [], typesFilter: string[] = []) => ({ statesFilter, typesFilter })
const ids = (response: ListGroupsResponse): string[] => response.groups.map((g) => g.groupId).sort()

async function twoGroups() {
  const harness = await makeHandlerContext()
  await joinStable(harness.groups, { groupId: 'stable' })
  await joinNew(harness.groups, { groupId: 'forming' })
  return harness
}

describe('ListGroups', () => {
  it('lists every group with its protocol type and state', async () => {
    const { context } = await twoGroups()
    const response = await exchange<ListGroupsResponse>(listGroups, 5, request(), context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    expect(response.groups.find((g) => g.groupId === 'stable')).toEqual({ groupId: 'stable', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' })
    expect(ids(await exchange(listGroups, 0, request(), context))).toEqual(['forming', 'stable'])
  })

  it('filters by state, whatever its case (v4+)', async () => {
    const { context } = await twoGroups()
    expect(ids(await exchange(listGroups, 4, request(['stable']), context))).toEqual(['stable'])
    expect(ids(await call(listGroups, 4, request(['COMPLETINGREBALANCE', 'Stable']), context))).toEqual(['forming', 'stable'])
  })

  it('filters by type: classic or consumer (v5+)', async () => {
    const { context, groups } = await twoGroups()
    await groups.consumerHeartbeat({
      groupId: 'next-gen', memberId: 'm1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['orders'],
      subscribedTopicRegex: null, serverAssignor: null, ownedPartitions: null, serverGeneratesMemberId: false, clientId: 'c', clientHost: '/h',
    })
    expect(ids(await exchange(listGroups, 5, request([], ['Classic']), context))).toEqual(['forming', 'stable'])
    const consumer = await exchange<ListGroupsResponse>(listGroups, 5, request([], ['consumer']), context)
    expect(consumer.groups).toEqual([{ groupId: 'next-gen', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }])
    expect(ids(await exchange(listGroups, 5, request(['Stable']), context))).toEqual(['next-gen', 'stable'])
  })

  it('ignores filters a v3 client cannot send', async () => {
    const { context } = await twoGroups()
    expect(ids(await exchange(listGroups, 3, request(['Empty'], ['consumer']), context))).toEqual(['forming', 'stable'])
  })
})
