// The broker-wide append-only log: numbered segment files of self-describing frames, written
// with one writev per group commit, synced with one fdatasync, read back with positional reads.
//
// Frame: [u32 frame length (bytes after this field)][u32 crc32c of the rest]
//        [16-byte topic id][i32 partition][record batch bytes]
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { crc32c } from '@node-rs/crc32'
import { bytesToUuid, uuidToBytes } from './keys.ts'

export const FRAME_HEADER_BYTES = 28
const FRAME_LENGTH_MIN = FRAME_HEADER_BYTES - 4
const SEGMENT_SUFFIX = '.seg'

export function segmentFileName(segment: number): string {
  return `${String(segment).padStart(20, '0')}${SEGMENT_SUFFIX}`
}

/** Builds the frame header for a batch (the batch itself is written as its own buffer). */
export function frameHeader(topicId: string, partition: number, batch: Buffer): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  header.writeUInt32BE(FRAME_HEADER_BYTES - 4 + batch.length, 0)
  uuidToBytes(topicId, header, 8)
  header.writeInt32BE(partition, 24)
  // The CRC covers the topic id, partition and the batch, so recovery can trust all three.
  const crc = crc32c(batch, crc32c(header.subarray(8, FRAME_HEADER_BYTES)))
  header.writeUInt32BE(crc >>> 0, 4)
  return header
}

export interface ScannedFrame {
  position: number
  topicId: string
  partition: number
  batch: Buffer
}

export interface ScanResult {
  frames: ScannedFrame[]
  /** Where the valid frames end; bytes past it are torn or garbage. */
  validEnd: number
  fileSize: number
}

export class Segment {
  readonly number: number
  readonly fd: number
  size: number

  constructor(number: number, fd: number, size: number) {
    this.number = number
    this.fd = fd
    this.size = size
  }
}

export class SegmentLog {
  readonly dir: string
  readonly segmentBytes: number
  readonly #segments = new Map<number, Segment>()
  #active: Segment | null = null

  constructor(dir: string, segmentBytes: number) {
    this.dir = dir
    this.segmentBytes = segmentBytes
  }

  /** Segment numbers present on disk, ascending. */
  async list(): Promise<number[]> {
    await fsp.mkdir(this.dir, { recursive: true })
    const names = await fsp.readdir(this.dir)
    return names
      .filter((name) => name.endsWith(SEGMENT_SUFFIX))
      .map((name) => Number(name.slice(0, -SEGMENT_SUFFIX.length)))
      .filter((n) => Number.isSafeInteger(n))
      .sort((a, b) => a - b)
  }

  path(segment: number): string {
    return path.join(this.dir, segmentFileName(segment))
  }

  #open(segment: number, create: boolean): Segment {
    const existing = this.#segments.get(segment)
    if (existing !== undefined) return existing
    // Read-write without O_APPEND: appends are positional writes at the size we track.
    const flags = fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0)
    const fd = fs.openSync(this.path(segment), flags, 0o644)
    const opened = new Segment(segment, fd, fs.fstatSync(fd).size)
    this.#segments.set(segment, opened)
    return opened
  }

  /** Reads every valid frame from `from` on; stops at the first torn or corrupt frame. */
  scan(segment: number, from: number): ScanResult {
    const opened = this.#open(segment, false)
    const fileSize = opened.size
    const frames: ScannedFrame[] = []
    const head = Buffer.allocUnsafe(8)
    let position = from
    while (position + 8 <= fileSize) {
      fs.readSync(opened.fd, head, 0, 8, position)
      const length = head.readUInt32BE(0)
      if (length < FRAME_LENGTH_MIN || position + 4 + length > fileSize) break
      const body = Buffer.allocUnsafe(length - 4)
      fs.readSync(opened.fd, body, 0, body.length, position + 8)
      if ((crc32c(body) >>> 0) !== head.readUInt32BE(4)) break
      frames.push({ position, topicId: bytesToUuid(body, 0), partition: body.readInt32BE(16), batch: body.subarray(20) })
      position += 4 + length
    }
    return { frames, validEnd: position, fileSize }
  }

  /** Cuts a segment at `size` (a torn tail) and makes the cut durable. */
  truncate(segment: number, size: number): void {
    const opened = this.#open(segment, false)
    fs.ftruncateSync(opened.fd, size)
    fs.fdatasyncSync(opened.fd)
    opened.size = size
  }

  async remove(segment: number): Promise<void> {
    const opened = this.#segments.get(segment)
    if (opened !== undefined) {
      fs.closeSync(opened.fd)
      this.#segments.delete(segment)
    }
    if (this.#active?.number === segment) this.#active = null
    await fsp.rm(this.path(segment), { force: true })
  }

  /** Makes `segment` (created if missing) the one appends go to. */
  activate(segment: number): void {
    this.#active = this.#open(segment, true)
  }

  /** The segment appends go to (its `size` is where the next frame starts). */
  active(): Segment {
    return this.#active!
  }

  /**
   * The segment a frame of `frameBytes` goes to: the active one, or a new one when the frame
   * would not fit (a frame larger than a segment gets an empty segment of its own). The
   * caller advances `size` by the frame it writes there.
   */
  reserve(frameBytes: number): Segment {
    let active = this.#active!
    if (active.size > 0 && active.size + frameBytes > this.segmentBytes) {
      active = this.#open(active.number + 1, true)
      this.#active = active
    }
    return active
  }

  /** Writes buffers at the segment's end in one writev; the caller reserved the space. */
  async write(segment: Segment, position: number, buffers: Buffer[]): Promise<void> {
    let written = 0
    let total = 0
    for (const buffer of buffers) total += buffer.length
    let pending = buffers
    while (written < total) {
      const { bytesWritten } = await writev(segment.fd, pending, position + written)
      written += bytesWritten
      if (written < total) pending = skipBytes(buffers, written)
    }
  }

  sync(segment: Segment): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(segment.fd, (error) => (error ? reject(error) : resolve())))
  }

  /** Positional read of `size` bytes at `position` of a segment. */
  read(segment: number, position: number, size: number): Buffer {
    const opened = this.#segments.get(segment) ?? this.#open(segment, false)
    const out = Buffer.allocUnsafe(size)
    let done = 0
    while (done < size) {
      const n = fs.readSync(opened.fd, out, done, size - done, position + done)
      if (n === 0) throw new Error(`segment ${segment} ends before ${position + size}`)
      done += n
    }
    return out
  }

  close(): void {
    for (const opened of this.#segments.values()) fs.closeSync(opened.fd)
    this.#segments.clear()
    this.#active = null
  }
}

function writev(fd: number, buffers: Buffer[], position: number): Promise<{ bytesWritten: number }> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, buffers, position, (error, bytesWritten) => (error ? reject(error) : resolve({ bytesWritten })))
  })
}

/** The buffers with the first `skip` bytes removed (after a short write). */
function skipBytes(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = []
  let remaining = skip
  for (const buffer of buffers) {
    if (remaining >= buffer.length) {
      remaining -= buffer.length
      continue
    }
    out.push(remaining > 0 ? buffer.subarray(remaining) : buffer)
    remaining = 0
  }
  return out
}
