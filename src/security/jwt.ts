// Validation of JWT bearer tokens (OAUTHBEARER on the Kafka door, Authorization: Bearer on the HTTP
// door): RS256 or ES256 signatures against keys of a JWKS (file or URL), issuer, audience, expiry and
// not-before with a clock skew. The principal is User:<sub>, as Kafka's default OAUTHBEARER validator.
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { ZombiError } from '../errors.ts'

export interface JwtSettings {
  jwksFile: string | null
  jwksUrl: string | null
  /** Required `iss`, or null to accept any. */
  issuer: string | null
  /** Required among `aud`, or null to accept any. */
  audience: string | null
  clockSkewMs: number
  /** Least time between two JWKS reads for unknown key ids (default 10 s). */
  refreshIntervalMs?: number
}

export interface ValidToken {
  /** The `sub` claim. */
  subject: string
  /** `exp` in milliseconds. */
  expiresAtMs: number
}

/** Unknown key ids send the validator back to the JWKS at most this often (rotation without a restart, no fetch storm). */
const REFRESH_INTERVAL_MS = 10_000
const FETCH_TIMEOUT_MS = 10_000

const ALGORITHMS: Readonly<Record<string, { hash: string; kty: string; dsaEncoding?: 'ieee-p1363' }>> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  // JWS carries ECDSA signatures as r || s (RFC 7518 3.4), not DER.
  ES256: { hash: 'sha256', kty: 'EC', dsaEncoding: 'ieee-p1363' },
}

function invalid(why: string): ZombiError {
  return new ZombiError('SASL_AUTHENTICATION_FAILED', `invalid token: ${why}`)
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw invalid(`the ${what} is not base64url JSON`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(`the ${what} is not a JSON object`)
  return parsed as Record<string, unknown>
}

interface Key {
  kid: string | null
  kty: string
  alg: string | null
  key: KeyObject
}

export class JwtValidator {
  readonly #settings: JwtSettings
  #keys: Key[] = []
  #loadedAt = 0
  #loading: Promise<void> | null = null

  constructor(settings: JwtSettings) {
    if ((settings.jwksFile === null) === (settings.jwksUrl === null)) throw new ZombiError('CONFIG_INVALID', 'a JWT validator needs exactly one JWKS source: a file or a URL')
    this.#settings = settings
  }

  /** Loads the keys once (at start, so a wrong file or URL is found then, not at the first login). */
  async load(): Promise<void> {
    await this.#refresh(true)
    if (this.#keys.length === 0) throw new ZombiError('CONFIG_INVALID', `the JWKS ${this.#settings.jwksFile ?? this.#settings.jwksUrl} has no RSA or EC public key`)
  }

  async validate(token: string, now: number = Date.now()): Promise<ValidToken> {
    const parts = token.split('.')
    if (parts.length !== 3) throw invalid('not a signed JWT (header.payload.signature)')
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
    const header = decodeJson(headerPart, 'header')
    const algorithm = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined
    if (algorithm === undefined) throw invalid(`algorithm ${JSON.stringify(header.alg)} is not accepted (RS256, ES256)`)
    const kid = typeof header.kid === 'string' ? header.kid : null
    let candidates = this.#candidates(kid, header.alg as string, algorithm.kty)
    if (candidates.length === 0) {
      await this.#refresh(false)
      candidates = this.#candidates(kid, header.alg as string, algorithm.kty)
    }
    if (candidates.length === 0) throw invalid(`no key${kid === null ? '' : ` with kid ${JSON.stringify(kid)}`} for ${String(header.alg)} in the JWKS`)
    const signed = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii')
    const signature = Buffer.from(signaturePart, 'base64url')
    const verified = candidates.some(({ key }) => {
      try {
        return verify(algorithm.hash, signed, algorithm.dsaEncoding === undefined ? key : { key, dsaEncoding: algorithm.dsaEncoding }, signature)
      } catch {
        return false
      }
    })
    if (!verified) throw invalid('the signature does not verify')
    return this.#checkClaims(decodeJson(payloadPart, 'payload'), now)
  }

  #checkClaims(claims: Record<string, unknown>, now: number): ValidToken {
    const { issuer, audience, clockSkewMs } = this.#settings
    if (typeof claims.exp !== 'number') throw invalid('no exp claim')
    const expiresAtMs = claims.exp * 1000
    if (now - clockSkewMs >= expiresAtMs) throw invalid('expired')
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now + clockSkewMs < claims.nbf * 1000)) throw invalid('not valid yet (nbf)')
    if (claims.iat !== undefined && (typeof claims.iat !== 'number' || now + clockSkewMs < claims.iat * 1000)) throw invalid('issued in the future (iat)')
    if (issuer !== null && claims.iss !== issuer) throw invalid('wrong issuer')
    if (audience !== null) {
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      if (!audiences.includes(audience)) throw invalid('wrong audience')
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') throw invalid('no sub claim')
    return { subject: claims.sub, expiresAtMs }
  }

  #candidates(kid: string | null, alg: string, kty: string): Key[] {
    return this.#keys.filter((key) => key.kty === kty && (key.alg === null || key.alg === alg) && (kid === null || key.kid === kid))
  }

  async #refresh(force: boolean): Promise<void> {
    if (!force && Date.now() - this.#loadedAt < (this.#settings.refreshIntervalMs ?? REFRESH_INTERVAL_MS)) return
    this.#loading ??= this.#fetchKeys().finally(() => {
      this.#loading = null
    })
    await this.#loading
  }

  async #fetchKeys(): Promise<void> {
    const source = this.#settings.jwksFile ?? this.#settings.jwksUrl!
    let text: string | null = null
    let problem = ''
    try {
      if (this.#settings.jwksFile !== null) {
        text = await readFile(this.#settings.jwksFile, 'utf8')
      } else {
        const response = await fetch(source, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
        if (response.ok) text = await response.text()
        else problem = `HTTP ${response.status}`
      }
    } catch (error) {
      problem = (error as Error).message
    }
    if (text === null) {
      this.#loadedAt = Date.now()
      // Keys already loaded keep serving while the provider is unreachable.
      if (this.#keys.length > 0) return
      throw new ZombiError('CONFIG_INVALID', `cannot read the JWKS ${source}: ${problem}`)
    }
    let document: { keys?: unknown }
    try {
      document = JSON.parse(text) as { keys?: unknown }
    } catch {
      throw new ZombiError('CONFIG_INVALID', `the JWKS ${source} is not JSON`)
    }
    if (!Array.isArray(document.keys)) throw new ZombiError('CONFIG_INVALID', `the JWKS ${source} has no "keys" array`)
    const keys: Key[] = []
    for (const jwk of document.keys as Array<JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown }>) {
      if ((jwk.kty !== 'RSA' && jwk.kty !== 'EC') || (jwk.use !== undefined && jwk.use !== 'sig')) continue
      try {
        keys.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : null, kty: jwk.kty, alg: typeof jwk.alg === 'string' ? jwk.alg : null, key: createPublicKey({ key: jwk, format: 'jwk' }) })
      } catch {
        // A key Node cannot import (an unsupported curve) is not one we could verify with anyway.
      }
    }
    this.#keys = keys
    this.#loadedAt = Date.now()
  }
}
