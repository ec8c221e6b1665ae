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

  it('refuses a transactional id with TRANSACTIONAL_ID_AUTHORIZATION_FAILED and hands out no id', async () => {
    const { context } = await makeHandlerContext()
    const refused = await exchange<InitProducerIdResponse>(initProducerId, 1, { ...idempotent, transactionalId: 'tx-1' }, context)
    expect(refused).toMatchObject({ errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 })
    expect((await call<InitProducerIdResponse>(initProducerId, 1, idempotent, context)).producerId).toBe(0)
  })

  it('answers COORDINATOR_NOT_AVAILABLE, which clients retry, when the id cannot be stored', async () => {
    const { context, store } = await makeHandlerContext()
    await store.close()
    expect(await call(initProducerId, 4, idempotent, context)).toMatchObject({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 })
  })
})
