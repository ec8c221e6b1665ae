// classic-level key layout: one prefix byte per kind, then big-endian fields, so that keys of
// one topic/partition sort together and index keys sort by base offset.
//
//   'v'                                     -> u32 format version
//   'c'                                     -> checkpoint: u32 segment, u64 position
//   't' + topic id (16)                     -> topic record (JSON)
//   'p' + topic id (16) + partition (u32)   -> partition state (24 bytes, see level-index.ts)
//   'i' + topic id (16) + partition (u32) + base offset (u64)  -> index value (28 bytes)
//   's' + key (utf8)                        -> generic state row (caller's bytes)
import { ZombiError } from '../errors.ts'
import { readInt64, writeInt64 } from '../protocol/int64.ts'

export const PREFIX_TOPIC = 0x74 // 't'
export const PREFIX_PARTITION = 0x70 // 'p'
export const PREFIX_INDEX = 0x69 // 'i'
export const PREFIX_STATE = 0x73 // 's'
export const CHECKPOINT_KEY = Buffer.from([0x63]) // 'c'
export const VERSION_KEY = Buffer.from([0x76]) // 'v'

export const TOPIC_ID_BYTES = 16
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The 16 bytes of a canonical UUID string; throws on anything else (Buffer.write would stop silently). */
export function topicIdBytes(id: string): Buffer {
  if (!UUID_PATTERN.test(id)) throw new ZombiError('INVALID_ARGUMENT', `invalid topic id ${JSON.stringify(id)}`)
  return Buffer.from(id.replace(/-/g, ''), 'hex')
}

export function bytesToUuid(source: Buffer, offset: number): string {
  const hex = source.toString('hex', offset, offset + TOPIC_ID_BYTES)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function topicKey(id: Buffer): Buffer {
  const key = Buffer.allocUnsafe(17)
  key[0] = PREFIX_TOPIC
  id.copy(key, 1)
  return key
}

export function partitionKey(id: Buffer, partition: number): Buffer {
  const key = Buffer.allocUnsafe(21)
  key[0] = PREFIX_PARTITION
  id.copy(key, 1)
  key.writeUInt32BE(partition, 17)
  return key
}

export function indexKey(id: Buffer, partition: number, baseOffset: number): Buffer {
  const key = Buffer.allocUnsafe(29)
  key[0] = PREFIX_INDEX
  id.copy(key, 1)
  key.writeUInt32BE(partition, 17)
  writeInt64(key, 21, baseOffset)
  return key
}

/** Topic id of a partition or index key. */
export function keyTopicId(key: Buffer): string {
  return bytesToUuid(key, 1)
}

/** Partition of a partition or index key. */
export function keyPartition(key: Buffer): number {
  return key.readUInt32BE(17)
}

/** Base offset of an index key. */
export function keyBaseOffset(key: Buffer): number {
  return readInt64(key, 21)
}

/** [gte, lt) of every key of one kind for one topic. */
export function topicRange(prefix: number, id: Buffer): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.allocUnsafe(17)
  gte[0] = prefix
  id.copy(gte, 1)
  return { gte, lt: successor(gte) }
}

/** [gte, lt) of every key of one kind. */
export function prefixRange(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) }
}

export function stateKey(key: string): Buffer {
  const length = Buffer.byteLength(key, 'utf8')
  const out = Buffer.allocUnsafe(1 + length)
  out[0] = PREFIX_STATE
  out.write(key, 1, 'utf8')
  return out
}

/** State row key from the utf8 bytes of a key (as stored in a state frame). */
export function stateKeyFromBytes(key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + key.length)
  out[0] = PREFIX_STATE
  key.copy(out, 1)
  return out
}

/** [gte, lt) of the state rows whose key starts with `prefix`. */
export function stateRange(prefix: string): { gte: Buffer; lt: Buffer } {
  const gte = stateKey(prefix)
  return { gte, lt: successor(gte) }
}

/** The smallest key greater than every key that starts with `prefix`. */
function successor(prefix: Buffer): Buffer {
  const out = Buffer.from(prefix)
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++
      return out.subarray(0, i + 1)
    }
  }
  throw new ZombiError('INVALID_ARGUMENT', 'no successor of an all-0xff key')
}
