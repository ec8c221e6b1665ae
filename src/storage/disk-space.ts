// Free space on the data dir's filesystem, for the hot store: an estimate refreshed by statfs
// (on a timer, never per write) minus the bytes queued since, a floor kept free for the index
// and state, and a reserve file that a full disk gives back so that classic-level can still open
// and write.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { silentLogger, type Logger } from '../observability/logger.ts'

/** The reserve file in the data dir: zeros written for real (a sparse file would reserve nothing). */
export const RESERVE_FILE = 'reserved-space'
/**
 * The reserve is half the floor, at most this: enough for classic-level to open on a full disk
 * (it turns its recovered write-ahead log, up to its 4 MiB write buffer, into a table file and
 * writes a new MANIFEST) and for the state rows written while appends are refused.
 */
const MAX_RESERVE_BYTES = 16 * 1024 * 1024
const ZEROS = Buffer.alloc(1024 * 1024)
/** Health calls the disk full this close to the floor: Kafka's default max.message.bytes, about 1 MiB. */
const FULL_MARGIN_BYTES = 1_048_588

/** Free bytes available to this process on the filesystem of `dir`. */
export type FreeBytes = (dir: string) => Promise<number>

export const statfsFreeBytes: FreeBytes = async (dir) => {
  const stats = await fsp.statfs(dir)
  return stats.bavail * stats.bsize
}

/** ENOSPC or EDQUOT from Node's fs, or classic-level's IO error with the same cause (it has no errno). */
export function isNoSpace(error: unknown): boolean {
  // classic-level wraps a failed open: LEVEL_DATABASE_NOT_OPEN with the IO error as its cause.
  for (let depth = 0; depth < 3 && typeof error === 'object' && error !== null; depth++) {
    const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown }
    if (code === 'ENOSPC' || code === 'EDQUOT') return true
    if (typeof message === 'string' && (message.includes('No space left on device') || message.includes('Disk quota exceeded'))) return true
    error = cause
  }
  return false
}

export class DiskSpace {
  readonly dir: string
  readonly floorBytes: number
  readonly reserveBytes: number
  readonly #freeBytes: FreeBytes
  readonly #logger: Logger
  readonly #reservePath: string
  /** Free bytes at the last check, the reserve file counted as free (it is given back on demand). */
  #freeAtCheck = Number.MAX_SAFE_INTEGER
  /** Bytes queued for the log since open, and those of them written or dropped. */
  #queued = 0
  #settled = 0
  /** #settled when the last check started: bytes queued past it may be missing from that statfs. */
  #settledAtCheck = 0
  #reserveHeld = false
  #checking: Promise<void> | null = null
  #wasFull = false

  constructor(dir: string, floorBytes: number, freeBytes: FreeBytes = statfsFreeBytes, logger: Logger = silentLogger) {
    this.dir = dir
    this.floorBytes = floorBytes
    this.reserveBytes = Math.min(MAX_RESERVE_BYTES, Math.floor(floorBytes / 2))
    this.#freeBytes = freeBytes
    this.#logger = logger
    this.#reservePath = path.join(dir, RESERVE_FILE)
  }

  /**
   * Whether `bytes` more can be queued with the floor still free: two subtractions and a
   * comparison, no syscall (the hot path calls it per append).
   */
  admits(bytes: number): boolean {
    return this.#freeAtCheck - (this.#queued - this.#settledAtCheck) - bytes >= this.floorBytes
  }

  /** Bytes queued for the log (counted against the estimate until the next check). */
  queued(bytes: number): void {
    this.#queued += bytes
  }

  /** Bytes queued earlier that are now written, or dropped by a rollback. */
  settled(bytes: number): void {
    this.#settled += bytes
  }

  /** Every queued byte is written or dropped (after a rollback). */
  settleAll(): void {
    this.#settled = this.#queued
  }

  /** Estimated free bytes now, the reserve counted as free. */
  get freeBytes(): number {
    return Math.max(0, this.#freeAtCheck - (this.#queued - this.#settledAtCheck))
  }

  /** Free space is under the floor, or so close that a batch of Kafka's default max size would be refused. */
  get full(): boolean {
    return !this.admits(FULL_MARGIN_BYTES)
  }

  get reserveHeld(): boolean {
    return this.#reserveHeld
  }

  /**
   * Before classic-level opens: on a disk with less free than the reserve, the reserve goes first,
   * so the index can open (it writes a table file and a MANIFEST) and reads are served.
   */
  async beforeOpen(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true })
    const size = fs.statSync(this.#reservePath, { throwIfNoEntry: false })?.size
    // A reserve of another size (the floor changed, or a write of it was cut short) is made again.
    if (size !== undefined && size !== this.reserveBytes) await this.releaseReserve()
    this.#reserveHeld = size === this.reserveBytes && size > 0
    if (this.#reserveHeld && (await this.#freeBytes(this.dir)) < this.reserveBytes) {
      this.#logger.warn({ dir: this.dir }, 'the disk is nearly full: releasing the reserve file so the hot-log index can open')
      await this.releaseReserve()
    }
  }

  /** Gives the reserve file's space back (a write or open failed for lack of space). */
  async releaseReserve(): Promise<boolean> {
    const held = this.#reserveHeld || fs.existsSync(this.#reservePath)
    this.#reserveHeld = false
    if (held) await fsp.rm(this.#reservePath, { force: true })
    return held
  }

  /** Refreshes the estimate with statfs, releasing or recreating the reserve as free space changes. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = null
    })
    return this.#checking
  }

  async #check(): Promise<void> {
    const settledAtStart = this.#settled
    let free = await this.#freeBytes(this.dir)
    if (this.#reserveHeld && free < this.reserveBytes / 2) {
      // Someone else filled the disk: the index and state writes get the reserve now.
      this.#logger.warn({ dir: this.dir, freeBytes: free }, 'the disk is full: releasing the reserve file for the hot-log index and state')
      await this.releaseReserve()
      free = await this.#freeBytes(this.dir)
    } else if (!this.#reserveHeld && this.reserveBytes > 0 && free >= this.floorBytes + this.reserveBytes) {
      // Only with room for it and the floor beside it, so making it never fills the disk (and the
      // release threshold above, reserve / 2 <= floor, is never crossed by making it).
      if (await this.#makeReserve()) free -= this.reserveBytes
    }
    this.#freeAtCheck = free + (this.#reserveHeld ? this.reserveBytes : 0)
    this.#settledAtCheck = settledAtStart
    const full = this.full
    if (full !== this.#wasFull) {
      this.#wasFull = full
      if (full) this.#logger.warn({ dir: this.dir, freeBytes: this.freeBytes, floorBytes: this.floorBytes }, 'the disk is full: refusing appends until space returns')
      else this.#logger.info({ dir: this.dir, freeBytes: this.freeBytes, floorBytes: this.floorBytes }, 'disk space is back: accepting appends again')
    }
  }

  async #makeReserve(): Promise<boolean> {
    let handle: fsp.FileHandle | null = null
    try {
      handle = await fsp.open(this.#reservePath, 'w')
      for (let written = 0; written < this.reserveBytes; written += ZEROS.length) {
        await handle.write(ZEROS, 0, Math.min(ZEROS.length, this.reserveBytes - written))
      }
      await handle.datasync()
      await handle.close()
      handle = null
      this.#reserveHeld = true
      return true
    } catch (error) {
      await handle?.close().catch(() => undefined)
      await fsp.rm(this.#reservePath, { force: true })
      this.#logger.warn({ err: error, dir: this.dir }, 'could not write the reserve file; trying again at the next check')
      return false
    }
  }

  logFields(): { dir: string; freeBytes: number; floorBytes: number } {
    return { dir: this.dir, freeBytes: this.freeBytes, floorBytes: this.floorBytes }
  }

  /** For health: "12 MB free, floor 64 MB". */
  describe(): string {
    return `${megabytes(this.freeBytes)} MB free, floor ${megabytes(this.floorBytes)} MB`
  }
}

function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024)
  return mb >= 10 || Number.isInteger(mb) ? String(Math.round(mb)) : mb.toFixed(1)
}
