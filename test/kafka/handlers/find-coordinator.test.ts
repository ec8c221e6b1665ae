import { describe, expect, it } from 'vitest'
import { findCoordinator } from '../../../src/kafka/handlers/find-coordinator.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { FindCoordinatorResponse } from '../../../src/protocol/generated/find-coordinator.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

describe('FindCoordinator', () => {
  it('names this broker as the coordinator of a group in the top-level fields (v0-3)', async () => {
    const { context, broker } = await makeHandlerContext()
    const response = await exchange<FindCoordinatorResponse>(findCoordinator, 3, { key: 'g', keyType: 0, coordinatorKeys: [] }, context)
    expect(response).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, nodeId: broker.nodeId, host: broker.host, port: broker.port })
  })

  it('answers every key of a batched v4+ request, one coordinator each', async () => {
    const { context, broker } = await makeHandlerContext()
    const response = await exchange<FindCoordinatorResponse>(findCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['a', 'b'] }, context)
    expect(response.coordinators).toEqual(['a', 'b'].map((key) => ({ key, nodeId: broker.nodeId, host: broker.host, port: broker.port, errorCode: ErrorCode.NONE, errorMessage: null })))
  })

  it('also answers transaction coordinator lookups, so a transactional producer gets its refusal from InitProducerId', async () => {
    const { context, broker } = await makeHandlerContext()
    const response = await exchange<FindCoordinatorResponse>(findCoordinator, 6, { key: '', keyType: 1, coordinatorKeys: ['tx'] }, context)
    expect(response.coordinators[0]).toMatchObject({ key: 'tx', errorCode: ErrorCode.NONE, nodeId: broker.nodeId })
  })

  it('refuses an unknown key type with INVALID_REQUEST and no node, in both shapes', async () => {
    const { context } = await makeHandlerContext()
    const old = await exchange<FindCoordinatorResponse>(findCoordinator, 2, { key: 'g', keyType: 7, coordinatorKeys: [] }, context)
    expect(old).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1, host: '', port: -1 })
    expect(old.errorMessage).toMatch(/key type 7/)
    const batched = await exchange<FindCoordinatorResponse>(findCoordinator, 4, { key: '', keyType: 7, coordinatorKeys: ['g'] }, context)
    expect(batched.coordinators[0]).toMatchObject({ key: 'g', errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1 })
  })

  it('reads a v0 request, which has no key type, as a group lookup', async () => {
    const { context } = await makeHandlerContext()
    const response = await exchange<FindCoordinatorResponse>(findCoordinator, 0, { key: 'g', keyType: 7, coordinatorKeys: [] }, context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
  })
})
