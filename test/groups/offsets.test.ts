// OffsetCommit and OffsetFetch as the group protocol allows them, across a reload, and the expiry
// of the offsets of groups that stay empty.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { joinNew, startCoordinator } from './fixtures/coordinator.ts'

async function setup(settings: Record<string, string> = {}) {
  return startCoordinator({ partitions: 6, settings })
}

describe('committed offsets', () => {
  it('validates commits and keeps them across a reload of the same store', async () => {
    const { groups, reload } = await setup()
    const errors = await groups.commitOffsets('simple', -1, '', null, [
      { topic: 'orders', partition: 1, offset: 42, leaderEpoch: -1, metadata: 'note' },
      { topic: 'orders', partition: 99, offset: 1, leaderEpoch: -1, metadata: null },
      { topic: 'missing', partition: 0, offset: 1, leaderEpoch: -1, metadata: null },
      { topic: 'orders', partition: 2, offset: 1, leaderEpoch: -1, metadata: 'x'.repeat(5000) },
    ])
    expect(errors).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OFFSET_METADATA_TOO_LARGE])
    const reloaded = await reload()
    expect(reloaded.fetchOffset('simple', 'orders', 1)).toMatchObject({ offset: 42, metadata: 'note' })
    expect(reloaded.group('simple')!.state).toBe('Empty')
  })

  it('refuses commits from unknown members and stale generations of an active group', async () => {
    const { groups } = await setup()
    const joined = await joinNew(groups)
    await groups.sync('g', 1, joined.memberId, null, null, null, [])
    const entry = [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }]
    expect(await groups.commitOffsets('g', 1, 'stranger', null, entry)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID])
    expect(await groups.commitOffsets('g', 0, joined.memberId, null, entry)).toEqual([ErrorCode.ILLEGAL_GENERATION])
    expect(await groups.commitOffsets('g', -1, '', null, entry)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID])
  })

  it('expires offsets of groups empty for longer than the retention', async () => {
    const { groups } = await setup({ ZOMBI_OFFSETS_RETENTION_MINUTES: '1' })
    await groups.commitOffsets('old', -1, '', null, [{ topic: 'orders', partition: 0, offset: 3, leaderEpoch: -1, metadata: null }])
    expect(await groups.expireOffsets(Date.now() + 30_000)).toEqual([])
    expect(await groups.expireOffsets(Date.now() + 2 * 60_000)).toEqual(['old'])
    expect(groups.fetchOffset('old', 'orders', 0)).toBeUndefined()
  })
})
