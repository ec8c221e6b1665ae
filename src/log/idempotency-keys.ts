// Idempotency keys of the HTTP door: per partition, the offset of the first write that used a
// key, kept for a window and stored with the hot log, so a retried HTTP write returns the
// first write's offset and writes nothing, also after a restart.
import type { HotStore, StateWrite } from '../storage/hot-store.ts'

const PREFIX = 'idem/'
/** How long a key is remembered (documented in docs/http.md). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000

interface KeyEntry {
  offset: number
  atMs: number
  /** Resolves when the first write settles (true: stored); later duplicates wait for it. */
  durable: Promise<boolean> | null
}

function stateKey(topicId: string, partition: number, key: string): string {
  return `${PREFIX}${topicId}/${partition}/${key}`
}

export class IdempotencyKeys {
  readonly #store: HotStore
  readonly #partitions = new Map<string, Map<string, KeyEntry>>()

  constructor(store: HotStore) {
    this.#store = store
  }

  async load(): Promise<void> {
    for (const { key, value } of await this.#store.scanState(PREFIX)) {
      const rest = key.slice(PREFIX.length)
      const first = rest.indexOf('/')
      const second = rest.indexOf('/', first + 1)
      const partitionKey = rest.slice(0, second)
      const entry = JSON.parse(value.toString('utf8')) as { offset: number; atMs: number }
      this.#keysOf(partitionKey).set(rest.slice(second + 1), { offset: entry.offset, atMs: entry.atMs, durable: null })
    }
  }

  #keysOf(partitionKey: string): Map<string, KeyEntry> {
    let keys = this.#partitions.get(partitionKey)
    if (keys === undefined) this.#partitions.set(partitionKey, keys = new Map())
    return keys
  }

  /**
   * The earlier write's offset (once durable), null if that write turned out not stored (disk
   * full: the key is forgotten and a retry writes), or undefined for a new key.
   */
  lookup(topicId: string, partition: number, key: string, nowMs: number): Promise<number | null> | number | undefined {
    const entry = this.#partitions.get(`${topicId}/${partition}`)?.get(key)
    if (entry === undefined || nowMs - entry.atMs > IDEMPOTENCY_WINDOW_MS) return undefined
    return entry.durable === null ? entry.offset : entry.durable.then((stored) => (stored ? entry.offset : null))
  }

  /** Remembers keys of accepted writes; the state rows join the write's group commit. */
  remember(topicId: string, partition: number, keys: Array<{ key: string; offset: number }>, nowMs: number, durable: Promise<boolean>): void {
    const map = this.#keysOf(`${topicId}/${partition}`)
    const writes: StateWrite[] = []
    for (const { key, offset } of keys) {
      const entry: KeyEntry = { offset, atMs: nowMs, durable }
      map.set(key, entry)
      writes.push({ key: stateKey(topicId, partition, key), value: Buffer.from(JSON.stringify({ offset, atMs: nowMs })) })
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
    for (const [partitionKey, keys] of this.#partitions) {
      const slash = partitionKey.lastIndexOf('/')
      for (const [key, entry] of keys) {
        if (nowMs - entry.atMs <= IDEMPOTENCY_WINDOW_MS) continue
        keys.delete(key)
        writes.push({ key: stateKey(partitionKey.slice(0, slash), Number(partitionKey.slice(slash + 1)), key), value: null })
      }
    }
    if (writes.length > 0) await this.#store.writeState(writes)
    return writes.length
  }
}
