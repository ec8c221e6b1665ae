// Kafka Fetch and ListOffsets below the hot log's start, served from the topic's Iceberg table: rows
// are read back in chunks (one table read per chunk, the files pruned by their partition and
// sequence bounds), rebuilt into record batches once, and kept in a broker-wide memory budget
// (ZOMBI_COLD_FETCH_CACHE_MB), least recently used out first, so a consumer replaying a partition
// reads each stretch of the table once.
import { recordBytes } from '../iceberg/cold-reader.ts'
import { endOffsetOf, rebuildBatches } from './cold-batches.ts'
import type { Partition } from './partition.ts'
import type { ColdRead } from './record-reader.ts'
import type { Topic } from './topic.ts'

/** Rebuilt batches hold at most this many bytes of records (a larger record gets a batch of its own). */
export const COLD_BATCH_BYTES = 256 * 1024
/** Rows per table read at most, whatever their size. */
const CHUNK_ROWS = 200_000

/** Rebuilt batches of offsets [from, to) of one partition (`to` may pass the last batch: offsets the table does not hold). */
class ColdChunk {
  readonly partitionKey: string
  readonly from: number
  readonly to: number
  readonly batches: Buffer[]
  readonly bytes: number

  constructor(partitionKey: string, from: number, to: number, batches: Buffer[]) {
    this.partitionKey = partitionKey
    this.from = from
    this.to = to
    this.batches = batches
    let bytes = 0
    for (const batch of batches) bytes += batch.length
    this.bytes = bytes
  }
}

export interface ColdFetchOptions {
  read: ColdRead
  /** Memory for rebuilt batches over all partitions (ZOMBI_COLD_FETCH_CACHE_MB). */
  cacheBytes: number
}

export class ColdFetch {
  readonly #read: ColdRead
  readonly #cacheBytes: number
  /** Record bytes one table read asks for: a quarter of the budget, so a few partitions replay side by side. */
  readonly #chunkBytes: number
  /** Cached chunks per partition, ascending `from`, not overlapping. */
  readonly #chunks = new Map<string, ColdChunk[]>()
  /** Every cached chunk, least recently used first. */
  readonly #recency = new Set<ColdChunk>()
  #usedBytes = 0
  /** Counts forgetTopic calls: a table read that started before one must not cache what it read. */
  #forgets = 0
  /** A table read in progress per partition: a second reader of the partition waits for it, then looks again. */
  readonly #loading = new Map<string, Promise<void>>()
  /** The table's first offset per partition, once seen (until retention removes rows: forgetTopic). */
  readonly #firstOffsets = new Map<string, number>()

  constructor(options: ColdFetchOptions) {
    this.#read = options.read
    this.#cacheBytes = options.cacheBytes
    this.#chunkBytes = Math.max(64 * 1024, Math.min(32 * 1024 * 1024, Math.floor(options.cacheBytes / 4)))
  }

  get usedBytes(): number {
    return this.#usedBytes
  }

  /**
   * The offset Kafka clients see as the partition's log start: the table's first offset when the hot
   * log no longer starts at it. Rejects when the table cannot be read.
   */
  async logStartOffset(topic: Topic, partition: Partition): Promise<number> {
    const hotStart = partition.logStartOffset
    if (hotStart === 0) return 0
    const key = partitionKey(topic, partition)
    const known = this.#firstOffsets.get(key)
    if (known !== undefined) return Math.min(known, hotStart)
    const forgets = this.#forgets
    const [first] = await this.#read(topic.name, { topicId: topic.id, partition: partition.id, fromOffset: 0, toOffset: hotStart, limit: 1 })
    if (first === undefined) return hotStart
    if (forgets === this.#forgets) this.#firstOffsets.set(key, first.offset)
    return Math.min(first.offset, hotStart)
  }

  /**
   * Retention removed rows from the topic's table: its first offsets and rebuilt batches are read
   * again, so the log start moves up and a Fetch below it is out of range.
   */
  forgetTopic(topicId: string): void {
    this.#forgets++
    const prefix = `${topicId}/`
    for (const key of [...this.#firstOffsets.keys()]) if (key.startsWith(prefix)) this.#firstOffsets.delete(key)
    for (const [key, chunks] of [...this.#chunks]) {
      if (!key.startsWith(prefix)) continue
      for (const chunk of [...chunks]) this.#evict(chunk)
    }
  }

  /** The log start offset as last learnt from the table, without reading it (the hot log's start until then). */
  knownLogStartOffset(topic: Topic, partition: Partition): number {
    const hotStart = partition.logStartOffset
    if (hotStart === 0) return 0
    return Math.min(this.#firstOffsets.get(partitionKey(topic, partition)) ?? hotStart, hotStart)
  }

  /** The first record below the hot log (from the deletion floor) with timestamp >= `timestamp` (lowest offset first), or null. */
  async offsetForTimestamp(topic: Topic, partition: Partition, timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    const hotStart = partition.logStartOffset
    if (hotStart <= partition.deletedBefore) return null
    const [first] = await this.#read(topic.name, { topicId: topic.id, partition: partition.id, fromOffset: partition.deletedBefore, toOffset: hotStart, sinceMs: timestamp, limit: 1 })
    return first === undefined ? null : { offset: first.offset, timestamp: first.timestampMs }
  }

  /**
   * Appends rebuilt batches holding offsets from `offset` up to the hot log's start to `out`, whole,
   * until `maxBytes` (the first batch even above it when `includeOversized`); returns the bytes added
   * and the offset after the last batch added (or where the table has nothing more below the hot log).
   */
  async read(topic: Topic, partition: Partition, offset: number, maxBytes: number, includeOversized: boolean, out: Buffer[]): Promise<{ bytes: number; nextOffset: number }> {
    const key = partitionKey(topic, partition)
    const hotStart = partition.logStartOffset
    let next = offset
    let bytes = 0
    let loaded = false
    while (next < hotStart) {
      let chunk = this.#find(key, next)
      if (chunk === undefined) {
        // One table read per Fetch at most: what is cached goes out now, the rest in the next Fetch.
        if (loaded) break
        loaded = true
        chunk = await this.#load(topic, partition, key, next, hotStart)
      }
      this.#touch(chunk)
      for (const batch of chunk.batches) {
        const end = endOffsetOf(batch)
        if (end <= next) continue
        if (bytes + batch.length > maxBytes && !(bytes === 0 && includeOversized)) return { bytes, nextOffset: next }
        out.push(batch)
        bytes += batch.length
        next = end
      }
      next = Math.max(next, chunk.to)
    }
    return { bytes, nextOffset: next }
  }

  #find(key: string, offset: number): ColdChunk | undefined {
    const chunks = this.#chunks.get(key)
    if (chunks === undefined) return undefined
    for (const chunk of chunks) if (chunk.from <= offset && offset < chunk.to) return chunk
    return undefined
  }

  async #load(topic: Topic, partition: Partition, key: string, offset: number, hotStart: number): Promise<ColdChunk> {
    for (let pending = this.#loading.get(key); pending !== undefined; pending = this.#loading.get(key)) {
      await pending.catch(() => undefined)
      const found = this.#find(key, offset)
      if (found !== undefined) return found
    }
    let chunk: ColdChunk | undefined
    const forgets = this.#forgets
    const loading = (async () => {
      const records = await this.#read(topic.name, { topicId: topic.id, partition: partition.id, fromOffset: offset, toOffset: hotStart, limit: CHUNK_ROWS, maxBytes: this.#chunkBytes, wholeRowGroups: true })
      // A read that stopped short of the hot log (limit or bytes) covers up to its last record; one that did not covers all of it.
      // It may pass limit and bytes by the rest of the last Parquet row group it decoded (kept, not decoded again).
      const last = records[records.length - 1]
      let readBytes = 0
      for (const record of records) readBytes += recordBytes(record)
      const complete = last === undefined || (records.length < CHUNK_ROWS && readBytes < this.#chunkBytes)
      chunk = new ColdChunk(key, offset, complete ? hotStart : last.offset + 1, rebuildBatches(records, COLD_BATCH_BYTES))
      // Retention removed rows meanwhile: this read answers its Fetch but is not kept.
      if (forgets !== this.#forgets) return
      if (last !== undefined && offset === 0) this.#firstOffsets.set(key, records[0]!.offset)
      this.#insert(chunk)
    })()
    this.#loading.set(key, loading)
    try {
      await loading
    } finally {
      this.#loading.delete(key)
    }
    return chunk!
  }

  #insert(chunk: ColdChunk): void {
    const chunks = this.#chunks.get(chunk.partitionKey) ?? []
    // Chunks that overlap the new one (a hot start that moved since) give way to it.
    const kept = chunks.filter((other) => {
      if (other.to <= chunk.from || other.from >= chunk.to) return true
      this.#forget(other)
      return false
    })
    kept.push(chunk)
    kept.sort((a, b) => a.from - b.from)
    this.#chunks.set(chunk.partitionKey, kept)
    this.#recency.add(chunk)
    this.#usedBytes += chunk.bytes
    // The chunk just read stays even alone over the budget: the Fetch that asked for it is served from it.
    for (const oldest of this.#recency) {
      if (this.#usedBytes <= this.#cacheBytes || oldest === chunk) break
      this.#evict(oldest)
    }
  }

  #touch(chunk: ColdChunk): void {
    if (!this.#recency.has(chunk)) return
    this.#recency.delete(chunk)
    this.#recency.add(chunk)
  }

  #evict(chunk: ColdChunk): void {
    this.#forget(chunk)
    const chunks = this.#chunks.get(chunk.partitionKey)
    if (chunks === undefined) return
    const i = chunks.indexOf(chunk)
    if (i !== -1) chunks.splice(i, 1)
    if (chunks.length === 0) this.#chunks.delete(chunk.partitionKey)
  }

  #forget(chunk: ColdChunk): void {
    if (this.#recency.delete(chunk)) this.#usedBytes -= chunk.bytes
  }
}

function partitionKey(topic: Topic, partition: Partition): string {
  return `${topic.id}/${partition.id}`
}
