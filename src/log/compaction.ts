// How one cleaning of a compacted partition decides what survives, batch by batch (the log cleaner,
// log-cleaner.ts, decides when and writes the result). Kafka's rules:
//  - the latest record of each key survives; an older one goes (the offset map covers the records
//    written since the previous cleaning, as Kafka's; older ones are already one per key);
//  - a tombstone (null value) that is the latest of its key survives until delete.retention.ms after
//    the first cleaning that reached it, then goes too;
//  - a record without a key goes (a compacted topic refuses them at produce; older ones came from
//    before the topic was compacted);
//  - a batch keeps its base offset and last offset delta, and the records it keeps keep their offset
//    deltas, so every surviving record keeps its offset (Kafka allows the gaps); producer id, epoch,
//    base sequence and attributes stay;
//  - control batches and transactional batches are kept whole and their records neither supersede
//    nor are superseded, so no commit marker is lost and no record of an aborted (or open)
//    transaction ever hides an older committed value.
import { createHash } from 'node:crypto'
import { crc32c } from '@node-rs/crc32'
import { compress } from '../protocol/compression.ts'
import { writeInt64 } from '../protocol/int64.ts'
import {
  ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, ATTRIBUTES, LOG_OVERHEAD, MAX_TIMESTAMP, RECORDS, RECORDS_COUNT, attributesOf,
} from '../protocol/record-batch.ts'
import { RecordCursor } from '../protocol/record-cursor.ts'

/** Keys up to this long are map keys as they are; longer ones by their SHA-256 (collisions are not a practical concern). */
const MAX_PLAIN_KEY_BYTES = 64

/** The map key of a record key. */
export function keyId(body: Buffer, start: number, length: number): string {
  if (length <= MAX_PLAIN_KEY_BYTES) return body.toString('latin1', start, start + length)
  return `#${createHash('sha256').update(body.subarray(start, start + length)).digest('base64')}`
}

/** Batches that pass through a cleaning untouched and unread: control and transactional ones. */
export function keptWhole(batch: Buffer): boolean {
  return (attributesOf(batch) & (ATTR_CONTROL | ATTR_TRANSACTIONAL)) !== 0
}

/** Estimated memory of one map entry besides its key's characters (hash table slot, string header, number). */
const ENTRY_OVERHEAD_BYTES = 64

/** Key -> offset of its latest record, over the batches a cleaning covers. */
export class OffsetMap {
  readonly #latest = new Map<string, number>()
  readonly #cursor = new RecordCursor()
  #bytes = 0

  get size(): number {
    return this.#latest.size
  }

  /** Estimated memory the map holds (Kafka bounds its map with log.cleaner.dedupe.buffer.size). */
  get bytes(): number {
    return this.#bytes
  }

  /** Adds a batch's keyed records (batches in offset order, so the last one seen is the latest). */
  add(batch: Buffer): void {
    if (keptWhole(batch)) return
    const cursor = this.#cursor.open(batch)
    while (cursor.nextRecord()) {
      if (cursor.keyLength < 0) continue
      const key = keyId(cursor.body, cursor.keyStart, cursor.keyLength)
      if (!this.#latest.has(key)) this.#bytes += key.length + ENTRY_OVERHEAD_BYTES
      this.#latest.set(key, cursor.offset)
    }
  }

  latest(key: string): number | undefined {
    return this.#latest.get(key)
  }
}

/** The tombstone rule for one cleaning: whether the tombstone at an offset has outlived delete.retention.ms. */
export interface TombstonePolicy {
  /** When the tombstone at `offset` goes (ms since the epoch). */
  expiresAt(offset: number): number
  nowMs: number
}

/** What cleaning one batch gives. */
export class CleanedBatch {
  /** The batch to store in its place (the same bytes when every record stays), or null when no record stays. */
  readonly bytes: Buffer | null
  readonly recordsRemoved: number
  readonly tombstonesRemoved: number
  /** Earliest expiry of a tombstone it keeps (Infinity: none), so the cleaner knows when to come back. */
  readonly nextTombstoneExpiry: number

  constructor(bytes: Buffer | null, recordsRemoved: number, tombstonesRemoved: number, nextTombstoneExpiry: number) {
    this.bytes = bytes
    this.recordsRemoved = recordsRemoved
    this.tombstonesRemoved = tombstonesRemoved
    this.nextTombstoneExpiry = nextTombstoneExpiry
  }
}

/** Applies the rules of the file comment to one stored batch. */
export function cleanBatch(batch: Buffer, map: OffsetMap, tombstones: TombstonePolicy, cursor = new RecordCursor()): CleanedBatch {
  if (keptWhole(batch)) return new CleanedBatch(batch, 0, 0, Number.POSITIVE_INFINITY)
  cursor.open(batch)
  const kept: Array<[number, number]> = []
  let total = 0
  let tombstonesRemoved = 0
  let nextExpiry = Number.POSITIVE_INFINITY
  let maxTimestamp = Number.NEGATIVE_INFINITY
  while (cursor.nextRecord()) {
    total++
    if (cursor.keyLength < 0) continue
    // A key the map does not know was last written before the map's range (in the part an earlier
    // cleaning left with one record per key): that record is its latest.
    const latest = map.latest(keyId(cursor.body, cursor.keyStart, cursor.keyLength))
    if (latest !== undefined && latest !== cursor.offset) continue
    if (cursor.valueLength < 0) {
      const expiry = tombstones.expiresAt(cursor.offset)
      if (expiry <= tombstones.nowMs) {
        tombstonesRemoved++
        continue
      }
      if (expiry < nextExpiry) nextExpiry = expiry
    }
    kept.push([cursor.recordStart, cursor.recordEnd])
    if (cursor.timestamp > maxTimestamp) maxTimestamp = cursor.timestamp
  }
  const removed = total - kept.length
  if (kept.length === 0) return new CleanedBatch(null, removed, tombstonesRemoved, nextExpiry)
  if (removed === 0) return new CleanedBatch(batch, 0, 0, nextExpiry)
  return new CleanedBatch(rebuild(batch, cursor.body, kept, maxTimestamp), removed, tombstonesRemoved, nextExpiry)
}

/**
 * A batch holding only the `kept` records of `batch` (their bytes as stored, so offset and timestamp
 * deltas stay), compressed with the batch's codec; header fields as they were but the length, the
 * record count, the max timestamp (of the records kept) and the CRC.
 */
function rebuild(batch: Buffer, body: Buffer, kept: ReadonlyArray<[number, number]>, maxTimestamp: number): Buffer {
  const codec = attributesOf(batch) & ATTR_COMPRESSION_MASK
  const parts = kept.map(([start, end]) => body.subarray(start, end))
  const records = compress(codec, Buffer.concat(parts))
  const out = Buffer.allocUnsafe(RECORDS + records.length)
  batch.copy(out, 0, 0, RECORDS)
  records.copy(out, RECORDS)
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8)
  out.writeInt32BE(kept.length, RECORDS_COUNT)
  // A LogAppendTime batch's records all read the batch's max timestamp: it stays.
  if ((attributesOf(batch) & ATTR_LOG_APPEND_TIME) === 0) writeInt64(out, MAX_TIMESTAMP, maxTimestamp)
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES)) >>> 0, 17)
  return out
}
