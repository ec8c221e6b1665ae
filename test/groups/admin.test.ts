// OffsetDelete against what the members subscribe to, and the per-group lag that metrics report.
import { AssignerProtocol } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { joinNew, startCoordinator } from './fixtures/coordinator.ts'

const subscribedToOrders = [{ name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['orders'], userData: Buffer.alloc(0) }) }]

describe('group admin', () => {
  it('deletes the offsets of topics a consumer group does not subscribe to, and only those', async () => {
    const { log, groups } = await startCoordinator()
    await log.createTopic('payments', 1, {})
    const joined = await joinNew(groups, { protocols: subscribedToOrders })
    await groups.sync('g', joined.generationId, joined.memberId, null, null, null, [])
    const commits = [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }, { topic: 'payments', partition: 0, offset: 2, leaderEpoch: -1, metadata: null }]
    expect(await groups.commitOffsets('g', joined.generationId, joined.memberId, null, commits)).toEqual([ErrorCode.NONE, ErrorCode.NONE])
    const errors = await groups.deleteOffsets('g', [{ topic: 'orders', partition: 0 }, { topic: 'payments', partition: 0 }, { topic: 'missing', partition: 0 }])
    expect(errors).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    expect(groups.fetchOffset('g', 'orders', 0)?.offset).toBe(1)
    expect(groups.fetchOffset('g', 'payments', 0)).toBeUndefined()
  })

  it('refuses OffsetDelete for an active group that is not a consumer group', async () => {
    const { groups } = await startCoordinator()
    await joinNew(groups, { protocolType: 'connect', protocols: subscribedToOrders })
    expect(await groups.deleteOffsets('g', [{ topic: 'orders', partition: 0 }])).toBe(ErrorCode.NON_EMPTY_GROUP)
    expect(await groups.deleteOffsets('unknown', [{ topic: 'orders', partition: 0 }])).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })

  it('reports lag per committed partition', async () => {
    const { log, groups } = await startCoordinator()
    const topic = log.topicByName('orders')!
    await log.append(topic, topic.partitions[0]!, encodeBatch(Array.from({ length: 10 }, () => ({ key: null, value: Buffer.from('x') }))))
    await groups.commitOffsets('lagging', -1, '', null, [{ topic: 'orders', partition: 0, offset: 4, leaderEpoch: -1, metadata: null }])
    const snapshot = groups.snapshot().find((s) => s.groupId === 'lagging')!
    expect(snapshot.partitions).toEqual([{ topic: 'orders', partition: 0, committed: 4, highWatermark: 10, lag: 6 }])
  })
})
