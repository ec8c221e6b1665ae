// A transaction through the handlers' wire forms: offsets added and held, EndTxn commits them, and the
// admin APIs describe the state.
import { expect, test } from 'vitest'
import { addOffsetsToTxn } from '../../../src/kafka/handlers/add-offsets-to-txn.ts'
import { addPartitionsToTxn } from '../../../src/kafka/handlers/add-partitions-to-txn.ts'
import { describeProducers } from '../../../src/kafka/handlers/describe-producers.ts'
import { describeTransactions } from '../../../src/kafka/handlers/describe-transactions.ts'
import { endTxn } from '../../../src/kafka/handlers/end-txn.ts'
import { initProducerId } from '../../../src/kafka/handlers/init-producer-id.ts'
import { listTransactions } from '../../../src/kafka/handlers/list-transactions.ts'
import { txnOffsetCommit } from '../../../src/kafka/handlers/txn-offset-commit.ts'
import type { DescribeProducersResponse } from '../../../src/protocol/generated/describe-producers.ts'
import type { DescribeTransactionsResponse } from '../../../src/protocol/generated/describe-transactions.ts'
import type { EndTxnResponse } from '../../../src/protocol/generated/end-txn.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { InitProducerIdResponse } from '../../../src/protocol/generated/init-producer-id.ts'
import type { ListTransactionsResponse } from '../../../src/protocol/generated/list-transactions.ts'
import type { TxnOffsetCommitResponse } from '../../../src/protocol/generated/txn-offset-commit.ts'
import { ATTR_TRANSACTIONAL } from '../../../src/protocol/record-batch.ts'
import { encodeBatch } from '../../../src/protocol/records.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

test('a consume-transform-produce transaction: offsets held by TxnOffsetCommit become the group\'s at EndTxn; the admin APIs describe it', async () => {
  const { context, groups, log } = await makeHandlerContext({ topics: { input: 1, output: 1 } })
  const init = await exchange<InitProducerIdResponse>(initProducerId, 4, { transactionalId: 'ctp', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }, context)
  const { producerId, producerEpoch } = init
  await exchange(addPartitionsToTxn, 3, { transactions: [], v3AndBelowTransactionalId: 'ctp', v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: 'output', partitions: [0] }] }, context)
  const output = log.topicByName('output')!
  const batch = encodeBatch([{ key: null, value: Buffer.from('OUT') }], { producerId, producerEpoch, baseSequence: 0, attributes: ATTR_TRANSACTIONAL })
  expect((await log.append(output, output.partitions[0]!, batch)).errorCode).toBe(ErrorCode.NONE)
  expect(await exchange(addOffsetsToTxn, 3, { transactionalId: 'ctp', producerId, producerEpoch, groupId: 'g' }, context)).toMatchObject({ errorCode: ErrorCode.NONE })
  const offsets = { transactionalId: 'ctp', groupId: 'g', producerId, producerEpoch, generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'input', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] }
  const held = await exchange<TxnOffsetCommitResponse>(txnOffsetCommit, 3, offsets, context)
  expect(held.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
  expect(groups.fetchOffset('g', 'input', 0)).toBeUndefined()

  const described = await exchange<DescribeTransactionsResponse>(describeTransactions, 0, { transactionalIds: ['ctp', 'nobody'] }, context)
  expect(described.transactionStates).toEqual([
    expect.objectContaining({ errorCode: ErrorCode.NONE, transactionState: 'Ongoing', producerId, producerEpoch, transactionTimeoutMs: 60_000, topics: [{ topic: 'output', partitions: [0] }] }),
    expect.objectContaining({ errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: 'nobody' }),
  ])
  const listed = await exchange<ListTransactionsResponse>(listTransactions, 1, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [], durationFilter: -1 }, context)
  expect(listed).toMatchObject({ unknownStateFilters: ['Bogus'], transactionStates: [{ transactionalId: 'ctp', producerId, transactionState: 'Ongoing' }] })
  const producers = await exchange<DescribeProducersResponse>(describeProducers, 0, { topics: [{ name: 'output', partitionIndexes: [0] }] }, context)
  expect(producers.topics[0]!.partitions[0]!.activeProducers).toEqual([expect.objectContaining({ producerId, producerEpoch, lastSequence: 0, currentTxnStartOffset: 0 })])

  expect(await exchange<EndTxnResponse>(endTxn, 3, { transactionalId: 'ctp', producerId, producerEpoch, committed: true }, context)).toMatchObject({ errorCode: ErrorCode.NONE })
  expect(groups.fetchOffset('g', 'input', 0)?.offset).toBe(1)
  expect(output.partitions[0]!.lastStableOffset).toBe(2)
  const after = await exchange<DescribeProducersResponse>(describeProducers, 0, { topics: [{ name: 'output', partitionIndexes: [0] }] }, context)
  expect(after.topics[0]!.partitions[0]!.activeProducers[0]!.currentTxnStartOffset).toBe(-1)
  // Fenced: a stale epoch at EndTxn is PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
  expect(await exchange(endTxn, 2, { transactionalId: 'ctp', producerId, producerEpoch: producerEpoch + 1, committed: true }, context)).toMatchObject({ errorCode: ErrorCode.PRODUCER_FENCED })
  expect(await exchange(endTxn, 1, { transactionalId: 'ctp', producerId, producerEpoch: producerEpoch + 1, committed: true }, context)).toMatchObject({ errorCode: ErrorCode.INVALID_PRODUCER_EPOCH })
})
