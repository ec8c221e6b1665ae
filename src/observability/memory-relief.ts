// Gives memory back to the operating system after a burst of buffers was dropped (abusive
// connections closed with partial requests buffered). Measured: 50 connections holding 20 MB each
// raised RSS by ~1 GB that stayed after they closed, because (1) an idle broker allocates nothing,
// so V8 never collects the dropped buffers, and (2) once collected, glibc keeps the freed 64 KiB
// socket chunks in its arenas. A full collection followed by malloc_trim(0) brought RSS back to
// its baseline. Both are costly (tens of ms on a large heap), so they run rarely: debounced after
// a burst, and at most once per interval.
import { createRequire } from 'node:module'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { takeDecompressedBytes } from '../protocol/compression.ts'
import type { Logger } from './logger.ts'
import type { MetricsRegistry } from './metrics.ts'

/** Below this many dropped bytes a relief is not worth a full collection. */
const WORTHWHILE_BYTES = 16 * 1024 * 1024
const DEBOUNCE_MS = 1000
const MIN_INTERVAL_MS = 10_000
/** How often the main thread's ArrayBuffer memory is checked against the budgets, and the fewest ms between two collections it asks for. */
const GARBAGE_CHECK_MS = 1000
const GARBAGE_COLLECTION_MIN_MS = 5000

type Trim = () => void

/** V8's gc(): a full collection, or with `{ type: 'minor' }` only the young generation. */
type Collect = (options?: { type: 'minor' | 'major' }) => void

let collect: Collect | null | undefined
let trim: Trim | null | undefined

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc')
      collect = runInNewContext('gc') as Collect
    } catch {
      collect = null
    }
  }
  return collect
}

/**
 * Lets a native addon's memory behind buffers it returned go back to it. lz4-napi hands out its output
 * as external buffers over its own allocator (mimalloc), freed by a finalizer that Node runs from the
 * event loop once V8 has found the buffer dead: never inside one synchronous loop, so decoding a
 * flush job's batches held every decompressed batch of the job at once (measured: 240 MB of lz4 input
 * took the broker's peak RSS from ~390 to ~580 MiB, and those pages stayed with mimalloc afterwards).
 * A young-generation collection finds the dead buffers and a turn of the event loop frees them; call
 * it between units of work of a few MiB or more (a row group). The other codecs' output is Node's
 * memory, but garbage just as soon, and V8 lets such buffers pile up by tens of MiB before it collects,
 * so theirs is settled too. It collects only when batches were decompressed since the last call.
 */
export async function settleNativeBuffers(): Promise<void> {
  // Without decompressed batches since the last settle (uncompressed input) there is nothing young to
  // free: a forced collection would only cost time (and, during a major marking, make V8 finish it early).
  if (takeDecompressedBytes() > 0) collector()?.({ type: 'minor' })
  await new Promise<void>((resolve) => setImmediate(resolve))
}

/** malloc_trim from glibc through koffi (prebuilt FFI); null where there is no glibc (musl, macOS) or no koffi. */
function mallocTrim(logger: Logger): Trim | null {
  if (trim === undefined) {
    trim = null
    if (process.platform === 'linux') {
      try {
        const koffi = createRequire(import.meta.url)('koffi') as { load(path: string): { func(signature: string): (pad: number) => number } }
        const fn = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)')
        trim = () => { fn(0) }
      } catch (error) {
        logger.debug({ err: (error as Error).message }, 'malloc_trim unavailable; freed memory stays with the allocator')
      }
    }
  }
  return trim
}

// glibc's mallopt parameters (malloc.h).
const M_MMAP_THRESHOLD = -3
const M_ARENA_MAX = -8

/**
 * Sets glibc's malloc for the rest of the process's life, before the worker threads start: at most
 * `arenaMax` arenas (glibc's default is 8 per core; each thread that allocates may get one, and an
 * arena keeps the memory freed into it), and a fixed mmap threshold, so blocks of at least
 * `mmapThresholdBytes` (socket chunks, request buffers, encode inputs) are mapped on their own and
 * unmapped when freed, instead of glibc raising the threshold after the first large free and keeping
 * later ones in its heap. 0 leaves a parameter as glibc chose it. Returns the parameters it set
 * (none where there is no glibc or no koffi).
 */
export function tuneMalloc(arenaMax: number, mmapThresholdBytes: number, logger: Logger): string[] {
  const set: string[] = []
  if (process.platform !== 'linux' || (arenaMax === 0 && mmapThresholdBytes === 0)) return set
  try {
    const koffi = createRequire(import.meta.url)('koffi') as { load(path: string): { func(signature: string): (param: number, value: number) => number } }
    const mallopt = koffi.load('libc.so.6').func('int mallopt(int param, int value)')
    if (arenaMax > 0 && mallopt(M_ARENA_MAX, arenaMax) === 1) set.push(`arena_max=${arenaMax}`)
    if (mmapThresholdBytes > 0 && mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes) === 1) set.push(`mmap_threshold=${mmapThresholdBytes}`)
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'mallopt unavailable; malloc keeps glibc\'s defaults')
  }
  return set
}

export class MemoryRelief {
  readonly #logger: Logger
  #pendingBytes = 0
  #timer: NodeJS.Timeout | null = null
  #lastRunAt = 0
  /** Reliefs run so far (for tests and /metrics). */
  runs = 0
  /** Periodic malloc_trim calls so far. */
  trims = 0
  #trimTimer: NodeJS.Timeout | null = null
  /** Full collections run for dead buffers beyond the budgets so far (collectGarbageBuffersAbove). */
  garbageCollections = 0
  #garbageTimer: NodeJS.Timeout | null = null

  constructor(logger: Logger) {
    this.#logger = logger
  }

  /** `bytes` of buffers were just dropped; once enough has piled up, schedules a relief. */
  dropped(bytes: number): void {
    this.#pendingBytes += bytes
    if (this.#pendingBytes < WORTHWHILE_BYTES) return
    if (this.#timer !== null) this.#timer.refresh()
    else {
      this.#timer = setTimeout(() => this.#run(), Math.max(DEBOUNCE_MS, this.#lastRunAt + MIN_INTERVAL_MS - Date.now()))
      this.#timer.unref()
    }
  }

  /**
   * Every `intervalMs`, gives the free pages of glibc's heaps back to the system (malloc_trim(0)): the
   * main thread's heap grows to its busiest moment's size and, freed in the middle, would keep it
   * (measured: ~190 MB of a 520 MB RSS after a few minutes of the bench's loads). No collection
   * is forced; a trim of a few hundred MB of heap takes about a millisecond. 0 turns it off;
   * returns whether trimming is available here.
   */
  trimEvery(intervalMs: number): boolean {
    const trim = mallocTrim(this.#logger)
    if (intervalMs <= 0 || trim === null) return false
    this.#trimTimer = setInterval(() => {
      trim()
      this.trims++
    }, intervalMs)
    this.#trimTimer.unref()
    return true
  }

  /**
   * Every second, a full collection when the main thread's ArrayBuffer memory is more than `slackBytes` above
   * what `accountedBytes()` says the memory budgets hold, at most every GARBAGE_COLLECTION_MIN_MS. Buffers that
   * were in use when a young collection ran (a request in flight, a Fetch response being written) move to
   * the old generation, where only a full collection frees them; V8 starts one when heap and external
   * memory together reach a limit set from what was live at the previous one, so after a burst that limit
   * let ~300 MiB of dead buffers pile up in a soak (docs/benchmarks.md). 0 turns it off.
   */
  collectGarbageBuffersAbove(slackBytes: number, accountedBytes: () => number): void {
    const collect = collector()
    if (slackBytes <= 0 || collect === null) return
    let lastAt = 0
    this.#garbageTimer = setInterval(() => {
      const now = Date.now()
      if (now - lastAt < GARBAGE_COLLECTION_MIN_MS) return
      const buffers = process.memoryUsage().arrayBuffers
      if (buffers - accountedBytes() <= slackBytes) return
      lastAt = now
      collect()
      this.garbageCollections++
      this.#logger.debug({ arrayBuffersBefore: buffers, arrayBuffersAfter: process.memoryUsage().arrayBuffers, ms: Date.now() - now }, 'collected dead buffers beyond the memory budgets')
    }, GARBAGE_CHECK_MS)
    this.#garbageTimer.unref()
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#trimTimer !== null) clearInterval(this.#trimTimer)
    this.#trimTimer = null
    if (this.#garbageTimer !== null) clearInterval(this.#garbageTimer)
    this.#garbageTimer = null
  }

  #run(): void {
    this.#timer = null
    const bytes = this.#pendingBytes
    this.#pendingBytes = 0
    this.#lastRunAt = Date.now()
    const before = process.memoryUsage.rss()
    collector()?.()
    mallocTrim(this.#logger)?.()
    this.runs++
    this.#logger.info({ droppedBytes: bytes, rssBefore: before, rssAfter: process.memoryUsage.rss(), ms: Date.now() - this.#lastRunAt }, 'gave memory of dropped request buffers back to the system')
  }
}

export function registerMemoryReliefMetrics(registry: MetricsRegistry, relief: MemoryRelief): void {
  registry.total('zombi_memory_reliefs_total', 'Times dropped request buffers were collected and their memory given back to the system', () => relief.runs)
  registry.total('zombi_memory_garbage_collections_total', 'Full collections run because the main thread held more dead buffers than ZOMBI_GARBAGE_BUFFER_MB beyond its memory budgets', () => relief.garbageCollections)
  registry.total('zombi_memory_trims_total', 'Periodic malloc_trim calls giving glibc\'s free heap pages back to the system (ZOMBI_MALLOC_TRIM_SECS)', () => relief.trims)
}
