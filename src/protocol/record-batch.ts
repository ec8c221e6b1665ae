// Record batch (magic 2) header access, validation and in-place patching. Batches stay the
// client's bytes: we read a few fixed-position fields, check the CRC, patch base offset and
// (for LogAppendTime topics) the timestamp fields. No per-record work happens here.
import { crc32c } from '@node-rs/crc32'
import { readInt64, writeInt64 } from './int64.ts'

// Field positions of the v2 batch header.
export const BASE_OFFSET = 0
export const BATCH_LENGTH = 8
export const PARTITION_LEADER_EPOCH = 12
export const MAGIC = 16
export const CRC = 17
export const ATTRIBUTES = 21
export const LAST_OFFSET_DELTA = 23
export const BASE_TIMESTAMP = 27
export const MAX_TIMESTAMP = 35
export const PRODUCER_ID = 43
export const PRODUCER_EPOCH = 51
export const BASE_SEQUENCE = 53
export const RECORDS_COUNT = 57
export const RECORDS = 61
/** Bytes before the batch length field is counted from. */
export const LOG_OVERHEAD = 12

export const ATTR_COMPRESSION_MASK = 0x07
export const ATTR_LOG_APPEND_TIME = 0x08
export const ATTR_TRANSACTIONAL = 0x10
export const ATTR_CONTROL = 0x20

/** Why a batch was refused; maps onto a Kafka error code in the produce handler. */
export type BatchProblem = 'ok' | 'corrupt' | 'old-magic' | 'crc'

/** Latest record timestamp Zombi accepts: 9999-12-31T23:59:59.999Z, the last instant SQL engines read back from the table. */
export const MAX_RECORD_TIMESTAMP = 253_402_300_799_999
/** Earliest: 0001-01-01T00:00:00Z (Kafka's "no timestamp", -1, is inside). */
export const MIN_RECORD_TIMESTAMP = -62_135_596_800_000

/**
 * Validates the batch that starts at `position` of `records` and returns its total size in
 * bytes, or a negative number for a problem (see `batchProblem`). Checks: the header fits,
 * the length field matches the bytes present, magic is 2, the record count is sane and the
 * CRC-32C over attributes..end matches.
 */
export function checkBatch(records: Buffer, position: number): number {
  const available = records.length - position
  if (available < RECORDS) return ERR_CORRUPT
  const batchLength = records.readInt32BE(position + BATCH_LENGTH)
  const magic = records.readInt8(position + MAGIC)
  if (magic !== 2) return magic >= 0 && magic < 2 ? ERR_OLD_MAGIC : ERR_CORRUPT
  const size = batchLength + LOG_OVERHEAD
  if (batchLength < RECORDS - LOG_OVERHEAD || size > available) return ERR_CORRUPT
  const count = records.readInt32BE(position + RECORDS_COUNT)
  const lastOffsetDelta = records.readInt32BE(position + LAST_OFFSET_DELTA)
  // Every record takes at least 7 bytes; lastOffsetDelta can exceed count-1 only after compaction.
  if (count < 0 || count > (size - RECORDS) || lastOffsetDelta < 0) return ERR_CORRUPT
  if (count > 0 && lastOffsetDelta < count - 1) return ERR_CORRUPT
  const expected = records.readUInt32BE(position + CRC)
  const actual = crc32c(records.subarray(position + ATTRIBUTES, position + size))
  if (expected !== actual >>> 0) return ERR_CRC
  return size
}

export const ERR_CORRUPT = -1
export const ERR_OLD_MAGIC = -2
export const ERR_CRC = -3

export function batchProblem(result: number): BatchProblem {
  if (result >= 0) return 'ok'
  if (result === ERR_OLD_MAGIC) return 'old-magic'
  if (result === ERR_CRC) return 'crc'
  return 'corrupt'
}

export function batchSize(batch: Buffer, position = 0): number {
  return batch.readInt32BE(position + BATCH_LENGTH) + LOG_OVERHEAD
}

export function baseOffsetOf(batch: Buffer, position = 0): number {
  return readInt64(batch, position + BASE_OFFSET)
}

export function lastOffsetDeltaOf(batch: Buffer, position = 0): number {
  return batch.readInt32BE(position + LAST_OFFSET_DELTA)
}

export function attributesOf(batch: Buffer, position = 0): number {
  return batch.readInt16BE(position + ATTRIBUTES)
}

export function recordCountOf(batch: Buffer, position = 0): number {
  return batch.readInt32BE(position + RECORDS_COUNT)
}

/** Records in whole, already validated batches laid end to end (a produce request's or a fetch answer's), read from their headers only. */
export function recordCountOfBatches(batches: Buffer): number {
  let records = 0
  for (let position = 0; position + RECORDS <= batches.length; position += batchSize(batches, position)) records += recordCountOf(batches, position)
  return records
}

export function baseTimestampOf(batch: Buffer, position = 0): number {
  return readInt64(batch, position + BASE_TIMESTAMP)
}

export function maxTimestampOf(batch: Buffer, position = 0): number {
  return readInt64(batch, position + MAX_TIMESTAMP)
}

export function producerIdOf(batch: Buffer, position = 0): number {
  return readInt64(batch, position + PRODUCER_ID)
}

export function producerEpochOf(batch: Buffer, position = 0): number {
  return batch.readInt16BE(position + PRODUCER_EPOCH)
}

export function baseSequenceOf(batch: Buffer, position = 0): number {
  return batch.readInt32BE(position + BASE_SEQUENCE)
}

/** Base offset and leader epoch are outside the CRC, so they are patched without recomputing it. */
export function patchBaseOffset(batch: Buffer, baseOffset: number, position = 0): void {
  writeInt64(batch, position + BASE_OFFSET, baseOffset)
}

export function patchLeaderEpoch(batch: Buffer, epoch: number, position = 0): void {
  batch.writeInt32BE(epoch, position + PARTITION_LEADER_EPOCH)
}

/**
 * Stamps LogAppendTime: sets the timestamp-type attribute and the max timestamp (consumers
 * take every record's timestamp from it), then recomputes the CRC since both are covered.
 */
export function stampLogAppendTime(batch: Buffer, timestampMs: number, position = 0): void {
  const size = batchSize(batch, position)
  const attributes = batch.readInt16BE(position + ATTRIBUTES)
  batch.writeInt16BE(attributes | ATTR_LOG_APPEND_TIME, position + ATTRIBUTES)
  writeInt64(batch, position + MAX_TIMESTAMP, timestampMs)
  batch.writeUInt32BE(crc32c(batch.subarray(position + ATTRIBUTES, position + size)) >>> 0, position + CRC)
}

/**
 * The timestamp the offset index keeps for a batch: its max timestamp, or the base timestamp
 * when a client left max below it. One definition for append and recovery.
 */
export function indexTimestampOf(batch: Buffer, position = 0): number {
  return Math.max(maxTimestampOf(batch, position), baseTimestampOf(batch, position))
}
