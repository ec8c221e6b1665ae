// The log cleaner: keeps a compacted topic's partitions at the latest record per key in the hot log,
// in the background (design in docs/compacted-topics.md). For each partition of a topic whose
// cleanup.policy has `compact` it decides, from Kafka's rules, whether a cleaning is due:
//  - the cleanable range is the partition's batches from its log start that are committed to Iceberg
//    (the table keeps every version), older than min.compaction.lag.ms, and not in its active segment
//    (its newest batches up to segment.bytes and younger than segment.ms; the last batch always);
//  - batches under the deletion floor (DeleteRecords, and retention.ms/retention.bytes with
//    cleanup.policy=compact,delete, which BrokerLog.enforceTopicRetention applies) go first, and the
//    hot log's start moves past them;
//  - a cleaning is due when the dirty part (past the previous cleaning's end) is at least
//    min.cleanable.dirty.ratio of the range, when its first batch is older than max.compaction.lag.ms,
//    when a kept tombstone's delete.retention.ms ran out, or when hot retention wants to delete a
//    shared segment that still holds batches of the partition (then those batches are moved too).
// A cleaning maps every key written since the previous cleaning to its latest offset (the part before
// holds one record per key already), and rewrites the whole range from the log start chunk by
// chunk, oldest first, through HotStore.replaceBatches: each chunk is one atomic frame of the log, so a
// crash leaves every chunk either old or new, and since earlier chunks go first a removed record's
// newer version (or the tombstone that removes it) is always still there. The new batches land at the
// log's end, so the old shared segments hold nothing of the partition any more and hot retention can
// delete them; a compacted partition's batches are never dropped by retention.
import { ZombiError } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import { indexTimestampOf } from '../protocol/record-batch.ts'
import type { HotStore, IndexEntry, ReplacementBatch, StateWrite } from '../storage/hot-store.ts'
import { InlineBatchCleaner, type BatchCleaner } from './batch-cleaner.ts'
import { CleanedBatch } from './compaction.ts'
import type { Partition } from './partition.ts'
import type { Topic } from './topic.ts'

const CHECKPOINT_PREFIX = 'cleaner/'
/** A cleaning commits its rewrite in chunks of about this many bytes (one log frame each). */
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024

export interface LogCleanerOptions {
  store: HotStore
  topics: () => Iterable<Topic>
  logger: Logger
  /**
   * The segment below which hot retention would delete the shared log's files if compacted partitions
   * held nothing there (-1: none); the cleaner moves compacted batches out of them.
   */
  relocateBefore?: () => number
  /** Told after a cleaning (hot retention may now free segments). */
  onCleaned?: () => void
  chunkBytes?: number
  /**
   * Memory for a cleaning's key map (Kafka's log.cleaner.dedupe.buffer.size): a partition with more keys
   * is cleaned up to where the map filled, the rest at the next pass. Default 128 MiB.
   */
  dedupeBufferBytes?: number
  /** Bytes read plus written per second by a cleaning, at most (Kafka's log.cleaner.io.max.bytes.per.second); -1: no limit. */
  ioMaxBytesPerSecond?: number
  now?: () => number
  /** How the I/O limit waits (tests observe it). */
  sleep?: (ms: number) => Promise<void>
  /** Where decompressing, mapping and rebuilding run (default: on the calling thread; broker.ts gives a worker). */
  engine?: BatchCleaner
}

/** Counters since start, for /metrics. */
export class LogCleanerStats {
  cleanings = 0
  /** Bytes of stored batches a cleaning freed (old batches' bytes minus what replaced them). */
  bytesReclaimed = 0
  recordsRemoved = 0
  tombstonesRemoved = 0
  /** Batches copied out of old segments unchanged, so hot retention can delete those segments. */
  batchesMoved = 0
  /** Batches of compacted partitions dropped under the deletion floor (DeleteRecords, compact,delete retention). */
  batchesExpired = 0
  failures = 0
}

/** What the cleaner remembers of a partition (a state row, written after each cleaning). */
class CleanerCheckpoint {
  /** Offsets below were covered by a cleaning (Kafka's cleaner checkpoint). */
  firstDirty = 0
  /** [end offset, time] of past cleanings, ascending: a tombstone below `end` was first reached at `time`. */
  horizons: Array<[number, number]> = []
  /** When a tombstone kept by the last cleaning expires (Infinity: none). */
  nextTombstoneExpiry = Number.POSITIVE_INFINITY

  encode(): Buffer {
    const expiry = Number.isFinite(this.nextTombstoneExpiry) ? this.nextTombstoneExpiry : -1
    return Buffer.from(JSON.stringify({ firstDirty: this.firstDirty, horizons: this.horizons, nextTombstoneExpiry: expiry }))
  }

  static decode(value: Buffer): CleanerCheckpoint {
    const parsed = JSON.parse(value.toString('utf8')) as { firstDirty: number; horizons: Array<[number, number]>; nextTombstoneExpiry: number }
    const checkpoint = new CleanerCheckpoint()
    checkpoint.firstDirty = parsed.firstDirty
    checkpoint.horizons = parsed.horizons
    checkpoint.nextTombstoneExpiry = parsed.nextTombstoneExpiry < 0 ? Number.POSITIVE_INFINITY : parsed.nextTombstoneExpiry
    return checkpoint
  }
}

export type CleaningReason = 'dirty-ratio' | 'max-lag' | 'tombstones' | 'relocate'

/** What a cleaning would cover: positions in `entries`. */
export interface CleaningPlan {
  entries: IndexEntry[]
  /** Batches [0, cleanable) are compacted. */
  cleanable: number
  /** Batches [cleanable, rewrite) are only moved (copied unchanged to the log's end). */
  rewrite: number
  reason: CleaningReason
}

export interface CleaningResult {
  topic: string
  partition: number
  reason: CleaningReason
  /** Offsets below were compacted (the rest of what it rewrote was only moved). */
  cleanEnd: number
  batchesBefore: number
  batchesAfter: number
  recordsRemoved: number
  tombstonesRemoved: number
  bytesReclaimed: number
}

export class LogCleaner {
  readonly stats = new LogCleanerStats()
  readonly #options: LogCleanerOptions
  readonly #now: () => number
  readonly #chunkBytes: number
  readonly #dedupeBufferBytes: number
  readonly #ioMaxBytesPerSecond: number
  readonly #sleep: (ms: number) => Promise<void>
  readonly #engine: BatchCleaner
  readonly #checkpoints = new Map<string, CleanerCheckpoint>()
  #running: Promise<CleaningResult[]> | null = null
  #timer: NodeJS.Timeout | null = null
  #closed = false

  constructor(options: LogCleanerOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES
    this.#dedupeBufferBytes = options.dedupeBufferBytes ?? DEFAULT_DEDUPE_BUFFER_BYTES
    this.#ioMaxBytesPerSecond = options.ioMaxBytesPerSecond ?? -1
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
    this.#engine = options.engine ?? new InlineBatchCleaner()
  }

  /** Reads the checkpoints back from the store (before the first pass); those of deleted topics go. */
  async load(): Promise<void> {
    const live = new Set<string>()
    for (const topic of this.#options.topics()) live.add(topic.id)
    const stale: StateWrite[] = []
    for (const { key, value } of await this.#options.store.scanState(CHECKPOINT_PREFIX)) {
      if (!live.has(key.slice(CHECKPOINT_PREFIX.length).split('/')[0]!)) {
        stale.push({ key, value: null })
        continue
      }
      try {
        this.#checkpoints.set(key.slice(CHECKPOINT_PREFIX.length), CleanerCheckpoint.decode(value))
      } catch (error) {
        // A lost checkpoint only costs work: the next cleaning starts from the log start again.
        this.#options.logger.warn({ err: error, key }, 'ignoring an unreadable log cleaner checkpoint')
      }
    }
    if (stale.length > 0) await this.#options.store.writeState(stale)
  }

  /** Runs a pass every `backoffMs` (Kafka's log.cleaner.backoff.ms). */
  start(backoffMs: number): void {
    const tick = (): void => {
      this.#timer = null
      void this.runOnce().catch((error: unknown) => this.#options.logger.error({ err: error }, 'log cleaner pass failed')).finally(() => {
        if (!this.#closed) this.#timer = setTimeout(tick, backoffMs).unref()
      })
    }
    this.#timer = setTimeout(tick, backoffMs).unref()
  }

  /** Stops further passes, waits for the running one and stops the engine. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    await this.#running?.catch(() => undefined)
    await this.#engine.close()
  }

  /** One pass over every compacted partition (or the pass already running). */
  runOnce(): Promise<CleaningResult[]> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null
    })
    return this.#running
  }

  async #pass(): Promise<CleaningResult[]> {
    const results: CleaningResult[] = []
    const relocateBefore = this.#options.relocateBefore?.() ?? -1
    for (const topic of [...this.#options.topics()]) {
      if (!topic.compacted) continue
      for (const partition of topic.partitions) {
        if (this.#closed) return results
        try {
          await this.#dropBelowFloor(topic, partition)
        } catch (error) {
          this.stats.failures++
          this.#options.logger.error({ err: error, topic: topic.name, partition: partition.id }, 'dropping a compacted partition\'s deleted batches failed; it is retried at the next pass')
        }
        const plan = this.plan(topic, partition, relocateBefore)
        if (plan === null) continue
        try {
          const result = await this.#clean(topic, partition, plan)
          if (result !== null) results.push(result)
        } catch (error) {
          this.stats.failures++
          this.#options.logger.error({ err: error, topic: topic.name, partition: partition.id }, 'cleaning a compacted partition failed; it is retried at the next pass')
        }
      }
    }
    if (results.length > 0) this.#options.onCleaned?.()
    return results
  }

  /** Whether (and how far) the partition should be cleaned now; null when not. */
  plan(topic: Topic, partition: Partition, relocateBefore = -1): CleaningPlan | null {
    const entries = partition.entries()
    if (entries.length === 0) return null
    const now = this.#now()
    // The active segment: the last batch, and the ones before it while they fit in segment.bytes and
    // are younger than segment.ms.
    let activeStart = entries.length - 1
    let activeBytes = entries[activeStart]!.size
    while (activeStart > 0) {
      const previous = entries[activeStart - 1]!
      if (activeBytes + previous.size > topic.segmentBytes || now - previous.maxTimestamp >= topic.segmentMs) break
      activeBytes += previous.size
      activeStart--
    }
    const lagLimit = now - topic.minCompactionLagMs
    let cleanable = 0
    while (cleanable < activeStart && entries[cleanable]!.lastOffset < partition.flushedOffset && entries[cleanable]!.maxTimestamp <= lagLimit) cleanable++
    const checkpoint = this.#checkpoint(topic, partition)
    const firstDirty = Math.max(checkpoint.firstDirty, partition.logStartOffset)
    let dirtyBytes = 0
    let totalBytes = 0
    let firstDirtyBatch = -1
    for (let i = 0; i < cleanable; i++) {
      const entry = entries[i]!
      totalBytes += entry.size
      if (entry.lastOffset >= firstDirty) {
        dirtyBytes += entry.size
        if (firstDirtyBatch === -1) firstDirtyBatch = i
      }
    }
    let reason: CleaningReason | null = null
    if (dirtyBytes > 0 && dirtyBytes / totalBytes >= topic.minCleanableDirtyRatio) reason = 'dirty-ratio'
    else if (dirtyBytes > 0 && entries[firstDirtyBatch]!.maxTimestamp <= now - topic.maxCompactionLagMs) reason = 'max-lag'
    else if (cleanable > 0 && checkpoint.nextTombstoneExpiry <= now) reason = 'tombstones'
    let rewrite = reason === null ? 0 : cleanable
    if (relocateBefore > 0) {
      // Batches in segments hot retention wants gone: moved if they are in Iceberg (the flusher may
      // still read the others from their files).
      let last = -1
      for (let i = entries.length - 1; i >= 0; i--) {
        if (entries[i]!.segment < relocateBefore) {
          last = i
          break
        }
      }
      if (last >= 0 && entries[last]!.lastOffset < partition.flushedOffset && last + 1 > rewrite) {
        rewrite = last + 1
        reason ??= 'relocate'
      }
    }
    if (reason === null) return null
    // A move may stop short of the cleanable range; what it covers of that range is compacted too.
    return { entries, cleanable: Math.min(cleanable, rewrite), rewrite, reason }
  }

  /**
   * Batches wholly under the deletion floor (DeleteRecords; retention.ms/retention.bytes with
   * cleanup.policy=compact,delete, BrokerLog.enforceTopicRetention) are never read again: once in
   * Iceberg they go, and the hot log's start moves past them (durably first), so the segments that held
   * them can be deleted.
   */
  async #dropBelowFloor(topic: Topic, partition: Partition): Promise<void> {
    const floor = Math.min(partition.deletedBefore, partition.flushedOffset)
    if (floor <= partition.logStartOffset) return
    const entries = partition.entries()
    let drop = 0
    while (drop < entries.length && entries[drop]!.lastOffset < floor) drop++
    if (drop === 0 || !this.#stillCompacted(topic, partition)) return
    const logStartOffset = entries[drop - 1]!.lastOffset + 1
    const { store } = this.#options
    await store.updatePartitionState(topic.id, partition.id, { logStartOffset })
    partition.advanceLogStart(logStartOffset)
    // The index rows go too (the engines skip rows below the log start when they load anyway).
    await store.replaceBatches(topic.id, partition.id, entries.slice(0, drop).map((entry) => entry.baseOffset), [])
    this.stats.batchesExpired += drop
    this.#options.logger.info({ topic: topic.name, partition: partition.id, logStartOffset, batches: drop }, 'dropped the batches of a compacted partition under its deletion floor')
  }

  async #clean(topic: Topic, partition: Partition, plan: CleaningPlan): Promise<CleaningResult | null> {
    const { entries, reason } = plan
    let { cleanable, rewrite } = plan
    const now = this.#now()
    const checkpoint = this.#checkpoint(topic, partition)
    const throttle = new IoThrottle(this.#ioMaxBytesPerSecond, this.#sleep)
    const engine = this.#engine
    await engine.reset()
    // The map covers the dirty part (Kafka's): what the previous cleaning left holds one record per key.
    const firstDirty = Math.max(checkpoint.firstDirty, partition.logStartOffset)
    let mapFrom = 0
    while (mapFrom < cleanable && entries[mapFrom]!.lastOffset < firstDirty) mapFrom++
    let mapState = { keys: 0, bytes: 0 }
    for (let i = mapFrom; i < cleanable;) {
      const { batches, end, bytes } = this.#readGroup(partition, entries, i, cleanable)
      mapState = await engine.map(batches)
      await throttle.spent(bytes)
      i = end
      if (mapState.bytes >= this.#dedupeBufferBytes && i < cleanable) {
        // The map is full: this cleaning stops here (a move beyond it still copies batches unchanged).
        if (rewrite === cleanable) rewrite = i
        cleanable = i
        this.#options.logger.info({ topic: topic.name, partition: partition.id, keys: mapState.keys, cleanEnd: entries[i - 1]!.lastOffset + 1 }, 'the log cleaner\'s key map is full; cleaning the partition up to here this pass')
      }
    }
    const deleteRetentionMs = topic.deleteRetentionMs
    const horizons = checkpoint.horizons
    const clock = { nowMs: now, deleteRetentionMs, horizons: horizons.map(([end, at]): [number, number] => [end, at]) }
    let batchesAfter = 0
    let recordsRemoved = 0
    let tombstonesRemoved = 0
    let bytesBefore = 0
    let bytesAfter = 0
    let nextTombstoneExpiry = Number.POSITIVE_INFINITY
    let moved = 0
    // Chunk by chunk, oldest first: each is one atomic swap in the store.
    for (let start = 0; start < rewrite;) {
      const { batches, end, bytes: read } = this.#readGroup(partition, entries, start, rewrite)
      const compacted = Math.max(0, Math.min(end, cleanable) - start)
      const cleaned = compacted > 0 ? await engine.clean(batches.slice(0, compacted), clock) : []
      const removed: number[] = []
      const added: ReplacementBatch[] = []
      let written = 0
      for (let k = 0; k < batches.length; k++) {
        const entry = entries[start + k]!
        const result = k < compacted ? cleaned[k]! : new CleanedBatch(batches[k]!, 0, 0, Number.POSITIVE_INFINITY)
        if (k >= compacted) moved++
        removed.push(entry.baseOffset)
        recordsRemoved += result.recordsRemoved
        tombstonesRemoved += result.tombstonesRemoved
        if (result.nextTombstoneExpiry < nextTombstoneExpiry) nextTombstoneExpiry = result.nextTombstoneExpiry
        if (result.bytes !== null) {
          const maxTimestamp = result.bytes === batches[k] ? entry.maxTimestamp : indexTimestampOf(result.bytes)
          added.push({ baseOffset: entry.baseOffset, lastOffset: entry.lastOffset, maxTimestamp, bytes: result.bytes })
          written += result.bytes.length
          batchesAfter++
        }
      }
      bytesBefore += read
      bytesAfter += written
      if (!this.#stillCompacted(topic, partition)) return null
      // Under the free-space floor the appends that are refused come first: the cleaning waits for the next pass.
      if (!this.#options.store.hasSpaceFor(written)) throw new ZombiError('STORAGE_FULL', `the disk is too full to write ${written} bytes of cleaned batches`)
      const stored = await this.#options.store.replaceBatches(topic.id, partition.id, removed, added)
      partition.replaceBatches(removed, stored)
      await throttle.spent(read + written)
      start = end
    }
    const cleanEnd = cleanable > 0 ? entries[cleanable - 1]!.lastOffset + 1 : 0
    if (cleanable > 0) {
      if (cleanEnd > checkpoint.firstDirty) {
        checkpoint.firstDirty = cleanEnd
        horizons.push([cleanEnd, now])
      }
      pruneHorizons(horizons, partition.logStartOffset, now - deleteRetentionMs)
      checkpoint.nextTombstoneExpiry = nextTombstoneExpiry
      await this.#options.store.writeState([{ key: checkpointKey(topic, partition), value: checkpoint.encode() }])
    }
    const result: CleaningResult = {
      topic: topic.name, partition: partition.id, reason, cleanEnd, batchesBefore: rewrite, batchesAfter,
      recordsRemoved, tombstonesRemoved, bytesReclaimed: bytesBefore - bytesAfter,
    }
    this.stats.cleanings++
    this.stats.bytesReclaimed += result.bytesReclaimed
    this.stats.recordsRemoved += recordsRemoved
    this.stats.tombstonesRemoved += tombstonesRemoved
    this.stats.batchesMoved += moved
    this.#options.logger.info({ ...result, keys: mapState.keys, batchesMoved: moved }, 'cleaned a compacted partition')
    return result
  }

  /** Reads batches [from, limit) until about chunkBytes (at least one). */
  #readGroup(partition: Partition, entries: readonly IndexEntry[], from: number, limit: number): { batches: Buffer[]; end: number; bytes: number } {
    const batches: Buffer[] = []
    let end = from
    let bytes = 0
    while (end < limit && (end === from || bytes < this.#chunkBytes)) {
      batches.push(partition.readEntry(entries[end]!))
      bytes += entries[end]!.size
      end++
    }
    return { batches, end, bytes }
  }

  /** The topic is still registered, compacted, and this is still its partition. */
  #stillCompacted(topic: Topic, partition: Partition): boolean {
    if (!topic.compacted || topic.partitions[partition.id] !== partition) return false
    for (const live of this.#options.topics()) if (live === topic) return true
    return false
  }

  #checkpoint(topic: Topic, partition: Partition): CleanerCheckpoint {
    const key = `${topic.id}/${partition.id}`
    let checkpoint = this.#checkpoints.get(key)
    if (checkpoint === undefined) {
      checkpoint = new CleanerCheckpoint()
      this.#checkpoints.set(key, checkpoint)
    }
    return checkpoint
  }
}

/**
 * Paces a cleaning's reads and writes to a byte rate (wall clock); without a limit it only yields, so
 * the event loop serves clients between chunks while a big partition is cleaned.
 */
class IoThrottle {
  readonly #bytesPerSecond: number
  readonly #sleep: (ms: number) => Promise<void>
  readonly #started = performance.now()
  #bytes = 0

  constructor(bytesPerSecond: number, sleep: (ms: number) => Promise<void>) {
    this.#bytesPerSecond = bytesPerSecond
    this.#sleep = sleep
  }

  async spent(bytes: number): Promise<void> {
    this.#bytes += bytes
    const ahead = this.#bytesPerSecond > 0 ? (this.#bytes / this.#bytesPerSecond) * 1000 - (performance.now() - this.#started) : 0
    if (ahead > 0) await this.#sleep(ahead)
    else await new Promise((resolve) => setImmediate(resolve))
  }
}

function checkpointKey(topic: Topic, partition: Partition): string {
  return `${CHECKPOINT_PREFIX}${topic.id}/${partition.id}`
}

/**
 * Keeps the horizon list short: entries below the log start go, and of the entries whose tombstones
 * have all expired (time at or before `expiredAt`) only the newest stays, since any offset below it
 * is expired whichever of them it falls in.
 */
function pruneHorizons(horizons: Array<[number, number]>, logStartOffset: number, expiredAt: number): void {
  while (horizons.length > 1 && horizons[0]![0] <= logStartOffset) horizons.shift()
  let lastExpired = -1
  for (let i = 0; i < horizons.length; i++) if (horizons[i]![1] <= expiredAt) lastExpired = i
  if (lastExpired > 0) horizons.splice(0, lastExpired)
}
