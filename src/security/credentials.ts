// The SCRAM credentials of the broker's users, kept durably in the hot store's state rows (salted
// and hashed, never a password), cached in memory; ZOMBI_SASL_USERS_FILE bootstraps the first users.
import { readFile } from 'node:fs/promises'
import { ZombiError } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import type { HotStore } from '../storage/hot-store.ts'
import { decodeCredential, encodeCredential, makeCredential, passwordMatches, SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism } from './scram.ts'

const PREFIX = 'security/scram/'

function keyOf(mechanism: ScramMechanism, user: string): string {
  return `${PREFIX}${mechanism}/${user}`
}

export class CredentialStore {
  readonly #store: HotStore
  /** mechanism -> user -> credential */
  readonly #byMechanism = new Map<ScramMechanism, Map<string, ScramCredential>>(SCRAM_MECHANISMS.map((mechanism) => [mechanism, new Map()]))

  constructor(store: HotStore) {
    this.#store = store
  }

  async load(): Promise<void> {
    for (const { key, value } of await this.#store.scanState(PREFIX)) {
      const rest = key.slice(PREFIX.length)
      const slash = rest.indexOf('/')
      const mechanism = rest.slice(0, slash) as ScramMechanism
      this.#byMechanism.get(mechanism)?.set(rest.slice(slash + 1), decodeCredential(value))
    }
  }

  get(mechanism: ScramMechanism, user: string): ScramCredential | null {
    return this.#byMechanism.get(mechanism)!.get(user) ?? null
  }

  /** Users with at least one credential, sorted, with their mechanisms. */
  users(): Map<string, Array<{ mechanism: ScramMechanism; iterations: number }>> {
    const out = new Map<string, Array<{ mechanism: ScramMechanism; iterations: number }>>()
    for (const mechanism of SCRAM_MECHANISMS) {
      for (const [user, credential] of this.#byMechanism.get(mechanism)!) {
        const list = out.get(user) ?? []
        list.push({ mechanism, iterations: credential.iterations })
        out.set(user, list)
      }
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  /** Applies upserts and deletions together (one durable write), memory after the disk. */
  async change(upserts: Array<{ mechanism: ScramMechanism; user: string; credential: ScramCredential }>, deletions: Array<{ mechanism: ScramMechanism; user: string }>): Promise<void> {
    if (upserts.length === 0 && deletions.length === 0) return
    await this.#store.writeState([
      ...deletions.map(({ mechanism, user }) => ({ key: keyOf(mechanism, user), value: null })),
      ...upserts.map(({ mechanism, user, credential }) => ({ key: keyOf(mechanism, user), value: encodeCredential(credential) })),
    ])
    for (const { mechanism, user } of deletions) this.#byMechanism.get(mechanism)!.delete(user)
    for (const { mechanism, user, credential } of upserts) this.#byMechanism.get(mechanism)!.set(user, credential)
  }

  /**
   * Checks a user's password against the first SCRAM credential it has (PLAIN and HTTP basic auth);
   * an unknown user costs the same hashing, so timing does not tell users apart.
   */
  async verifyPassword(user: string, password: string): Promise<boolean> {
    for (const mechanism of SCRAM_MECHANISMS) {
      const credential = this.get(mechanism, user)
      if (credential !== null) return passwordMatches(mechanism, credential, password)
    }
    await makeCredential('SCRAM-SHA-256', password, 4096)
    return false
  }

  /**
   * ZOMBI_SASL_USERS_FILE: `user:password` lines (blank lines and # comments skipped). A user without
   * credentials gets SCRAM-SHA-256 and SCRAM-SHA-512 ones; a user who has any keeps them (passwords are
   * changed through AlterUserScramCredentials, e.g. kafka-configs, and the file never undoes that).
   */
  async bootstrap(file: string, iterations: number, logger: Logger): Promise<{ created: string[]; kept: string[] }> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new ZombiError('CONFIG_INVALID', `cannot read ZOMBI_SASL_USERS_FILE ${file}: ${(error as Error).message}`)
    }
    const created: string[] = []
    const kept: string[] = []
    const upserts: Array<{ mechanism: ScramMechanism; user: string; credential: ScramCredential }> = []
    const seen = new Set<string>()
    for (const [index, raw] of text.split('\n').entries()) {
      const line = raw.replace(/\r$/, '')
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue
      const colon = line.indexOf(':')
      // The line number only: the line holds a password.
      if (colon <= 0 || colon === line.length - 1) throw new ZombiError('CONFIG_INVALID', `ZOMBI_SASL_USERS_FILE ${file} line ${index + 1} is not user:password`)
      const user = line.slice(0, colon)
      if (seen.has(user)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_SASL_USERS_FILE ${file} names user ${user} twice`)
      seen.add(user)
      if (SCRAM_MECHANISMS.some((mechanism) => this.get(mechanism, user) !== null)) {
        kept.push(user)
        continue
      }
      const password = line.slice(colon + 1)
      for (const mechanism of SCRAM_MECHANISMS) upserts.push({ mechanism, user, credential: await makeCredential(mechanism, password, iterations) })
      created.push(user)
    }
    await this.change(upserts, [])
    if (created.length > 0) logger.info({ users: created }, 'SASL users created from ZOMBI_SASL_USERS_FILE')
    if (kept.length > 0) logger.info({ users: kept }, 'SASL users of ZOMBI_SASL_USERS_FILE already have credentials; kept (change passwords with kafka-configs)')
    return { created, kept }
  }
}
