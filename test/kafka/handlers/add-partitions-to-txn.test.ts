import { expect, test } from 'vitest'
import { addPartitionsToTxn } from '../../../src/kafka/handlers/add-partitions-to-txn.ts'
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../../../src/protocol/generated/add-partitions-to-txn.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const clientForm = (producerId: number, epoch: number, topics: Array<{ name: string; partitions: number[] }>): AddPartitionsToTxnRequest => ({
  transactions: [], v3AndBelowTransactionalId: 'app', v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: topics,
})

test('v0-3 add a client\'s partitions all or nothing; v4+ verify them in the batched form', async () => {
  const { context, groups } = await makeHandlerContext({ topics: { orders: 2 } })
  const { producerId } = await groups.transactions.initProducerId('app', 60_000, -1, -1, true)
  // One unknown partition: nothing is added, the others answer OPERATION_NOT_ATTEMPTED.
  const refused = await exchange<AddPartitionsToTxnResponse>(addPartitionsToTxn, 3, clientForm(producerId, 0, [{ name: 'orders', partitions: [0, 7] }]), context)
  expect(refused.resultsByTopicV3AndBelow).toEqual([{ name: 'orders', resultsByPartition: [
    { partitionIndex: 0, partitionErrorCode: ErrorCode.OPERATION_NOT_ATTEMPTED }, { partitionIndex: 7, partitionErrorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
  ] }])
  expect(groups.transactions.get('app')!.state).toBe('Empty')
  const added = await exchange<AddPartitionsToTxnResponse>(addPartitionsToTxn, 3, clientForm(producerId, 0, [{ name: 'orders', partitions: [0] }]), context)
  expect(added.resultsByTopicV3AndBelow[0]!.resultsByPartition).toEqual([{ partitionIndex: 0, partitionErrorCode: ErrorCode.NONE }])
  expect(groups.transactions.get('app')).toMatchObject({ state: 'Ongoing', partitions: ['orders/0'] })
  // An old epoch: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
  const stale = await exchange<AddPartitionsToTxnResponse>(addPartitionsToTxn, 1, clientForm(producerId, 5, [{ name: 'orders', partitions: [1] }]), context)
  expect(stale.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
  const verify: AddPartitionsToTxnRequest = {
    ...clientForm(-1, -1, []),
    transactions: [{ transactionalId: 'app', producerId, producerEpoch: 0, verifyOnly: true, topics: [{ name: 'orders', partitions: [0] }] },
      { transactionalId: 'app', producerId, producerEpoch: 0, verifyOnly: true, topics: [{ name: 'orders', partitions: [1] }] }],
  }
  const verified = await exchange<AddPartitionsToTxnResponse>(addPartitionsToTxn, 5, verify, context)
  expect(verified.errorCode).toBe(ErrorCode.NONE)
  expect(verified.resultsByTransaction.map((t) => t.topicResults[0]!.resultsByPartition[0]!.partitionErrorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE])
  // Verifying adds nothing.
  expect(groups.transactions.get('app')!.partitions).toEqual(['orders/0'])
})
