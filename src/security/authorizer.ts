// Who may do what: the broker's ACLs (kept durably in the hot store's state rows, held in memory by
// resource type) and Kafka's decision rule. Super users may do everything; otherwise a matching DENY
// wins, then a matching ALLOW (implied operations included) allows; a resource no ACL names at all
// is allowed only with allow.everyone.if.no.acl.found. Decisions are cached until the ACLs change.
import { createHash } from 'node:crypto'
import type { HotStore } from '../storage/hot-store.ts'
import {
  AclOperation, allowingOperations, appliesTo, filterMatches, invalidBinding, PatternType, Permission, patternCovers, WILDCARD,
  type AclBinding, type AclFilter, type Resource,
} from './acl.ts'

const PREFIX = 'security/acl/'
/** Decisions remembered at most; past it the cache starts over (bounded memory whatever clients name). */
const MAX_CACHED_DECISIONS = 100_000

export interface AuthorizerSettings {
  /** Principals allowed everything (ZOMBI_SUPER_USERS). */
  superUsers: readonly string[]
  /** Kafka's allow.everyone.if.no.acl.found. */
  allowIfNoAcl: boolean
}

function keyOf(binding: AclBinding): string {
  const id = JSON.stringify([binding.resourceType, binding.resourceName, binding.patternType, binding.principal, binding.host, binding.operation, binding.permission])
  return `${PREFIX}${createHash('sha256').update(id).digest('hex')}`
}

function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return a.resourceType === b.resourceType && a.resourceName === b.resourceName && a.patternType === b.patternType && a.principal === b.principal &&
    a.host === b.host && a.operation === b.operation && a.permission === b.permission
}

export class Authorizer {
  readonly #store: HotStore
  readonly #superUsers: ReadonlySet<string>
  readonly #allowIfNoAcl: boolean
  /** Bindings by resource type. */
  readonly #bindings = new Map<number, AclBinding[]>()
  readonly #decisions = new Map<string, boolean>()
  #count = 0

  constructor(store: HotStore, settings: AuthorizerSettings) {
    this.#store = store
    this.#superUsers = new Set(settings.superUsers)
    this.#allowIfNoAcl = settings.allowIfNoAcl
  }

  async load(): Promise<void> {
    for (const { value } of await this.#store.scanState(PREFIX)) this.#add(JSON.parse(value.toString('utf8')) as AclBinding)
  }

  get aclCount(): number {
    return this.#count
  }

  /** Whether `principal` connected from `host` may do `operation` on the resource. */
  authorize(principal: string, host: string, operation: number, resourceType: Resource, name: string): boolean {
    if (this.#superUsers.has(principal)) return true
    if (this.#count === 0) return this.#allowIfNoAcl
    const key = `${principal}\u0000${host}\u0000${operation}\u0000${resourceType}\u0000${name}`
    const cached = this.#decisions.get(key)
    if (cached !== undefined) return cached
    const decision = this.#decide(principal, host, operation, resourceType, name)
    if (this.#decisions.size >= MAX_CACHED_DECISIONS) this.#decisions.clear()
    this.#decisions.set(key, decision)
    return decision
  }

  /**
   * Whether `principal` may do `operation` on some resource of the type (Kafka's authorizeByResourceType,
   * e.g. WRITE on any topic lets a producer be idempotent): an ALLOW that applies, not cancelled by a DENY
   * on every name of the type; with no ACL on the type at all, allow.everyone.if.no.acl.found decides.
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: Resource): boolean {
    if (this.#superUsers.has(principal)) return true
    const bindings = this.#bindings.get(resourceType) ?? []
    if (bindings.length === 0) return this.#allowIfNoAcl
    const applying = bindings.filter((binding) => appliesTo(binding, principal, host))
    const deniedEverywhere = applying.some((binding) => binding.permission === Permission.DENY && (binding.operation === operation || binding.operation === AclOperation.ALL) &&
      (binding.patternType === PatternType.LITERAL ? binding.resourceName === WILDCARD : binding.resourceName === ''))
    if (deniedEverywhere) return false
    const allowing = allowingOperations(operation)
    return applying.some((binding) => binding.permission === Permission.ALLOW && allowing.includes(binding.operation))
  }

  #decide(principal: string, host: string, operation: number, resourceType: Resource, name: string): boolean {
    let anyAcl = false
    let allowed = false
    const allowing = allowingOperations(operation)
    for (const binding of this.#bindings.get(resourceType) ?? []) {
      if (!patternCovers(binding, name)) continue
      anyAcl = true
      if (!appliesTo(binding, principal, host)) continue
      if (binding.permission === Permission.DENY) {
        // A deny names the operation itself (or ALL): denying READ does not deny the DESCRIBE it implies.
        if (binding.operation === operation || binding.operation === AclOperation.ALL) return false
      } else if (allowing.includes(binding.operation)) {
        allowed = true
      }
    }
    return allowed || (!anyAcl && this.#allowIfNoAcl)
  }

  /** CreateAcls: one outcome per binding (null: created or already there; else why it was refused). */
  async create(bindings: readonly AclBinding[]): Promise<Array<string | null>> {
    const outcomes = bindings.map((binding) => invalidBinding(binding))
    const fresh: AclBinding[] = []
    bindings.forEach((binding, i) => {
      if (outcomes[i] !== null) return
      if (!this.#has(binding) && !fresh.some((other) => sameBinding(other, binding))) fresh.push({ ...binding })
    })
    if (fresh.length > 0) {
      await this.#store.writeState(fresh.map((binding) => ({ key: keyOf(binding), value: Buffer.from(JSON.stringify(binding)) })))
      for (const binding of fresh) this.#add(binding)
    }
    return outcomes
  }

  describe(filter: AclFilter): AclBinding[] {
    const out: AclBinding[] = []
    for (const bindings of this.#bindings.values()) for (const binding of bindings) if (filterMatches(filter, binding)) out.push(binding)
    return out
  }

  /** DeleteAcls: the bindings each filter removed. */
  async delete(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    const matched = filters.map((filter) => this.describe(filter))
    const doomed = [...new Set(matched.flat())]
    if (doomed.length > 0) {
      await this.#store.writeState(doomed.map((binding) => ({ key: keyOf(binding), value: null })))
      for (const [type, bindings] of this.#bindings) this.#bindings.set(type, bindings.filter((binding) => !doomed.includes(binding)))
      this.#count -= doomed.length
      this.#decisions.clear()
    }
    return matched
  }

  #has(binding: AclBinding): boolean {
    return (this.#bindings.get(binding.resourceType) ?? []).some((other) => sameBinding(other, binding))
  }

  #add(binding: AclBinding): void {
    const list = this.#bindings.get(binding.resourceType) ?? []
    list.push(binding)
    this.#bindings.set(binding.resourceType, list)
    this.#count++
    this.#decisions.clear()
  }
}
