// DescribeUserScramCredentials and AlterUserScramCredentials over the wire codecs, against the credential store.
import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { alterUserScramCredentials } from '../../../src/kafka/handlers/alter-user-scram-credentials.ts'
import { describeUserScramCredentials } from '../../../src/kafka/handlers/describe-user-scram-credentials.ts'
import type { AlterUserScramCredentialsResponse } from '../../../src/protocol/generated/alter-user-scram-credentials.ts'
import type { DescribeUserScramCredentialsResponse } from '../../../src/protocol/generated/describe-user-scram-credentials.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { CredentialStore } from '../../../src/security/credentials.ts'
import { saltPassword } from '../../../src/security/scram.ts'
import { exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

async function upsertion(name: string, mechanism: 1 | 2, password: string, iterations = 4096): Promise<{ name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }> {
  const salt = Buffer.from(`salt-of-${name}`)
  return { name, mechanism, iterations, salt, saltedPassword: await saltPassword(mechanism === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512', password, salt, iterations) }
}

describe('user SCRAM credentials', () => {
  it('stores upserted credentials (StoredKey and ServerKey, not the salted password), durably, and describes them', async () => {
    const { context, store } = await makeHandlerContext()
    const alice = await upsertion('alice', 1, 'pw', 8192)
    const altered = await exchange<AlterUserScramCredentialsResponse>(alterUserScramCredentials, 0, { deletions: [], upsertions: [alice, await upsertion('alice', 2, 'pw'), await upsertion('bob', 1, 'pw')] }, context)
    expect(altered.results).toEqual([{ user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null }, { user: 'bob', errorCode: ErrorCode.NONE, errorMessage: null }])

    const stored = context.credentials.get('SCRAM-SHA-256', 'alice')!
    const clientKey = createHmac('sha256', alice.saltedPassword).update('Client Key').digest()
    expect(stored.storedKey).toEqual(createHash('sha256').update(clientKey).digest())
    expect(stored.iterations).toBe(8192)
    const reloaded = new CredentialStore(store)
    await reloaded.load()
    expect(reloaded.get('SCRAM-SHA-256', 'alice')).toEqual(stored)
    expect(await reloaded.verifyPassword('alice', 'pw')).toBe(true)
    expect(await reloaded.verifyPassword('alice', 'nope')).toBe(false)

    const all = await exchange<DescribeUserScramCredentialsResponse>(describeUserScramCredentials, 0, { users: null }, context)
    expect(all.results).toEqual([
      { user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: 1, iterations: 8192 }, { mechanism: 2, iterations: 4096 }] },
      { user: 'bob', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: 1, iterations: 4096 }] },
    ])
    const some = await exchange<DescribeUserScramCredentialsResponse>(describeUserScramCredentials, 0, { users: [{ name: 'bob' }, { name: 'nobody' }, { name: 'x' }, { name: 'x' }] }, context)
    expect(some.results.map((r) => [r.user, r.errorCode])).toEqual([['bob', ErrorCode.NONE], ['nobody', ErrorCode.RESOURCE_NOT_FOUND], ['x', ErrorCode.DUPLICATE_RESOURCE]])
  })

  it('refuses bad iterations, unknown mechanisms, duplicates and deletions of missing credentials, per user, and applies the rest', async () => {
    const { context } = await makeHandlerContext()
    const altered = await exchange<AlterUserScramCredentialsResponse>(alterUserScramCredentials, 0, {
      deletions: [{ name: 'ghost', mechanism: 1 }],
      upsertions: [
        await upsertion('few', 1, 'pw', 4096).then((u) => ({ ...u, iterations: 1000 })),
        await upsertion('many', 1, 'pw', 4096).then((u) => ({ ...u, iterations: 20000 })),
        { ...await upsertion('odd', 1, 'pw'), mechanism: 9 },
        await upsertion('twice', 1, 'pw'), await upsertion('twice', 1, 'pw'),
        await upsertion('fine', 2, 'pw'),
      ],
    }, context)
    expect(altered.results.map((r) => [r.user, r.errorCode])).toEqual([
      ['ghost', ErrorCode.RESOURCE_NOT_FOUND], ['few', ErrorCode.UNACCEPTABLE_CREDENTIAL], ['many', ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ['odd', ErrorCode.UNSUPPORTED_SASL_MECHANISM], ['twice', ErrorCode.DUPLICATE_RESOURCE], ['fine', ErrorCode.NONE],
    ])
    expect([...context.credentials.users().keys()]).toEqual(['fine'])
    const deleted = await exchange<AlterUserScramCredentialsResponse>(alterUserScramCredentials, 0, { deletions: [{ name: 'fine', mechanism: 2 }], upsertions: [] }, context)
    expect(deleted.results).toEqual([{ user: 'fine', errorCode: ErrorCode.NONE, errorMessage: null }])
    expect(context.credentials.users().size).toBe(0)
  })
})
