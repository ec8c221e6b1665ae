import { describe, expect, it } from 'vitest'
import { initProducerId } from '../../../src/kafka/handlers/init-producer-id.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../../src/protocol/generated/init-producer-id.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const idempotent: InitProducerIdRequest = { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }

describe('InitProducerId', () => {
  it('gives each idempotent producer a new id with epoch 0, also one that asks to bump its epoch', async () => {
    const { context } = await makeHandlerContext()
    const first = await exchange<InitProducerIdResponse>(initProducerId, 4, idempotent, context)
    const bump = await exchange<InitProducerIdResponse>(initProducerId, 4, { ...idempotent, producerId: first.producerId, producerEpoch: 0 }, context)
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 })
    expect(bump).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 })
    expect(bump.producerId).toBeGreaterThan(first.producerId)
  })

  it('gives a transactional id one producer id and a new epoch at every init', async () => {
    const { context } = await makeHandlerContext()
    const transactional = { ...idempotent, transactionalId: 'tx-1', transactionTimeoutMs: 60_000 }
    const first = await exchange<InitProducerIdResponse>(initProducerId, 1, transactional, context)
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, producerId: 0, producerEpoch: 0 })
    expect(await exchange<InitProducerIdResponse>(initProducerId, 4, transactional, context)).toMatchObject({ errorCode: ErrorCode.NONE, producerId: 0, producerEpoch: 1 })
    expect((await call<InitProducerIdResponse>(initProducerId, 1, idempotent, context)).producerId).toBe(1)
    expect(await call(initProducerId, 4, { ...transactional, transactionTimeoutMs: 3_600_000 }, context)).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT })
  })

  it('answers COORDINATOR_NOT_AVAILABLE, which clients retry, when the id cannot be stored', async () => {
    const { context, store } = await makeHandlerContext()
    await store.close()
    expect(await call(initProducerId, 4, idempotent, context)).toMatchObject({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 })
  })
})
