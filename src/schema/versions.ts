// The registry's version rows in memory: per subject, versions in ascending order, with soft-deleted
// ones flagged; and per global id, the versions that hold it.
import { HttpProblem } from '../errors.ts'
import type { VersionRow } from './registry-store.ts'

/** `latest`, -1 (latest) or 1..2^31-1; anything else is 42202. */
export function parseVersion(spec: string | number): number | 'latest' {
  if (spec === 'latest' || spec === -1 || spec === '-1') return 'latest'
  const version = typeof spec === 'number' ? spec : /^\d{1,10}$/.test(spec) ? Number(spec) : NaN
  if (!Number.isInteger(version) || version < 1 || version > 2_147_483_647) {
    throw new HttpProblem('REGISTRY_INVALID_VERSION', `The specified version '${spec}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`)
  }
  return version
}

export class VersionIndex {
  readonly #bySubject = new Map<string, Map<number, VersionRow>>()
  readonly #byId = new Map<number, Set<VersionRow>>()
  #size = 0

  /** Number of version rows, soft-deleted ones included. */
  get size(): number {
    return this.#size
  }

  put(row: VersionRow): void {
    let versions = this.#bySubject.get(row.subject)
    if (versions === undefined) this.#bySubject.set(row.subject, versions = new Map())
    const previous = versions.get(row.version)
    if (previous !== undefined) this.#byId.get(previous.id)?.delete(previous)
    else this.#size++
    versions.set(row.version, row)
    let uses = this.#byId.get(row.id)
    if (uses === undefined) this.#byId.set(row.id, uses = new Set())
    uses.add(row)
  }

  remove(subject: string, version: number): void {
    const versions = this.#bySubject.get(subject)
    const row = versions?.get(version)
    if (versions === undefined || row === undefined) return
    versions.delete(version)
    this.#size--
    if (versions.size === 0) this.#bySubject.delete(subject)
    const uses = this.#byId.get(row.id)
    uses?.delete(row)
    if (uses?.size === 0) this.#byId.delete(row.id)
  }

  get(subject: string, version: number): VersionRow | undefined {
    return this.#bySubject.get(subject)?.get(version)
  }

  /** Version numbers ascending; soft-deleted ones only with includeDeleted. */
  versions(subject: string, includeDeleted: boolean): number[] {
    const versions = this.#bySubject.get(subject)
    if (versions === undefined) return []
    return [...versions.values()].filter((row) => includeDeleted || !row.deleted).map((row) => row.version).sort((a, b) => a - b)
  }

  latest(subject: string, includeDeleted: boolean): VersionRow | undefined {
    const versions = this.versions(subject, includeDeleted)
    return versions.length === 0 ? undefined : this.get(subject, versions[versions.length - 1]!)
  }

  /** The next version number of a subject: one past the highest held, soft-deleted ones included. */
  nextVersion(subject: string): number {
    const versions = this.versions(subject, true)
    return versions.length === 0 ? 1 : versions[versions.length - 1]! + 1
  }

  /** The newest version of the subject holding a global id. */
  findId(subject: string, id: number, includeDeleted: boolean): VersionRow | undefined {
    let found: VersionRow | undefined
    for (const row of this.#byId.get(id) ?? []) {
      if (row.subject === subject && (includeDeleted || !row.deleted) && (found === undefined || row.version > found.version)) found = row
    }
    return found
  }

  /** Subjects sorted by name; those with only soft-deleted versions only with includeDeleted. */
  subjects(includeDeleted: boolean): string[] {
    return [...this.#bySubject.entries()].filter(([, versions]) => includeDeleted || [...versions.values()].some((row) => !row.deleted)).map(([subject]) => subject).sort()
  }

  /** The versions holding a global id, by subject then version. */
  usesOf(id: number, includeDeleted: boolean): VersionRow[] {
    return [...this.#byId.get(id) ?? []].filter((row) => includeDeleted || !row.deleted).sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.version - b.version))
  }
}
