// Encoding of Kafka wire primitives into a growable scratch buffer plus a list of external
// chunks, so large stored buffers (fetched record batches) reach the socket without a copy.
//
// The scratch buffer is used like a bump allocator: bytes already written are never
// overwritten, not even after reset(), because views of them may still be queued on a
// socket. When the scratch is full a new one is allocated and the old one is left to the
// garbage collector once nothing references it.
//
// 64-bit integers are taken as numbers (see reader.ts): exact for |value| < 2^53.
import { ZombiError } from '../errors.ts'
import { writeInt64 } from './int64.ts'

/** A records field value on write: one buffer, several buffers written back to back as one field, or null. */
export type Records = Buffer | readonly Buffer[] | null

export function uvarintSize(value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  return 5
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 97 && code <= 102) return code - 87
  if (code >= 65 && code <= 70) return code - 55
  throw new ZombiError('INVALID_ARGUMENT', 'invalid hex digit in uuid')
}

export class Writer {
  private buf: Buffer
  /** Start of the bytes not yet moved into `chunks`. */
  private start = 0
  /** Next write position in `buf`. */
  private pos = 0
  private chunks: Buffer[] = []
  /** Total length of `chunks`. */
  private chunkedLength = 0

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity))
  }

  /** Total bytes written so far, external chunks included. */
  get length(): number {
    return this.chunkedLength + this.pos - this.start
  }

  /** Starts a new message. Buffers handed out by toChunks() before stay intact. */
  reset(): void {
    this.start = this.pos
    this.chunks = []
    this.chunkedLength = 0
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const used = this.pos - this.start
    let size = this.buf.length
    while (size < used + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, this.start, this.pos)
    this.buf = next
    this.start = 0
    this.pos = used
  }

  private flushScratch(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos))
      this.chunkedLength += this.pos - this.start
      this.start = this.pos
    }
  }

  /** Appends an external buffer without copying it; the caller must not modify it until it is written out. */
  chunk(buf: Buffer): void {
    if (buf.length === 0) return
    this.flushScratch()
    this.chunks.push(buf)
    this.chunkedLength += buf.length
  }

  /** Appends a copy of `buf` (for small values where a separate chunk costs more than the copy). */
  raw(buf: Buffer): void {
    this.ensure(buf.length)
    buf.copy(this.buf, this.pos)
    this.pos += buf.length
  }

  /** Ordered buffers for socket.writev / cork+write. Valid until the bytes are written; reset() does not reuse them. */
  toChunks(): Buffer[] {
    this.flushScratch()
    return this.chunks
  }

  /** All bytes as one buffer (a copy when there is more than one chunk): for tests and small messages. */
  toBuffer(): Buffer {
    const chunks = this.toChunks()
    if (chunks.length === 1) return chunks[0]!
    return Buffer.concat(chunks, this.chunkedLength)
  }

  /** Reserves four bytes (e.g. the frame size) and returns their position for patchInt32. */
  reserveInt32(): number {
    const position = this.length
    this.ensure(4)
    this.pos += 4
    return position
  }

  /** Writes an int32 at a position returned by reserveInt32, even after later chunks were appended. */
  patchInt32(position: number, value: number): void {
    if (position >= this.chunkedLength) {
      this.buf.writeInt32BE(value, this.start + position - this.chunkedLength)
      return
    }
    let at = 0
    for (const chunk of this.chunks) {
      if (position < at + chunk.length) {
        chunk.writeInt32BE(value, position - at)
        return
      }
      at += chunk.length
    }
    throw new ZombiError('INVALID_ARGUMENT', `patch position ${position} out of range`)
  }

  int8(v: number): void {
    this.ensure(1)
    this.buf.writeInt8(v, this.pos)
    this.pos += 1
  }

  uint8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  bool(v: boolean): void {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
  }

  int16(v: number): void {
    this.ensure(2)
    this.buf.writeInt16BE(v, this.pos)
    this.pos += 2
  }

  uint16(v: number): void {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
  }

  int32(v: number): void {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
  }

  uint32(v: number): void {
    this.ensure(4)
    this.buf.writeUInt32BE(v, this.pos)
    this.pos += 4
  }

  /** Signed 64-bit big-endian from a number (exact for |v| < 2^53). */
  int64(v: number): void {
    this.ensure(8)
    writeInt64(this.buf, this.pos, v)
    this.pos += 8
  }

  float64(v: number): void {
    this.ensure(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
  }

  /** Unsigned LEB128 varint of a 32-bit value. */
  uvarint(v: number): void {
    this.ensure(5)
    const buf = this.buf
    let value = v >>> 0
    while (value >= 0x80) {
      buf[this.pos++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    buf[this.pos++] = value
  }

  /** Zigzag signed 32-bit varint. */
  varint(v: number): void {
    this.uvarint((v << 1) ^ (v >> 31))
  }

  /** Zigzag signed 64-bit varint from a number (exact for |v| < 2^52: the zigzag form doubles it). */
  varlong(v: number): void {
    this.ensure(10)
    let value = v >= 0 ? v * 2 : -v * 2 - 1
    const buf = this.buf
    while (value >= 0x80) {
      buf[this.pos++] = (value % 128) | 0x80
      value = Math.floor(value / 128)
    }
    buf[this.pos++] = value
  }

  /** A canonical uuid string (hyphens optional) as 16 bytes. */
  uuid(v: string): void {
    this.ensure(16)
    const buf = this.buf
    let nibbles = 0
    let byte = 0
    for (let i = 0; i < v.length; i++) {
      const code = v.charCodeAt(i)
      if (code === 45) continue
      if (nibbles === 32) throw new ZombiError('INVALID_ARGUMENT', `invalid uuid ${JSON.stringify(v)}`)
      byte = (byte << 4) | hexValue(code)
      nibbles++
      if ((nibbles & 1) === 0) {
        buf[this.pos + (nibbles >> 1) - 1] = byte
        byte = 0
      }
    }
    if (nibbles !== 32) throw new ZombiError('INVALID_ARGUMENT', `invalid uuid ${JSON.stringify(v)}`)
    this.pos += 16
  }

  private utf8(v: string, byteLength: number): void {
    this.ensure(byteLength)
    this.buf.write(v, this.pos, byteLength, 'utf8')
    this.pos += byteLength
  }

  string(v: string): void {
    const n = Buffer.byteLength(v, 'utf8')
    if (n > 0x7fff) throw new ZombiError('INVALID_ARGUMENT', `string of ${n} bytes is too long for an int16 length`)
    this.int16(n)
    this.utf8(v, n)
  }

  nullableString(v: string | null): void {
    if (v === null) this.int16(-1)
    else this.string(v)
  }

  compactString(v: string): void {
    const n = Buffer.byteLength(v, 'utf8')
    this.uvarint(n + 1)
    this.utf8(v, n)
  }

  compactNullableString(v: string | null): void {
    if (v === null) this.uvarint(0)
    else this.compactString(v)
  }

  bytes(v: Buffer): void {
    this.int32(v.length)
    this.raw(v)
  }

  nullableBytes(v: Buffer | null): void {
    if (v === null) this.int32(-1)
    else this.bytes(v)
  }

  compactBytes(v: Buffer): void {
    this.uvarint(v.length + 1)
    this.raw(v)
  }

  compactNullableBytes(v: Buffer | null): void {
    if (v === null) this.uvarint(0)
    else this.compactBytes(v)
  }

  /** A records field: the length prefix, then the buffers appended as chunks (never copied). */
  records(flexible: boolean, v: Records): void {
    if (v === null) {
      if (flexible) this.uvarint(0)
      else this.int32(-1)
      return
    }
    if (Buffer.isBuffer(v)) {
      if (flexible) this.uvarint(v.length + 1)
      else this.int32(v.length)
      this.chunk(v)
      return
    }
    let total = 0
    for (let i = 0; i < v.length; i++) total += v[i]!.length
    if (flexible) this.uvarint(total + 1)
    else this.int32(total)
    for (let i = 0; i < v.length; i++) this.chunk(v[i]!)
  }

  arrayLength(n: number): void {
    this.int32(n)
  }

  /** uvarint (n + 1); pass -1 for null. */
  compactArrayLength(n: number): void {
    this.uvarint(n + 1)
  }

  /** Array length in the encoding of the version; -1 for null. */
  arrayLengthFor(flexible: boolean, n: number): void {
    if (flexible) this.uvarint(n + 1)
    else this.int32(n)
  }

  /** An empty tagged-field section. */
  emptyTaggedFields(): void {
    this.ensure(1)
    this.buf[this.pos++] = 0
  }
}
