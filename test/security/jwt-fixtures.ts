// JWTs signed by the tests' own keys (RS256, ES256), and the JWKS that publishes them.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'

export interface SigningKey {
  kid: string
  alg: 'RS256' | 'ES256'
  privateKey: KeyObject
  jwk: Record<string, unknown>
}

export function signingKey(alg: 'RS256' | 'ES256', kid: string): SigningKey {
  const { privateKey, publicKey } = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

export function jwks(...keys: SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((key) => key.jwk) })
}

/** A compact JWS of `claims`; `header` overrides the header fields (alg, kid). */
export function signToken(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const head = Buffer.from(JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header })).toString('base64url')
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url')
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey)
  return `${head}.${body}.${signature.toString('base64url')}`
}

/** Claims valid for an hour from now. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { sub: 'alice', iss: 'https://idp.example', aud: 'zombi', iat: now, exp: now + 3600, ...overrides }
}
