// The frames of the broker-wide log. Every frame is self-describing, so recovery rebuilds
// the index rows, partition states and state rows of a lost index batch from the log alone.
//
//   [u32 length of what follows][u32 crc32c of what follows the crc][u8 kind][fields]
//   kind 1, batch (49-byte header, then the record batch bytes as appended):
//     [16 topic id][i32 partition][i64 base offset][i32 last offset delta][i64 max timestamp][batch]
//   kind 4, checked batch: as kind 1, for a Kafka magic-2 batch whose own CRC-32C the caller
//     verified; the frame CRC covers the header and the batch's first 21 bytes (up to and with
//     its CRC field), the batch's CRC the rest, so the batch bytes are hashed once per append.
//   kind 2, state rows (one writeState call):
//     [u32 count] count x ([u16 key length][key utf8][i32 value length, -1 deletes][value])
//   kind 3, partition state update (one updatePartitionState call, 45 bytes):
//     [16 topic id][i32 partition][i64 log start offset, -1 unchanged][i64 flushed offset, -1 unchanged]
//   kind 5, replacement (one replaceBatches call: log compaction swapping batches of a partition):
//     [16 topic id][i32 partition][u32 removed count][u32 added count]
//     removed count x [i64 base offset]
//     added count x ([i64 base offset][i32 last offset delta][i64 max timestamp][u32 size])
//     then the added batches' bytes back to back. One CRC covers it all, so recovery applies the
//     whole swap or none of it. An index entry of an added batch points into the frame: its
//     position is where its bytes start minus BATCH_FRAME_HEADER_BYTES, as for a batch frame, so
//     `read` finds the bytes of both kinds the same way.
//
// The index entry is taken from the frame header, not parsed out of the Kafka batch, so an
// entry rebuilt at recovery equals the one the append wrote, and the store treats bytes as opaque.
import { crc32c } from '@node-rs/crc32'
import { ZombiError } from '../errors.ts'
import type { StateWrite } from './hot-store.ts'
import { readInt64, writeInt64 } from '../protocol/int64.ts'
import { bytesToUuid } from './keys.ts'

/** Length and CRC fields in front of every frame's body. */
export const FRAME_PREFIX_BYTES = 8
export const FRAME_KIND_BATCH = 1
export const FRAME_KIND_STATE = 2
export const FRAME_KIND_PARTITION = 3
export const FRAME_KIND_CHECKED_BATCH = 4
export const FRAME_KIND_REPLACE = 5
/** Bytes in front of the record batch in a batch frame: `read` skips them. */
export const BATCH_FRAME_HEADER_BYTES = 49
const PARTITION_FRAME_BYTES = 45
/** Kafka batch bytes before the part its CRC covers (base offset, length, leader epoch, magic, crc). */
const KAFKA_CRC_END = 21
/** Smallest Kafka magic-2 batch: its header without records. */
const KAFKA_BATCH_HEADER_BYTES = 61
/** Smallest length field of any frame: crc + kind. */
export const FRAME_LENGTH_MIN = 5

/**
 * Header of a batch frame, CRC included (computed over the header fields and the batch, so
 * the batch is written as its own buffer and never copied). With `batchCrcChecked` the batch
 * is a magic-2 Kafka batch with a valid CRC: a kind 4 frame, whose CRC stops after the batch's
 * CRC field.
 */
export function batchFrameHeader(topicId: Buffer, partition: number, baseOffset: number, lastOffset: number, maxTimestamp: number, batch: Buffer, batchCrcChecked = false): Buffer {
  const checked = batchCrcChecked && batch.length >= KAFKA_BATCH_HEADER_BYTES
  const header = Buffer.allocUnsafe(BATCH_FRAME_HEADER_BYTES)
  header.writeUInt32BE(BATCH_FRAME_HEADER_BYTES - 4 + batch.length, 0)
  header[8] = checked ? FRAME_KIND_CHECKED_BATCH : FRAME_KIND_BATCH
  topicId.copy(header, 9)
  header.writeInt32BE(partition, 25)
  writeInt64(header, 29, baseOffset)
  header.writeInt32BE(lastOffset - baseOffset, 37)
  writeInt64(header, 41, maxTimestamp)
  const covered = checked ? batch.subarray(0, KAFKA_CRC_END) : batch
  header.writeUInt32BE(crc32c(covered, crc32c(header.subarray(FRAME_PREFIX_BYTES))) >>> 0, 4)
  return header
}

/**
 * Whether a frame body (kind byte first) matches its CRC: the whole body, or for a checked
 * batch the header and batch prefix plus the batch's own CRC over the rest (and a length and
 * magic that agree, so a torn or shifted batch is never taken for a whole one).
 */
export function frameIntact(body: Buffer, expectedCrc: number): boolean {
  if (body[0] !== FRAME_KIND_CHECKED_BATCH) return (crc32c(body) >>> 0) === expectedCrc
  const headerBytes = BATCH_FRAME_HEADER_BYTES - FRAME_PREFIX_BYTES
  if (body.length < headerBytes + KAFKA_BATCH_HEADER_BYTES) return false
  if ((crc32c(body.subarray(0, headerBytes + KAFKA_CRC_END)) >>> 0) !== expectedCrc) return false
  const batch = body.subarray(headerBytes)
  if (batch.readInt32BE(8) + 12 !== batch.length || batch[16] !== 2) return false
  return (crc32c(batch.subarray(KAFKA_CRC_END)) >>> 0) === batch.readUInt32BE(17)
}

/** One whole state frame for the rows of one writeState call. */
export function stateFrame(writes: StateWrite[]): Buffer {
  let length = FRAME_PREFIX_BYTES + 1 + 4
  for (const write of writes) {
    length += 2 + Buffer.byteLength(write.key, 'utf8') + 4 + (write.value === null ? 0 : write.value.length)
  }
  const frame = Buffer.allocUnsafe(length)
  frame.writeUInt32BE(length - 4, 0)
  frame[8] = FRAME_KIND_STATE
  frame.writeUInt32BE(writes.length, 9)
  let position = 13
  for (const write of writes) {
    const keyLength = frame.write(write.key, position + 2, 'utf8')
    if (keyLength > 0xffff) throw new ZombiError('INVALID_ARGUMENT', `state key of ${keyLength} bytes is too long`)
    frame.writeUInt16BE(keyLength, position)
    position += 2 + keyLength
    if (write.value === null) {
      frame.writeInt32BE(-1, position)
      position += 4
    } else {
      frame.writeInt32BE(write.value.length, position)
      write.value.copy(frame, position + 4)
      position += 4 + write.value.length
    }
  }
  frame.writeUInt32BE(crc32c(frame.subarray(FRAME_PREFIX_BYTES)) >>> 0, 4)
  return frame
}

/** One whole partition-update frame; -1 leaves a field unchanged. */
export function partitionFrame(topicId: Buffer, partition: number, logStartOffset: number, flushedOffset: number): Buffer {
  const frame = Buffer.allocUnsafe(PARTITION_FRAME_BYTES)
  frame.writeUInt32BE(PARTITION_FRAME_BYTES - 4, 0)
  frame[8] = FRAME_KIND_PARTITION
  topicId.copy(frame, 9)
  frame.writeInt32BE(partition, 25)
  writeInt64(frame, 29, logStartOffset)
  writeInt64(frame, 37, flushedOffset)
  frame.writeUInt32BE(crc32c(frame.subarray(FRAME_PREFIX_BYTES)) >>> 0, 4)
  return frame
}

/** The offsets and size of one batch a replacement frame adds. */
export interface ReplacedBatchHeader {
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
  size: number
}

const REPLACE_FIXED_BYTES = FRAME_PREFIX_BYTES + 1 + 16 + 4 + 4 + 4
const REPLACE_ADDED_BYTES = 24

/**
 * The part of a replacement frame before the added batches' bytes, CRC included (computed over
 * the header and every batch, so the batches are written as their own buffers).
 */
export function replaceFrameHeader(topicId: Buffer, partition: number, removed: readonly number[], added: readonly ReplacedBatchHeader[], batches: readonly Buffer[]): Buffer {
  const header = Buffer.allocUnsafe(REPLACE_FIXED_BYTES + removed.length * 8 + added.length * REPLACE_ADDED_BYTES)
  let batchBytes = 0
  for (const batch of batches) batchBytes += batch.length
  header.writeUInt32BE(header.length - 4 + batchBytes, 0)
  header[8] = FRAME_KIND_REPLACE
  topicId.copy(header, 9)
  header.writeInt32BE(partition, 25)
  header.writeUInt32BE(removed.length, 29)
  header.writeUInt32BE(added.length, 33)
  let position = REPLACE_FIXED_BYTES
  for (const offset of removed) {
    writeInt64(header, position, offset)
    position += 8
  }
  for (const batch of added) {
    writeInt64(header, position, batch.baseOffset)
    header.writeInt32BE(batch.lastOffset - batch.baseOffset, position + 8)
    writeInt64(header, position + 12, batch.maxTimestamp)
    header.writeUInt32BE(batch.size, position + 20)
    position += REPLACE_ADDED_BYTES
  }
  let crc = crc32c(header.subarray(FRAME_PREFIX_BYTES))
  for (const batch of batches) crc = crc32c(batch, crc)
  header.writeUInt32BE(crc >>> 0, 4)
  return header
}

export class DecodedReplaceFrame {
  readonly topicId: string
  readonly partition: number
  readonly removed: number[] = []
  readonly added: ReplacedBatchHeader[] = []
  /** Where each added batch's bytes start, from the start of the body. */
  readonly starts: number[] = []

  constructor(body: Buffer) {
    const fixed = REPLACE_FIXED_BYTES - FRAME_PREFIX_BYTES
    if (body.length < fixed) throw malformed('replacement')
    this.topicId = bytesToUuid(body, 1)
    this.partition = body.readInt32BE(17)
    const removedCount = body.readUInt32BE(21)
    const addedCount = body.readUInt32BE(25)
    let position = fixed
    let start = fixed + removedCount * 8 + addedCount * REPLACE_ADDED_BYTES
    if (start > body.length) throw malformed('replacement')
    for (let i = 0; i < removedCount; i++, position += 8) this.removed.push(readInt64(body, position))
    for (let i = 0; i < addedCount; i++, position += REPLACE_ADDED_BYTES) {
      const baseOffset = readInt64(body, position)
      const size = body.readUInt32BE(position + 20)
      this.added.push({ baseOffset, lastOffset: baseOffset + body.readInt32BE(position + 8), maxTimestamp: readInt64(body, position + 12), size })
      this.starts.push(start)
      start += size
    }
    if (start !== body.length) throw malformed('replacement')
  }
}

// Decoding works on a frame's body: the bytes after the CRC, starting with the kind byte.

export function frameKind(body: Buffer): number {
  return body[0]!
}

export class DecodedBatchFrame {
  readonly topicId: string
  readonly partition: number
  readonly baseOffset: number
  readonly lastOffset: number
  readonly maxTimestamp: number
  readonly batchSize: number

  constructor(body: Buffer) {
    if (body.length < BATCH_FRAME_HEADER_BYTES - FRAME_PREFIX_BYTES) throw malformed('batch')
    this.topicId = bytesToUuid(body, 1)
    this.partition = body.readInt32BE(17)
    this.baseOffset = readInt64(body, 21)
    this.lastOffset = this.baseOffset + body.readInt32BE(29)
    this.maxTimestamp = readInt64(body, 33)
    this.batchSize = body.length - (BATCH_FRAME_HEADER_BYTES - FRAME_PREFIX_BYTES)
  }
}

export class DecodedPartitionFrame {
  readonly topicId: string
  readonly partition: number
  /** -1: unchanged. */
  readonly logStartOffset: number
  /** -1: unchanged. */
  readonly flushedOffset: number

  constructor(body: Buffer) {
    if (body.length !== PARTITION_FRAME_BYTES - FRAME_PREFIX_BYTES) throw malformed('partition')
    this.topicId = bytesToUuid(body, 1)
    this.partition = body.readInt32BE(17)
    this.logStartOffset = readInt64(body, 21)
    this.flushedOffset = readInt64(body, 29)
  }
}

/**
 * Calls `visit` for every row of a state frame body, in order. Keys and values are views of
 * `body` (classic-level copies them when the batch is written).
 */
export function forEachStateRow(body: Buffer, visit: (key: Buffer, value: Buffer | null) => void): number {
  if (body.length < 5) throw malformed('state')
  const count = body.readUInt32BE(1)
  let position = 5
  for (let i = 0; i < count; i++) {
    if (position + 2 > body.length) throw malformed('state')
    const keyLength = body.readUInt16BE(position)
    const key = body.subarray(position + 2, position + 2 + keyLength)
    position += 2 + keyLength
    if (position + 4 > body.length) throw malformed('state')
    const valueLength = body.readInt32BE(position)
    position += 4
    if (valueLength < 0) {
      visit(key, null)
      continue
    }
    if (position + valueLength > body.length) throw malformed('state')
    visit(key, body.subarray(position, position + valueLength))
    position += valueLength
  }
  if (position !== body.length) throw malformed('state')
  return count
}

/** A frame whose CRC matches but whose fields do not parse: written by a bug or a newer format. */
function malformed(kind: string): ZombiError {
  return new ZombiError('STORAGE_CORRUPT', `a ${kind} frame with a valid CRC does not parse; was this log written by a newer Zombi?`)
}
