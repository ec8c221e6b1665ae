import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ZombiError } from '../../src/errors.ts'
import { JwtValidator } from '../../src/security/jwt.ts'
import { claims, jwks, signingKey, signToken } from './jwt-fixtures.ts'

const dir = mkdtempSync(join(tmpdir(), 'zombi-jwks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const rsa = signingKey('RS256', 'rsa-1')
const ec = signingKey('ES256', 'ec-1')
const stranger = signingKey('RS256', 'rsa-1')

async function validator(keysJson: string, overrides: Partial<ConstructorParameters<typeof JwtValidator>[0]> = {}): Promise<JwtValidator> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, keysJson)
  const validatorInstance = new JwtValidator({ jwksFile: file, jwksUrl: null, issuer: 'https://idp.example', audience: 'zombi', clockSkewMs: 30_000, ...overrides })
  await validatorInstance.load()
  return validatorInstance
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ZombiError)
    expect((error as ZombiError).code).toBe('SASL_AUTHENTICATION_FAILED')
    return (error as Error).message
  }
  return 'accepted'
}

describe('JWT validation', () => {
  it('accepts RS256 and ES256 tokens signed by a key of the JWKS, with sub as the subject', async () => {
    const jwt = await validator(jwks(rsa, ec))
    const exp = Math.floor(Date.now() / 1000) + 600
    expect(await jwt.validate(signToken(rsa, claims({ exp })))).toEqual({ subject: 'alice', expiresAtMs: exp * 1000 })
    expect((await jwt.validate(signToken(ec, claims({ sub: 'bob', aud: ['other', 'zombi'] })))).subject).toBe('bob')
  })

  it('refuses a bad signature, another algorithm, a missing key, and tokens that are not JWS', async () => {
    const jwt = await validator(jwks(rsa, ec))
    expect(await refusal(jwt.validate(signToken(stranger, claims())))).toMatch(/signature does not verify/)
    const [head, body] = signToken(rsa, claims()).split('.')
    expect(await refusal(jwt.validate(`${head}.${body}.`))).toMatch(/signature does not verify/)
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`
    expect(await refusal(jwt.validate(none))).toMatch(/algorithm "none" is not accepted/)
    expect(await refusal(jwt.validate(signToken(rsa, claims(), { alg: 'HS256' })))).toMatch(/HS256" is not accepted/)
    expect(await refusal(jwt.validate(signToken(rsa, claims(), { kid: 'unknown' })))).toMatch(/no key with kid "unknown"/)
    // An EC key cannot verify an RS256 token, whatever kid says.
    expect(await refusal(jwt.validate(signToken(rsa, claims(), { kid: 'ec-1' })))).toMatch(/no key with kid "ec-1" for RS256/)
    for (const junk of ['', 'a.b', 'a.b.c', '....']) expect(await refusal(jwt.validate(junk))).not.toBe('accepted')
  })

  it('checks expiry, not-before, issue time, issuer, audience and subject, with the clock skew', async () => {
    const jwt = await validator(jwks(rsa))
    const now = Math.floor(Date.now() / 1000)
    expect(await refusal(jwt.validate(signToken(rsa, claims({ exp: now - 31 }))))).toMatch(/expired/)
    expect((await jwt.validate(signToken(rsa, claims({ exp: now - 10 })))).subject).toBe('alice')
    expect(await refusal(jwt.validate(signToken(rsa, claims({ nbf: now + 60 }))))).toMatch(/nbf/)
    expect((await jwt.validate(signToken(rsa, claims({ nbf: now + 10 })))).subject).toBe('alice')
    expect(await refusal(jwt.validate(signToken(rsa, claims({ iat: now + 600 }))))).toMatch(/iat/)
    expect(await refusal(jwt.validate(signToken(rsa, claims({ exp: undefined }))))).toMatch(/no exp/)
    expect(await refusal(jwt.validate(signToken(rsa, claims({ iss: 'https://evil.example' }))))).toMatch(/wrong issuer/)
    expect(await refusal(jwt.validate(signToken(rsa, claims({ aud: 'other' }))))).toMatch(/wrong audience/)
    expect(await refusal(jwt.validate(signToken(rsa, claims({ sub: '' }))))).toMatch(/no sub/)
    const lenient = await validator(jwks(rsa), { issuer: null, audience: null, clockSkewMs: 0 })
    expect((await lenient.validate(signToken(rsa, claims({ iss: 'anyone', aud: 'anything' })))).subject).toBe('alice')
    expect(await refusal(lenient.validate(signToken(rsa, claims({ exp: now - 1 }))))).toMatch(/expired/)
  })

  it('reads the JWKS again for an unknown key id, so a rotated key is accepted without a restart', async () => {
    const file = join(dir, 'rotating.json')
    writeFileSync(file, jwks(rsa))
    const jwt = new JwtValidator({ jwksFile: file, jwksUrl: null, issuer: null, audience: null, clockSkewMs: 0, refreshIntervalMs: 0 })
    await jwt.load()
    const rotated = signingKey('ES256', 'ec-2')
    writeFileSync(file, jwks(rsa, rotated))
    expect((await jwt.validate(signToken(rotated, claims()))).subject).toBe('alice')
  })

  it('fetches the JWKS from a URL', async () => {
    const { createServer } = await import('node:http')
    const server = createServer((_request, response) => response.end(jwks(ec)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    const jwt = new JwtValidator({ jwksFile: null, jwksUrl: `http://127.0.0.1:${port}/jwks`, issuer: null, audience: null, clockSkewMs: 0 })
    await jwt.load()
    expect((await jwt.validate(signToken(ec, claims()))).subject).toBe('alice')
    server.close()
  })

  it('refuses at start a JWKS that cannot be read or holds no usable key', async () => {
    await expect(validator('{"keys":[]}')).rejects.toThrow(/has no RSA or EC public key/)
    await expect(validator('not json')).rejects.toThrow(/is not JSON/)
    await expect(new JwtValidator({ jwksFile: join(dir, 'missing.json'), jwksUrl: null, issuer: null, audience: null, clockSkewMs: 0 }).load()).rejects.toThrow(/cannot read the JWKS/)
  })
})
