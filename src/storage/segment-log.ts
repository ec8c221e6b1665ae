// The broker-wide append-only log: numbered segment files of length+CRC framed records
// (frame.ts), appended with positional writes, synced with fdatasync, read back with
// synchronous positional reads through file descriptors cached per segment.
//
// A segment is `<dir>/<20-digit number>.seg`; numbers only grow. Deleting old segments
// later needs no bookkeeping here: a segment can go once no index entry points into it
// (entries carry their segment) and the index checkpoint is past it.
import fs from 'node:fs'
import path from 'node:path'
import { ZombiError } from '../errors.ts'
import { baseOffsetOf, indexTimestampOf, lastOffsetDeltaOf } from '../protocol/record-batch.ts'
import { FRAME_LENGTH_MIN, FRAME_PREFIX_BYTES, batchFrameHeader, frameIntact } from './frame.ts'
import { topicIdBytes } from './keys.ts'

const SEGMENT_NAME = /^(\d{20})\.seg$/
/** Recovery reads the log tail in chunks of this size, not one read per frame. */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024
/**
 * Buffers smaller than this are copied into one scratch buffer before the write: with many
 * small frames one big iovec beats thousands of small ones (measured: ~1.5x at 100-byte
 * batches), while large batches are passed as they are, never copied.
 */
const COALESCE_BELOW_BYTES = 4096
const SCRATCH_MAX_BYTES = 16 * 1024 * 1024
/**
 * Bytes per write call: a group commit of several megabytes goes out in 1 MiB writes. For a larger
 * write Linux fills the page cache with 2 MiB folios, and on this project's VMs (free memory handed
 * back to the host) touching such a fresh folio costs about ten times the system time per byte:
 * 256 MB in 2, 4 or 32 MiB writes took 0.3-0.9 s of kernel time, in writes of 1 MiB or less 0.06-0.15 s
 * (docs/benchmarks.md). Kafka writes one batch per call, a megabyte or less.
 */
const MAX_WRITE_BYTES = 1024 * 1024
/**
 * A write of at most this many bytes is made on the calling thread (writevSync): copying it into
 * the page cache takes microseconds, while a trip through libuv's thread pool waits for a free
 * pool thread and a free core, which on a loaded 2-core machine took over 1 ms for 1.5 % of the
 * small commits of a franz-go load at 33,000 records/s (under 0.05 % written synchronously).
 * Larger commits still go to the pool, so the event loop never copies megabytes.
 */
const SYNC_WRITE_BYTES = 64 * 1024
/** File descriptors kept open for reads of old segments (least recently used ones are closed). */
const MAX_OPEN_SEGMENTS = 128

export function segmentFileName(segment: number): string {
  return `${String(segment).padStart(20, '0')}.seg`
}

export class Segment {
  readonly number: number
  readonly fd: number
  /** Where the next frame starts: the file size once every reserved frame is written. */
  size: number

  constructor(number: number, fd: number, size: number) {
    this.number = number
    this.fd = fd
    this.size = size
  }
}

export interface ScanResult {
  /** Where the valid frames end (or where the visitor paused); bytes past it are torn or garbage. */
  validEnd: number
  fileSize: number
  /** The visitor asked to pause: scan again from `validEnd` for the rest. */
  paused: boolean
}

/**
 * Visits one valid frame. `body` is the frame after its CRC (kind byte first), a view into a
 * reused buffer that is only valid during the call. Returning false pauses the scan after it.
 */
export type FrameVisitor = (body: Buffer, position: number, frameBytes: number) => boolean

export class SegmentLog {
  readonly dir: string
  readonly segmentBytes: number
  readonly #segments = new Map<number, Segment>()
  #active: Segment | null = null
  /** A segment file was created since the directory was last synced. */
  #directoryDirty = false
  #scratch = Buffer.allocUnsafe(0)
  #lastRead = -1
  #lastPathSegment = -1
  #lastPath = ''

  constructor(dir: string, segmentBytes: number) {
    this.dir = dir
    this.segmentBytes = segmentBytes
  }

  /** Segment numbers present on disk, ascending (creates the directory). */
  list(): number[] {
    fs.mkdirSync(this.dir, { recursive: true })
    const numbers: number[] = []
    for (const name of fs.readdirSync(this.dir)) {
      const match = SEGMENT_NAME.exec(name)
      if (match !== null) numbers.push(Number(match[1]))
    }
    return numbers.sort((a, b) => a - b)
  }

  path(segment: number): string {
    // Asked once per batch by the flusher (fileOf): remember the last answer instead of path.join each time.
    if (segment !== this.#lastPathSegment) {
      this.#lastPath = path.join(this.dir, segmentFileName(segment))
      this.#lastPathSegment = segment
    }
    return this.#lastPath
  }

  #open(segment: number, create: boolean): Segment {
    const existing = this.#segments.get(segment)
    if (existing !== undefined) return existing
    // Read-write without O_APPEND: frames go to positions reserved in memory.
    let fd: number
    try {
      fd = fs.openSync(this.path(segment), fs.constants.O_RDWR)
    } catch (error) {
      if (!create || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      fd = fs.openSync(this.path(segment), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644)
      this.#directoryDirty = true
    }
    const opened = new Segment(segment, fd, fs.fstatSync(fd).size)
    this.#segments.set(segment, opened)
    if (this.#segments.size > MAX_OPEN_SEGMENTS) this.#closeLeastRecentlyUsed()
    return opened
  }

  /** Closes the descriptor read least recently, never one a commit may be writing (the last two). */
  #closeLeastRecentlyUsed(): void {
    const newest = this.#active?.number ?? 0
    for (const [number, opened] of this.#segments) {
      if (number >= newest - 1) continue
      fs.closeSync(opened.fd)
      this.#segments.delete(number)
      return
    }
  }

  /** Size of a segment file, or undefined if it does not exist. */
  sizeOf(segment: number): number | undefined {
    try {
      return this.#open(segment, false).size
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  /** Size and modification time of a segment file, or undefined if it does not exist. */
  stat(segment: number): { size: number; mtimeMs: number } | undefined {
    const stat = fs.statSync(this.path(segment), { throwIfNoEntry: false })
    return stat === undefined ? undefined : { size: stat.size, mtimeMs: stat.mtimeMs }
  }

  /**
   * Visits every valid frame from `from` on and stops at the first one that is torn (length
   * past the end of the file) or corrupt (bad length or CRC).
   */
  scan(segment: number, from: number, visit: FrameVisitor): ScanResult {
    const opened = this.#open(segment, false)
    const fileSize = opened.size
    let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize - from, FRAME_PREFIX_BYTES)))
    let chunkStart = 0
    let chunkEnd = 0
    // Makes bytes [position, position + bytes) available in `chunk`.
    const load = (position: number, bytes: number): number => {
      if (position >= chunkStart && position + bytes <= chunkEnd) return position - chunkStart
      if (bytes > chunk.length) chunk = Buffer.allocUnsafe(bytes)
      const want = Math.min(chunk.length, fileSize - position)
      let done = 0
      while (done < want) {
        const n = fs.readSync(opened.fd, chunk, done, want - done, position + done)
        if (n === 0) break
        done += n
      }
      chunkStart = position
      chunkEnd = position + done
      if (done < bytes) throw new ZombiError('STORAGE_CORRUPT', `segment ${segment} shrank while it was scanned`)
      return 0
    }
    let position = from
    while (position + FRAME_PREFIX_BYTES <= fileSize) {
      let at = load(position, FRAME_PREFIX_BYTES)
      const length = chunk.readUInt32BE(at)
      if (length < FRAME_LENGTH_MIN || position + 4 + length > fileSize) break
      at = load(position, 4 + length)
      const expected = chunk.readUInt32BE(at + 4)
      const body = chunk.subarray(at + FRAME_PREFIX_BYTES, at + 4 + length)
      if (!frameIntact(body, expected)) break
      const more = visit(body, position, 4 + length)
      position += 4 + length
      if (!more) return { validEnd: position, fileSize, paused: true }
    }
    return { validEnd: position, fileSize, paused: false }
  }

  /** Cuts a segment at `size` (a torn tail) and makes the cut durable. */
  truncate(segment: number, size: number): void {
    const opened = this.#open(segment, false)
    fs.ftruncateSync(opened.fd, size)
    fs.fdatasyncSync(opened.fd)
    opened.size = size
  }

  remove(segment: number): void {
    const opened = this.#segments.get(segment)
    if (opened !== undefined) {
      fs.closeSync(opened.fd)
      this.#segments.delete(segment)
    }
    if (this.#active?.number === segment) this.#active = null
    fs.rmSync(this.path(segment), { force: true })
    this.#syncDirectory()
  }

  /** Makes `segment` (created if missing) the one appends go to. */
  activate(segment: number): void {
    this.#active = this.#open(segment, true)
  }

  /** The segment appends go to (its `size` is where the next frame starts). */
  active(): Segment {
    if (this.#active === null) throw new ZombiError('STORAGE_CLOSED', 'the segment log is not open')
    return this.#active
  }

  /**
   * The segment a frame of `frameBytes` goes to: the active one, or the next one when the
   * frame would not fit (a frame larger than a segment gets a segment of its own). The caller
   * advances `size` by the frame it writes there.
   */
  reserve(frameBytes: number): Segment {
    let active = this.active()
    if (active.size > 0 && active.size + frameBytes > this.segmentBytes) {
      active = this.#open(active.number + 1, true)
      this.#active = active
    }
    return active
  }

  /** Writes buffers back to back at `position` (the caller reserved the space); small writes synchronously. */
  async write(segment: Segment, position: number, buffers: Buffer[]): Promise<void> {
    const pending = this.#coalesce(buffers)
    let total = 0
    for (const buffer of pending) total += buffer.length
    let written = total <= SYNC_WRITE_BYTES ? fs.writevSync(segment.fd, pending, position) : 0
    while (written < total) {
      const n = await writev(segment.fd, total <= MAX_WRITE_BYTES && written === 0 ? pending : window(pending, written, MAX_WRITE_BYTES), position + written)
      if (n === 0) throw new ZombiError('STORAGE_FAILED', `segment ${segment.number} accepted no bytes`)
      written += n
    }
  }

  /** fdatasync of the segment, plus the directory when a segment file was created since the last sync. */
  async sync(segment: Segment): Promise<void> {
    await fdatasync(segment.fd)
    if (this.#directoryDirty) this.#syncDirectory()
  }

  #syncDirectory(): void {
    this.#directoryDirty = false
    const fd = fs.openSync(this.dir, fs.constants.O_RDONLY)
    try {
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  }

  /** Positional read of `size` bytes at `position` of a segment, into a buffer from `allocate` (of exactly `size` bytes) when given. */
  read(segment: number, position: number, size: number, allocate?: (size: number) => Buffer): Buffer {
    let opened = this.#segments.get(segment)
    if (opened !== undefined && segment !== this.#lastRead) {
      // Map order is the LRU order.
      this.#segments.delete(segment)
      this.#segments.set(segment, opened)
    }
    this.#lastRead = segment
    if (opened === undefined) {
      try {
        opened = this.#open(segment, false)
      } catch (error) {
        throw new ZombiError('STORAGE_CORRUPT', `segment ${segment} cannot be opened`, { cause: error })
      }
    }
    const out = allocate === undefined ? Buffer.allocUnsafe(size) : allocate(size)
    let done = 0
    while (done < size) {
      const n = fs.readSync(opened.fd, out, done, size - done, position + done)
      if (n === 0) throw new ZombiError('STORAGE_CORRUPT', `segment ${segment} ends before ${position + size}`)
      done += n
    }
    return out
  }

  close(): void {
    for (const opened of this.#segments.values()) fs.closeSync(opened.fd)
    this.#segments.clear()
    this.#active = null
  }

  /** Copies runs of small buffers into one scratch buffer; large ones stay as they are. */
  #coalesce(buffers: Buffer[]): Buffer[] {
    if (buffers.length <= 2) return buffers
    let small = 0
    for (const buffer of buffers) if (buffer.length < COALESCE_BELOW_BYTES) small += buffer.length
    if (small === 0) return buffers
    // Commits are serialized, so one scratch buffer is reused; an unusually big one is not kept.
    let scratch = this.#scratch
    if (scratch.length < small) {
      scratch = Buffer.allocUnsafe(Math.max(small, Math.min(2 * scratch.length, SCRATCH_MAX_BYTES)))
      if (scratch.length <= SCRATCH_MAX_BYTES) this.#scratch = scratch
    }
    const out: Buffer[] = []
    let runStart = 0
    let used = 0
    for (const buffer of buffers) {
      if (buffer.length < COALESCE_BELOW_BYTES) {
        used += buffer.copy(scratch, used)
        continue
      }
      if (used > runStart) out.push(scratch.subarray(runStart, used))
      runStart = used
      out.push(buffer)
    }
    if (used > runStart) out.push(scratch.subarray(runStart, used))
    return out
  }
}

/**
 * Frame header for a record batch, with the index fields read from the batch's own header.
 * For tools and tests that write frames without the store; the store passes them explicitly.
 */
export function frameHeader(topicId: string, partition: number, batch: Buffer): Buffer {
  const baseOffset = baseOffsetOf(batch)
  return batchFrameHeader(topicIdBytes(topicId), partition, baseOffset, baseOffset + lastOffsetDeltaOf(batch), indexTimestampOf(batch), batch)
}

function writev(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, buffers, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)))
  })
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())))
}

/** At most `max` bytes of the buffers, from byte `skip` on (the next write after a short or capped one). */
function window(buffers: Buffer[], skip: number, max: number): Buffer[] {
  const out: Buffer[] = []
  let remaining = skip
  let room = max
  for (const buffer of buffers) {
    if (room === 0) break
    if (remaining >= buffer.length) {
      remaining -= buffer.length
      continue
    }
    const end = Math.min(buffer.length, remaining + room)
    out.push(remaining > 0 || end < buffer.length ? buffer.subarray(remaining, end) : buffer)
    room -= end - remaining
    remaining = 0
  }
  return out
}
