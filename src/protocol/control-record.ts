// Control batches: the commit and abort markers a transaction coordinator writes to every partition
// of a transaction. Kafka's format: a magic-2 batch with the transactional and control attributes,
// the producer's id and epoch, base sequence -1 and one record whose key is (version 0, type) and
// whose value is (version 0, coordinator epoch), both big-endian int16s / int32.
import { ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_TRANSACTIONAL, RECORDS, attributesOf, recordCountOf } from './record-batch.ts'
import { encodeBatch } from './records.ts'

export const CONTROL_ABORT = 0
export const CONTROL_COMMIT = 1

/** A control batch of one marker record (base offset 0: the log patches it at append). */
export function encodeControlBatch(type: number, producerId: number, producerEpoch: number, coordinatorEpoch: number, timestampMs: number): Buffer {
  const key = Buffer.alloc(4)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(type, 2)
  const value = Buffer.alloc(6)
  value.writeInt16BE(0, 0)
  value.writeInt32BE(coordinatorEpoch, 2)
  return encodeBatch([{ key, value, timestamp: timestampMs }], {
    baseTimestamp: timestampMs, producerId, producerEpoch, baseSequence: -1, attributes: ATTR_TRANSACTIONAL | ATTR_CONTROL,
  })
}

/** Whether a batch is a control batch. */
export function isControlBatch(batch: Buffer, position = 0): boolean {
  return (attributesOf(batch, position) & ATTR_CONTROL) !== 0
}

/** Whether a batch belongs to a transaction (data or marker). */
export function isTransactionalBatch(batch: Buffer, position = 0): boolean {
  return (attributesOf(batch, position) & ATTR_TRANSACTIONAL) !== 0
}

/** Reads an unsigned varint at `position`; returns [value, next position]. */
function readVarint(batch: Buffer, position: number): [number, number] {
  let value = 0
  let shift = 0
  for (;;) {
    const byte = batch[position++]!
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) break
    shift += 7
  }
  return [value, position]
}

function zigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2
}

/** The marker type (CONTROL_ABORT / CONTROL_COMMIT) of a control batch's record, or -1 when it is not one Kafka defines. */
export function controlTypeOf(batch: Buffer, position = 0): number {
  if (!isControlBatch(batch, position) || (attributesOf(batch, position) & ATTR_COMPRESSION_MASK) !== 0 || recordCountOf(batch, position) < 1) return -1
  let at = position + RECORDS
  ;[, at] = readVarint(batch, at) // record length
  at += 1 // attributes
  ;[, at] = readVarint(batch, at) // timestamp delta
  ;[, at] = readVarint(batch, at) // offset delta
  const [keyLength, keyAt] = readVarint(batch, at)
  at = keyAt
  if (zigzag(keyLength) < 4) return -1
  if (batch.readInt16BE(at) !== 0) return -1
  return batch.readInt16BE(at + 2)
}
