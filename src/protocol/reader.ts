// Bounds-checked decoding of Kafka wire primitives from one frame's bytes.
//
// Every read checks the remaining length first and throws ProtocolDecodeError on
// truncation, on negative lengths other than -1 (null), and on lengths larger than what
// is left of the buffer, so a malformed frame can never cause a huge allocation or an
// endless loop: array lengths are checked against the remaining bytes too (each element
// takes at least one byte on the wire).
//
// 64-bit integers are returned as JavaScript numbers, computed as hi * 2^32 + lo without
// allocating a BigInt. They are exact for |value| < 2^53 (offsets, timestamps, producer
// ids and sizes in practice); larger magnitudes are rounded to the nearest double.
//
// bytes and records are returned as subarrays of the input buffer (no copy): they stay
// valid as long as the caller keeps the frame buffer and does not overwrite it.

import { ZombiError } from '../errors.ts'
import { readInt64 } from './int64.ts'

/** Bytes from a client that do not decode (code PROTOCOL_MALFORMED); the generated decoders throw it too. */
export class ProtocolDecodeError extends ZombiError {
  constructor(message: string) {
    super('PROTOCOL_MALFORMED', message)
    this.name = 'ProtocolDecodeError'
  }
}

const HEX: string[] = []
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'))

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export class Reader {
  readonly buf: Buffer
  offset: number

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf
    this.offset = offset
  }

  get remaining(): number {
    return this.buf.length - this.offset
  }

  private need(n: number): void {
    if (n > this.buf.length - this.offset) {
      throw new ProtocolDecodeError(`truncated input: need ${n} bytes at offset ${this.offset}, ${this.buf.length - this.offset} left`)
    }
  }

  skip(n: number): void {
    if (n < 0) throw new ProtocolDecodeError(`negative skip ${n}`)
    this.need(n)
    this.offset += n
  }

  int8(): number {
    this.need(1)
    return this.buf.readInt8(this.offset++)
  }

  uint8(): number {
    this.need(1)
    return this.buf[this.offset++]!
  }

  bool(): boolean {
    this.need(1)
    return this.buf[this.offset++] !== 0
  }

  int16(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.offset)
    this.offset += 2
    return v
  }

  uint16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.offset)
    this.offset += 2
    return v
  }

  int32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.offset)
    this.offset += 4
    return v
  }

  uint32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.offset)
    this.offset += 4
    return v
  }

  /** Signed 64-bit big-endian as a number: exact below 2^53 in magnitude (see file comment). */
  int64(): number {
    this.need(8)
    const value = readInt64(this.buf, this.offset)
    this.offset += 8
    return value
  }

  float64(): number {
    this.need(8)
    const v = this.buf.readDoubleBE(this.offset)
    this.offset += 8
    return v
  }

  /** Unsigned LEB128 varint of at most 32 bits (5 bytes), as used for compact lengths and tags. */
  uvarint(): number {
    const buf = this.buf
    let offset = this.offset
    // One byte is the common case (lengths, deltas and counts inside record batches).
    if (offset < buf.length && buf[offset]! < 0x80) {
      this.offset = offset + 1
      return buf[offset]!
    }
    let value = 0
    let shift = 0
    while (true) {
      if (offset >= buf.length) throw new ProtocolDecodeError(`truncated varint at offset ${this.offset}`)
      const b = buf[offset++]!
      if (shift === 28) {
        if (b > 0x0f) throw new ProtocolDecodeError(`varint longer than 32 bits at offset ${this.offset}`)
        value += b * 268435456
        break
      }
      value |= (b & 0x7f) << shift
      if (b < 0x80) {
        value >>>= 0
        break
      }
      shift += 7
    }
    this.offset = offset
    return value
  }

  /** Zigzag-encoded signed 32-bit varint (record headers and lengths inside batches). */
  varint(): number {
    const u = this.uvarint()
    return (u >>> 1) ^ -(u & 1)
  }

  /** Zigzag-encoded signed 64-bit varint as a number (exact below 2^52 in magnitude, as its zigzag form must stay below 2^53). */
  varlong(): number {
    const buf = this.buf
    let offset = this.offset
    let value = 0
    let multiplier = 1
    for (let i = 0; ; i++) {
      if (i === 10) throw new ProtocolDecodeError(`varlong longer than 10 bytes at offset ${this.offset}`)
      if (offset >= buf.length) throw new ProtocolDecodeError(`truncated varlong at offset ${this.offset}`)
      const b = buf[offset++]!
      value += (b & 0x7f) * multiplier
      if (b < 0x80) break
      multiplier *= 128
    }
    this.offset = offset
    // Zigzag: even values are non-negative, odd ones negative. Division keeps it exact for |v| < 2^53.
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2
  }

  uuid(): string {
    this.need(16)
    const b = this.buf
    const o = this.offset
    this.offset += 16
    return HEX[b[o]!]! + HEX[b[o + 1]!]! + HEX[b[o + 2]!]! + HEX[b[o + 3]!]! + '-' +
      HEX[b[o + 4]!]! + HEX[b[o + 5]!]! + '-' + HEX[b[o + 6]!]! + HEX[b[o + 7]!]! + '-' +
      HEX[b[o + 8]!]! + HEX[b[o + 9]!]! + '-' + HEX[b[o + 10]!]! + HEX[b[o + 11]!]! +
      HEX[b[o + 12]!]! + HEX[b[o + 13]!]! + HEX[b[o + 14]!]! + HEX[b[o + 15]!]!
  }

  private utf8(length: number): string {
    this.need(length)
    const start = this.offset
    this.offset += length
    return this.buf.toString('utf8', start, start + length)
  }

  /** int16 length + UTF-8; null (-1) is an error for a non-nullable string. */
  string(): string {
    const length = this.int16()
    if (length < 0) throw new ProtocolDecodeError(`non-nullable string has length ${length}`)
    return this.utf8(length)
  }

  nullableString(): string | null {
    const length = this.int16()
    if (length === -1) return null
    if (length < 0) throw new ProtocolDecodeError(`invalid string length ${length}`)
    return this.utf8(length)
  }

  /** uvarint (length + 1) + UTF-8. */
  compactString(): string {
    const n = this.uvarint()
    if (n === 0) throw new ProtocolDecodeError('non-nullable compact string is null')
    return this.utf8(n - 1)
  }

  compactNullableString(): string | null {
    const n = this.uvarint()
    if (n === 0) return null
    return this.utf8(n - 1)
  }

  private slice(length: number): Buffer {
    this.need(length)
    const start = this.offset
    this.offset += length
    return this.buf.subarray(start, start + length)
  }

  /** int32 length + bytes, returned as a subarray of the input. */
  bytes(): Buffer {
    const length = this.int32()
    if (length < 0) throw new ProtocolDecodeError(`non-nullable bytes have length ${length}`)
    return this.slice(length)
  }

  nullableBytes(): Buffer | null {
    const length = this.int32()
    if (length === -1) return null
    if (length < 0) throw new ProtocolDecodeError(`invalid bytes length ${length}`)
    return this.slice(length)
  }

  compactBytes(): Buffer {
    const n = this.uvarint()
    if (n === 0) throw new ProtocolDecodeError('non-nullable compact bytes are null')
    return this.slice(n - 1)
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint()
    if (n === 0) return null
    return this.slice(n - 1)
  }

  /** A records field (nullable bytes): compact in flexible versions. A subarray of the input, never a copy. */
  records(flexible: boolean): Buffer | null {
    return flexible ? this.compactNullableBytes() : this.nullableBytes()
  }

  /** int32 array length; -1 (null) is returned as -1. Rejects lengths the remaining bytes cannot hold. */
  arrayLength(): number {
    const n = this.int32()
    if (n === -1) return -1
    if (n < 0) throw new ProtocolDecodeError(`invalid array length ${n}`)
    if (n > this.buf.length - this.offset) throw new ProtocolDecodeError(`array length ${n} exceeds the ${this.buf.length - this.offset} bytes left`)
    return n
  }

  /** uvarint (length + 1) array length; null (0) is returned as -1. */
  compactArrayLength(): number {
    const n = this.uvarint() - 1
    if (n > this.buf.length - this.offset) throw new ProtocolDecodeError(`array length ${n} exceeds the ${this.buf.length - this.offset} bytes left`)
    return n
  }

  /** Array length in the encoding of the version: compact when flexible. -1 means null. */
  arrayLengthFor(flexible: boolean): number {
    return flexible ? this.compactArrayLength() : this.arrayLength()
  }

  /**
   * Reads a tagged-field section. Each field is handed to `onField` (which must consume
   * exactly `size` bytes or fewer — the rest is skipped), or skipped when no callback is given.
   */
  readTaggedFields(onField?: (tag: number, size: number, reader: Reader) => void): void {
    const count = this.uvarint()
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint()
      const size = this.uvarint()
      this.need(size)
      const end = this.offset + size
      if (onField === undefined) {
        this.offset = end
      } else {
        onField(tag, size, this)
        this.endTaggedField(end)
      }
    }
  }

  skipTaggedFields(): void {
    const count = this.uvarint()
    for (let i = 0; i < count; i++) {
      this.uvarint()
      this.skip(this.uvarint())
    }
  }

  /** Checks that a tagged field's value did not overrun its declared size and moves to its end. */
  endTaggedField(end: number): void {
    if (this.offset > end) throw new ProtocolDecodeError(`tagged field overran its size (ended at ${this.offset}, declared end ${end})`)
    this.offset = end
  }

  /** Starts a tagged field of `size` bytes; returns where it ends. */
  beginTaggedField(size: number): number {
    this.need(size)
    return this.offset + size
  }
}
