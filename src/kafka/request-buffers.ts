// Buffers that large requests are read into (direct reads, connection.ts), reused once a Produce
// request is handled. A fresh buffer per request (a megabyte for each of kcat's requests) is memory
// outside V8's heap that only a garbage collection gives back, and at 1 KiB produce rates the
// collector ran full mark-compacts every second or two (docs/benchmarks.md, issue 18).
//
// Only Produce requests come back, and only once their handler has fulfilled: every append has
// then settled, and neither a hot store (HotStore.append) nor the fetch cache (ownBytes) keeps a
// reference to appended bytes after that. Other requests may leave views of their bytes behind
// (JoinGroup metadata, SyncGroup assignments kept by the coordinator), so their buffers go to the GC.

/** The smallest size class: requests over 16 KiB, the ones read into a buffer of their own (connection.ts), start here. */
const SMALLEST_CLASS_BYTES = 32 * 1024
/** Larger requests get a buffer of their own that is never pooled (they are rare). */
const LARGEST_CLASS_BYTES = 4 * 1024 * 1024

export class RequestBufferPool {
  /** Free buffers by size class (powers of two), and when each class was last taken from. */
  readonly #classes = new Map<number, SizeClass>()
  /** Taken and not given back: a buffer is pooled again at most once per take. Weak: a request never given back is simply collected. */
  readonly #out = new WeakSet<ArrayBuffer>()
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

  /** A buffer of exactly `size` bytes (uninitialised), over pooled memory when `size` is in a size class. */
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
    this.#out.add(memory)
    return Buffer.from(memory, 0, size)
  }

  /**
   * Takes back the memory under `request`, which nothing may read or write afterwards. Bytes that
   * did not come from take() (a read buffer's views, a socket chunk) and second calls are ignored.
   * When the pool is full, buffers of the classes least recently taken make room: a pool full of
   * the last client's sizes must not turn away the sizes in use now (each would be a fresh buffer again).
   */
  give(request: Buffer): void {
    const memory = request.buffer
    if (!(memory instanceof ArrayBuffer) || !this.#out.delete(memory)) return
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
