// 64-bit integers as JavaScript numbers, without a BigInt per value: hi * 2^32 + lo, exact for
// magnitudes below 2^53 (offsets, timestamps, producer ids, file positions). Every helper takes
// (target, position[, value]), as DataView does.

const TWO_POW_32 = 4294967296

/** Signed big-endian int64 at `position` (Kafka's wire format, batch headers, stored frames). */
export function readInt64(source: Buffer, position: number): number {
  return source.readInt32BE(position) * TWO_POW_32 + source.readUInt32BE(position + 4)
}

/**
 * Writes a signed integer of magnitude < 2^53 as a two's-complement big-endian int64 (timestamps may be -1).
 * A non-negative value's bytes are its uint64 bytes too, so keys built from offsets sort numerically.
 */
export function writeInt64(target: Buffer, position: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32)
  target.writeInt32BE(high, position)
  target.writeUInt32BE(value - high * TWO_POW_32, position + 4)
}

/**
 * Writes a signed integer of magnitude < 2^53 as the little-endian int64 at index `index` of a
 * Uint32Array view over an int64 array (Arrow's column buffers), two words at a time.
 */
export function setInt64Words(view: Uint32Array, index: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32)
  view[2 * index] = value - high * TWO_POW_32
  view[2 * index + 1] = high >>> 0
}
