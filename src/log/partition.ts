// One topic partition on this broker: offsets, the in-memory batch index of the hot log,
// and the wake-up list of fetches waiting for data.
import { BatchIndex } from './batch-index.ts'
import { PartitionProducers } from './producer-state.ts'

/** Something waiting for new data on one or more partitions (a long-polling Fetch). */
export interface DataWaiter {
  wake(): void
}

/** Reads batch i of a partition's index (from the fetch cache or the log file). */
export interface BatchReader {
  readBatch(partition: Partition, i: number): Buffer
}

export class Partition {
  readonly topicId: string
  readonly id: number
  readonly index = new BatchIndex()
  readonly producers = new PartitionProducers()
  /** Offset the next appended record gets; moves when a batch is accepted (before it is durable). */
  nextOffset: number
  /** Every offset below is durable and readable; moves when a batch is committed. */
  highWatermark: number
  logStartOffset: number
  flushedOffset: number
  #waiters: DataWaiter[] = []

  constructor(topicId: string, id: number, logStartOffset: number, nextOffset: number, flushedOffset: number) {
    this.topicId = topicId
    this.id = id
    this.logStartOffset = logStartOffset
    this.nextOffset = nextOffset
    this.highWatermark = nextOffset
    this.flushedOffset = flushedOffset
  }

  addWaiter(waiter: DataWaiter): void {
    this.#waiters.push(waiter)
  }

  removeWaiter(waiter: DataWaiter): void {
    const i = this.#waiters.indexOf(waiter)
    if (i !== -1) this.#waiters.splice(i, 1)
  }

  /** Called when the high watermark moved: every waiter is woken once and forgotten. */
  wakeWaiters(): void {
    if (this.#waiters.length === 0) return
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter.wake()
  }

  /**
   * Appends the stored batches that hold offsets from `offset` up to the high watermark to
   * `out`, whole, until `maxBytes` is reached; the first batch is always included when
   * `includeOversized` (Kafka returns one batch even above the limit so consumers progress).
   * Returns the bytes added.
   */
  collect(offset: number, maxBytes: number, includeOversized: boolean, reader: BatchReader, out: Buffer[]): number {
    if (offset >= this.highWatermark) return 0
    let i = this.index.findByOffset(offset)
    let bytes = 0
    const count = this.index.count
    while (i < count && this.index.baseOffset(i) < this.highWatermark) {
      const size = this.index.size(i)
      if (bytes + size > maxBytes && !(bytes === 0 && includeOversized)) break
      out.push(reader.readBatch(this, i))
      bytes += size
      i++
    }
    return bytes
  }

  /** Bytes readable from `offset` up to the high watermark (for min_bytes checks). */
  availableBytes(offset: number, limit: number): number {
    if (offset >= this.highWatermark) return 0
    let bytes = 0
    const count = this.index.count
    for (let i = this.index.findByOffset(offset); i < count && bytes < limit; i++) {
      if (this.index.baseOffset(i) >= this.highWatermark) break
      bytes += this.index.size(i)
    }
    return bytes
  }
}
