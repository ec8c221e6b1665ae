// Committed consumer-group offsets: in memory for reads, written through the hot store's
// group commit (same durability as produce), loaded at start. One store for the Kafka door
// and the HTTP consumer-offsets API.
import type { HotStore, StateWrite } from '../storage/hot-store.ts'

export interface CommittedOffset {
  offset: number
  leaderEpoch: number
  metadata: string | null
  commitTimestampMs: number
}

const PREFIX = 'group/'

function stateKey(groupId: string, topic: string, partition: number): string {
  // Group ids may contain '/', so the group id is length-prefixed rather than delimited.
  return `${PREFIX}${groupId.length}:${groupId}/${topic}/${partition}`
}

function parseKey(key: string): { groupId: string; topic: string; partition: number } | null {
  const rest = key.slice(PREFIX.length)
  const colon = rest.indexOf(':')
  const length = Number(rest.slice(0, colon))
  if (colon <= 0 || !Number.isInteger(length)) return null
  const groupId = rest.slice(colon + 1, colon + 1 + length)
  const tail = rest.slice(colon + 2 + length)
  const slash = tail.lastIndexOf('/')
  if (slash <= 0) return null
  return { groupId, topic: tail.slice(0, slash), partition: Number(tail.slice(slash + 1)) }
}

export class OffsetStore {
  readonly #store: HotStore
  /** group -> "topic/partition" -> committed offset */
  readonly #groups = new Map<string, Map<string, CommittedOffset>>()

  constructor(store: HotStore) {
    this.#store = store
  }

  async load(): Promise<void> {
    for (const { key, value } of await this.#store.scanState(PREFIX)) {
      const parsed = parseKey(key)
      if (parsed === null) continue
      this.#offsetsOf(parsed.groupId, true).set(`${parsed.topic}/${parsed.partition}`, JSON.parse(value.toString('utf8')) as CommittedOffset)
    }
  }

  #offsetsOf(groupId: string, create: boolean): Map<string, CommittedOffset> {
    let offsets = this.#groups.get(groupId)
    if (offsets === undefined && create) {
      offsets = new Map()
      this.#groups.set(groupId, offsets)
    }
    return offsets ?? new Map()
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groups.get(groupId)?.get(`${topic}/${partition}`)
  }

  hasOffsets(groupId: string): boolean {
    return (this.#groups.get(groupId)?.size ?? 0) > 0
  }

  groupIds(): IterableIterator<string> {
    return this.#groups.keys()
  }

  /** Every committed partition of a group: [topic, partition, offset]. */
  *all(groupId: string): Generator<[string, number, CommittedOffset]> {
    for (const [key, committed] of this.#groups.get(groupId) ?? []) {
      const slash = key.lastIndexOf('/')
      yield [key.slice(0, slash), Number(key.slice(slash + 1)), committed]
    }
  }

  /** Applies the commits in memory at once and resolves when they are durable. */
  commit(groupId: string, commits: Array<{ topic: string; partition: number; committed: CommittedOffset }>): Promise<void> {
    const offsets = this.#offsetsOf(groupId, true)
    const writes: StateWrite[] = commits.map(({ topic, partition, committed }) => {
      offsets.set(`${topic}/${partition}`, committed)
      return { key: stateKey(groupId, topic, partition), value: Buffer.from(JSON.stringify(committed)) }
    })
    return this.#store.writeState(writes)
  }

  delete(groupId: string, partitions?: Array<{ topic: string; partition: number }>): Promise<void> {
    const offsets = this.#groups.get(groupId)
    if (offsets === undefined) return Promise.resolve()
    const keys = partitions?.map((p) => `${p.topic}/${p.partition}`) ?? [...offsets.keys()]
    const writes: StateWrite[] = []
    for (const key of keys) {
      if (!offsets.delete(key)) continue
      const slash = key.lastIndexOf('/')
      writes.push({ key: stateKey(groupId, key.slice(0, slash), Number(key.slice(slash + 1))), value: null })
    }
    if (offsets.size === 0) this.#groups.delete(groupId)
    return writes.length === 0 ? Promise.resolve() : this.#store.writeState(writes)
  }
}
