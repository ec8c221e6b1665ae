// DescribeUserScramCredentials: which SCRAM mechanisms (and iterations) each user has; never salts or keys.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import {
  readDescribeUserScramCredentialsRequest, writeDescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsRequest, type DescribeUserScramCredentialsResponse, type DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult,
} from '../../protocol/generated/describe-user-scram-credentials.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { MECHANISM_TYPES } from '../../security/scram.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export const describeUserScramCredentials = defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
  apiKey: ApiKey.DescribeUserScramCredentials,
  name: 'DescribeUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  read: readDescribeUserScramCredentialsRequest,
  write: writeDescribeUserScramCredentialsResponse,
  handle(request, context) {
    if (!allowedOnCluster(context, AclOperation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', results: [] }
    const users = context.credentials.users()
    const info = (user: string): DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult => {
      const credentials = users.get(user)
      if (credentials === undefined) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe nonexistent user: ${user}`, credentialInfos: [] }
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: credentials.map(({ mechanism, iterations }) => ({ mechanism: MECHANISM_TYPES[mechanism], iterations })) }
    }
    // null or empty: every user with credentials (kafka-configs --describe --entity-type users).
    if (request.users === null || request.users.length === 0) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: [...users.keys()].map(info) }
    const names = request.users.map((user) => user.name)
    const duplicates = new Set(names.filter((name, index) => names.indexOf(name) !== index))
    const results = [...new Set(names)].map((name) => duplicates.has(name)
      ? { user: name, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${name}`, credentialInfos: [] }
      : info(name))
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results }
  },
})
