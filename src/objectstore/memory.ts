// An in-memory object store for tests (same contract suite as the local one).
import { checkKey, checkRange, type ObjectInfo, type ObjectStore, type Removed } from './object-store.ts'

export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, Buffer>()
  readonly #modified = new Map<string, number>()
  readonly #base: string

  constructor(base = 'memory://warehouse') {
    this.#base = base
  }

  location(key: string): string {
    checkKey(key)
    return `${this.#base}/${key}`
  }

  keyOf(location: string): string | null {
    return location.startsWith(`${this.#base}/`) ? location.slice(this.#base.length + 1) : null
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    checkKey(key)
    this.#objects.set(key, Buffer.from(body))
    this.#modified.set(key, Date.now())
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    checkKey(key)
    if (this.#objects.has(key)) return false
    this.#objects.set(key, Buffer.from(body))
    this.#modified.set(key, Date.now())
    return true
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    checkKey(key)
    const chunks: Buffer[] = []
    for await (const chunk of source) chunks.push(Buffer.from(chunk))
    const body = Buffer.concat(chunks)
    await this.put(key, body)
    return body.length
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer | null> {
    checkKey(key)
    checkRange(start, endExclusive)
    const body = this.#objects.get(key)
    return body === undefined ? null : Buffer.from(body.subarray(start, endExclusive))
  }

  async get(key: string): Promise<Buffer | null> {
    checkKey(key)
    const body = this.#objects.get(key)
    return body === undefined ? null : Buffer.from(body)
  }

  async exists(key: string): Promise<boolean> {
    checkKey(key)
    return this.#objects.has(key)
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.#objects.keys()].filter((key) => key.startsWith(prefix)).sort()
  }

  async listInfo(prefix: string): Promise<ObjectInfo[]> {
    return (await this.list(prefix)).map((key) => ({ key, sizeBytes: this.#objects.get(key)!.length, modifiedMs: this.#modified.get(key)! }))
  }

  async delete(key: string): Promise<void> {
    checkKey(key)
    this.#objects.delete(key)
    this.#modified.delete(key)
  }

  /** A put here is never half done, so nothing is ever abandoned. */
  async removeAbandonedUploads(): Promise<Removed> {
    return { count: 0, bytes: 0 }
  }
}
