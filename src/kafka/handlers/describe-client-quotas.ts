// DescribeClientQuotas: Zombi enforces no client quotas (no produce/fetch byte rates, no request percentages), so a
// valid filter matches no entity and the answer is empty; kafka-configs --describe --entity-type users then goes on
// to list the SCRAM credentials. AlterClientQuotas is not served (not advertised), so no quota can be set and
// silently ignored. The filter is still checked as Kafka checks it.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import {
  readDescribeClientQuotasRequest, writeDescribeClientQuotasResponse,
  type DescribeClientQuotasRequest, type DescribeClientQuotasRequestComponent, type DescribeClientQuotasResponse,
} from '../../protocol/generated/describe-client-quotas.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

/** The quota entity types Kafka knows. */
const ENTITY_TYPES = new Set(['user', 'client-id', 'ip'])
const MatchType = { EXACT: 0, DEFAULT: 1, ANY: 2 } as const

/** Why the filter is invalid (Kafka answers INVALID_REQUEST), or null. */
export function invalidQuotaFilter(components: readonly DescribeClientQuotasRequestComponent[]): string | null {
  const seen = new Set<string>()
  for (const { entityType, matchType, match } of components) {
    if (!ENTITY_TYPES.has(entityType)) return `unknown quota entity type ${JSON.stringify(entityType)}; use user, client-id or ip`
    if (seen.has(entityType)) return `the filter names entity type ${entityType} more than once`
    seen.add(entityType)
    if (matchType === MatchType.EXACT) {
      if (match === null) return `an exact match on ${entityType} needs a name`
    } else if (matchType === MatchType.DEFAULT || matchType === MatchType.ANY) {
      if (match !== null) return `match type ${matchType} on ${entityType} takes no name`
    } else {
      return `unknown match type ${matchType}; use 0 (exact), 1 (default) or 2 (any)`
    }
  }
  if (seen.has('ip') && seen.size > 1) return 'an ip filter cannot be combined with user or client-id'
  return null
}

export const describeClientQuotas = defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
  apiKey: ApiKey.DescribeClientQuotas,
  name: 'DescribeClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  read: readDescribeClientQuotasRequest,
  write: writeDescribeClientQuotasResponse,
  handle(request, context) {
    if (!allowedOnCluster(context, AclOperation.DESCRIBE_CONFIGS)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', entries: null }
    }
    const problem = invalidQuotaFilter(request.components)
    if (problem !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, entries: null }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries: [] }
  },
})
