// ElectLeaders: the single broker leads every partition, so named partitions need no election
// (ELECTION_NOT_NEEDED), unknown ones are UNKNOWN_TOPIC_OR_PARTITION, and "all partitions" answers
// an empty list; unknown election types and clients without ALTER on the cluster are refused.
import { describe, expect, it } from 'vitest'
import { electLeaders } from '../../../src/kafka/handlers/elect-leaders.ts'
import type { ElectLeadersResponse } from '../../../src/protocol/generated/elect-leaders.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const codes = (response: ElectLeadersResponse) => response.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => [p.partitionId, p.errorCode])])

describe('ElectLeaders', () => {
  it('answers ELECTION_NOT_NEEDED for every partition it has, in every version', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 2 } })
    for (const version of [0, 1, 2]) {
      const response = await exchange<ElectLeadersResponse>(electLeaders, version, { electionType: 0, topicPartitions: [{ topic: 'orders', partitions: [0, 1, 5] }, { topic: 'missing', partitions: [0] }], timeoutMs: 1000 }, context)
      expect(codes(response)).toEqual([
        ['orders', [[0, ErrorCode.ELECTION_NOT_NEEDED], [1, ErrorCode.ELECTION_NOT_NEEDED], [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ])
    }
    const unclean = await call<ElectLeadersResponse>(electLeaders, 2, { electionType: 1, topicPartitions: [{ topic: 'orders', partitions: [0] }], timeoutMs: 1000 }, context)
    expect(codes(unclean)).toEqual([['orders', [[0, ErrorCode.ELECTION_NOT_NEEDED]]]])
  })

  it('answers a request for all partitions with none (none needed an election)', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 2 } })
    expect(await call(electLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 }, context)).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: [] })
  })

  it('refuses unknown election types and clients without ALTER on the cluster', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    const unknown = await call<ElectLeadersResponse>(electLeaders, 1, { electionType: 7, topicPartitions: [{ topic: 'orders', partitions: [0] }], timeoutMs: 1000 }, context)
    expect(unknown.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    const locked = await makeHandlerContext({ topics: { orders: 1 }, settings: { ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false' } })
    locked.context.principal = 'User:nobody'
    const denied = await call<ElectLeadersResponse>(electLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'orders', partitions: [0] }], timeoutMs: 1000 }, locked.context)
    expect(denied.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    expect(codes(denied)).toEqual([['orders', [[0, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]]]])
  })
})
