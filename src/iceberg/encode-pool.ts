// A fixed pool of encode workers. Jobs beyond the pool size wait for a free worker; a worker
// that dies fails its job and is replaced. Size 0 runs jobs on the calling thread (tests).
// A job's files stream back as they are encoded (encode-worker.ts has the protocol); the worker
// takes its next job only once the last one ended (done, failed or cancelled).
import { Worker } from 'node:worker_threads'
import { ZombiError } from '../errors.ts'
import { CHUNK_WINDOW_BYTES, EncodeRun, LocalOutput } from './encode-stream.ts'
import type { FromWorker, Question, ToWorker, WorkerMemoryReport } from './encode-worker.ts'
import type { TypedResolver } from './typed-rows.ts'
import { runWorkerJob, type WorkerJob } from './worker-job.ts'

/** The buffers of a job that can move to the worker instead of being copied (each owned whole). */
function transferables(job: WorkerJob): ArrayBuffer[] {
  const out: ArrayBuffer[] = []
  for (const bytes of 'kind' in job ? job.inputs : [job.batches]) {
    const { buffer } = bytes
    if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength && !out.includes(buffer)) out.push(buffer)
  }
  return out
}

const workerUrl = new URL('./encode-worker.ts', import.meta.url)

/** Flush encoders run below the event loop (nice 0), so produce and fetch are served first. */
export const FLUSH_NICENESS = 10
/** Compaction runs below the flush encoders as well: a flush, which ingest waits on for its hot log space, goes first. */
export const COMPACTION_NICENESS = 19

class PoolWorker {
  readonly worker: Worker
  current: { id: number; run: EncodeRun } | null = null
  /** What the worker held after its last job (zero until one ran). */
  memory: WorkerMemoryReport = { heapBytes: 0, externalBytes: 0, wasmBytes: 0 }

  constructor(settings: { niceness: number; recycleBytes: number; idleCollectMs: number | undefined }, onExit: (worker: PoolWorker, error: Error) => void) {
    this.worker = new Worker(workerUrl, { workerData: settings })
    this.worker.unref()
    this.worker.on('message', (event: FromWorker) => {
      if (event.kind === 'memory') {
        this.memory = event.memory
        return
      }
      const current = this.current
      // Anything of an earlier job (none should come after its end) is ignored.
      if (current === null || event.id !== current.id) return
      if (event.kind === 'ask') {
        this.#answer(current, event.seq, event.question)
        return
      }
      if (event.kind === 'done' || event.kind === 'error') this.current = null
      if (event.kind === 'error') current.run.push({ kind: 'error', error: new ZombiError('ENCODE_FAILED', `encode job failed: ${event.message}`) })
      else current.run.push(event)
    })
    this.worker.on('error', (error) => onExit(this, error))
    this.worker.on('exit', (code) => onExit(this, new ZombiError('ENCODE_FAILED', `encode worker exited with code ${code}`)))
  }

  post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer)
  }

  #answer(current: { id: number; run: EncodeRun }, seq: number, question: Question): void {
    const resolver = current.run.resolver
    const answer = resolver === null
      ? Promise.reject(new ZombiError('INVALID_ARGUMENT', 'a typed encode job was started without a TypedResolver'))
      : question.kind === 'schemas' ? resolver.schemas(question.ids, question.latest) : resolver.plan(question.shapes)
    answer.then(
      (value) => this.post({ kind: 'answer', id: current.id, seq, answer: value }),
      (error: unknown) => this.post({ kind: 'answer', id: current.id, seq, error: error instanceof Error ? error.message : String(error) }),
    )
  }
}

export class EncodePool {
  readonly size: number
  /** Bytes of a file a job may have encoded ahead of the store (default CHUNK_WINDOW_BYTES). */
  readonly windowBytes: number
  /** The workers' nice value (Linux): higher yields the CPU to the event loop and to workers of lower values. */
  readonly niceness: number
  /** A worker holding more than this after a job (V8 heap, external bytes, wasm memory) is replaced by a fresh one. */
  readonly recycleBytes: number
  /** Workers replaced for their memory so far. */
  recycled = 0
  /** A worker idle this long is ended (the next job starts a fresh one); its memory goes back to the system. */
  readonly idleMs: number
  /** Workers ended for being idle so far. */
  retiredIdle = 0
  /** How long a worker waits idle after a job before it lets go of the buffers it keeps for the next one (the worker's default when absent). */
  readonly #idleCollectMs: number | undefined
  readonly #idle: PoolWorker[] = []
  readonly #idleTimers = new Map<PoolWorker, NodeJS.Timeout>()
  readonly #all = new Set<PoolWorker>()
  readonly #waiting: Array<(worker: PoolWorker) => void> = []
  #nextId = 0
  #closed = false

  /** Workers start on demand, up to `size`, so an idle broker holds none (each costs tens of MiB once loaded). */
  constructor(size: number, options: { windowBytes?: number; niceness?: number; recycleBytes?: number; idleMs?: number; idleCollectMs?: number } = {}) {
    this.size = size
    this.#idleCollectMs = options.idleCollectMs
    this.windowBytes = options.windowBytes ?? CHUNK_WINDOW_BYTES
    this.niceness = options.niceness ?? FLUSH_NICENESS
    this.recycleBytes = options.recycleBytes ?? Number.POSITIVE_INFINITY
    this.idleMs = options.idleMs ?? Number.POSITIVE_INFINITY
  }

  /** Worker threads running now. */
  get workers(): number {
    return this.#all.size
  }

  #spawn(): PoolWorker {
    const settings = { niceness: this.niceness, recycleBytes: this.recycleBytes, idleCollectMs: this.#idleCollectMs }
    const worker = new PoolWorker(settings, (dead, error) => this.#onExit(dead, error))
    this.#all.add(worker)
    return worker
  }

  /** What the workers held after their last jobs, summed. */
  memory(): WorkerMemoryReport {
    const total = { heapBytes: 0, externalBytes: 0, wasmBytes: 0 }
    for (const worker of this.#all) {
      total.heapBytes += worker.memory.heapBytes
      total.externalBytes += worker.memory.externalBytes
      total.wasmBytes += worker.memory.wasmBytes
    }
    return total
  }

  #onExit(dead: PoolWorker, error: Error): void {
    if (!this.#all.delete(dead)) return
    dead.current?.run.push({ kind: 'error', error })
    dead.current = null
    this.#forget(dead)
    // A job waiting for a worker gets a fresh one; otherwise the next job starts it.
    if (!this.#closed && this.#waiting.length > 0) this.#release(this.#spawn())
  }

  /** Takes a worker out of the idle list and stops its idle timer. */
  #forget(worker: PoolWorker): void {
    const index = this.#idle.indexOf(worker)
    if (index !== -1) this.#idle.splice(index, 1)
    const timer = this.#idleTimers.get(worker)
    if (timer !== undefined) clearTimeout(timer)
    this.#idleTimers.delete(worker)
  }

  /** Ends a worker the pool no longer wants (idle too long, or holding too much memory). */
  #end(worker: PoolWorker): void {
    this.#all.delete(worker)
    this.#forget(worker)
    void worker.worker.terminate()
    if (!this.#closed && this.#waiting.length > 0) this.#release(this.#spawn())
  }

  #release(worker: PoolWorker): void {
    const next = this.#waiting.shift()
    if (next !== undefined) {
      next(worker)
      return
    }
    this.#idle.push(worker)
    if (Number.isFinite(this.idleMs)) {
      const timer = setTimeout(() => {
        this.retiredIdle++
        this.#end(worker)
      }, this.idleMs)
      timer.unref()
      this.#idleTimers.set(worker, timer)
    }
  }

  #acquire(): Promise<PoolWorker> {
    const idle = this.#idle.pop()
    if (idle !== undefined) {
      this.#forget(idle)
      return Promise.resolve(idle)
    }
    if (this.#all.size < this.size) return Promise.resolve(this.#spawn())
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  /**
   * Starts the job; its files arrive through the returned run (take them with nextFile, stream
   * each file's chunks, cancel on failure). `job.batches` (a rewrite's `inputs`) is transferred to
   * the worker (do not use it afterwards).
   */
  run(job: WorkerJob, resolver: TypedResolver | null = null): EncodeRun {
    if (this.#closed) throw new ZombiError('INVALID_STATE', 'encode pool is closed')
    const run = new EncodeRun(resolver)
    if (this.size === 0) {
      const output = new LocalOutput(run, this.windowBytes)
      runWorkerJob(job, output).then(
        (result) => run.push({ kind: 'done', result }),
        (error: unknown) => run.push({ kind: 'error', error: error instanceof Error ? error : new ZombiError('ENCODE_FAILED', String(error)) }),
      )
    } else {
      void this.#runOnWorker(job, run)
    }
    return run
  }

  async #runOnWorker(job: WorkerJob, run: EncodeRun): Promise<void> {
    const worker = await this.#acquire()
    const id = this.#nextId++
    if (run.cancelled !== null) {
      run.push({ kind: 'error', error: run.cancelled })
    } else {
      worker.current = { id, run }
      run.onTaken = (bytes) => worker.post({ kind: 'ack', id, bytes })
      run.onCancel = (error) => worker.post({ kind: 'cancel', id, reason: error.message })
      worker.post({ kind: 'job', id, job, windowBytes: this.windowBytes }, transferables(job))
    }
    await run.settled
    if (!this.#all.has(worker)) return
    const { heapBytes, externalBytes, wasmBytes } = worker.memory
    // Wasm memory never shrinks and a V8 heap shrinks slowly: after a large job, a fresh worker gives it back.
    if (!this.#closed && heapBytes + externalBytes + wasmBytes > this.recycleBytes) {
      this.recycled++
      this.#end(worker)
      return
    }
    this.#release(worker)
  }

  /** Ends every idle worker now (compaction's, once its pass is done), giving its memory back; says how many. */
  endIdleWorkers(): number {
    const idle = [...this.#idle]
    for (const worker of idle) {
      this.retiredIdle++
      this.#end(worker)
    }
    return idle.length
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const timer of this.#idleTimers.values()) clearTimeout(timer)
    this.#idleTimers.clear()
    const workers = [...this.#all]
    this.#all.clear()
    for (const worker of workers) worker.current?.run.push({ kind: 'error', error: new ZombiError('ENCODE_FAILED', 'encode pool closed during the job') })
    await Promise.all(workers.map((worker) => worker.worker.terminate()))
  }
}
