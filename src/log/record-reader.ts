// One reader of records over the hot log and the Iceberg table: offsets that hot retention removed
// from the hot log (below its log start offset) are read back from the table, the rest from the hot
// log, so a reader sees one sequence of records per partition. The HTTP door reads through it.
import type { ColdQuery, ColdRecord } from '../iceberg/cold-reader.ts'
import { baseOffsetOf, lastOffsetDeltaOf } from '../protocol/record-batch.ts'
import { decodeBatch } from '../protocol/records.ts'
import { waitForAppend } from './append-wait.ts'
import type { Partition } from './partition.ts'
import type { Topic } from './topic.ts'

/** One record, from the hot log or the Iceberg table alike. */
export type LogRecord = ColdRecord

/** Reads records of a topic's table (the Iceberg side, given by broker.ts). */
export type ColdRead = (topic: string, query: ColdQuery) => Promise<ColdRecord[]>

export interface RecordPage {
  records: LogRecord[]
  /** Where the next read of the partition starts. */
  nextOffset: number
  hasMore: boolean
}

/** Stored batches decoded per step of a hot read (a step always takes at least one batch). */
const READ_STEP_BYTES = 1024 * 1024

export class RecordReader {
  readonly #readCold: ColdRead | null

  /** Without `readCold`, offsets below the log start offset are out of range. */
  constructor(readCold: ColdRead | null) {
    this.#readCold = readCold
  }

  /**
   * Up to `limit` records of one partition from `offset`. An offset at or past the high watermark waits
   * for an append until `waitUntil` (ms since the epoch; 0: no wait). null: the offset is below the
   * deletion floor, or it left the hot log and there is no table to read it from.
   */
  async readPartition(topic: Topic, partition: Partition, offset: number, limit: number, waitUntil = 0): Promise<RecordPage | null> {
    // Below the deletion floor (DeleteRecords, the topic's retention): deleted, from the hot log and the table alike.
    if (offset < partition.deletedBefore) return null
    const logStartOffset = partition.logStartOffset
    if (offset < logStartOffset) {
      if (this.#readCold === null) return null
      // Flushed and gone from the hot log: read it back from the Iceberg table, then go on in the hot log.
      const cold = await this.#readCold(topic.name, { topicId: topic.id, partition: partition.id, fromOffset: offset, toOffset: logStartOffset, limit })
      if (cold.length === limit) return { records: cold, nextOffset: cold[cold.length - 1]!.offset + 1, hasMore: true }
      const hot = readHot(partition, logStartOffset, limit - cold.length, -Infinity, cold)
      return { records: cold, nextOffset: Math.max(hot, logStartOffset), hasMore: hot < partition.highWatermark }
    }
    if (waitUntil > 0 && offset >= partition.highWatermark) await waitForAppend([partition], waitUntil)
    const from = Math.min(offset, partition.highWatermark)
    const records: LogRecord[] = []
    const next = readHot(partition, from, limit, -Infinity, records)
    return { records, nextOffset: Math.max(next, from), hasMore: next < partition.highWatermark }
  }

  /** Up to `limit` records with timestamp_ms >= sinceMs, partition after partition, each from the table then the hot log. */
  async readSince(topic: Topic, sinceMs: number, limit: number): Promise<{ records: LogRecord[]; hasMore: boolean }> {
    const records: LogRecord[] = []
    let hasMore = false
    for (const partition of topic.partitions) {
      const floor = partition.deletedBefore
      if (partition.logStartOffset > floor && this.#readCold !== null) {
        // The part that left the hot log comes from the Iceberg table.
        const query = { topicId: topic.id, partition: partition.id, fromOffset: floor, toOffset: partition.logStartOffset, sinceMs, limit: limit - records.length + 1 }
        const cold = await this.#readCold(topic.name, query)
        for (let i = 0; i < cold.length && records.length < limit; i++) records.push(cold[i]!)
        if (cold.length > query.limit - 1 || records.length >= limit) {
          hasMore = true
          break
        }
      }
      const first = partition.batchAtTimestamp(sinceMs)
      if (first === null) continue
      const next = readHot(partition, Math.max(first.offset, floor), limit - records.length, sinceMs, records)
      if (next < partition.highWatermark) hasMore = true
      if (records.length >= limit) {
        hasMore = hasMore || partition.id < topic.partitions.length - 1
        break
      }
    }
    return { records, hasMore }
  }
}

/**
 * Appends up to `limit` records of the hot log from `offset` (with timestamp >= sinceMs) to `out`;
 * returns the offset after the last record looked at (control batches are stepped over).
 */
function readHot(partition: Partition, offset: number, limit: number, sinceMs: number, out: LogRecord[]): number {
  const wanted = out.length + limit
  const batches: Buffer[] = []
  let next = offset
  while (out.length < wanted) {
    batches.length = 0
    if (partition.read(next, READ_STEP_BYTES, true, batches) === 0) break
    for (const bytes of batches) {
      if (out.length >= wanted) break
      const lastOffset = baseOffsetOf(bytes) + lastOffsetDeltaOf(bytes)
      const batch = decodeBatch(bytes)
      if (batch.isControl) {
        next = lastOffset + 1
        continue
      }
      for (const record of batch.records) {
        if (record.offset < next) continue
        if (out.length >= wanted) break
        next = record.offset + 1
        if (record.timestamp < sinceMs) continue
        out.push({ partition: partition.id, offset: record.offset, timestampMs: record.timestamp, key: record.key, value: record.value, headers: record.headers })
      }
      if (out.length < wanted) next = Math.max(next, lastOffset + 1)
    }
  }
  return Math.min(next, partition.highWatermark)
}
