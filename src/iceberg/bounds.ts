// Iceberg's single-value binary serialization (spec, Appendix D), used for column bounds in
// manifests and partition bounds in manifest lists. All numbers little-endian.

export function intBound(value: number): Uint8Array {
  const out = Buffer.alloc(4)
  out.writeInt32LE(value)
  return out
}

/** long, timestamp, timestamptz (exact for |value| < 2^53). */
export function longBound(value: number | bigint): Uint8Array {
  const out = Buffer.alloc(8)
  out.writeBigInt64LE(typeof value === 'bigint' ? value : BigInt(value))
  return out
}

export function booleanBound(value: boolean): Uint8Array {
  return Uint8Array.of(value ? 1 : 0)
}

/** date: days from 1970-01-01 as an int. */
export const dateBound = intBound

export function stringBound(value: string): Uint8Array {
  return Buffer.from(value, 'utf8')
}

export function decodeIntBound(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readInt32LE(0)
}

export function decodeLongBound(bytes: Uint8Array): bigint {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readBigInt64LE(0)
}

/** Bytes of a binary or string bound Iceberg keeps by default (`write.metadata.metrics.default` truncate(16)). */
export const TRUNCATE_LENGTH = 16

/** Lower bound of binary values whose minimum is `min`: its first 16 bytes (a prefix is never greater). */
export function truncatedBinaryLower(min: Uint8Array): Uint8Array {
  return min.length <= TRUNCATE_LENGTH ? min : min.subarray(0, TRUNCATE_LENGTH)
}

/**
 * Upper bound of binary values whose maximum is `max`: the value itself when it is 16 bytes or
 * shorter, else its first 16 bytes with the last byte that is not 0xff incremented (the bytes after
 * it dropped); null when all 16 are 0xff, as no 16-byte bound is then greater (leave it out).
 */
export function truncatedBinaryUpper(max: Uint8Array): Uint8Array | null {
  if (max.length <= TRUNCATE_LENGTH) return max
  for (let i = TRUNCATE_LENGTH - 1; i >= 0; i--) {
    if (max[i]! !== 0xff) {
      const out = max.slice(0, i + 1)
      out[i]! += 1
      return out
    }
  }
  return null
}

/** Lower bound of strings whose minimum is `min`: its first 16 code points, UTF-8. */
export function truncatedStringLower(min: string): Uint8Array {
  return Buffer.from(Array.from(min).slice(0, TRUNCATE_LENGTH).join(''), 'utf8')
}

/**
 * Upper bound of strings whose maximum is `max`: the string when it has 16 code points or fewer,
 * else its first 16 with the last one that can be incremented incremented (skipping the surrogate
 * range; code points after it dropped), UTF-8; null when none can (all U+10FFFF).
 */
export function truncatedStringUpper(max: string): Uint8Array | null {
  const codePoints = Array.from(max, (char) => char.codePointAt(0)!)
  if (codePoints.length <= TRUNCATE_LENGTH) return Buffer.from(max, 'utf8')
  for (let i = TRUNCATE_LENGTH - 1; i >= 0; i--) {
    const next = codePoints[i]! + 1 === 0xd800 ? 0xe000 : codePoints[i]! + 1
    if (next <= 0x10ffff) return Buffer.from(String.fromCodePoint(...codePoints.slice(0, i), next), 'utf8')
  }
  return null
}

/** Compares byte strings as unsigned bytes, lexicographically (Iceberg's order for binary and UTF-8 strings). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** compareBytes of bytes[start, start + length) and `other`. */
function compareAt(bytes: Uint8Array, start: number, length: number, other: Uint8Array): number {
  const n = Math.min(length, other.length)
  for (let i = 0; i < n; i++) {
    const a = bytes[start + i]!
    const b = other[i]!
    if (a !== b) return a - b
  }
  return length - other.length
}

function copyOf(bytes: Uint8Array, start: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = bytes[start + i]!
  return out
}

/**
 * Minimum and maximum of binary (or UTF-8 string) values, compared on a prefix only: 17 bytes for
 * binary, 65 for strings (16 code points of up to 4 bytes, plus one to know the value was longer).
 * Prefixes keep the order, so the truncated bounds stay exact without keeping long values.
 */
export class BytesRange {
  min: Uint8Array | null = null
  max: Uint8Array | null = null
  readonly #keep: number

  constructor(kind: 'binary' | 'string') {
    this.#keep = kind === 'binary' ? TRUNCATE_LENGTH + 1 : TRUNCATE_LENGTH * 4 + 1
  }

  add(bytes: Uint8Array, start: number, end: number): void {
    // Compared in place: a view per value (a Buffer's subarray) costs more than the comparison.
    const length = Math.min(end - start, this.#keep)
    if (this.min === null || compareAt(bytes, start, length, this.min) < 0) this.min = copyOf(bytes, start, length)
    if (this.max === null || compareAt(bytes, start, length, this.max) > 0) this.max = copyOf(bytes, start, length)
  }

  /** Adds the other range's values (files built from several record batches). */
  merge(other: BytesRange): void {
    if (other.min !== null) this.add(other.min, 0, other.min.length)
    if (other.max !== null) this.add(other.max, 0, other.max.length)
  }

  /** [lower, upper] bounds of binary values; either may be null (no values, or no upper bound). */
  binaryBounds(): [Uint8Array | null, Uint8Array | null] {
    return [this.min === null ? null : truncatedBinaryLower(this.min), this.max === null ? null : truncatedBinaryUpper(this.max)]
  }

  /** [lower, upper] bounds of UTF-8 string values (a code point cut at the prefix's end lies past the 16th). */
  stringBounds(): [Uint8Array | null, Uint8Array | null] {
    const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
    return [this.min === null ? null : truncatedStringLower(text(this.min)), this.max === null ? null : truncatedStringUpper(text(this.max))]
  }
}
