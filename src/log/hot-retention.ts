// Hot retention: the hot log is a cache in front of Iceberg, so its oldest segment files are
// deleted once every batch in them is committed to Iceberg and they are past the hot
// retention (ZOMBI_HOT_RETENTION_MS / _BYTES). Segments are broker-wide, so a segment goes
// only when every partition with a batch in it has flushed that batch; the partitions' log
// start offsets move past the deleted batches (Fetch below it answers OFFSET_OUT_OF_RANGE,
// ListOffsets EARLIEST returns it), and the records stay readable from the Iceberg table.
// A compacted topic's batches are never dropped: they are the topic's Kafka view for ever, so a
// segment holding one stays until the log cleaner has moved it to the log's end (log-cleaner.ts asks
// `wantedBefore` which segments retention would delete without them).
import type { Logger } from '../observability/logger.ts'
import type { HotStore, LogStartUpdate, StateWrite } from '../storage/hot-store.ts'
import { abortedIndexKey } from './partition-transactions.ts'
import type { Partition } from './partition.ts'
import type { Topic } from './topic.ts'

export interface HotRetentionOptions {
  store: HotStore
  topics: () => Iterable<Topic>
  logger: Logger
  /** Flushed segments last written longer ago than this are deleted; -1 keeps them for ever (unless over the byte limit). */
  retentionMs: number
  /** While the segments hold more bytes than this, the oldest flushed ones are deleted; -1 means no limit. */
  retentionBytes: number
  now?: () => number
}

export interface RetentionPass {
  segmentsDeleted: number
  bytesFreed: number
  /** Why no (further) segment could go: the oldest segment kept and the reason. */
  keptBecause: 'retention' | 'unflushed' | 'active' | 'none'
}

/** Counters since start, for metrics. */
export class HotRetentionStats {
  segmentsDeleted = 0
}

export class HotRetention {
  readonly stats = new HotRetentionStats()
  readonly #options: HotRetentionOptions
  readonly #now: () => number
  #running: Promise<RetentionPass> | null = null
  #again = false
  #closed = false

  constructor(options: HotRetentionOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /**
   * Runs one pass (or joins the one running; a call during a pass runs one more after it,
   * since the flush that prompted it may have freed more).
   */
  enforce(): Promise<RetentionPass> {
    if (this.#closed) return Promise.resolve({ segmentsDeleted: 0, bytesFreed: 0, keptBecause: 'none' })
    if (this.#running !== null) {
      this.#again = true
      return this.#running
    }
    const run = this.#pass().finally(() => {
      this.#running = null
      if (this.#again) {
        this.#again = false
        void this.enforce().catch((error: unknown) => this.#options.logger.error({ err: error }, 'hot retention pass failed'))
      }
    })
    this.#running = run
    return run
  }

  /** Stops further passes and waits for the running one (before the store closes). */
  async close(): Promise<void> {
    this.#closed = true
    await this.#running?.catch(() => undefined)
  }

  /**
   * The segment below which a pass would delete files if no compacted partition held batches there
   * (-1: none), for the log cleaner to move those batches out.
   */
  wantedBefore(): number {
    return this.#plan(false).deleteBefore
  }

  /** Which segments may go now (synchronously, against one view of the in-memory index). */
  #plan(compactedPin: boolean): { deleteBefore: number; keptBecause: RetentionPass['keptBecause']; partitions: Partition[] } {
    const { store, retentionMs, retentionBytes } = this.#options
    // Appends acknowledged so far are indexed, later ones land in segments >= deletableBefore.
    const { segments, deletableBefore } = store.segments()
    const partitions: Partition[] = []
    let flushedBefore = deletableBefore
    for (const topic of this.#options.topics()) {
      for (const partition of topic.partitions) {
        if (topic.compacted) {
          if (compactedPin) flushedBefore = Math.min(flushedBefore, partition.firstLiveSegment())
          else flushedBefore = Math.min(flushedBefore, partition.firstUnflushedSegment())
          continue
        }
        partitions.push(partition)
        flushedBefore = Math.min(flushedBefore, partition.firstUnflushedSegment())
      }
    }
    let totalBytes = 0
    for (const info of segments) totalBytes += info.bytes
    const now = this.#now()
    let deleteBefore = -1
    let keptBecause: RetentionPass['keptBecause'] = 'none'
    for (const info of segments) {
      if (info.segment >= deletableBefore) {
        keptBecause = 'active'
        break
      }
      if (info.segment >= flushedBefore) {
        keptBecause = 'unflushed'
        break
      }
      const expired = retentionMs >= 0 && now - info.lastWriteMs >= retentionMs
      const overBudget = retentionBytes >= 0 && totalBytes > retentionBytes
      if (!expired && !overBudget) {
        keptBecause = 'retention'
        break
      }
      totalBytes -= info.bytes
      deleteBefore = info.segment + 1
    }
    return { deleteBefore, keptBecause, partitions }
  }

  async #pass(): Promise<RetentionPass> {
    const { store } = this.#options
    const { segments } = store.segments()
    const { deleteBefore, keptBecause, partitions } = this.#plan(true)
    if (deleteBefore === -1) return { segmentsDeleted: 0, bytesFreed: 0, keptBecause }

    const updates: LogStartUpdate[] = []
    for (const partition of partitions) {
      // In memory first: no Fetch may look for these batches once their files go. Every dropped batch
      // is flushed, so the new start never passes the flushed offset.
      const logStartOffset = partition.dropSegmentsBefore(deleteBefore)
      if (logStartOffset === -1) continue
      updates.push({ topicId: partition.topicId, partition: partition.id, logStartOffset })
    }
    const segmentsDeleted = segments.filter((info) => info.segment < deleteBefore).length
    const bytesFreed = await store.deleteSegmentsBefore(deleteBefore, updates)
    // Aborted transactions wholly below the new starts: no batch of theirs is served any more.
    const stale: StateWrite[] = []
    for (const partition of partitions) {
      for (const entry of partition.transactions.dropBefore(partition.logStartOffset)) stale.push({ key: abortedIndexKey(partition.topicId, partition.id, entry.lastOffset), value: null })
    }
    if (stale.length > 0) await store.writeState(stale)
    this.stats.segmentsDeleted += segmentsDeleted
    this.#options.logger.info({ segmentsDeleted, bytesFreed, partitionsMoved: updates.length, keptBecause }, 'hot retention deleted flushed segments')
    return { segmentsDeleted, bytesFreed, keptBecause }
  }
}
