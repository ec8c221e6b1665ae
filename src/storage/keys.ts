// classic-level key layout: one prefix byte per kind, then big-endian fields, so that keys of
// one topic/partition sort together and index keys sort by base offset.

export const PREFIX_TOPIC = 0x74 // 't' + topic id
export const PREFIX_PARTITION = 0x70 // 'p' + topic id + partition
export const PREFIX_INDEX = 0x69 // 'i' + topic id + partition + base offset
export const PREFIX_STATE = 0x73 // 's' + utf8 key
export const CHECKPOINT_KEY = Buffer.from([0x63]) // 'c'

const TWO_POW_32 = 4294967296

export function uuidToBytes(id: string, target: Buffer, offset: number): void {
  const hex = id.replace(/-/g, '')
  if (hex.length !== 32) throw new Error(`invalid topic id ${id}`)
  target.write(hex, offset, 16, 'hex')
}

export function bytesToUuid(source: Buffer, offset: number): string {
  const hex = source.toString('hex', offset, offset + 16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Non-negative integer < 2^53 as 8 big-endian bytes (sorts numerically). */
export function writeUint64(target: Buffer, value: number, offset: number): void {
  const hi = Math.floor(value / TWO_POW_32)
  target.writeUInt32BE(hi, offset)
  target.writeUInt32BE(value - hi * TWO_POW_32, offset + 4)
}

export function readUint64(source: Buffer, offset: number): number {
  return source.readUInt32BE(offset) * TWO_POW_32 + source.readUInt32BE(offset + 4)
}

export function topicKey(topicId: string): Buffer {
  const key = Buffer.allocUnsafe(17)
  key[0] = PREFIX_TOPIC
  uuidToBytes(topicId, key, 1)
  return key
}

export function partitionKey(topicId: string, partition: number): Buffer {
  const key = Buffer.allocUnsafe(21)
  key[0] = PREFIX_PARTITION
  uuidToBytes(topicId, key, 1)
  key.writeUInt32BE(partition, 17)
  return key
}

export function indexKey(topicId: string, partition: number, baseOffset: number): Buffer {
  const key = Buffer.allocUnsafe(29)
  key[0] = PREFIX_INDEX
  uuidToBytes(topicId, key, 1)
  key.writeUInt32BE(partition, 17)
  writeUint64(key, baseOffset, 21)
  return key
}

/** [start, end) of every key of one kind for one topic. */
export function topicRange(prefix: number, topicId: string): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.alloc(17)
  gte[0] = prefix
  uuidToBytes(topicId, gte, 1)
  const lt = Buffer.from(gte)
  // Increment the 17-byte big-endian key by one to get the exclusive upper bound.
  for (let i = 16; i >= 0; i--) {
    if (lt[i]! < 0xff) {
      lt[i]!++
      break
    }
    lt[i] = 0
  }
  return { gte, lt }
}

export function prefixRange(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) }
}

export function stateKey(key: string): Buffer {
  return Buffer.concat([Buffer.from([PREFIX_STATE]), Buffer.from(key, 'utf8')])
}
