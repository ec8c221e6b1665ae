// The hot store on disk: every write is a frame in the broker-wide segment log (batches,
// state rows, partition updates), the index and state live in classic-level. The calls of one
// event-loop tick form one group commit: one write of all their frames, one fdatasync
// (durability fsync), one unsynced index batch, then every promise resolves in call order:
// after the index batch with durability fsync, as soon as the frames are in the log with
// durability none (whose promise is the page cache, which the log already is).
// Commits pipeline: while one commit's index batch runs, the next one writes and syncs.
// The index may lag the log by the commits a crash interrupted: open() replays the log from
// the index checkpoint, so one fdatasync per commit is all the durability needs.
// A full disk is an answer, not a failure: appends are refused before offsets are given out while
// free space is under a floor (disk-space.ts), and a write that still fails for lack of space rolls
// the log back to the last acknowledged commit and fails only what came after it (with durability
// none an index batch is written after its calls were acknowledged, so its failure fails the store).
import fsp from 'node:fs/promises'
import path from 'node:path'
import { settingDefault } from '../config/index.ts'
import { ZombiError, isStorageFull } from '../errors.ts'
import { silentLogger, type Logger } from '../observability/logger.ts'
import {
  BATCH_FRAME_HEADER_BYTES, DecodedBatchFrame, DecodedPartitionFrame, DecodedReplaceFrame, FRAME_KIND_BATCH, FRAME_KIND_CHECKED_BATCH, FRAME_KIND_PARTITION,
  FRAME_KIND_REPLACE, FRAME_KIND_STATE, FRAME_PREFIX_BYTES, batchFrameHeader, forEachStateRow, frameKind,
  partitionFrame, replaceFrameHeader, stateFrame, type ReplacedBatchHeader,
} from './frame.ts'
import {
  appendRequestProblem, notOpenRefusal, replacementProblem, type AppendRequest, type BatchLocation, type FileRange, type HotStore, type IndexEntry,
  type LogStartUpdate, type PartitionState, type ReplacementBatch,
  type RecoveredPartition, type RecoveryReport, type ReindexedBatch, type SegmentListing, type StateWrite, type StoreHealth, type TopicRecord,
} from './hot-store.ts'
import { DiskSpace, isNoSpace, type FreeBytes } from './disk-space.ts'
import { CHECKPOINT_KEY, indexKey, partitionKey, stateKeyFromBytes, topicIdBytes, topicKey } from './keys.ts'
import {
  LevelIndex, encodeCheckpoint, encodeIndexValue, encodePartitionState, type IndexOperation,
} from './level-index.ts'
import { type Segment, SegmentLog } from './segment-log.ts'

export interface DiskHotStoreOptions {
  dir: string
  durability: 'fsync' | 'none'
  /** Size at which the log rolls to a new segment file (default: ZOMBI_SEGMENT_BYTES's). */
  segmentBytes?: number
  /**
   * Free bytes kept on the data dir's filesystem for the index and state: appends that would
   * leave less are refused (default 0: no floor, no reserve file).
   */
  minFreeBytes?: number
  /** How free space is measured (tests inject one; default statfs). */
  freeBytes?: FreeBytes
  /** How often free space is measured (default 1 s). */
  spaceCheckMs?: number
  logger?: Logger
}

const DEFAULT_SPACE_CHECK_MS = 1000
const MAX_PARTITION = 0x7fffffff
/** Recovery writes the index rows it rebuilt every this many frames, so a long tail needs no huge batch. */
const RECOVERY_FLUSH_FRAMES = 100_000
/** Index batches that may wait behind the log (one per commit) before the next commit waits for them. */
const MAX_INDEX_BACKLOG = 16

class PartitionSlot {
  readonly partition: number
  /** Its partition row key. */
  readonly key: Buffer
  readonly state: PartitionState
  /** The last index batch that rewrote the row (see IndexBatch.touch). */
  mark = 0

  constructor(topicId: Buffer, partition: number, state: PartitionState) {
    this.partition = partition
    this.key = partitionKey(topicId, partition)
    this.state = state
  }
}

class TopicSlot {
  readonly id: string
  readonly idBytes: Buffer
  readonly partitions = new Map<number, PartitionSlot>()

  constructor(id: string, idBytes: Buffer) {
    this.id = id
    this.idBytes = idBytes
  }

  /** The partition's slot, created at offset 0 if the topic has none for it yet. */
  partition(partition: number): PartitionSlot {
    let slot = this.partitions.get(partition)
    if (slot === undefined) {
      slot = new PartitionSlot(this.idBytes, partition, { logStartOffset: 0, nextOffset: 0, flushedOffset: 0 })
      this.partitions.set(partition, slot)
    }
    return slot
  }
}

/** What a replacement frame carries after its header: the batches, and what its index change was. */
class PendingReplace {
  readonly removed: readonly number[]
  readonly added: readonly ReplacedBatchHeader[]
  readonly batches: readonly Buffer[]
  readonly bytes: number
  readonly resolve: (entries: IndexEntry[]) => void
  entries: IndexEntry[] = []

  constructor(removed: readonly number[], added: readonly ReplacedBatchHeader[], batches: readonly Buffer[], resolve: (entries: IndexEntry[]) => void) {
    this.removed = removed
    this.added = added
    this.batches = batches
    let bytes = 0
    for (const batch of batches) bytes += batch.length
    this.bytes = bytes
    this.resolve = resolve
  }
}

/** One call waiting for the next group commit, with its frame already built (CRC included). */
class PendingWrite {
  readonly kind: number
  /** The whole frame, or a batch frame's header (then `batch` follows it); null writes nothing. */
  readonly frame: Buffer | null
  readonly batch: Buffer | null
  readonly topicId: string
  readonly partition: number
  /** A batch's offsets and max timestamp (0 for other kinds). */
  readonly baseOffset: number
  readonly lastOffset: number
  readonly maxTimestamp: number
  /** A partition update's new log start and flushed offsets (-1: unchanged; 0 for other kinds). */
  readonly logStartOffset: number
  readonly flushedOffset: number
  readonly resolveLocation: ((location: BatchLocation) => void) | null
  readonly resolveDone: ((value: undefined) => void) | null
  readonly reject: (error: unknown) => void
  /** A replacement's batches and index change (null for other kinds). */
  replace: PendingReplace | null = null
  segment = 0
  position = 0

  constructor(
    kind: number, frame: Buffer | null, batch: Buffer | null, topicId: string, partition: number,
    baseOffset: number, lastOffset: number, maxTimestamp: number, logStartOffset: number, flushedOffset: number,
    resolveLocation: ((location: BatchLocation) => void) | null, resolveDone: ((value: undefined) => void) | null, reject: (error: unknown) => void,
  ) {
    this.kind = kind
    this.frame = frame
    this.batch = batch
    this.topicId = topicId
    this.partition = partition
    this.baseOffset = baseOffset
    this.lastOffset = lastOffset
    this.maxTimestamp = maxTimestamp
    this.logStartOffset = logStartOffset
    this.flushedOffset = flushedOffset
    this.resolveLocation = resolveLocation
    this.resolveDone = resolveDone
    this.reject = reject
  }

  settle(): void {
    if (this.replace !== null) this.replace.resolve(this.replace.entries)
    else if (this.resolveLocation !== null) this.resolveLocation({ segment: this.segment, position: this.position, size: this.batch!.length })
    else this.resolveDone!(undefined)
  }
}

/** Frames of one commit that land in one segment (a roll splits a commit in two). */
class WriteGroup {
  readonly segment: Segment
  readonly start: number
  readonly buffers: Buffer[] = []

  constructor(segment: Segment) {
    this.segment = segment
    this.start = segment.size
  }
}

/** The classic-level operations of one commit (or of recovery); each touched partition row is written once. */
class IndexBatch {
  readonly operations: IndexOperation[] = []
  readonly #touched: PartitionSlot[] = []
  readonly #mark: number

  constructor(mark: number) {
    this.#mark = mark
  }

  touch(slot: PartitionSlot): void {
    if (slot.mark === this.#mark) return
    slot.mark = this.#mark
    this.#touched.push(slot)
  }

  /** The operations, with the touched partition rows encoded now (after every change of this batch). */
  finish(): IndexOperation[] {
    for (const slot of this.#touched) this.operations.push({ type: 'put', key: slot.key, value: encodePartitionState(slot.state) })
    return this.operations
  }
}

/** Counters since open (benchmarks, metrics). */
export class DiskHotStoreStats {
  /** Group commits that wrote frames. */
  commits = 0
  /** Frames written (batches, state rows, partition updates). */
  frames = 0
  /** Bytes written to the log, frame headers included. */
  bytes = 0
}

/** What recovery has done so far. */
class Recovery {
  readonly batch: IndexBatch
  readonly reindexed: ReindexedBatch[] = []
  /** The segment being scanned. */
  segment = 0
  frames = 0
  truncatedBytes = 0
  replayedStateWrites = 0
  droppedEntries = 0

  constructor(batch: IndexBatch) {
    this.batch = batch
  }
}

export class DiskHotStore implements HotStore {
  readonly #dir: string
  readonly #sync: boolean
  /**
   * Durability none: a commit's calls settle once its frames are in the log, without waiting for
   * its index batch (a trip through the thread pool, over 1 ms for ~4 % of commits on a loaded
   * 2-core machine). An index batch that then fails cannot be rolled back: the store fails and the
   * next open re-indexes the acknowledged frames from the log.
   */
  readonly #settleOnLogWrite: boolean
  readonly #logger: Logger
  readonly #log: SegmentLog
  readonly #index: LevelIndex
  readonly #topics = new Map<string, TopicSlot>()
  #queue: PendingWrite[] = []
  #scheduled = false
  /** The commit writing to the log, until its frames are durable. */
  #committing: Promise<void> | null = null
  /** The index batch of the last commit; the next one is chained on its success. */
  #indexTail: Promise<void> = Promise.resolve()
  #batches = 0
  /** Index batches queued or being written. */
  #indexBacklog = 0
  #opened = false
  #closing: Promise<void> | null = null
  #closed = false
  #failure: unknown = null
  readonly #stats = new DiskHotStoreStats()
  /**
   * Per commit not yet settled, oldest first: the active segment when it started writing, the
   * lowest segment its frames can be in. Segments below the first are safe to delete.
   */
  readonly #unsettledFrom: number[] = []
  readonly #space: DiskSpace
  readonly #spaceCheckMs: number
  #spaceTimer: NodeJS.Timeout | null = null
  /** The log end of the last acknowledged commit: what a rollback cuts back to. */
  #durableSegment = 0
  #durablePosition = 0
  /** Set while a rollback runs or the index waits to be reopened: writes are refused with it. */
  #blocked: ZombiError | null = null
  #rollback: Promise<void> | null = null
  /** Commits (and the queue) past the failure point, rejected once the log is cut back. */
  #held: PendingWrite[][] = []

  constructor(options: DiskHotStoreOptions) {
    this.#dir = options.dir
    this.#sync = options.durability === 'fsync'
    this.#settleOnLogWrite = !this.#sync
    this.#logger = options.logger ?? silentLogger
    this.#log = new SegmentLog(path.join(options.dir, 'log'), options.segmentBytes ?? settingDefault('segmentBytes'))
    this.#index = new LevelIndex(path.join(options.dir, 'index'))
    this.#space = new DiskSpace(options.dir, options.minFreeBytes ?? 0, options.freeBytes, this.#logger)
    this.#spaceCheckMs = options.spaceCheckMs ?? DEFAULT_SPACE_CHECK_MS
  }

  async open(): Promise<RecoveryReport> {
    if (this.#opened) throw new ZombiError('INVALID_STATE', 'the hot store is already open')
    await fsp.mkdir(this.#dir, { recursive: true })
    await this.#space.beforeOpen()
    await this.#openIndex()
    try {
      const report = await this.#load()
      const active = this.#log.active()
      this.#durableSegment = active.number
      this.#durablePosition = active.size
      await this.#space.check()
      this.#spaceTimer = setInterval(this.#onSpaceTimer, this.#spaceCheckMs)
      this.#spaceTimer.unref()
      this.#opened = true
      return report
    } catch (error) {
      this.#log.close()
      await this.#index.close()
      throw error
    }
  }

  /** Opens classic-level; on a disk too full for it (it writes a table file and a MANIFEST), after giving back the reserve. */
  async #openIndex(): Promise<void> {
    try {
      await this.#index.open()
    } catch (error) {
      if (!isNoSpace(error) || !(await this.#space.releaseReserve())) throw error
      this.#logger.warn({ dir: this.#dir }, 'the disk is full: released the reserve file to open the hot-log index')
      await this.#index.reopen()
    }
  }

  readonly #onSpaceTimer = (): void => {
    this.checkSpace().catch((error: unknown) => this.#logger.error({ err: error }, 'checking free disk space failed'))
  }

  /**
   * Measures free space now (the timer does it every second): appends are refused under the
   * floor and accepted again above it, and an index closed by a failed write is reopened.
   */
  async checkSpace(): Promise<void> {
    await this.#space.check()
    if (this.#blocked !== null && this.#rollback === null && this.#closing === null && this.#failure === null) {
      this.#rollback = this.#restoreIndex().catch((error: unknown) => this.#fail(error, [])).finally(() => {
        this.#rollback = null
      })
      await this.#rollback
    }
  }

  /**
   * Whether an append of `bytes` would be accepted: false while free space is under the floor or
   * a rollback runs. Checked before offsets are given out; a couple of comparisons, no syscall.
   * A failed store says true: its append then rejects with STORAGE_FAILED, which stops the broker.
   */
  hasSpaceFor(bytes: number): boolean {
    return this.#failure !== null || (this.#blocked === null && this.#space.admits(bytes + BATCH_FRAME_HEADER_BYTES))
  }

  health(): StoreHealth {
    const freeBytes = this.#space.freeBytes
    if (this.#failure !== null) return { ok: false, detail: `hot log failed, restart needed: ${errorMessage(this.#failure)}`, freeBytes }
    if (this.#blocked !== null) {
      return { ok: false, detail: `disk full: a hot-log write failed and was rolled back, writes resume once the index is writable again; ${this.#space.describe()}`, freeBytes }
    }
    if (this.#space.full) return { ok: false, detail: `disk full: ${this.#space.describe()}`, freeBytes }
    return { ok: true, detail: this.#space.describe(), freeBytes }
  }

  async #load(): Promise<RecoveryReport> {
    for (const record of await this.#index.topics()) this.#topics.set(record.id, new TopicSlot(record.id, topicIdBytes(record.id)))
    const orphans = new Set<string>()
    for (const { topicId, partition, state } of await this.#index.partitionStates()) {
      const topic = this.#topics.get(topicId)
      if (topic === undefined) orphans.add(topicId)
      else topic.partitions.set(partition, new PartitionSlot(topic.idBytes, partition, state))
    }
    for (const topicId of orphans) {
      this.#logger.info({ topicId }, 'removing index rows of a topic whose delete was interrupted')
      await this.#index.clearTopicRows(topicIdBytes(topicId))
    }
    return this.#recover()
  }

  /**
   * Brings the index up to the log: frames past the checkpoint are applied again (index
   * entries, partition states, state rows), a torn or corrupt tail is cut, and index entries
   * whose bytes are gone (durability none after a machine crash) are dropped.
   */
  async #recover(): Promise<RecoveryReport> {
    const checkpoint = await this.#index.checkpoint()
    const segments = this.#log.list()
    const fromSegment = checkpoint?.segment ?? segments[0] ?? 0
    const checkpointSegmentSize = this.#log.sizeOf(fromSegment) ?? 0
    const recovery = new Recovery(new IndexBatch(++this.#batches))
    if (checkpoint !== undefined && checkpoint.position > checkpointSegmentSize) {
      this.#logger.error({ checkpoint, segmentSize: checkpointSegmentSize }, 'the hot-log index is ahead of the log; dropping entries whose bytes are gone')
      recovery.droppedEntries = await this.#dropDanglingEntries(recovery.batch)
    }
    const visit = (body: Buffer, position: number): boolean => this.#replayFrame(recovery, body, position)
    for (const segment of segments) {
      if (segment < fromSegment) continue
      recovery.segment = segment
      let scan = this.#log.scan(segment, segment === fromSegment ? Math.min(checkpoint?.position ?? 0, checkpointSegmentSize) : 0, visit)
      while (scan.paused) {
        // A long tail (a rebuilt index): write what is done so far; the checkpoint moves only at the end.
        await this.#index.write(recovery.batch.operations.splice(0), false)
        scan = this.#log.scan(segment, scan.validEnd, visit)
      }
      if (scan.validEnd < scan.fileSize) {
        const cut = { segment, validEnd: scan.validEnd, fileSize: scan.fileSize }
        // A torn write can only be at the end of the last segment; elsewhere it is damage,
        // and the frames of later segments are still good, so they are kept.
        if (segment === segments[segments.length - 1]) this.#logger.warn(cut, 'cutting a torn tail off the hot log')
        else this.#logger.error(cut, 'cutting corrupt bytes out of the middle of the hot log')
        recovery.truncatedBytes += scan.fileSize - scan.validEnd
        this.#log.truncate(segment, scan.validEnd)
      }
    }
    // A segment left empty (created by a roll just before a crash, or all garbage) is dropped unless it is the last.
    for (const segment of segments.slice(0, -1)) {
      if (segment >= fromSegment && this.#log.sizeOf(segment) === 0) this.#log.remove(segment)
    }
    // Segment numbers never go back, even if the checkpoint's segment is gone.
    this.#log.activate(Math.max(segments[segments.length - 1] ?? 0, checkpoint?.segment ?? 0))
    const active = this.#log.active()
    const operations = recovery.batch.finish()
    operations.push({ type: 'put', key: CHECKPOINT_KEY, value: encodeCheckpoint(active.number, active.size) })
    await this.#index.write(operations, true)
    const { reindexed, truncatedBytes, replayedStateWrites, droppedEntries } = recovery
    if (reindexed.length > 0 || truncatedBytes > 0 || replayedStateWrites > 0 || droppedEntries > 0) {
      this.#logger.info({ reindexedBatches: reindexed.length, truncatedBytes, replayedStateWrites, droppedEntries }, 'hot log recovered')
    }
    return { reindexedBatches: reindexed.length, reindexed, truncatedBytes, replayedStateWrites, droppedEntries }
  }

  /** Applies one frame found past the checkpoint; false asks the scan to pause for a flush. */
  #replayFrame(recovery: Recovery, body: Buffer, position: number): boolean {
    const { batch, segment } = recovery
    const kind = frameKind(body)
    if (kind === FRAME_KIND_BATCH || kind === FRAME_KIND_CHECKED_BATCH) {
      const frame = new DecodedBatchFrame(body)
      if (this.#applyBatch(batch, frame.topicId, frame.partition, frame.baseOffset, frame.lastOffset, frame.maxTimestamp, segment, position, frame.batchSize)) {
        const entry = { baseOffset: frame.baseOffset, lastOffset: frame.lastOffset, maxTimestamp: frame.maxTimestamp, segment, position, size: frame.batchSize }
        recovery.reindexed.push({ topicId: frame.topicId, partition: frame.partition, entry })
      }
    } else if (kind === FRAME_KIND_STATE) {
      // The scan reuses its read buffer: keep copies.
      recovery.replayedStateWrites += this.#applyState(batch, body, true)
    } else if (kind === FRAME_KIND_REPLACE) {
      const frame = new DecodedReplaceFrame(body)
      const starts = frame.starts.map((start) => position + FRAME_PREFIX_BYTES + start)
      this.#applyReplace(batch, frame.topicId, frame.partition, frame.removed, frame.added, segment, starts)
    } else if (kind === FRAME_KIND_PARTITION) {
      const frame = new DecodedPartitionFrame(body)
      this.#applyPartition(batch, frame.topicId, frame.partition, frame.logStartOffset, frame.flushedOffset)
    } else {
      throw new ZombiError('STORAGE_CORRUPT', `frame of unknown kind ${kind} at ${segment}:${position}; was this log written by a newer Zombi?`)
    }
    return ++recovery.frames % RECOVERY_FLUSH_FRAMES !== 0
  }

  async #dropDanglingEntries(batch: IndexBatch): Promise<number> {
    let dropped = 0
    const sizes = new Map<number, number>()
    await this.#index.forEachEntry((_topicId, _partition, entry, key) => {
      let size = sizes.get(entry.segment)
      if (size === undefined) sizes.set(entry.segment, size = this.#log.sizeOf(entry.segment) ?? 0)
      if (entry.position + BATCH_FRAME_HEADER_BYTES + entry.size <= size) return
      batch.operations.push({ type: 'del', key: Buffer.from(key) })
      dropped++
    })
    return dropped
  }

  async close(): Promise<void> {
    this.#closing ??= this.#drainAndClose()
    return this.#closing
  }

  async #drainAndClose(): Promise<void> {
    // Writes that arrive while closing are still committed; closed is set only once nothing
    // is queued, in the log or in the index chain, in the same tick as that check.
    if (this.#spaceTimer !== null) clearInterval(this.#spaceTimer)
    for (;;) {
      if (this.#rollback !== null) {
        await this.#rollback
      } else if (this.#committing !== null) {
        await this.#committing
      } else if (this.#queue.length > 0) {
        this.#startCommit()
      } else {
        const tail = this.#indexTail
        await tail.catch(() => undefined)
        if (this.#committing === null && this.#queue.length === 0 && tail === this.#indexTail) break
      }
    }
    this.#closed = true
    this.#log.close()
    await this.#index.close()
  }

  loadTopics(): Promise<TopicRecord[]> {
    return this.#index.topics()
  }

  async putTopic(topic: TopicRecord): Promise<void> {
    this.#assertWritable()
    const idBytes = topicIdBytes(topic.id)
    let slot = this.#topics.get(topic.id)
    const created = slot === undefined
    if (slot === undefined) {
      // Known before the write completes, so appends racing with the create are indexed.
      slot = new TopicSlot(topic.id, idBytes)
      this.#topics.set(topic.id, slot)
    }
    try {
      await this.#indexWrite(this.#index.write([{ type: 'put', key: topicKey(idBytes), value: Buffer.from(JSON.stringify(topic)) }], this.#sync))
    } catch (error) {
      if (created && this.#topics.get(topic.id) === slot) this.#topics.delete(topic.id)
      throw error
    }
  }

  async deleteTopic(topicId: string): Promise<void> {
    this.#assertWritable()
    const idBytes = this.#topics.get(topicId)?.idBytes ?? topicIdBytes(topicId)
    // Gone from memory at once: commits not yet past their log write do not index the topic,
    // and the delete lands after the index batches of those that are.
    this.#topics.delete(topicId)
    await this.#indexed()
    await this.#indexWrite(this.#index.deleteTopic(idBytes, this.#sync))
  }

  async loadPartitions(): Promise<RecoveredPartition[]> {
    const bySlot = new Map<PartitionSlot, RecoveredPartition>()
    for (const topic of this.#topics.values()) {
      for (const slot of topic.partitions.values()) {
        bySlot.set(slot, { topicId: topic.id, partition: slot.partition, state: { ...slot.state }, entries: [] })
      }
    }
    await this.#indexed()
    await this.#index.forEachEntry((topicId, partition, entry) => {
      const slot = this.#topics.get(topicId)?.partitions.get(partition)
      // Entries below the log start offset are left over from retention (their rows are cleared after the files go).
      if (slot !== undefined && entry.lastOffset >= slot.state.logStartOffset) bySlot.get(slot)?.entries.push(entry)
    })
    return [...bySlot.values()]
  }

  append(request: AppendRequest): Promise<BatchLocation> {
    const refusal = this.#refusal()
    if (refusal !== null) return Promise.reject(refusal)
    const problem = appendRequestProblem(request)
    if (problem !== null) return Promise.reject(new ZombiError('INVALID_ARGUMENT', problem))
    const { topicId, partition, baseOffset, lastOffset, maxTimestamp, bytes } = request
    let idBytes = this.#topics.get(topicId)?.idBytes
    if (idBytes === undefined) {
      try {
        idBytes = topicIdBytes(topicId)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const header = batchFrameHeader(idBytes, partition, baseOffset, lastOffset, maxTimestamp, bytes, request.batchCrcChecked === true)
    this.#space.queued(header.length + bytes.length)
    const { promise, resolve, reject } = Promise.withResolvers<BatchLocation>()
    this.#enqueue(new PendingWrite(FRAME_KIND_BATCH, header, bytes, topicId, partition, baseOffset, lastOffset, maxTimestamp, 0, 0, resolve, null, reject))
    return promise
  }

  replaceBatches(topicId: string, partition: number, removed: readonly number[], added: readonly ReplacementBatch[]): Promise<IndexEntry[]> {
    const refusal = this.#refusal()
    if (refusal !== null) return Promise.reject(refusal)
    const problem = replacementProblem(partition, removed, added)
    if (problem !== null) return Promise.reject(new ZombiError('INVALID_ARGUMENT', problem))
    let header: Buffer
    const headers = added.map(({ baseOffset, lastOffset, maxTimestamp, bytes }) => ({ baseOffset, lastOffset, maxTimestamp, size: bytes.length }))
    const batches = added.map((batch) => batch.bytes)
    try {
      header = replaceFrameHeader(this.#topics.get(topicId)?.idBytes ?? topicIdBytes(topicId), partition, [...removed], headers, batches)
    } catch (error) {
      return Promise.reject(error)
    }
    const { promise, resolve, reject } = Promise.withResolvers<IndexEntry[]>()
    const write = new PendingWrite(FRAME_KIND_REPLACE, header, null, topicId, partition, 0, 0, 0, 0, 0, null, null, reject)
    write.replace = new PendingReplace([...removed], headers, batches, resolve)
    this.#space.queued(header.length + write.replace.bytes)
    this.#enqueue(write)
    return promise
  }

  writeState(writes: StateWrite[]): Promise<void> {
    const refusal = this.#refusal()
    if (refusal !== null) return Promise.reject(refusal)
    let frame: Buffer | null
    try {
      frame = writes.length === 0 ? null : stateFrame(writes)
    } catch (error) {
      return Promise.reject(error)
    }
    if (frame !== null) this.#space.queued(frame.length)
    const { promise, resolve, reject } = Promise.withResolvers<undefined>()
    this.#enqueue(new PendingWrite(FRAME_KIND_STATE, frame, null, '', -1, 0, 0, 0, 0, 0, null, resolve, reject))
    return promise
  }

  updatePartitionState(topicId: string, partition: number, update: Partial<Pick<PartitionState, 'logStartOffset' | 'flushedOffset'>>): Promise<void> {
    const refusal = this.#refusal()
    if (refusal !== null) return Promise.reject(refusal)
    const topic = this.#topics.get(topicId)
    if (topic?.partitions.get(partition) === undefined) {
      return Promise.reject(new ZombiError('INVALID_ARGUMENT', `no partition ${partition} of topic ${topicId}`))
    }
    const logStartOffset = update.logStartOffset ?? -1
    const flushedOffset = update.flushedOffset ?? -1
    if (!isOffsetOrUnset(logStartOffset) || !isOffsetOrUnset(flushedOffset)) {
      return Promise.reject(new ZombiError('INVALID_ARGUMENT', `invalid partition state update ${JSON.stringify(update)}`))
    }
    const frame = partitionFrame(topic.idBytes, partition, logStartOffset, flushedOffset)
    this.#space.queued(frame.length)
    const { promise, resolve, reject } = Promise.withResolvers<undefined>()
    this.#enqueue(new PendingWrite(FRAME_KIND_PARTITION, frame, null, topicId, partition, 0, 0, 0, logStartOffset, flushedOffset, null, resolve, reject))
    return promise
  }

  async initPartitions(topicId: string, partitions: number[]): Promise<void> {
    this.#assertWritable()
    const topic = this.#topics.get(topicId)
    // A deleted (or never put) topic gets no partitions: they would be orphans.
    if (topic === undefined) return
    const operations: IndexOperation[] = []
    for (const partition of partitions) {
      if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION) throw new ZombiError('INVALID_ARGUMENT', `invalid partition ${partition}`)
      if (topic.partitions.has(partition)) continue
      const slot = topic.partition(partition)
      operations.push({ type: 'put', key: slot.key, value: encodePartitionState(slot.state) })
    }
    if (operations.length > 0) await this.#indexWrite(this.#index.write(operations, this.#sync))
  }

  stats(): DiskHotStoreStats {
    return { ...this.#stats }
  }

  read(location: BatchLocation, allocate?: (size: number) => Buffer): Buffer {
    return this.#log.read(location.segment, location.position + BATCH_FRAME_HEADER_BYTES, location.size, allocate)
  }

  fileOf(location: BatchLocation): FileRange {
    return { path: this.#log.path(location.segment), position: location.position + BATCH_FRAME_HEADER_BYTES, size: location.size }
  }

  async scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>> {
    await this.#indexed()
    return this.#index.scanState(prefix)
  }

  /**
   * Waits for the index batches of the commits acknowledged so far, so a read of the index sees
   * every acknowledged write (with durability none they settle before their index batch).
   */
  async #indexed(): Promise<void> {
    await this.#indexTail.catch(() => undefined)
  }

  segments(): SegmentListing {
    const segments = []
    for (const segment of this.#log.list()) {
      const stat = this.#log.stat(segment)
      if (stat !== undefined) segments.push({ segment, bytes: stat.size, lastWriteMs: stat.mtimeMs })
    }
    return { segments, deletableBefore: this.#deletableBefore() }
  }

  /** The oldest segment a commit not yet settled may have written to; the active one when none is. */
  #deletableBefore(): number {
    return this.#unsettledFrom[0] ?? this.#log.active().number
  }

  async deleteSegmentsBefore(segment: number, updates: LogStartUpdate[]): Promise<number> {
    this.#assertWritable()
    const deletableBefore = this.#deletableBefore()
    if (!Number.isSafeInteger(segment) || segment > deletableBefore) {
      throw new ZombiError('INVALID_ARGUMENT', `segment ${segment} may still hold unacknowledged writes (deletable before ${deletableBefore})`)
    }
    const moved: Array<{ slot: PartitionSlot; idBytes: Buffer }> = []
    for (const { topicId, partition, logStartOffset } of updates) {
      const topic = this.#topics.get(topicId)
      const slot = topic?.partitions.get(partition)
      if (topic === undefined || slot === undefined || logStartOffset <= slot.state.logStartOffset) continue
      if (!Number.isSafeInteger(logStartOffset) || logStartOffset > slot.state.nextOffset) {
        throw new ZombiError('INVALID_ARGUMENT', `invalid log start offset ${logStartOffset} for partition ${partition} of topic ${topicId}`)
      }
      moved.push({ slot, idBytes: topic.idBytes })
      // Changed now, so every index batch encoded from here on carries it.
      slot.state.logStartOffset = logStartOffset
    }
    // Chained behind the commits already encoded, so none of them writes an older log start
    // over this one; synced, so the rows (and every index batch before, checkpoint included)
    // are durable before a file goes.
    const operations: IndexOperation[] = moved.map(({ slot }) => ({ type: 'put', key: slot.key, value: encodePartitionState(slot.state) }))
    const written = this.#indexTail.then(() => this.#index.write(operations, true))
    this.#indexTail = written
    await this.#indexWrite(written)
    let freed = 0
    for (const number of this.#log.list()) {
      if (number >= segment) break
      freed += this.#log.stat(number)?.size ?? 0
      this.#log.remove(number)
    }
    for (const { slot, idBytes } of moved) {
      await this.#indexWrite(this.#index.clearRange(indexKey(idBytes, slot.partition, 0), indexKey(idBytes, slot.partition, slot.state.logStartOffset)))
    }
    return freed
  }

  #refusal(): ZombiError | null {
    if (this.#failure !== null) return this.#failedError()
    if (this.#blocked !== null) return this.#blocked
    return notOpenRefusal(this.#opened, this.#closed)
  }

  #assertWritable(): void {
    const refusal = this.#refusal()
    if (refusal !== null) throw refusal
  }

  #failedError(): ZombiError {
    return new ZombiError('STORAGE_FAILED', 'a hot log write failed earlier; no further writes are accepted', { cause: this.#failure })
  }

  #enqueue(write: PendingWrite): void {
    this.#queue.push(write)
    if (this.#scheduled || this.#committing !== null) return
    // setImmediate runs in the check phase, after every I/O callback of this loop turn, so
    // all requests read from sockets in one turn join one commit (a microtask would commit
    // after the first callback). A commit in flight picks the queue up when it finishes.
    this.#scheduled = true
    setImmediate(this.#onImmediate)
  }

  readonly #onImmediate = (): void => {
    this.#scheduled = false
    this.#startCommit()
  }

  #startCommit(): void {
    if (this.#committing !== null || this.#queue.length === 0) return
    const writes = this.#queue
    this.#queue = []
    if (this.#rollback !== null) {
      // Past the failure point: rejected once the log is cut back.
      this.#held.push(writes)
      return
    }
    if (this.#failure !== null) {
      const failed = this.#failedError()
      for (const write of writes) write.reject(failed)
      return
    }
    this.#committing = this.#commit(writes).then(() => {
      this.#committing = null
      if (this.#queue.length > 0 && !this.#scheduled) {
        this.#scheduled = true
        setImmediate(this.#onImmediate)
      }
    })
  }

  /**
   * One group commit. Resolves once its frames are durable and its index batch is queued,
   * so the next commit can write and sync while this index batch runs (pipelining: one commit
   * in the log at a time, index batches in commit order). The promises of the commit's calls
   * settle after its own index batch, or with durability none right after the log write.
   * Never rejects: a failure fails the store.
   */
  async #commit(writes: PendingWrite[]): Promise<void> {
    let operations: IndexOperation[]
    let segment = -1
    let position = 0
    try {
      const wrote = await this.#writeFrames(writes)
      const batch = new IndexBatch(++this.#batches)
      for (const write of writes) this.#applyPending(batch, write)
      operations = batch.finish()
      if (wrote) {
        const active = this.#log.active()
        segment = active.number
        position = active.size
        operations.push({ type: 'put', key: CHECKPOINT_KEY, value: encodeCheckpoint(segment, position) })
      }
    } catch (error) {
      if (isStorageFull(error)) this.#rollBack(error, writes)
      else this.#fail(error, writes)
      return
    }
    // Chained on the previous commit's success: after a failed index batch no later one (whose
    // checkpoint would skip the failed commit's frames) is written. Unsynced: a lost index
    // batch is rebuilt from the synced log at the next open.
    const indexed = this.#indexTail.then(() => (operations.length > 0 ? this.#index.write(operations, false) : undefined))
    this.#indexTail = indexed
    this.#indexBacklog++
    if (this.#settleOnLogWrite) this.#acknowledge(writes, segment, position)
    indexed.then(() => {
      this.#indexBacklog--
      if (!this.#settleOnLogWrite) this.#acknowledge(writes, segment, position)
    }, (error: unknown) => {
      this.#indexBacklog--
      // Acknowledged already: the log holds them, and only a reopen's replay can index them again.
      if (this.#settleOnLogWrite) this.#fail(error, [])
      // A commit chained on a failed one fails with the same error, so it joins the same rollback.
      else if (isNoSpace(error)) this.#rollBack(error, writes)
      else this.#fail(error, writes)
    })
    // The next commit starts once this one's frames are in the log: past MAX_INDEX_BACKLOG queued
    // index batches (a stalled index), it waits for this one's instead of the queue growing in
    // memory, so producers wait for their answers (with durability none they settle before it).
    if (this.#indexBacklog > MAX_INDEX_BACKLOG) await indexed.catch(() => undefined)
  }

  /** Moves the rollback point past the commit (`segment` -1: it wrote nothing) and settles its calls. */
  #acknowledge(writes: PendingWrite[], segment: number, position: number): void {
    // Its segments may go now: deleteSegmentsBefore writes its index rows after every queued index batch.
    this.#unsettledFrom.shift()
    if (segment >= 0) {
      this.#durableSegment = segment
      this.#durablePosition = position
    }
    this.#settle(writes)
  }

  /** Resolves a commit's calls in call order, unless the store failed meanwhile: then nothing more is acknowledged. */
  #settle(writes: PendingWrite[]): void {
    if (this.#failure !== null) {
      const failed = this.#failedError()
      for (const write of writes) write.reject(failed)
      return
    }
    for (const write of writes) write.settle()
  }

  /** Places the frames in the log (rolling segments as needed), writes and syncs them. */
  async #writeFrames(writes: PendingWrite[]): Promise<boolean> {
    this.#unsettledFrom.push(this.#log.active().number)
    const groups: WriteGroup[] = []
    let group: WriteGroup | null = null
    let bytes = 0
    let frames = 0
    try {
      for (const write of writes) {
        if (write.frame === null) continue
        const frameBytes = write.frame.length + (write.batch === null ? 0 : write.batch.length) + (write.replace === null ? 0 : write.replace.bytes)
        // Rolling creates a segment file, which a full disk can refuse too.
        const segment = this.#log.reserve(frameBytes)
        if (group === null || group.segment !== segment) {
          group = new WriteGroup(segment)
          groups.push(group)
        }
        write.segment = segment.number
        write.position = segment.size
        segment.size += frameBytes
        bytes += frameBytes
        frames++
        group.buffers.push(write.frame)
        if (write.batch !== null) group.buffers.push(write.batch)
        if (write.replace !== null) for (const batch of write.replace.batches) group.buffers.push(batch)
      }
    } catch (error) {
      throw noSpaceAsFull(error, bytes)
    }
    for (const { segment, start, buffers } of groups) {
      try {
        await this.#log.write(segment, start, buffers)
      } catch (error) {
        throw noSpaceAsFull(error, bytes)
      }
      // A failed fdatasync is never rolled back, whatever its errno: Linux reports a writeback error
      // once and marks the pages clean, so what reached the disk is unknown and a later fsync would
      // succeed over lost bytes. The store fails and the process stops (broker.ts), as a Kafka log
      // directory failure would.
      if (this.#sync) await this.#log.sync(segment)
    }
    this.#space.settled(bytes)
    this.#stats.frames += frames
    this.#stats.bytes += bytes
    if (groups.length > 0) this.#stats.commits++
    return groups.length > 0
  }

  #applyPending(batch: IndexBatch, write: PendingWrite): void {
    if (write.kind === FRAME_KIND_BATCH) {
      this.#applyBatch(batch, write.topicId, write.partition, write.baseOffset, write.lastOffset, write.maxTimestamp, write.segment, write.position, write.batch!.length)
    } else if (write.kind === FRAME_KIND_STATE) {
      if (write.frame !== null) this.#applyState(batch, write.frame.subarray(FRAME_PREFIX_BYTES), false)
    } else if (write.kind === FRAME_KIND_REPLACE) {
      const replace = write.replace!
      const starts: number[] = []
      let start = write.position + write.frame!.length
      for (const added of replace.added) {
        starts.push(start)
        start += added.size
      }
      replace.entries = this.#applyReplace(batch, write.topicId, write.partition, replace.removed, replace.added, write.segment, starts)
    } else {
      this.#applyPartition(batch, write.topicId, write.partition, write.logStartOffset, write.flushedOffset)
    }
  }

  /** Index entry and nextOffset of a stored batch; false if its topic is unknown (deleted). */
  #applyBatch(
    batch: IndexBatch, topicId: string, partition: number, baseOffset: number, lastOffset: number, maxTimestamp: number,
    segment: number, position: number, size: number,
  ): boolean {
    const topic = this.#topics.get(topicId)
    if (topic === undefined) return false
    const slot = topic.partition(partition)
    batch.operations.push({
      type: 'put',
      key: indexKey(topic.idBytes, partition, baseOffset),
      value: encodeIndexValue(segment, position, size, lastOffset - baseOffset, maxTimestamp),
    })
    if (lastOffset + 1 > slot.state.nextOffset) slot.state.nextOffset = lastOffset + 1
    batch.touch(slot)
    return true
  }

  /**
   * A replacement's index change: the removed entries go, the added ones (whose bytes start at
   * `starts` in `segment`) come, in one index batch. Returns the added entries.
   */
  #applyReplace(
    batch: IndexBatch, topicId: string, partition: number, removed: readonly number[], added: readonly ReplacedBatchHeader[], segment: number, starts: readonly number[],
  ): IndexEntry[] {
    const entries: IndexEntry[] = []
    for (let i = 0; i < added.length; i++) {
      const { baseOffset, lastOffset, maxTimestamp, size } = added[i]!
      entries.push({ baseOffset, lastOffset, maxTimestamp, segment, position: starts[i]! - BATCH_FRAME_HEADER_BYTES, size })
    }
    const topic = this.#topics.get(topicId)
    // A deleted topic, or a partition without state: nothing of it is indexed.
    if (topic === undefined || !topic.partitions.has(partition)) return entries
    for (const offset of removed) batch.operations.push({ type: 'del', key: indexKey(topic.idBytes, partition, offset) })
    for (const entry of entries) {
      batch.operations.push({
        type: 'put',
        key: indexKey(topic.idBytes, partition, entry.baseOffset),
        value: encodeIndexValue(segment, entry.position, entry.size, entry.lastOffset - entry.baseOffset, entry.maxTimestamp),
      })
    }
    return entries
  }

  #applyState(batch: IndexBatch, body: Buffer, copy: boolean): number {
    return forEachStateRow(body, (key, value) => {
      const rowKey = stateKeyFromBytes(key)
      if (value === null) batch.operations.push({ type: 'del', key: rowKey })
      else batch.operations.push({ type: 'put', key: rowKey, value: copy ? Buffer.from(value) : value })
    })
  }

  #applyPartition(batch: IndexBatch, topicId: string, partition: number, logStartOffset: number, flushedOffset: number): void {
    const slot = this.#topics.get(topicId)?.partitions.get(partition)
    if (slot === undefined) return
    if (logStartOffset >= 0) slot.state.logStartOffset = logStartOffset
    if (flushedOffset >= 0) slot.state.flushedOffset = flushedOffset
    batch.touch(slot)
  }

  #fail(error: unknown, writes: PendingWrite[]): void {
    if (this.#failure === null) {
      this.#failure = error
      this.#logger.fatal({ err: error }, 'hot log write failed; refusing every further write')
    }
    const failed = this.#failedError()
    for (const write of writes) write.reject(failed)
    const queued = this.#queue
    this.#queue = []
    for (const write of queued) write.reject(failed)
    for (const held of this.#held.splice(0)) for (const write of held) write.reject(failed)
  }

  /**
   * A write failed for lack of space: holds `writes` (null for a failed index write outside a
   * commit) and starts, or joins, the rollback to the last acknowledged commit.
   */
  #rollBack(error: unknown, writes: PendingWrite[] | null): void {
    if (writes !== null) this.#held.push(writes)
    if (this.#rollback !== null) return
    this.#logger.error({ err: error, ...this.#space.logFields() }, 'the disk is full: a hot-log write failed; rolling back to the last acknowledged write')
    this.#blocked = new ZombiError('STORAGE_FULL', `the disk is full: the write was rolled back and nothing of it is stored (${this.#space.describe()}); retry later`, { cause: error })
    this.#rollback = this.#runRollback().catch((fatal: unknown) => this.#fail(fatal, [])).finally(() => {
      this.#rollback = null
    })
  }

  async #runRollback(): Promise<void> {
    // Every commit before the failure point settles (it is acknowledged); every one after it fails
    // into #held, as index batches are chained on the previous one's success.
    for (;;) {
      if (this.#committing !== null) {
        await this.#committing
        continue
      }
      const tail = this.#indexTail
      await tail.catch(() => undefined)
      if (this.#committing === null && tail === this.#indexTail) break
    }
    if (this.#queue.length > 0) this.#held.push(this.#queue.splice(0))
    this.#indexTail = Promise.resolve()
    this.#unsettledFrom.length = 0
    // Frames past the last acknowledged commit are indexed nowhere and their offsets are given out
    // again, so they are cut (synced) before anyone is told: a torn or stale tail is never served
    // nor replayed by a later recovery.
    for (const segment of this.#log.list()) {
      if (segment >= this.#durableSegment) this.#log.truncate(segment, segment === this.#durableSegment ? this.#durablePosition : 0)
    }
    this.#space.settleAll()
    // All at once, after every earlier commit settled: the log layer takes the offsets back.
    const blocked = this.#blocked!
    for (const held of this.#held.splice(0)) for (const write of held) write.reject(blocked)
    // The estimate let this write through, so the disk filled up behind its back (another process):
    // measure again before accepting anything (this may also give the reserve back to the index).
    await this.#space.check().catch((error: unknown) => this.#logger.error({ err: error }, 'checking free disk space failed'))
    await this.#restoreIndex()
  }

  /**
   * Makes the index writable again (reopening it if a write to it failed, after giving back the
   * reserve) and the partition states those of the acknowledged commits; writes are accepted again.
   * While the disk is too full to reopen it, writes stay refused and the space timer tries again.
   */
  async #restoreIndex(): Promise<void> {
    if (this.#index.failed) {
      if (await this.#space.releaseReserve()) this.#logger.warn({ dir: this.#dir }, 'released the reserve file to reopen the hot-log index')
      try {
        await this.#index.reopen()
      } catch (error) {
        if (!isNoSpace(error)) throw error
        this.#logger.warn({ err: error, ...this.#space.logFields() }, 'the disk is still too full to reopen the hot-log index; retrying when space returns')
        return
      }
    }
    await this.#reloadPartitionStates()
    this.#blocked = null
    this.#logger.info(this.#space.logFields(), 'hot log rolled back to the last acknowledged write; accepting writes')
  }

  /** Partition states as the index holds them: those of the acknowledged commits. */
  async #reloadPartitionStates(): Promise<void> {
    const stored = new Set<PartitionSlot>()
    for (const { topicId, partition, state } of await this.#index.partitionStates()) {
      const slot = this.#topics.get(topicId)?.partitions.get(partition)
      if (slot === undefined) continue
      slot.state.logStartOffset = state.logStartOffset
      slot.state.nextOffset = state.nextOffset
      slot.state.flushedOffset = state.flushedOffset
      stored.add(slot)
    }
    // Created by a rolled-back commit: made again, at offset 0, by the next append.
    for (const topic of this.#topics.values()) {
      for (const [partition, slot] of topic.partitions) if (!stored.has(slot)) topic.partitions.delete(partition)
    }
  }

  /** Awaits a write to the index outside a commit; one that fails for lack of space closes the index until it is reopened. */
  async #indexWrite(write: Promise<void>): Promise<void> {
    try {
      await write
    } catch (error) {
      if (!isNoSpace(error)) throw error
      this.#rollBack(error, null)
      throw this.#blocked ?? new ZombiError('STORAGE_FULL', 'the disk is full', { cause: error })
    }
  }
}

/** A write error for lack of space as STORAGE_FULL (rolled back, the store goes on); others as they are (fatal). */
function noSpaceAsFull(error: unknown, bytes: number): unknown {
  if (isStorageFull(error) || !isNoSpace(error)) return error
  return new ZombiError('STORAGE_FULL', `the disk is full: writing ${bytes} bytes to the hot log failed`, { cause: error })
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}


function isOffsetOrUnset(value: number): boolean {
  return Number.isSafeInteger(value) && value >= -1
}
