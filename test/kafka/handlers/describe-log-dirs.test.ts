// DescribeLogDirs: one log directory (the data dir) holding every partition, sized from the hot log's
// index; a request naming topics gets those (unknown ones left out); no DESCRIBE on the cluster: none.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeLogDirs } from '../../../src/kafka/handlers/describe-log-dirs.ts'
import type { DescribeLogDirsResponse } from '../../../src/protocol/generated/describe-log-dirs.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { batchOf } from '../../support/log.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

describe('DescribeLogDirs', () => {
  it('lists every partition in the data dir with its size in the hot log', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 2, audit: 1 } })
    const topic = log.topicByName('orders')!
    const batch = batchOf(['a', 'b'])
    await log.append(topic, topic.partitions[1]!, Buffer.from(batch))
    await log.append(topic, topic.partitions[1]!, Buffer.from(batch))
    for (const version of [1, 2, 3, 4, 5]) {
      const response = await exchange<DescribeLogDirsResponse>(describeLogDirs, version, { topics: null }, context)
      expect(response.results).toHaveLength(1)
      const [dir] = response.results
      expect(dir).toMatchObject({ errorCode: ErrorCode.NONE, logDir: path.resolve(context.config.dataDir) })
      expect(dir!.topics.find((t) => t.name === 'orders')!.partitions).toEqual([
        { partitionIndex: 0, partitionSize: 0, offsetLag: 0, isFutureKey: false },
        { partitionIndex: 1, partitionSize: batch.length * 2, offsetLag: 0, isFutureKey: false },
      ])
      expect(dir!.topics.map((t) => t.name).sort()).toEqual(['audit', 'orders'])
    }
  })

  it('answers only the named topics and partitions, leaving out unknown ones', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 2 } })
    const response = await call<DescribeLogDirsResponse>(describeLogDirs, 4, { topics: [{ topic: 'orders', partitions: [1, 7] }, { topic: 'missing', partitions: [0] }] }, context)
    expect(response.results[0]!.topics).toEqual([{ name: 'orders', partitions: [{ partitionIndex: 1, partitionSize: 0, offsetLag: 0, isFutureKey: false }] }])
  })

  it('lists no directory without DESCRIBE on the cluster', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 }, settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
    context.principal = 'User:nobody'
    const response = await call<DescribeLogDirsResponse>(describeLogDirs, 4, { topics: null }, context)
    expect(response).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] })
  })
})
