// Idempotency keys of the HTTP door: per table, the partition and offset of the first write that used
// a key, kept for a window and stored with the hot log, so a retried HTTP write returns the first write
// and writes nothing, whatever partition the retry itself would go to, also after a restart.
import type { HotStore, StateWrite } from '../storage/hot-store.ts'

const PREFIX = 'idem/'
/** How long a key is remembered (documented with the idempotency_key field in docs/openapi.yaml). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000

/** Where the first write with a key went. */
export interface KeyedWrite {
  partition: number
  offset: number
}

interface KeyEntry {
  partition: number
  offset: number
  atMs: number
  /** Resolves when the first write settles (true: stored); later duplicates wait for it. */
  durable: Promise<boolean> | null
}

/** The stored row: `idem/<topic id>/<key>` -> { partition, offset, atMs }. */
function stateKey(topicId: string, key: string): string {
  return `${PREFIX}${topicId}/${key}`
}

function stateValue(entry: KeyEntry): Buffer {
  return Buffer.from(JSON.stringify({ partition: entry.partition, offset: entry.offset, atMs: entry.atMs }))
}

export class IdempotencyKeys {
  readonly #store: HotStore
  /** Topic id -> key -> first write. */
  readonly #topics = new Map<string, Map<string, KeyEntry>>()

  constructor(store: HotStore) {
    this.#store = store
  }

  /**
   * Loads the stored keys. Rows of the earlier layout, one per partition (`idem/<topic id>/<partition>/<key>`
   * with no partition in the value), are rewritten in the per-table layout; where a key was used on two
   * partitions then, the first write keeps it.
   */
  async load(): Promise<void> {
    const migrated: StateWrite[] = []
    const touched: Array<[string, string]> = []
    for (const { key, value } of await this.#store.scanState(PREFIX)) {
      const rest = key.slice(PREFIX.length)
      const slash = rest.indexOf('/')
      const topicId = rest.slice(0, slash)
      let name = rest.slice(slash + 1)
      const stored = JSON.parse(value.toString('utf8')) as { partition?: number; offset: number; atMs: number }
      let partition = stored.partition
      if (partition === undefined) {
        const second = name.indexOf('/')
        partition = Number(name.slice(0, second))
        name = name.slice(second + 1)
        migrated.push({ key, value: null })
        touched.push([topicId, name])
      }
      const keys = this.#keysOf(topicId)
      const existing = keys.get(name)
      if (existing === undefined || stored.atMs < existing.atMs) keys.set(name, { partition, offset: stored.offset, atMs: stored.atMs, durable: null })
    }
    if (migrated.length === 0) return
    for (const [topicId, name] of touched) migrated.push({ key: stateKey(topicId, name), value: stateValue(this.#topics.get(topicId)!.get(name)!) })
    await this.#store.writeState(migrated)
  }

  #keysOf(topicId: string): Map<string, KeyEntry> {
    let keys = this.#topics.get(topicId)
    if (keys === undefined) this.#topics.set(topicId, keys = new Map())
    return keys
  }

  /**
   * The earlier write with this key on the table (once durable), null if that write turned out not
   * stored (disk full: the key is forgotten and a retry writes), or undefined for a new key.
   */
  lookup(topicId: string, key: string, nowMs: number): Promise<KeyedWrite | null> | KeyedWrite | undefined {
    const entry = this.#topics.get(topicId)?.get(key)
    if (entry === undefined || nowMs - entry.atMs > IDEMPOTENCY_WINDOW_MS) return undefined
    const written = { partition: entry.partition, offset: entry.offset }
    return entry.durable === null ? written : entry.durable.then((stored) => (stored ? written : null))
  }

  /** Remembers keys of accepted writes to a partition; the state rows join the write's group commit. */
  remember(topicId: string, partition: number, keys: Array<{ key: string; offset: number }>, nowMs: number, durable: Promise<boolean>): void {
    const map = this.#keysOf(topicId)
    const writes: StateWrite[] = []
    for (const { key, offset } of keys) {
      const entry: KeyEntry = { partition, offset, atMs: nowMs, durable }
      map.set(key, entry)
      writes.push({ key: stateKey(topicId, key), value: stateValue(entry) })
      void durable.then((stored) => {
        entry.durable = null
        if (!stored && map.get(key) === entry) map.delete(key)
      }, () => undefined)
    }
    if (writes.length > 0) void this.#store.writeState(writes).catch(() => undefined)
  }

  /** Forgets keys older than the window. */
  async expire(nowMs: number): Promise<number> {
    const writes: StateWrite[] = []
    for (const [topicId, keys] of this.#topics) {
      for (const [key, entry] of keys) {
        if (nowMs - entry.atMs <= IDEMPOTENCY_WINDOW_MS) continue
        keys.delete(key)
        writes.push({ key: stateKey(topicId, key), value: null })
      }
    }
    if (writes.length > 0) await this.#store.writeState(writes)
    return writes.length
  }
}
