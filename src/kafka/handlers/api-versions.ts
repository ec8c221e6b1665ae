// ApiVersions: the version ranges of every registered handler (the router's list).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { readApiVersionsRequest, writeApiVersionsResponse, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/api-versions.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { defineHandler } from '../handler.ts'

export const apiVersions = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 3,
  read: readApiVersionsRequest,
  write: writeApiVersionsResponse,
  handle(_request, context) {
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: context.supportedApis.map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion })),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    }
  },
})
