import { describe, expect, it } from 'vitest'
import { apiVersions } from '../../../src/kafka/handlers/api-versions.ts'
import { allHandlers } from '../../../src/kafka/handlers/index.ts'
import type { ApiVersionsResponse } from '../../../src/protocol/generated/api-versions.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const request = { clientSoftwareName: 'handler-test', clientSoftwareVersion: '1.0' }

describe('ApiVersions', () => {
  it('advertises exactly the registered handlers, each with the version range it handles, by api key', async () => {
    const { context } = await makeHandlerContext()
    const response = await exchange<ApiVersionsResponse>(apiVersions, 3, request, context)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    const expected = allHandlers.map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion })).sort((a, b) => a.apiKey - b.apiKey)
    expect(response.apiKeys).toEqual(expected)
  })

  it('answers what the router was built with, not a list of its own', async () => {
    const { context } = await makeHandlerContext({ handlers: [apiVersions] })
    const response = await exchange<ApiVersionsResponse>(apiVersions, 3, request, context)
    expect(response.apiKeys).toEqual([{ apiKey: apiVersions.apiKey, minVersion: 0, maxVersion: 3 }])
  })

  it.each([0, 1, 2])('answers a v%i client with the same ranges in the older encoding', async (version) => {
    const { context } = await makeHandlerContext()
    const response = await exchange<ApiVersionsResponse>(apiVersions, version, request, context)
    expect(response.apiKeys).toHaveLength(allHandlers.length)
    expect(response.errorCode).toBe(ErrorCode.NONE)
  })
})
