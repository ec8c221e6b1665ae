// AlterConfigs (the older, whole-set API): a topic's configs become exactly the ones given (those
// not listed go back to their defaults), validated and persisted as IncrementalAlterConfigs does.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readAlterConfigsRequest, writeAlterConfigsResponse, type AlterConfigsRequest, type AlterConfigsResponse } from '../../protocol/generated/alter-configs.ts'
import { defineHandler } from '../handler.ts'
import { alterTopicResource, type AlterResult } from './incremental-alter-configs.ts'

export const alterConfigs = defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  read: readAlterConfigsRequest,
  write: writeAlterConfigsResponse,
  async handle(request, context) {
    const seen = new Set<string>()
    const responses: AlterResult[] = []
    for (const resource of request.resources) {
      responses.push(await alterTopicResource(context, resource.resourceType, resource.resourceName, request.validateOnly, seen, () => {
        const configs = new Map<string, string>()
        for (const { name, value } of resource.configs) {
          if (value === null) return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: `${name} needs a value` }
          configs.set(name, value)
        }
        return { ok: true, configs }
      }))
    }
    return { throttleTimeMs: 0, responses }
  },
})
