// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on the server side: credentials as Kafka
// stores them (salt, StoredKey, ServerKey, iterations; never the password), and the exchange of
// one authentication (client-first -> server-first, client-final -> server-final).
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { ZombiError } from '../errors.ts'

const pbkdf2Async = promisify(pbkdf2)

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number]

/** Kafka's bounds on iterations (ScramMechanism's minIterations, and its maximum for AlterUserScramCredentials). */
export const MIN_ITERATIONS = 4096
export const MAX_ITERATIONS = 16384

/** The mechanism numbers of DescribeUserScramCredentials/AlterUserScramCredentials. */
export const MECHANISM_TYPES: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 }

export function mechanismOfType(type: number): ScramMechanism | null {
  return type === 1 ? 'SCRAM-SHA-256' : type === 2 ? 'SCRAM-SHA-512' : null
}

const HASHES: Readonly<Record<ScramMechanism, { hash: string; length: number }>> = {
  'SCRAM-SHA-256': { hash: 'sha256', length: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', length: 64 },
}

export interface ScramCredential {
  salt: Buffer
  storedKey: Buffer
  serverKey: Buffer
  iterations: number
}

const hmac = (mechanism: ScramMechanism, key: Buffer, data: string | Buffer): Buffer => createHmac(HASHES[mechanism].hash, key).update(data).digest()
const hash = (mechanism: ScramMechanism, data: Buffer): Buffer => createHash(HASHES[mechanism].hash).update(data).digest()

/** The stored form of a SaltedPassword (what AlterUserScramCredentials sends: clients salt and hash themselves). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salt: Buffer, saltedPassword: Buffer, iterations: number): ScramCredential {
  return {
    salt, iterations,
    storedKey: hash(mechanism, hmac(mechanism, saltedPassword, 'Client Key')),
    serverKey: hmac(mechanism, saltedPassword, 'Server Key'),
  }
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC; off the event loop. */
export function saltPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, HASHES[mechanism].length, HASHES[mechanism].hash)
}

export async function makeCredential(mechanism: ScramMechanism, password: string, iterations: number, salt: Buffer = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSaltedPassword(mechanism, salt, await saltPassword(mechanism, password, salt, iterations), iterations)
}

/** Whether `password` is the one of `credential` (PLAIN and HTTP basic auth check passwords this way). */
export async function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const candidate = credentialFromSaltedPassword(mechanism, credential.salt, await saltPassword(mechanism, password, credential.salt, credential.iterations), credential.iterations)
  return timingSafeEqual(candidate.storedKey, credential.storedKey)
}

export function encodeCredential(credential: ScramCredential): Buffer {
  return Buffer.from(JSON.stringify({
    salt: credential.salt.toString('base64'), storedKey: credential.storedKey.toString('base64'),
    serverKey: credential.serverKey.toString('base64'), iterations: credential.iterations,
  }))
}

export function decodeCredential(bytes: Buffer): ScramCredential {
  const raw = JSON.parse(bytes.toString('utf8')) as { salt: string; storedKey: string; serverKey: string; iterations: number }
  return { salt: Buffer.from(raw.salt, 'base64'), storedKey: Buffer.from(raw.storedKey, 'base64'), serverKey: Buffer.from(raw.serverKey, 'base64'), iterations: raw.iterations }
}

function failed(why: string): ZombiError {
  return new ZombiError('SASL_AUTHENTICATION_FAILED', why)
}

/** saslname of RFC 5802: "=2C" is a comma, "=3D" an equals sign; any other "=" is malformed. */
function unescapeName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw failed('malformed SCRAM user name')
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=')
}

/** The comma-separated attributes of a SCRAM message, in order; values keep any "=" they contain. */
function attributes(message: string): Array<[string, string]> {
  return message.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=') throw failed('malformed SCRAM message')
    return [part[0]!, part.slice(2)]
  })
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/

/** One SCRAM authentication, server side. */
export class ScramExchange {
  readonly mechanism: ScramMechanism
  #state: 'first' | 'final' | 'done' = 'first'
  #user = ''
  #nonce = ''
  #clientFirstBare = ''
  #gs2Header = ''
  #serverFirst = ''
  #credential: ScramCredential | null = null
  /** A credential that fails every proof, used for unknown users so that they look like a wrong password. */
  #decoy: ScramCredential
  readonly #serverNonce: () => string

  constructor(mechanism: ScramMechanism, options: { serverNonce?: () => string } = {}) {
    this.mechanism = mechanism
    this.#serverNonce = options.serverNonce ?? (() => randomBytes(24).toString('base64url'))
    const { length } = HASHES[mechanism]
    this.#decoy = { salt: randomBytes(32), storedKey: randomBytes(length), serverKey: randomBytes(length), iterations: MIN_ITERATIONS }
  }

  get user(): string {
    return this.#user
  }

  /** Takes client-first-message, returns server-first-message. `lookup` finds the user's credential (null: unknown). */
  async first(message: Buffer, lookup: (user: string) => Promise<ScramCredential | null>): Promise<Buffer> {
    if (this.#state !== 'first') throw failed('SCRAM message out of order')
    this.#state = 'final'
    const text = message.toString('utf8')
    // gs2-header: channel binding flag ("n" or "y"; "p" needs channel binding, not offered), optional authzid.
    const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text)
    if (match === null) throw failed('malformed SCRAM client-first message')
    this.#clientFirstBare = match[3]!
    this.#gs2Header = text.slice(0, text.length - this.#clientFirstBare.length)
    const [user, nonce, ...extensions] = this.#clientFirstBare.split(',')
    // Kafka's one extension (tokenauth=true) is for delegation tokens, which Zombi does not issue.
    if (extensions.length > 0) throw failed('unsupported SCRAM extension')
    const fields = attributes(`${user},${nonce}`)
    if (fields[0]?.[0] !== 'n' || fields[1]?.[0] !== 'r') throw failed('malformed SCRAM client-first message')
    this.#user = unescapeName(fields[0][1])
    const authorizationId = match[2] === undefined ? '' : unescapeName(match[2].slice(2))
    if (authorizationId !== '' && authorizationId !== this.#user) throw failed('SCRAM authorization id differs from the user name')
    const clientNonce = fields[1][1]
    if (!PRINTABLE_NONCE.test(clientNonce)) throw failed('malformed SCRAM nonce')
    if (this.#user === '') throw failed('empty SCRAM user name')
    this.#credential = await lookup(this.#user)
    const credential = this.#credential ?? this.#decoy
    this.#nonce = clientNonce + this.#serverNonce()
    this.#serverFirst = `r=${this.#nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`
    return Buffer.from(this.#serverFirst, 'utf8')
  }

  /** Takes client-final-message; returns server-final-message, or throws SASL_AUTHENTICATION_FAILED. */
  final(message: Buffer): Buffer {
    if (this.#state !== 'final') throw failed('SCRAM message out of order')
    this.#state = 'done'
    const text = message.toString('utf8')
    const proofAt = text.lastIndexOf(',p=')
    if (proofAt < 0) throw failed('malformed SCRAM client-final message')
    const withoutProof = text.slice(0, proofAt)
    const fields = attributes(withoutProof)
    if (fields[0]?.[0] !== 'c' || fields[1]?.[0] !== 'r') throw failed('malformed SCRAM client-final message')
    // librdkafka before 2.6.1 sends the client nonce twice (client nonce + the whole nonce). Kafka 3.x accepted a
    // nonce that ends with the server's; Kafka 4.x compares strictly and refuses those clients. We keep 3.x's rule so
    // Debian's kcat (librdkafka 2.0.2) logs in: the nonce still has to carry this session's fresh server nonce, and the
    // proof covers the message as sent, so nothing can be replayed.
    if (!fields[1][1].endsWith(this.#nonce)) throw failed('SCRAM nonce mismatch')
    if (fields[0][1] !== Buffer.from(this.#gs2Header, 'utf8').toString('base64')) throw failed('SCRAM channel binding mismatch')
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64')
    const credential = this.#credential ?? this.#decoy
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`
    const clientSignature = hmac(this.mechanism, credential.storedKey, authMessage)
    if (proof.length !== clientSignature.length) throw failed('invalid SCRAM proof')
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!
    if (this.#credential === null || !timingSafeEqual(hash(this.mechanism, clientKey), credential.storedKey)) throw failed('invalid SCRAM credentials')
    return Buffer.from(`v=${hmac(this.mechanism, credential.serverKey, authMessage).toString('base64')}`, 'utf8')
  }
}
