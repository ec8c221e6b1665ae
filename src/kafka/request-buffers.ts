// Buffers that requests are read into (direct reads, connection.ts), reused once the Produce
// requests in them are answered. A fresh buffer per read or per request (a megabyte for each of
// kcat's requests) is memory outside V8's heap that only a garbage collection gives back: at 1 KiB
// produce rates the collector ran full mark-compacts every second or two (docs/benchmarks.md, issue 18).
//
// A buffer comes back once every hold on it is released: the reader's (take) while the socket may
// still read into it, and one per request parsed out of it (retain). Only a Produce request's hold is
// ever released, once its handler has fulfilled: every append has then settled, and neither a hot
// store (HotStore.append) nor the fetch cache (ownBytes) keeps a reference to appended bytes after
// that. Other requests may leave views of their bytes behind (JoinGroup metadata, SyncGroup
// assignments kept by the coordinator), so a buffer that held one goes to the GC instead.

/**
 * The smallest size class: read buffers of 2 KiB and more start here (a client sending requests of a
 * few KiB each, like franz-go at 1 KiB records, reads into these), and requests over 16 KiB read into
 * a buffer of their own. An idle connection's read buffer shrinks to 1 KiB, below the classes, so
 * idle connections keep no pooled buffer.
 */
const SMALLEST_CLASS_BYTES = 4 * 1024
/** Larger requests get a buffer of their own that is never pooled (they are rare). */
const LARGEST_CLASS_BYTES = 4 * 1024 * 1024

export class RequestBufferPool {
  /** Free buffers by size class (powers of two), and when each class was last taken from. */
  readonly #classes = new Map<number, SizeClass>()
  /** Holds on each buffer taken and not yet back. Weak: a buffer whose holds are never all released is simply collected. */
  readonly #holds = new WeakMap<ArrayBuffer, number>()
  readonly #maxFreeBytes: number
  #freeBytes = 0
  #takes = 0
  #reused = 0
  #allocated = 0

  /** `maxFreeBytes`: how much the pool keeps between requests (buffers beyond it are left to the GC). */
  constructor(maxFreeBytes: number) {
    this.#maxFreeBytes = maxFreeBytes
  }

  /** Bytes of buffers kept for reuse. */
  get freeBytes(): number {
    return this.#freeBytes
  }

  /** Buffers handed out again instead of allocated. */
  get reused(): number {
    return this.#reused
  }

  /** Buffers allocated (pooled size classes only). */
  get allocated(): number {
    return this.#allocated
  }

  /** A buffer of exactly `size` bytes (uninitialised) with one hold on it, over pooled memory when `size` is in a size class. */
  take(size: number): Buffer {
    const capacity = classOf(size)
    if (capacity === 0) return Buffer.allocUnsafeSlow(size)
    const sizeClass = this.#class(capacity)
    sizeClass.lastTake = ++this.#takes
    let memory = sizeClass.free.pop()
    if (memory === undefined) {
      memory = new ArrayBuffer(capacity)
      this.#allocated++
    } else {
      this.#freeBytes -= capacity
      this.#reused++
    }
    this.#holds.set(memory, 1)
    return Buffer.from(memory, 0, size)
  }

  /** One more hold on the memory under `view` (a request parsed out of a taken read buffer); ignored for memory not taken here. */
  retain(view: Buffer): void {
    const memory = view.buffer
    if (!(memory instanceof ArrayBuffer)) return
    const holds = this.#holds.get(memory)
    if (holds !== undefined) this.#holds.set(memory, holds + 1)
  }

  /**
   * Releases one hold on the memory under `view`; with the last one the memory is the pool's again, and
   * nothing may read or write it through any view afterwards. Memory that did not come from take() (a
   * read buffer's views, a socket chunk) and memory already back are ignored.
   * When the pool is full, buffers of the classes least recently taken make room: a pool full of
   * the last client's sizes must not turn away the sizes in use now (each would be a fresh buffer again).
   */
  release(view: Buffer): void {
    const memory = view.buffer
    if (!(memory instanceof ArrayBuffer)) return
    const holds = this.#holds.get(memory)
    if (holds === undefined) return
    if (holds > 1) {
      this.#holds.set(memory, holds - 1)
      return
    }
    this.#holds.delete(memory)
    const capacity = memory.byteLength
    if (capacity > this.#maxFreeBytes) return
    const sizeClass = this.#class(capacity)
    while (this.#freeBytes + capacity > this.#maxFreeBytes) {
      const stale = this.#leastRecentlyTakenOther(sizeClass)
      if (stale === null) return
      stale.free.pop()
      this.#freeBytes -= stale.capacity
    }
    sizeClass.free.push(memory)
    this.#freeBytes += capacity
  }

  #class(capacity: number): SizeClass {
    let sizeClass = this.#classes.get(capacity)
    if (sizeClass === undefined) {
      sizeClass = { capacity, free: [], lastTake: 0 }
      this.#classes.set(capacity, sizeClass)
    }
    return sizeClass
  }

  /** The class, other than `keep`, with free buffers that was taken from longest ago (only if before `keep`). */
  #leastRecentlyTakenOther(keep: SizeClass): SizeClass | null {
    let oldest: SizeClass | null = null
    for (const candidate of this.#classes.values()) {
      if (candidate === keep || candidate.free.length === 0 || candidate.lastTake > keep.lastTake) continue
      if (oldest === null || candidate.lastTake < oldest.lastTake) oldest = candidate
    }
    return oldest
  }
}

interface SizeClass {
  readonly capacity: number
  readonly free: ArrayBuffer[]
  /** The pool's take count when this class was last taken from. */
  lastTake: number
}

/** The power of two a request of `size` bytes is read into, or 0 outside the pooled sizes. */
function classOf(size: number): number {
  if (size < SMALLEST_CLASS_BYTES / 2 || size > LARGEST_CLASS_BYTES) return 0
  let capacity = SMALLEST_CLASS_BYTES
  while (capacity < size) capacity *= 2
  return capacity
}
