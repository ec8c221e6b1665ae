import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { CredentialStore } from '../../src/security/credentials.ts'
import { JwtValidator } from '../../src/security/jwt.ts'
import { SaslSession, type SaslServices } from '../../src/security/sasl-session.ts'
import { makeCredential, saltPassword } from '../../src/security/scram.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { claims, jwks, signingKey, signToken } from './jwt-fixtures.ts'
import { createHash, createHmac } from 'node:crypto'

const dir = mkdtempSync(join(tmpdir(), 'zombi-sasl-'))
const key = signingKey('RS256', 'k1')
let services: SaslServices

beforeAll(async () => {
  const store = new MemoryHotStore()
  await store.open()
  const credentials = new CredentialStore(store)
  await credentials.load()
  await credentials.change([
    { mechanism: 'SCRAM-SHA-256', user: 'alice', credential: await makeCredential('SCRAM-SHA-256', 'alice-secret', 4096) },
    { mechanism: 'SCRAM-SHA-512', user: 'alice', credential: await makeCredential('SCRAM-SHA-512', 'alice-secret', 4096) },
    { mechanism: 'SCRAM-SHA-256', user: 'bob', credential: await makeCredential('SCRAM-SHA-256', 'bob-secret', 4096) },
  ], [])
  writeFileSync(join(dir, 'jwks.json'), jwks(key))
  const jwt = new JwtValidator({ jwksFile: join(dir, 'jwks.json'), jwksUrl: null, issuer: null, audience: null, clockSkewMs: 0 })
  await jwt.load()
  services = { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'], credentials, jwt, sessionLifetimeMs: 0, failedAuthenticationDelayMs: 0, logger: silentLogger }
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

const plain = (user: string, password: string, authorizationId = ''): Buffer => Buffer.from(`${authorizationId}\u0000${user}\u0000${password}`)
const bearer = (token: string): Buffer => Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`)

/** Runs a SCRAM-SHA-256 exchange as a client would on `session`. */
async function scram(session: SaslSession, user: string, password: string): Promise<number> {
  const first = await session.authenticate(Buffer.from(`n,,n=${user},r=clientnonce`))
  if (first.errorCode !== ErrorCode.NONE) return first.errorCode
  const serverFirst = first.authBytes.toString()
  const fields = Object.fromEntries(serverFirst.split(',').map((part) => [part[0], part.slice(2)]))
  const salted = await saltPassword('SCRAM-SHA-256', password, Buffer.from(fields.s!, 'base64'), Number(fields.i))
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const withoutProof = `c=biws,r=${fields.r}`
  const signature = createHmac('sha256', storedKey).update(`n=${user},r=clientnonce,${serverFirst},${withoutProof}`).digest()
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!))
  return (await session.authenticate(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`))).errorCode
}

describe('SASL session', () => {
  it('authenticates with PLAIN, SCRAM and OAUTHBEARER and names the principal', async () => {
    const viaPlain = new SaslSession(services, 'test')
    expect(viaPlain.handshake('PLAIN', 1)).toEqual({ errorCode: ErrorCode.NONE, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] })
    expect(viaPlain.authenticated).toBe(false)
    expect((await viaPlain.authenticate(plain('alice', 'alice-secret'))).errorCode).toBe(ErrorCode.NONE)
    expect(viaPlain.principal).toBe('User:alice')

    const viaScram = new SaslSession(services, 'test')
    viaScram.handshake('SCRAM-SHA-256', 1)
    expect(await scram(viaScram, 'bob', 'bob-secret')).toBe(ErrorCode.NONE)
    expect(viaScram.principal).toBe('User:bob')

    const viaToken = new SaslSession(services, 'test')
    viaToken.handshake('OAUTHBEARER', 1)
    expect((await viaToken.authenticate(bearer(signToken(key, claims({ sub: 'carol' }))))).errorCode).toBe(ErrorCode.NONE)
    expect(viaToken.principal).toBe('User:carol')
  })

  it('fails wrong passwords, unknown users and expired tokens with SASL_AUTHENTICATION_FAILED, then closes', async () => {
    const attempts: Array<[string, (session: SaslSession) => Promise<number>]> = [
      ['PLAIN', async (s) => (await s.authenticate(plain('alice', 'wrong'))).errorCode],
      ['PLAIN', async (s) => (await s.authenticate(plain('nobody', 'alice-secret'))).errorCode],
      ['PLAIN', async (s) => (await s.authenticate(plain('alice', 'alice-secret', 'bob'))).errorCode],
      ['SCRAM-SHA-256', (s) => scram(s, 'alice', 'wrong')],
      ['SCRAM-SHA-256', (s) => scram(s, 'nobody', 'x')],
      ['OAUTHBEARER', async (s) => (await s.authenticate(bearer(signToken(key, claims({ exp: Math.floor(Date.now() / 1000) - 5 }))))).errorCode],
      ['OAUTHBEARER', async (s) => (await s.authenticate(bearer(signToken(signingKey('RS256', 'k1'), claims())))).errorCode],
    ]
    for (const [mechanism, attempt] of attempts) {
      const session = new SaslSession(services, 'test')
      session.handshake(mechanism, 1)
      expect(await attempt(session), mechanism).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
      expect(session.authenticated).toBe(false)
      expect(session.closing).toBe(true)
    }
  })

  it('answers an unknown mechanism and steps out of order as Kafka does', async () => {
    const unknown = new SaslSession(services, 'test')
    expect(unknown.handshake('GSSAPI', 1).errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM)
    expect(unknown.closing).toBe(true)
    const early = new SaslSession(services, 'test')
    expect((await early.authenticate(plain('alice', 'alice-secret'))).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)
    const twice = new SaslSession(services, 'test')
    twice.handshake('PLAIN', 1)
    expect(twice.handshake('PLAIN', 1).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)
  })

  it('gives a session lifetime, capped by the token, and lets the same principal re-authenticate but not another', async () => {
    const session = new SaslSession({ ...services, sessionLifetimeMs: 60_000 }, 'test')
    session.handshake('PLAIN', 1)
    const first = await session.authenticate(plain('alice', 'alice-secret'))
    expect(first.sessionLifetimeMs).toBe(60_000)
    expect(session.expired(Date.now())).toBe(false)
    expect(session.expired(Date.now() + 60_001)).toBe(true)
    expect(session.handshake('SCRAM-SHA-512', 1).errorCode).toBe(ErrorCode.NONE)
    // Still authenticated while re-authenticating; the old session's requests keep being served.
    expect(session.authenticated).toBe(true)
    expect(session.handshake('PLAIN', 1).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)

    const reauth = new SaslSession({ ...services, sessionLifetimeMs: 60_000 }, 'test')
    reauth.handshake('PLAIN', 1)
    await reauth.authenticate(plain('alice', 'alice-secret'))
    reauth.handshake('PLAIN', 1)
    expect((await reauth.authenticate(plain('alice', 'alice-secret'))).errorCode).toBe(ErrorCode.NONE)
    reauth.handshake('PLAIN', 1)
    expect((await reauth.authenticate(plain('bob', 'bob-secret'))).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    expect(reauth.authenticated).toBe(false)

    const token = new SaslSession({ ...services, sessionLifetimeMs: 3_600_000 }, 'test')
    token.handshake('OAUTHBEARER', 1)
    const result = await token.authenticate(bearer(signToken(key, claims({ exp: Math.floor(Date.now() / 1000) + 120 }))))
    expect(result.sessionLifetimeMs).toBeGreaterThan(100_000)
    expect(result.sessionLifetimeMs).toBeLessThanOrEqual(120_000)
  })

  it('never authenticates from arbitrary bytes, whatever the mechanism and however many steps', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'),
      fc.array(fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
        // Near misses: well-formed shapes with made-up values.
        fc.string().map((text) => Buffer.from(`\u0000alice\u0000${text}`)),
        fc.string().map((text) => Buffer.from(`n,,n=alice,r=${text}`)),
        fc.string().map((text) => Buffer.from(`c=biws,r=${text},p=${Buffer.from(text).toString('base64')}`)),
        fc.string().map((text) => Buffer.from(`n,,\x01auth=Bearer ${text}\x01\x01`)),
      ), { minLength: 1, maxLength: 3 }),
      async (mechanism, tokens) => {
        const session = new SaslSession(services, 'fuzz')
        session.handshake(mechanism, 1)
        for (const token of tokens) {
          const result = await session.authenticate(token)
          if (result.errorCode !== ErrorCode.NONE) break
        }
        expect(session.authenticated).toBe(false)
        expect(session.principal).toBe(null)
      },
    ), { numRuns: 300, seed: 19 })
  })
})
