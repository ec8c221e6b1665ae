// Rebuilds Kafka record batches (magic 2, uncompressed, CRC-32C) from records read back from the
// Iceberg table, for Fetch below the hot log. Records keep their offsets, timestamps, keys, values
// (null or not) and headers; a batch covers one run of consecutive offsets, so a gap in the table
// starts a new batch (consumers step over missing offsets as they do on compacted topics).
import { baseOffsetOf, lastOffsetDeltaOf } from '../protocol/record-batch.ts'
import { encodeBatch, type RecordInput } from '../protocol/records.ts'
import type { LogRecord } from './record-reader.ts'

/** Per-record bytes beyond key, value and headers in the worst case (length, attributes, deltas, varint lengths). */
const RECORD_OVERHEAD = 32

/**
 * Batches of the records (ascending offsets, one partition), each of about `maxBatchBytes` at most
 * (a record larger than that gets a batch of its own).
 */
export function rebuildBatches(records: readonly LogRecord[], maxBatchBytes: number): Buffer[] {
  const batches: Buffer[] = []
  let start = 0
  while (start < records.length) {
    let end = start + 1
    let bytes = recordSize(records[start]!)
    for (; end < records.length; end++) {
      const record = records[end]!
      if (record.offset !== records[end - 1]!.offset + 1) break
      bytes += recordSize(record)
      if (bytes > maxBatchBytes) break
    }
    const inputs: RecordInput[] = []
    for (let i = start; i < end; i++) {
      const record = records[i]!
      inputs.push({ key: record.key, value: record.value, headers: record.headers, timestamp: record.timestampMs })
    }
    batches.push(encodeBatch(inputs, { baseOffset: records[start]!.offset, baseTimestamp: records[start]!.timestampMs }))
    start = end
  }
  return batches
}

/** The offset after the last record of a stored batch. */
export function endOffsetOf(batch: Buffer): number {
  return baseOffsetOf(batch) + lastOffsetDeltaOf(batch) + 1
}

function recordSize(record: LogRecord): number {
  let bytes = RECORD_OVERHEAD + (record.key?.length ?? 0) + (record.value?.length ?? 0)
  for (const header of record.headers) bytes += 10 + Buffer.byteLength(header.key, 'utf8') + (header.value?.length ?? 0)
  return bytes
}
