// Where table files live: a flat key space with put/get/list/delete and one conditional
// create, the operations a filesystem catalog needs for an atomic commit. Local files, memory
// and S3 (conditional PUT with If-None-Match) implement it, checked by one contract suite.
import { ZombiError } from '../errors.ts'

/** An object as listed, with what a cleanup needs to judge it. */
export interface ObjectInfo {
  key: string
  sizeBytes: number
  /** When the object was last written (ms since the epoch). */
  modifiedMs: number
}

/** What a removal freed. */
export interface Removed {
  count: number
  bytes: number
}

export interface ObjectStore {
  /** The absolute location of a key as written into Iceberg metadata (e.g. `file:/…` with the path as written, `s3://…`). */
  location(key: string): string
  /** The key of a location this store wrote, or null when it points elsewhere. */
  keyOf(location: string): string | null
  /** Writes the object whole; readers see the old object or the new one, never a part. Overwrites. */
  put(key: string, body: Uint8Array): Promise<void>
  /**
   * Creates the object only if no object has that key; false if one exists. Atomic: of two
   * racing calls exactly one returns true, and readers never see a partial object.
   */
  putIfAbsent(key: string, body: Uint8Array): Promise<boolean>
  /**
   * Writes the object from chunks as they come, without holding the whole object in memory; like
   * put, readers see it only once complete, and it overwrites. Resolves to the bytes written.
   */
  putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<number>
  /** The object's bytes, or null if there is none. */
  get(key: string): Promise<Buffer | null>
  /**
   * The bytes from `start` up to `endExclusive` (clamped to the object's end, so a range past the
   * end reads as empty), or null if there is no object.
   */
  getRange(key: string, start: number, endExclusive: number): Promise<Buffer | null>
  exists(key: string): Promise<boolean>
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>
  /** Like list, with each object's size and last write time. */
  listInfo(prefix: string): Promise<ObjectInfo[]>
  /** Removes the object; no error if it does not exist. */
  delete(key: string): Promise<void>
  /**
   * Removes the leftovers of writes that never completed (a crash between starting and finishing
   * a put: local temp files, later S3 incomplete multipart uploads) under `prefix` that were last
   * touched before `modifiedBeforeMs`; a write still running elsewhere is younger and stays.
   */
  removeAbandonedUploads(prefix: string, modifiedBeforeMs: number): Promise<Removed>
}

/** Keys are relative paths with `/` separators; no empty, `.` or `..` segments. */
export function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new ZombiError('INVALID_ARGUMENT', `invalid object key ${JSON.stringify(key)}`)
  }
}

/** Ranges are non-negative integer offsets with start <= end. */
export function checkRange(start: number, endExclusive: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive < start) {
    throw new ZombiError('INVALID_ARGUMENT', `invalid byte range [${start}, ${endExclusive})`)
  }
}
