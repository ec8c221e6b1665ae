// The SASL state of one Kafka connection: SaslHandshake picks a mechanism, SaslAuthenticate (or raw
// tokens after a v0 handshake) carries its exchange, and a success names the principal and, with a
// session lifetime (KIP-368), when it must re-authenticate. Failures are answered after a delay and
// end the connection; they are logged with the user name, never a password or token.
import { setTimeout as delay } from 'node:timers/promises'
import { ZombiError } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import type { CredentialStore } from './credentials.ts'
import type { JwtValidator } from './jwt.ts'
import { SCRAM_MECHANISMS, ScramExchange, type ScramMechanism } from './scram.ts'

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

/** What every SASL connection of the broker shares. */
export interface SaslServices {
  /** Enabled mechanisms, in the order the handshake lists them. */
  mechanisms: readonly SaslMechanism[]
  credentials: CredentialStore
  /** Required when OAUTHBEARER is enabled. */
  jwt: JwtValidator | null
  /** connections.max.reauth.ms: 0 means sessions do not expire. */
  sessionLifetimeMs: number
  /** connection.failed.authentication.delay.ms: how long a failed login waits for its answer. */
  failedAuthenticationDelayMs: number
  logger: Logger
}

export interface HandshakeResult {
  errorCode: ErrorCode
  mechanisms: string[]
}

export interface AuthenticateResult {
  errorCode: ErrorCode
  errorMessage: string | null
  authBytes: Buffer
  sessionLifetimeMs: number
}

type State = 'initial' | 'handshaken' | 'authenticating' | 'authenticated' | 'failed'

const EMPTY = Buffer.alloc(0)

function failed(why: string): ZombiError {
  return new ZombiError('SASL_AUTHENTICATION_FAILED', why)
}

export class SaslSession {
  readonly #services: SaslServices
  readonly #remote: string
  #state: State = 'initial'
  #mechanism: SaslMechanism | null = null
  #scram: ScramExchange | null = null
  #principal: string | null = null
  /** Set by a v0 handshake: the exchange continues as raw size-prefixed tokens, not SaslAuthenticate requests. */
  #rawTokens = false
  #expiresAt = 0
  /** The user name of the exchange under way, for the log line of a failure. */
  #user: string | null = null

  constructor(services: SaslServices, remote: string) {
    this.#services = services
    this.#remote = remote
  }

  /** Whether requests other than ApiVersions and SASL may be served. */
  get authenticated(): boolean {
    return this.#principal !== null && this.#state !== 'failed'
  }

  get principal(): string | null {
    return this.#principal
  }

  get rawTokens(): boolean {
    return this.#rawTokens && (this.#state === 'handshaken' || this.#state === 'authenticating')
  }

  /** The connection is closed once this answer has gone out. */
  get closing(): boolean {
    return this.#state === 'failed'
  }

  /** Whether the session has outlived its lifetime without re-authenticating (the connection must close). */
  expired(now: number): boolean {
    return this.#expiresAt > 0 && now >= this.#expiresAt
  }

  handshake(mechanism: string, version: number): HandshakeResult {
    const mechanisms = [...this.#services.mechanisms]
    // A handshake starts the first authentication, or a re-authentication (KIP-368, v1 only) of an authenticated connection.
    if (this.#state !== 'initial' && !(this.#state === 'authenticated' && version >= 1)) {
      this.#state = 'failed'
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }
    }
    if (!(mechanisms as string[]).includes(mechanism)) {
      this.#services.logger.info({ remote: this.#remote, mechanism }, 'SASL handshake with a mechanism not enabled; closing connection')
      this.#state = 'failed'
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }
    }
    this.#mechanism = mechanism as SaslMechanism
    this.#state = 'handshaken'
    this.#rawTokens = version === 0
    this.#scram = null
    this.#user = null
    return { errorCode: ErrorCode.NONE, mechanisms }
  }

  /** One SaslAuthenticate (or raw token): the next step of the exchange. */
  async authenticate(token: Buffer): Promise<AuthenticateResult> {
    if (this.#state !== 'handshaken' && this.#state !== 'authenticating') {
      this.#state = 'failed'
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate without a SaslHandshake', authBytes: EMPTY, sessionLifetimeMs: 0 }
    }
    this.#state = 'authenticating'
    const mechanism = this.#mechanism!
    try {
      const step = await this.#step(mechanism, token)
      if (step.principal === null) return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.reply, sessionLifetimeMs: 0 }
      return this.#succeeded(step.principal, step.credentialExpiresAt, step.reply)
    } catch (error) {
      if (!(error instanceof ZombiError) || error.code !== 'SASL_AUTHENTICATION_FAILED') throw error
      return this.#failed(mechanism, error.message)
    }
  }

  async #step(mechanism: SaslMechanism, token: Buffer): Promise<{ reply: Buffer; principal: string | null; credentialExpiresAt: number }> {
    switch (mechanism) {
      case 'PLAIN': {
        const { user, password } = parsePlain(token)
        this.#user = user
        if (!await this.#services.credentials.verifyPassword(user, password)) throw failed('Invalid username or password')
        return { reply: EMPTY, principal: `User:${user}`, credentialExpiresAt: 0 }
      }
      case 'OAUTHBEARER': {
        const { bearer, authorizationId } = parseOauthBearer(token)
        const valid = await this.#services.jwt!.validate(bearer)
        this.#user = valid.subject
        if (authorizationId !== '' && authorizationId !== valid.subject) throw failed('OAUTHBEARER authorization id differs from the token\'s subject')
        return { reply: EMPTY, principal: `User:${valid.subject}`, credentialExpiresAt: valid.expiresAtMs }
      }
      default: {
        const scramMechanism = mechanism as ScramMechanism
        if (this.#scram === null) {
          this.#scram = new ScramExchange(scramMechanism)
          const reply = await this.#scram.first(token, async (user) => this.#services.credentials.get(scramMechanism, user))
          this.#user = this.#scram.user
          return { reply, principal: null, credentialExpiresAt: 0 }
        }
        const reply = this.#scram.final(token)
        return { reply, principal: `User:${this.#scram.user}`, credentialExpiresAt: 0 }
      }
    }
  }

  #succeeded(principal: string, credentialExpiresAt: number, reply: Buffer): AuthenticateResult | Promise<AuthenticateResult> {
    const now = Date.now()
    if (this.#principal !== null && this.#principal !== principal) {
      // Kafka refuses a re-authentication as someone else: the connection's identity never changes.
      return this.#failed(this.#mechanism!, `re-authentication as ${principal} on a connection of ${this.#principal}`)
    }
    const { sessionLifetimeMs } = this.#services
    let lifetime = 0
    if (sessionLifetimeMs > 0) lifetime = credentialExpiresAt > 0 ? Math.max(0, Math.min(sessionLifetimeMs, credentialExpiresAt - now)) : sessionLifetimeMs
    this.#expiresAt = lifetime > 0 ? now + lifetime : 0
    this.#principal = principal
    this.#state = 'authenticated'
    this.#scram = null
    this.#services.logger.debug({ remote: this.#remote, principal, mechanism: this.#mechanism, sessionLifetimeMs: lifetime }, 'SASL authentication succeeded')
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: reply, sessionLifetimeMs: lifetime }
  }

  async #failed(mechanism: SaslMechanism, why: string): Promise<AuthenticateResult> {
    this.#state = 'failed'
    this.#services.logger.warn({ remote: this.#remote, mechanism, user: this.#user, reason: why }, 'SASL authentication failed; closing connection')
    // Slows down password guessing on one connection; clients reconnect, each attempt pays it again.
    await delay(this.#services.failedAuthenticationDelayMs)
    const message = mechanism === 'OAUTHBEARER'
      ? `Authentication failed: ${why}`
      : `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`
    return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: message, authBytes: EMPTY, sessionLifetimeMs: 0 }
  }
}

/** RFC 4616: [authzid] NUL authcid NUL passwd; Kafka accepts an authzid only when it is the user itself. */
export function parsePlain(token: Buffer): { user: string; password: string } {
  const text = token.toString('utf8')
  const parts = text.split('\u0000')
  if (parts.length !== 3) throw failed('malformed PLAIN message')
  const [authorizationId, user, password] = parts as [string, string, string]
  if (user === '' || password === '') throw failed('PLAIN message without user name or password')
  if (authorizationId !== '' && authorizationId !== user) throw failed('PLAIN authorization id differs from the user name')
  return { user, password }
}

/**
 * RFC 7628 client-first message: gs2 header, then key=value pairs separated by \x01, ending with
 * \x01\x01; the token is in auth=Bearer <token>.
 */
export function parseOauthBearer(token: Buffer): { bearer: string; authorizationId: string } {
  const SEPARATOR = '\u0001'
  const text = token.toString('utf8')
  const headerEnd = text.indexOf(SEPARATOR)
  const header = headerEnd < 0 ? null : /^n,(a=[^,]*)?,$/.exec(text.slice(0, headerEnd))
  if (header === null || !text.endsWith(SEPARATOR + SEPARATOR) || text.length < headerEnd + 2) throw failed('malformed OAUTHBEARER message')
  let bearer: string | null = null
  for (const pair of text.slice(headerEnd + 1, -2).split(SEPARATOR)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw failed('malformed OAUTHBEARER message')
    if (pair.slice(0, eq) === 'auth') {
      const value = /^Bearer +(\S+)$/i.exec(pair.slice(eq + 1))
      if (value === null) throw failed('malformed OAUTHBEARER auth value')
      bearer = value[1]!
    }
  }
  if (bearer === null) throw failed('OAUTHBEARER message without auth=Bearer')
  return { bearer, authorizationId: header[1] === undefined ? '' : header[1].slice(2) }
}

export function isScram(mechanism: string): mechanism is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(mechanism)
}
