// The flusher: moves each partition's hot log, from its flushed offset to the high watermark,
// into the topic's Iceberg table, exactly once. Triggers: a topic's unflushed bytes reaching the
// target file size, records older than the flush interval, flush(topic), and close() (shutdown).
// A flush goes in rounds, one snapshot each. A round takes at most one chunk per partition and
// packs the chunks, smallest first, into encode jobs of about the target file size, at most one
// job per encode worker: so a round's memory is bounded whatever the partitions' backlogs, and a
// job's data files (one per event hour) hold the rows of many Kafka partitions, sorted by
// partition then sequence, rather than one file per partition.
// Encoding runs in worker threads; the event loop only copies stored batches and streams each
// file's bytes from its worker into the object store as they are encoded.
import { randomUUID } from 'node:crypto'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { Catalog } from '../catalog/catalog.ts'
import { ZombiError, hasCode } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import type { FileRanges } from '../storage/file-ranges.ts'
import type { EncodeJob, EncodePart } from './encode.ts'
import type { EncodePool } from './encode-pool.ts'
import type { EncodeRun, IncomingFile } from './encode-stream.ts'
import type { FlushMetrics, PartitionLag } from './metrics.ts'
import { TableWriter, type OffsetRange, type RecreatedTopicPolicy, type WrittenDataFile } from './table-writer.ts'
import type { SchemaLookup } from '../schema/lookup.ts'
import type { TableMode } from '../schema/decoders.ts'
import { EMPTY_SCHEMA_LOOKUP } from '../schema/empty-lookup.ts'
import { currentSchema } from './metadata.ts'
import { LAST_COLUMN_ID } from './schema.ts'
import { TableTypes } from './typed-resolver.ts'
import { deadLetterFields, deadLetterTable } from './typed-rows.ts'
import { valueFieldOf } from './typed-schema.ts'


/** What the flusher reads of a partition (the log's Partition has this shape; only the log changes it). */
export interface FlushablePartition {
  readonly id: number
  readonly highWatermark: number
  /** Offsets below are decided (no open transaction): the table takes records up to here only. */
  readonly lastStableOffset: number
  readonly logStartOffset: number
  readonly flushedOffset: number
  /** Bytes of the stored batches holding offsets from `from` below `to` (counting stops once past `limit`). */
  bytesBetween(from: number, to: number, limit?: number): number
  /** The offset after the batches of one read of at most `maxBytes` (the first batch always) from `offset` below `end`. */
  readEnd(offset: number, maxBytes: number, end: number): number
  /** Appends those batches to `out`, returns their bytes. */
  read(offset: number, maxBytes: number, includeOversized: boolean, out: Buffer[], end: number): number
  /** Aborted transactions with batches in [from, to): their batches never reach the table. */
  abortedTransactions(from: number, to: number): ReadonlyArray<{ producerId: number; firstOffset: number; lastOffset: number }>
  /** Where the batches of offsets [offset, end) lie in the hot log's files: the encode worker then reads them itself (null: no files). */
  files(offset: number, end: number): FileRanges | null
}

export interface FlushableTopic {
  readonly id: string
  readonly name: string
  /** Topic configs as set (`zombi.iceberg.mode` chooses the table layout; unset: key_value). */
  readonly configs?: Readonly<Record<string, string>>
  readonly partitions: readonly FlushablePartition[]
}

/** The flusher's view of the hot log (the log's BrokerLog has this shape). */
export interface FlushSource {
  topics(): Iterable<FlushableTopic>
  topicByName(name: string): FlushableTopic | undefined
  topicById(id: string): FlushableTopic | undefined
  /** Records, durably and in memory, that every offset of the partition below `offset` is in the table. */
  markFlushed(partition: FlushablePartition, offset: number): Promise<void>
  /** Resolves at the next append to any of the partitions (or at the deadline). */
  waitForAppend(partitions: readonly FlushablePartition[], deadline: number): Promise<void>
}

export interface FlusherOptions {
  source: FlushSource
  catalog: Catalog
  namespace: string
  pool: EncodePool
  metrics: FlushMetrics
  logger: Logger
  targetFileBytes: number
  /** Decoded bytes per Parquet row group, the unit a file streams out in (default ROW_GROUP_BYTES). */
  rowGroupBytes?: number
  /** Records older than this are flushed; 0 turns the age trigger off. */
  intervalMs: number
  recreatedTopicPolicy: RecreatedTopicPolicy
  /** How often partitions are checked for the age trigger and new topics (default 1 s). */
  checkIntervalMs?: number
  now?: () => number
  /** The schema registry typed tables decode with (none: typed topics send every record to their dead-letter table). */
  schemas?: SchemaLookup
}

export { deadLetterTable }

export interface FlushSummary {
  topic: string
  rows: number
  files: number
  bytes: number
  snapshots: number
  /** Flushed offset per partition after the flush. */
  flushedOffsets: Record<number, number>
}

class PartitionState {
  armed = false
  /** Offset up to which unflushedBytes has counted the index. */
  countedEnd: number
  unflushedBytes = 0
  /** When the partition last went from fully flushed to having unflushed records (0: none). */
  dirtySince = 0

  constructor(countedEnd: number) {
    this.countedEnd = countedEnd
  }
}

class TopicState {
  readonly topic: FlushableTopic
  readonly writer: TableWriter
  /** A typed topic's dead-letter table and the value column in the making (null until the topic is typed). */
  deadLetters: TableWriter | null = null
  types: TableTypes | null = null
  readonly partitions: PartitionState[] = []
  reconciled = false
  requested = false
  running: Promise<FlushSummary> | null = null
  failures = 0
  retryAtMs = 0
  lastError = ''

  constructor(topic: FlushableTopic, writer: TableWriter) {
    this.topic = topic
    this.writer = writer
  }
}

/** The offsets [from, end) of one partition a round covers; `chunkEnd` === `from`: no stored batch there (a gap). */
interface Chunk {
  partition: FlushablePartition
  from: number
  end: number
  /** Bytes of the stored batches still to flush (counted up to a job's budget: enough to order by). */
  pending: number
}

/** One encode job of a round: chunks of several partitions, [from, chunkEnd) each, in partition order. */
interface PlannedJob {
  parts: Array<{ partition: FlushablePartition; from: number; chunkEnd: number; bytes: number }>
  bytes: number
}

const MAX_RETRY_DELAY_MS = 60_000
/** A one-partition job is split between idle workers only when each half holds at least this many stored bytes. */
const MIN_SPLIT_BYTES = 1024 * 1024

interface JobResult { files: WrittenDataFile[]; deadLetterFiles: WrittenDataFile[]; ranges: OffsetRange[] }

/**
 * The jobs whose ranges join up: a job of half a partition that follows one that stopped short
 * (its decoded-bytes cap came first) would leave a hole in the table's offsets, so it is dropped
 * (its files are deleted; the next round encodes those offsets again).
 */
function joinedRanges(jobs: readonly PlannedJob[], results: readonly JobResult[]): JobResult[] {
  // Where each partition's offsets of the round start: the ranges must go on from there without a hole.
  const ends = new Map<number, number>()
  for (const job of jobs) for (const part of job.parts) ends.set(part.partition.id, Math.min(ends.get(part.partition.id) ?? Infinity, part.from))
  const kept: JobResult[] = []
  const ordered = [...results].sort((a, b) => (a.ranges[0]?.from ?? 0) - (b.ranges[0]?.from ?? 0))
  for (const result of ordered) {
    if (result.ranges.some((range) => ends.get(range.partition) !== range.from)) continue
    for (const range of result.ranges) ends.set(range.partition, range.end)
    kept.push(result)
  }
  return kept
}

/** One range per partition out of adjacent ones (the halves of a split job). */
function mergeRanges(ranges: readonly OffsetRange[]): OffsetRange[] {
  const sorted = [...ranges].sort((a, b) => a.partition - b.partition || a.from - b.from)
  const out: OffsetRange[] = []
  for (const range of sorted) {
    const last = out.at(-1)
    if (last !== undefined && last.partition === range.partition && last.end === range.from) last.end = range.end
    else out.push({ ...range })
  }
  return out
}
/** Bytes copied from the hot log between two yields to the event loop. */
const READ_SLICE_BYTES = 4 * 1024 * 1024

function eventDateString(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10)
}

export class Flusher {
  readonly #options: FlusherOptions
  readonly #topics = new Map<string, TopicState>()
  readonly #now: () => number
  #timer: NodeJS.Timeout | null = null
  #sizeCheck: NodeJS.Timeout | null = null
  /** Fires when the oldest unflushed record of some topic reaches the interval (see #scheduleDue). */
  #dueTimer: NodeJS.Timeout | null = null
  #dueAt = Number.POSITIVE_INFINITY
  #closed = false

  constructor(options: FlusherOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    options.metrics.lag = () => this.lag()
  }

  /** Reconciles every topic with its table (crash recovery) and starts the triggers. */
  async start(): Promise<void> {
    for (const topic of this.#options.source.topics()) {
      const state = this.#state(topic)
      try {
        await this.#reconcile(state)
      } catch (error) {
        this.#options.logger.error({ err: error, topic: topic.name }, 'reading the Iceberg table at start failed; will retry on the next flush')
      }
    }
    const check = this.#options.checkIntervalMs ?? 1000
    this.#timer = setInterval(() => this.#tick(), check)
    this.#timer.unref()
    // Arms every partition's append waiter now, so the first records are timed from their arrival.
    this.#tick()
  }

  /** Flushes every partition of the topic up to its current high watermark; resolves once committed. */
  flush(topicName: string): Promise<FlushSummary> {
    const topic = this.#options.source.topicByName(topicName)
    if (topic === undefined) return Promise.reject(new ZombiError('INVALID_ARGUMENT', `unknown topic ${topicName}`))
    return this.#request(this.#state(topic))
  }

  /** Flushes all topics (used at shutdown). */
  async flushAll(): Promise<FlushSummary[]> {
    const runs: Array<Promise<FlushSummary>> = []
    for (const topic of this.#options.source.topics()) {
      if (topic.partitions.some((partition) => partition.lastStableOffset > partition.flushedOffset)) runs.push(this.#request(this.#state(topic)))
    }
    return Promise.all(runs)
  }

  /** Stops the triggers, waits for running flushes and makes a final flush of everything. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    if (this.#sizeCheck !== null) clearTimeout(this.#sizeCheck)
    if (this.#dueTimer !== null) clearTimeout(this.#dueTimer)
    await Promise.allSettled([...this.#topics.values()].map((state) => state.running))
    const started = performance.now()
    const cpu = process.cpuUsage()
    try {
      const summaries = await this.flushAll()
      let rows = 0
      let bytes = 0
      let files = 0
      for (const summary of summaries) {
        rows += summary.rows
        bytes += summary.bytes
        files += summary.files
      }
      const used = process.cpuUsage(cpu)
      this.#options.logger.info({
        rows, files, bytes, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6,
      }, 'final flush to Iceberg done')
    } finally {
      await this.#options.pool.close()
    }
  }

  /** Resolves once no flush runs (compaction waits for it before each rewrite, so it never delays a flush). */
  async whenIdle(): Promise<void> {
    for (;;) {
      const running: Array<Promise<FlushSummary>> = []
      for (const state of this.#topics.values()) if (state.running !== null) running.push(state.running)
      if (running.length === 0) return
      await Promise.allSettled(running)
    }
  }

  /** Topics whose last flush attempt failed (their records wait in the hot log for the retry), for health. */
  failing(): Array<{ topic: string; failures: number; error: string }> {
    const out = []
    for (const state of this.#topics.values()) {
      if (state.failures > 0) out.push({ topic: state.topic.name, failures: state.failures, error: state.lastError })
    }
    return out
  }

  lag(): PartitionLag[] {
    const now = this.#now()
    const out: PartitionLag[] = []
    for (const state of this.#topics.values()) {
      state.topic.partitions.forEach((partition, i) => {
        const records = Math.max(0, partition.highWatermark - partition.flushedOffset)
        const since = state.partitions[i]?.dirtySince ?? 0
        out.push({ topic: state.topic.name, partition: partition.id, records, ageMs: records > 0 && since > 0 ? now - since : 0 })
      })
    }
    return out
  }

  #state(topic: FlushableTopic): TopicState {
    let state = this.#topics.get(topic.id)
    if (state === undefined) {
      const writer = new TableWriter(this.#options.catalog, { namespace: this.#options.namespace, name: topic.name }, topic.id, this.#options.recreatedTopicPolicy)
      state = new TopicState(topic, writer)
      this.#topics.set(topic.id, state)
    }
    return state
  }

  #partitionState(state: TopicState, partition: FlushablePartition): PartitionState {
    let partitionState = state.partitions[partition.id]
    if (partitionState === undefined) {
      partitionState = new PartitionState(partition.flushedOffset)
      state.partitions[partition.id] = partitionState
    }
    return partitionState
  }

  /** Counts bytes appended since the last look, arms the append waiter again; returns the partition's unflushed bytes. */
  #account(state: TopicState, partition: FlushablePartition): number {
    const partitionState = this.#partitionState(state, partition)
    if (partitionState.countedEnd < partition.flushedOffset) partitionState.countedEnd = partition.flushedOffset
    // Records of an open transaction wait for its end (the table holds committed records only): they
    // count towards neither the size nor the age trigger until the last stable offset passes them.
    const stable = partition.lastStableOffset
    if (partitionState.countedEnd < stable) {
      partitionState.unflushedBytes += partition.bytesBetween(partitionState.countedEnd, stable)
      partitionState.countedEnd = stable
    }
    if (stable <= partition.flushedOffset) partitionState.dirtySince = 0
    else if (partitionState.dirtySince === 0) {
      partitionState.dirtySince = this.#now()
      this.#scheduleDue(partitionState.dirtySince)
    }
    if (!partitionState.armed && !this.#closed) {
      partitionState.armed = true
      void this.#options.source.waitForAppend([partition], Number.POSITIVE_INFINITY).then(() => this.#onAppend(partitionState))
    }
    return partitionState.unflushedBytes
  }

  #onAppend(partitionState: PartitionState): void {
    partitionState.armed = false
    // Coalesce: one size check for all appends of the next few milliseconds.
    if (this.#sizeCheck === null && !this.#closed) {
      this.#sizeCheck = setTimeout(() => {
        this.#sizeCheck = null
        this.#checkSizes()
      }, 50)
      this.#sizeCheck.unref()
    }
  }

  #checkSizes(): void {
    for (const state of this.#topics.values()) {
      if (this.#options.source.topicById(state.topic.id) !== state.topic) continue
      // A data file holds many partitions, so the size trigger is the topic's unflushed bytes.
      let unflushed = 0
      for (const partition of state.topic.partitions) unflushed += this.#account(state, partition)
      const full = unflushed >= this.#options.targetFileBytes
      if (full && state.running === null && this.#now() >= state.retryAtMs) this.#background(state)
    }
  }

  #tick(): void {
    const now = this.#now()
    const live = new Set<string>()
    for (const topic of this.#options.source.topics()) {
      live.add(topic.id)
      const state = this.#state(topic)
      let due = false
      let unflushed = 0
      for (const partition of topic.partitions) {
        unflushed += this.#account(state, partition)
        const dirtySince = state.partitions[partition.id]!.dirtySince
        if (this.#options.intervalMs > 0 && dirtySince > 0) {
          if (now - dirtySince >= this.#options.intervalMs) due = true
          else this.#scheduleDue(dirtySince)
        }
      }
      if (unflushed >= this.#options.targetFileBytes) due = true
      if (due && state.running === null && now >= state.retryAtMs) this.#background(state)
    }
    // Deleted topics: their tables stay; forget the state once nothing runs.
    for (const [id, state] of this.#topics) if (!live.has(id) && state.running === null) this.#topics.delete(id)
  }

  #background(state: TopicState): void {
    this.#request(state).catch(() => undefined)
  }

  #request(state: TopicState): Promise<FlushSummary> {
    state.requested = true
    if (state.running === null) {
      const running = this.#run(state).finally(() => {
        if (state.running === running) state.running = null
      })
      state.running = running
    }
    return state.running
  }

  async #run(state: TopicState): Promise<FlushSummary> {
    const total: FlushSummary = { topic: state.topic.name, rows: 0, files: 0, bytes: 0, snapshots: 0, flushedOffsets: {} }
    while (state.requested) {
      state.requested = false
      try {
        await this.#flushTopic(state, total)
        state.failures = 0
        state.retryAtMs = 0
      } catch (error) {
        state.failures++
        state.lastError = error instanceof Error ? error.message : String(error)
        state.retryAtMs = this.#now() + Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.min(state.failures, 6))
        this.#options.metrics.failures++
        this.#options.logger.error({ err: error, topic: state.topic.name, failures: state.failures }, 'flush to Iceberg failed; the records stay in the hot log and the flush is retried')
        throw error
      }
    }
    for (const partition of state.topic.partitions) total.flushedOffsets[partition.id] = partition.flushedOffset
    return total
  }

  /**
   * Aligns the local flushed offsets with the table: a commit whose flushed offset was not
   * recorded before a crash is recorded now (so it is not written again).
   */
  async #reconcile(state: TopicState): Promise<Map<number, number>> {
    const committed = await state.writer.committedOffsets()
    for (const partition of state.topic.partitions) {
      const end = committed.get(partition.id) ?? 0
      if (end > partition.flushedOffset) {
        this.#options.logger.info({ topic: state.topic.name, partition: partition.id, from: partition.flushedOffset, to: end }, 'flushed offset taken from the Iceberg table (committed before the last stop)')
        await this.#options.source.markFlushed(partition, end)
        this.#flushed(state, partition)
      }
    }
    state.reconciled = true
    return committed
  }

  /** After the log recorded a new flushed offset: what stays unflushed is the counted batches at or after it. */
  #flushed(state: TopicState, partition: FlushablePartition): void {
    const offset = partition.flushedOffset
    const partitionState = this.#partitionState(state, partition)
    partitionState.unflushedBytes = partition.bytesBetween(offset, partitionState.countedEnd)
    if (partitionState.countedEnd < offset) partitionState.countedEnd = offset
    partitionState.dirtySince = offset >= partition.lastStableOffset ? 0 : this.#now()
    if (partitionState.dirtySince > 0) this.#scheduleDue(partitionState.dirtySince)
  }

  /**
   * Wakes the flusher the moment a partition dirty since `dirtySince` is due, instead of at the
   * next periodic check: that check alone added up to its period (1 s) to ack -> visible.
   * One timer for all topics, moved earlier only; the periodic check stays as the safety net
   * (retries after failures, size triggers, deleted topics).
   */
  #scheduleDue(dirtySince: number): void {
    const interval = this.#options.intervalMs
    const at = dirtySince + interval
    if (this.#closed || interval <= 0 || at >= this.#dueAt) return
    if (this.#dueTimer !== null) clearTimeout(this.#dueTimer)
    this.#dueAt = at
    this.#dueTimer = setTimeout(() => {
      this.#dueTimer = null
      this.#dueAt = Number.POSITIVE_INFINITY
      this.#tick()
    }, Math.max(0, at - this.#now()))
    this.#dueTimer.unref()
  }

  /** Flushes every partition up to the high watermark seen at the start, in bounded rounds. */
  async #flushTopic(state: TopicState, total: FlushSummary): Promise<void> {
    const topic = state.topic
    // Up to the last stable offset: a transaction still open is neither committed nor aborted yet.
    const targets = topic.partitions.map((partition) => partition.lastStableOffset)
    // Where this flush got to per partition: a chunk without rows (only control batches) is
    // recorded locally but not committed, so the table alone would send us back to it.
    const progress = new Map<number, number>()
    for (;;) {
      if (this.#options.source.topicById(topic.id) !== topic) return
      const committed = await this.#reconcile(state)
      const mode = (topic.configs?.['zombi.iceberg.mode'] ?? 'key_value') as TableMode
      const deadLetterEnds = mode === 'key_value' ? null : await this.#prepareTyped(state)
      // Each partition continues from what the table holds; a table that lost commits (or a
      // new one) is refilled from what the hot log still has.
      const work: Chunk[] = []
      for (const partition of topic.partitions) {
        const target = targets[partition.id] ?? partition.lastStableOffset
        const from = Math.max(committed.get(partition.id) ?? 0, partition.logStartOffset, progress.get(partition.id) ?? 0)
        if (from < target) work.push({ partition, from, end: target, pending: partition.bytesBetween(from, target, this.#options.targetFileBytes) })
      }
      if (work.length === 0) return
      const round = await this.#encodeRound(state, work, mode, deadLetterEnds)
      if (this.#options.source.topicById(topic.id) !== topic) {
        // Deleted while encoding: its table keeps what was committed before.
        await this.#deleteFiles(round.files)
        return
      }
      if (round.deadLetterFiles.length > 0) {
        // The dead letters commit first, covering the same offsets: if the table's commit is then
        // lost, the next round writes no dead letter twice (the job skips those below the dead-letter
        // table's end); the other way round, a crash would lose them.
        const ranges: OffsetRange[] = []
        for (const range of round.ranges) {
          const from = Math.max(range.from, deadLetterEnds?.get(range.partition) ?? 0)
          if (from < range.end) ranges.push({ partition: range.partition, from, end: range.end })
        }
        try {
          await state.deadLetters!.commit(round.deadLetterFiles, ranges, this.#now())
        } catch (error) {
          if (!hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) await this.#deleteFiles(round.deadLetterFiles)
          await this.#deleteFiles(round.files)
          throw error
        }
        let letters = 0
        for (const file of round.deadLetterFiles) letters += file.recordCount
        this.#options.metrics.deadLetters.set(topic.name, (this.#options.metrics.deadLetters.get(topic.name) ?? 0) + letters)
      }
      if (round.files.length > 0) {
        const started = performance.now()
        try {
          const types = state.types
          const typed = mode !== 'key_value' && types !== null && types.field !== null ? { field: types.field, lastColumnId: types.lastColumnId } : null
          await state.writer.commit(round.files, round.ranges, this.#now(), typed)
        } catch (error) {
          // A commit that may still land keeps its files; the next flush reads the table and sees.
          if (hasCode(error, 'CATALOG_COMMIT_UNKNOWN')) throw error
          await this.#deleteFiles(round.files)
          if (hasCode(error, 'ICEBERG_RANGE_COMMITTED')) continue
          throw error
        }
        this.#options.metrics.observeCommit((performance.now() - started) / 1000)
        this.#options.metrics.commits++
        total.snapshots++
      }
      for (const range of round.ranges) {
        const partition = topic.partitions[range.partition]!
        progress.set(range.partition, range.end)
        const before = partition.flushedOffset
        await this.#options.source.markFlushed(partition, range.end)
        if (partition.flushedOffset > before) this.#flushed(state, partition)
      }
      let rows = 0
      let bytes = 0
      for (const file of round.files) {
        rows += file.recordCount
        bytes += file.sizeBytes
      }
      this.#options.metrics.rowsFlushed += rows
      this.#options.metrics.bytesFlushed += bytes
      this.#options.metrics.filesWritten += round.files.length
      total.rows += rows
      total.bytes += bytes
      total.files += round.files.length
    }
  }

  /**
   * Plans a round: at most one chunk per partition, packed smallest first into jobs of about
   * targetFileBytes stored bytes (a chunk is cut to what its job has left, batch aligned; one
   * batch may go over), at most one job per encode worker. Partitions that do not fit wait for
   * the next round; a gap (no stored batch left in the hot log) is covered without a job.
   */
  #plan(work: Chunk[]): { jobs: PlannedJob[]; gaps: OffsetRange[] } {
    const budget = this.#options.targetFileBytes
    const maxJobs = Math.max(1, this.#options.pool.size)
    const jobs: PlannedJob[] = []
    const gaps: OffsetRange[] = []
    work.sort((a, b) => a.pending - b.pending || a.partition.id - b.partition.id)
    let job: PlannedJob | null = null
    for (const chunk of work) {
      const { partition, from, end } = chunk
      if (job !== null && job.bytes >= budget) {
        if (jobs.length >= maxJobs) break
        job = null
      }
      const chunkEnd = partition.readEnd(from, job === null ? budget : budget - job.bytes, end)
      if (chunkEnd === from) {
        gaps.push({ partition: partition.id, from, end })
        continue
      }
      if (job === null) {
        if (jobs.length >= maxJobs) break
        job = { parts: [], bytes: 0 }
        jobs.push(job)
      }
      const bytes = partition.bytesBetween(from, chunkEnd)
      job.parts.push({ partition, from, chunkEnd, bytes })
      job.bytes += bytes
    }
    // Workers left over take halves of the biggest one-partition jobs (batch aligned), so a topic of
    // one busy partition is encoded on every worker: #encodeRound puts the ranges back together.
    while (jobs.length < maxJobs) {
      let biggest: PlannedJob | null = null
      for (const planned of jobs) if (planned.parts.length === 1 && planned.bytes >= 2 * MIN_SPLIT_BYTES && (biggest === null || planned.bytes > biggest.bytes)) biggest = planned
      if (biggest === null) break
      const { partition, from, chunkEnd, bytes } = biggest.parts[0]!
      const middle = partition.readEnd(from, Math.ceil(bytes / 2), chunkEnd)
      if (middle <= from || middle >= chunkEnd) break
      const firstBytes = partition.bytesBetween(from, middle)
      biggest.parts[0] = { partition, from, chunkEnd: middle, bytes: firstBytes }
      biggest.bytes = firstBytes
      jobs.push({ parts: [{ partition, from: middle, chunkEnd, bytes: bytes - firstBytes }], bytes: bytes - firstBytes })
    }
    for (const planned of jobs) planned.parts.sort((a, b) => a.partition.id - b.partition.id)
    return { jobs, gaps }
  }

  /**
   * A typed topic's round starts from its tables as committed: the dead-letter table's end offsets
   * (returned), and the value column as the table's current schema has it.
   */
  async #prepareTyped(state: TopicState): Promise<Map<number, number>> {
    const topic = state.topic
    state.deadLetters ??= new TableWriter(this.#options.catalog, { namespace: this.#options.namespace, name: deadLetterTable(topic.name) }, topic.id, this.#options.recreatedTopicPolicy, undefined, deadLetterFields())
    const ends = await state.deadLetters.committedOffsets()
    const metadata = state.writer.metadata
    const field = metadata === null ? null : valueFieldOf(currentSchema(metadata))
    const lastColumnId = metadata === null ? LAST_COLUMN_ID : metadata['last-column-id']
    if (state.types === null) state.types = new TableTypes(this.#options.schemas ?? EMPTY_SCHEMA_LOOKUP, topic.name, field, lastColumnId)
    else state.types.reset(field, lastColumnId)
    return ends
  }

  /** Encodes a round's jobs (in parallel, one per worker) and writes their files. */
  async #encodeRound(state: TopicState, work: Chunk[], mode: TableMode, deadLetterEnds: Map<number, number> | null): Promise<{ files: WrittenDataFile[]; deadLetterFiles: WrittenDataFile[]; ranges: OffsetRange[] }> {
    const { jobs, gaps } = this.#plan(work)
    const files: WrittenDataFile[] = []
    const deadLetterFiles: WrittenDataFile[] = []
    const failures: unknown[] = []
    const results = await Promise.all(jobs.map(async (job) => {
      try {
        return await this.#encodeJob(state, job, mode, deadLetterEnds)
      } catch (error) {
        failures.push(error)
        return null
      }
    }))
    const kept = failures.length > 0 ? [] : joinedRanges(jobs, results as JobResult[])
    for (const result of results) {
      if (result === null) continue
      if (kept.includes(result)) {
        files.push(...result.files)
        deadLetterFiles.push(...result.deadLetterFiles)
      } else {
        await this.#deleteFiles(result.files)
        await this.#deleteFiles(result.deadLetterFiles)
      }
    }
    if (failures.length > 0) throw failures[0]
    const ranges: OffsetRange[] = [...gaps]
    for (const result of kept) ranges.push(...result.ranges)
    return { files, deadLetterFiles, ranges: mergeRanges(ranges) }
  }

  async #encodeJob(state: TopicState, planned: PlannedJob, mode: TableMode, deadLetterEnds: Map<number, number> | null): Promise<{ files: WrittenDataFile[]; deadLetterFiles: WrittenDataFile[]; ranges: OffsetRange[] }> {
    const maxBytes = this.#options.targetFileBytes
    // Parts the worker reads from the hot log's files itself; the others are copied here, back to back.
    const parts: EncodePart[] = []
    let copyBytes = 0
    for (const { partition, from, chunkEnd, bytes } of planned.parts) {
      const files = partition.files(from, chunkEnd)
      if (files === null) copyBytes += bytes
      const aborted = partition.abortedTransactions(from, chunkEnd)
      parts.push({ partition: partition.id, fromOffset: from, batchBytes: 0, files: files ?? undefined, aborted: aborted.length === 0 ? undefined : aborted.flatMap((a) => [a.producerId, a.firstOffset, a.lastOffset]) })
    }
    let batches = new Uint8Array(copyBytes)
    let at = 0
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      if (part.files !== undefined) continue
      const { partition, from, chunkEnd, bytes } = planned.parts[i]!
      part.batchBytes = await this.#copyBatches(partition, from, chunkEnd, batches.subarray(at, at + bytes))
      at += part.batchBytes
    }
    if (at < copyBytes) batches = batches.subarray(0, at)
    const job: EncodeJob = { topic: state.topic.name, parts, batches, maxRowBytes: 2 * maxBytes, targetFileBytes: maxBytes, rowGroupBytes: this.#options.rowGroupBytes }
    if (mode !== 'key_value') job.typed = { mode, deadLetterFrom: parts.map((part) => deadLetterEnds?.get(part.partition) ?? 0) }
    const run = this.#options.pool.run(job, mode === 'key_value' ? null : state.types)
    const files: WrittenDataFile[] = []
    const deadLetterFiles: WrittenDataFile[] = []
    let key: string | null = null
    try {
      for (let file = await run.nextFile(); file !== null; file = await run.nextFile()) {
        key = this.#dataFileKey(file.deadLetter ? state.deadLetters! : state.writer, file)
        ;(file.deadLetter ? deadLetterFiles : files).push(await this.#writeFile(key, file))
        key = null
      }
    } catch (error) {
      await this.#abandon(run, error)
      // A file whose upload failed after it was stored (or whose end is unknown) goes too.
      if (key !== null) await this.#options.catalog.store.delete(key).catch(() => undefined)
      await this.#deleteFiles(files)
      await this.#deleteFiles(deadLetterFiles)
      throw error
    }
    const ranges: OffsetRange[] = []
    const endOffsets = run.result.endOffsets
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      // A part the job did not reach (its decoded-bytes cap came first) is left for the next round.
      if (endOffsets[i]! > part.fromOffset) ranges.push({ partition: part.partition, from: part.fromOffset, end: endOffsets[i]! })
    }
    return { files, deadLetterFiles, ranges }
  }

  /** Stops the encode job after a failure on this side and waits until its worker let go of it. */
  async #abandon(run: EncodeRun, error: unknown): Promise<void> {
    run.cancel(error instanceof Error ? error : new ZombiError('OBJECT_STORE_FAILED', String(error)))
    await run.settled
  }

  /**
   * Copies the stored batches (page cache or the fetch cache) into one transferable buffer,
   * yielding to the event loop between slices so produce and fetch keep being served.
   */
  async #copyBatches(partition: FlushablePartition, from: number, chunkEnd: number, input: Uint8Array): Promise<number> {
    const size = input.length
    const slice: Buffer[] = []
    let at = 0
    let offset = from
    while (offset < chunkEnd) {
      const sliceEnd = partition.readEnd(offset, READ_SLICE_BYTES, chunkEnd)
      if (sliceEnd === offset) break
      slice.length = 0
      partition.read(offset, READ_SLICE_BYTES, true, slice, chunkEnd)
      for (const batch of slice) {
        if (at + batch.length > size) break
        input.set(batch, at)
        at += batch.length
      }
      offset = sliceEnd
      if (offset < chunkEnd) await yieldToEventLoop()
    }
    if (offset < chunkEnd) throw new ZombiError('STORAGE_FAILED', `partition ${partition.id}: batches up to ${chunkEnd} vanished from the hot log while flushing`)
    return at
  }

  #dataFileKey(writer: TableWriter, file: IncomingFile): string {
    const hour = String(file.eventHour).padStart(2, '0')
    return `${writer.tableKey}/data/event_date=${eventDateString(file.eventDate)}/event_hour=${hour}/${randomUUID()}.parquet`
  }

  /** Streams the file's chunks into the store as the encoder produces them; the store's count is the size in the manifest. */
  async #writeFile(key: string, incoming: IncomingFile): Promise<WrittenDataFile> {
    const sizeBytes = await this.#options.catalog.store.putStream(key, incoming.chunks())
    const file = incoming.file
    if (sizeBytes !== file.sizeBytes) throw new ZombiError('OBJECT_STORE_FAILED', `${key}: the store took ${sizeBytes} bytes of a ${file.sizeBytes}-byte data file`)
    return { key, sizeBytes, recordCount: file.recordCount, eventDate: file.eventDate, eventHour: file.eventHour, metrics: file.metrics }
  }

  async #deleteFiles(files: readonly WrittenDataFile[]): Promise<void> {
    for (const file of files) await this.#options.catalog.store.delete(file.key).catch(() => undefined)
  }
}
