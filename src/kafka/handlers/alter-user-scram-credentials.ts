// AlterUserScramCredentials: adds, replaces and deletes users' SCRAM credentials (kafka-configs
// --alter --entity-type users). Clients send the salted password; the broker keeps StoredKey and
// ServerKey only. Each user's changes are checked whole, then every valid one is written at once.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import {
  readAlterUserScramCredentialsRequest, writeAlterUserScramCredentialsResponse,
  type AlterUserScramCredentialsRequest, type AlterUserScramCredentialsResponse,
} from '../../protocol/generated/alter-user-scram-credentials.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { credentialFromSaltedPassword, MAX_ITERATIONS, mechanismOfType, MIN_ITERATIONS, type ScramCredential, type ScramMechanism } from '../../security/scram.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

interface Outcome {
  errorCode: ErrorCode
  errorMessage: string | null
}

export const alterUserScramCredentials = defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
  apiKey: ApiKey.AlterUserScramCredentials,
  name: 'AlterUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  read: readAlterUserScramCredentialsRequest,
  write: writeAlterUserScramCredentialsResponse,
  async handle(request, context) {
    if (!allowedOnCluster(context, AclOperation.ALTER)) {
      const users = [...new Set([...request.deletions, ...request.upsertions].map((change) => change.name))]
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' })) }
    }
    const store = context.credentials
    const outcomes = new Map<string, Outcome>()
    const refuse = (user: string, errorCode: ErrorCode, errorMessage: string): void => {
      if (!outcomes.has(user) || outcomes.get(user)!.errorCode === ErrorCode.NONE) outcomes.set(user, { errorCode, errorMessage })
    }
    const seen = new Set<string>()
    for (const change of [...request.deletions, ...request.upsertions]) {
      if (!outcomes.has(change.name)) outcomes.set(change.name, { errorCode: ErrorCode.NONE, errorMessage: null })
      const mechanism = mechanismOfType(change.mechanism)
      if (change.name === '') refuse(change.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty')
      else if (mechanism === null) refuse(change.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism type ${change.mechanism}`)
      const pair = `${change.name}\u0000${change.mechanism}`
      if (seen.has(pair)) refuse(change.name, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request')
      seen.add(pair)
    }
    const deletions: Array<{ mechanism: ScramMechanism; user: string }> = []
    for (const deletion of request.deletions) {
      const mechanism = mechanismOfType(deletion.mechanism)
      if (mechanism === null) continue
      if (store.get(mechanism, deletion.name) === null) refuse(deletion.name, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to delete a user credential that does not exist: ${deletion.name} ${mechanism}`)
      deletions.push({ mechanism, user: deletion.name })
    }
    const upserts: Array<{ mechanism: ScramMechanism; user: string; credential: ScramCredential }> = []
    for (const upsertion of request.upsertions) {
      const mechanism = mechanismOfType(upsertion.mechanism)
      if (mechanism === null) continue
      if (upsertion.iterations < MIN_ITERATIONS) refuse(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations: ${upsertion.iterations} (at least ${MIN_ITERATIONS})`)
      else if (upsertion.iterations > MAX_ITERATIONS) refuse(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations: ${upsertion.iterations} (at most ${MAX_ITERATIONS})`)
      else if (upsertion.salt.length === 0 || upsertion.saltedPassword.length === 0) refuse(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty')
      upserts.push({ mechanism, user: upsertion.name, credential: credentialFromSaltedPassword(mechanism, Buffer.from(upsertion.salt), Buffer.from(upsertion.saltedPassword), upsertion.iterations) })
    }
    const ok = (user: string): boolean => outcomes.get(user)!.errorCode === ErrorCode.NONE
    await context.credentials.change(upserts.filter((u) => ok(u.user)), deletions.filter((d) => ok(d.user)))
    return { throttleTimeMs: 0, results: [...outcomes].map(([user, outcome]) => ({ user, ...outcome })) }
  },
})
