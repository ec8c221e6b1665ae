// Buffers that Fetch reads stored batches into from the hot log's files, reused once the response
// holding them has been written to the socket. A fresh buffer per batch (up to a megabyte each, all
// outside V8's heap) made the garbage collector run a full mark-compact every few tens of
// megabytes read: a kcat consume of 240,000 records of 1 KiB past the fetch cache spent ~45 % of
// the broker's CPU in GC. Batches are packed into 1 MiB slabs; a request's slabs go back to the
// pool together after its response's write completes (or are simply dropped, for the garbage
// collector, if the connection ends first: a slab is only ever reused after that write callback).

/** Slab size: kcat's batches reach 1,000,000 bytes; a bigger batch gets a buffer of its own. */
export const READ_SLAB_BYTES = 1 << 20

export class ReadBufferPool {
  readonly #free: Buffer[] = []
  readonly #maxFreeSlabs: number
  #leased = 0

  /** `maxFreeBytes`: how much the pool keeps between responses (slabs beyond it are left to the GC). */
  constructor(maxFreeBytes: number) {
    this.#maxFreeSlabs = Math.floor(maxFreeBytes / READ_SLAB_BYTES)
  }

  /** Bytes of slabs kept for reuse. */
  get freeBytes(): number {
    return this.#free.length * READ_SLAB_BYTES
  }

  /** Bytes of slabs held by responses not yet written. */
  get leasedBytes(): number {
    return this.#leased * READ_SLAB_BYTES
  }

  lease(): ReadLease {
    return new ReadLease(this)
  }

  take(): Buffer {
    this.#leased++
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(READ_SLAB_BYTES)
  }

  give(slab: Buffer): void {
    this.#leased--
    if (this.#free.length < this.#maxFreeSlabs) this.#free.push(slab)
  }

  forget(): void {
    this.#leased--
  }
}

/** The slabs one request's reads went into. */
export class ReadLease {
  readonly #pool: ReadBufferPool
  readonly #slabs: Buffer[] = []
  #current: Buffer | null = null
  #used = 0

  constructor(pool: ReadBufferPool) {
    this.#pool = pool
  }

  readonly allocate = (size: number): Buffer => {
    if (size > READ_SLAB_BYTES) return Buffer.allocUnsafe(size)
    let slab = this.#current
    if (slab === null || this.#used + size > READ_SLAB_BYTES) {
      slab = this.#pool.take()
      this.#slabs.push(slab)
      this.#current = slab
      this.#used = 0
    }
    const out = slab.subarray(this.#used, this.#used + size)
    this.#used += size
    return out
  }

  /** The response holding these bytes has been written: the slabs may be reused. */
  release(): void {
    for (const slab of this.#slabs) this.#pool.give(slab)
    this.#clear()
  }

  /** The response was never written (the connection ended): the slabs are left to the garbage collector. */
  abandon(): void {
    for (let i = 0; i < this.#slabs.length; i++) this.#pool.forget()
    this.#clear()
  }

  #clear(): void {
    this.#slabs.length = 0
    this.#current = null
    this.#used = 0
  }
}
