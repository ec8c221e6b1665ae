// One partition's view of transactions: the first offset of every transaction still open on it
// (what holds the last stable offset back) and the aborted-transactions index (producer id, first
// offset, marker offset) that read_committed consumers and the flusher use to skip aborted batches.
// The open transactions are persisted in the producers' state rows, the index as state rows of its
// own (broker-log.ts writes both in the group commit of the marker that changes them).

/** One aborted transaction on a partition: its batches lie in [firstOffset, lastOffset] (the abort marker's offset). */
export interface AbortedTransaction {
  producerId: number
  firstOffset: number
  lastOffset: number
}

/** State rows of the aborted index: `aborted/<topic id>/<partition>/<marker offset>` -> producer id, first offset. */
export const ABORTED_INDEX_PREFIX = 'aborted/'

export function abortedIndexKey(topicId: string, partition: number, markerOffset: number): string {
  return `${ABORTED_INDEX_PREFIX}${topicId}/${partition}/${markerOffset}`
}

export function encodeAbortedEntry(producerId: number, firstOffset: number): Buffer {
  const out = Buffer.allocUnsafe(16)
  out.writeDoubleBE(producerId, 0)
  out.writeDoubleBE(firstOffset, 8)
  return out
}

/** A row read back: where it belongs and the entry. */
export function decodeAbortedRow(key: string, value: Buffer): { topicId: string; partition: number; entry: AbortedTransaction } {
  const [topicId, partition, markerOffset] = key.slice(ABORTED_INDEX_PREFIX.length).split('/') as [string, string, string]
  return { topicId, partition: Number(partition), entry: { producerId: value.readDoubleBE(0), firstOffset: value.readDoubleBE(8), lastOffset: Number(markerOffset) } }
}

export class PartitionTransactions {
  /** producer id -> first offset of its open transaction here */
  readonly #open = new Map<number, number>()
  /** Ascending by lastOffset (markers are appended in offset order). */
  #aborted: AbortedTransaction[] = []

  /** The first offset of the oldest open transaction, or Infinity. */
  firstOpenOffset(): number {
    let first = Number.POSITIVE_INFINITY
    for (const offset of this.#open.values()) if (offset < first) first = offset
    return first
  }

  /** The open transaction's first offset of a producer, or -1. */
  openFirstOffset(producerId: number): number {
    return this.#open.get(producerId) ?? -1
  }

  get openCount(): number {
    return this.#open.size
  }

  /** A transactional batch of the producer was given offsets from `offset` (the first one opens its transaction here). */
  begin(producerId: number, offset: number): void {
    if (!this.#open.has(producerId)) this.#open.set(producerId, offset)
  }

  /** The producer's marker at `markerOffset` is durable: its transaction is closed (and indexed when aborted). */
  end(producerId: number, markerOffset: number, aborted: boolean): AbortedTransaction | null {
    const firstOffset = this.#open.get(producerId)
    this.#open.delete(producerId)
    if (!aborted || firstOffset === undefined) return null
    const entry = { producerId, firstOffset, lastOffset: markerOffset }
    this.restoreAborted(entry)
    return entry
  }

  /** An index entry read back at start (any order). */
  restoreAborted(entry: AbortedTransaction): void {
    const list = this.#aborted
    let i = list.length
    while (i > 0 && list[i - 1]!.lastOffset > entry.lastOffset) i--
    if (list[i - 1]?.lastOffset === entry.lastOffset) return
    list.splice(i, 0, entry)
  }

  /** Aborted transactions with batches in [from, to): what a read_committed fetch of that range lists. */
  abortedBetween(from: number, to: number): AbortedTransaction[] {
    const out: AbortedTransaction[] = []
    const list = this.#aborted
    // First entry whose marker is at or after `from`.
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (list[mid]!.lastOffset < from) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < list.length; i++) if (list[i]!.firstOffset < to) out.push(list[i]!)
    return out
  }

  /** Forgets index entries wholly below `offset` (the hot log no longer holds their batches); returns them. */
  dropBefore(offset: number): AbortedTransaction[] {
    let n = 0
    while (n < this.#aborted.length && this.#aborted[n]!.lastOffset < offset) n++
    if (n === 0) return []
    return this.#aborted.splice(0, n)
  }

  /** The topic is gone. */
  clear(): void {
    this.#open.clear()
    this.#aborted = []
  }
}
