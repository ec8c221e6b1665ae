import { describe, expect, it } from 'vitest'
import { offsetForLeaderEpoch } from '../../../src/kafka/handlers/offset-for-leader-epoch.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../../../src/protocol/generated/offset-for-leader-epoch.ts'
import { batchOf } from '../../support/log.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

function request(topic: string, epochs: Array<[partition: number, leaderEpoch: number]>): OffsetForLeaderEpochRequest {
  return { replicaId: -1, topics: [{ topic, partitions: epochs.map(([partition, leaderEpoch]) => ({ partition, currentLeaderEpoch: -1, leaderEpoch })) }] }
}

const answers = (response: OffsetForLeaderEpochResponse) => response.topics[0]!.partitions.map(({ errorCode, partition, leaderEpoch, endOffset }) => ({ errorCode, partition, leaderEpoch, endOffset }))

describe('OffsetForLeaderEpoch', () => {
  it('ends any known epoch at the high watermark, the one leadership a partition here has', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 2 } })
    const topic = log.topicByName('orders')!
    await log.append(topic, topic.partitions[0]!, batchOf(['a', 'b']))
    expect(answers(await exchange(offsetForLeaderEpoch, 4, request('orders', [[0, 5], [1, 0]]), context))).toEqual([
      { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 5, endOffset: 2 },
      { errorCode: ErrorCode.NONE, partition: 1, leaderEpoch: 0, endOffset: 0 },
    ])
  })

  it('gives an undefined requested epoch the undefined answer', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    expect(answers(await call(offsetForLeaderEpoch, 4, request('orders', [[0, -1]]), context))).toEqual([{ errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: -1, endOffset: -1 }])
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic or partition', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    expect(answers(await call(offsetForLeaderEpoch, 4, request('orders', [[1, 0]]), context))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(answers(await call(offsetForLeaderEpoch, 4, request('missing', [[0, 0]]), context))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  it('answers a v0 client, whose response has no epoch, with the end offset', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 1 } })
    const topic = log.topicByName('orders')!
    await log.append(topic, topic.partitions[0]!, batchOf(['a']))
    expect(answers(await exchange(offsetForLeaderEpoch, 0, request('orders', [[0, 3]]), context))[0]).toMatchObject({ errorCode: ErrorCode.NONE, endOffset: 1 })
  })
})
