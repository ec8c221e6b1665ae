// Worker thread entry: runs encode jobs (decode, sort, Arrow, Parquet) off the event loop and
// streams each file's bytes to the main thread as they are encoded.
//
// The protocol, per job (one at a time per worker):
//   main -> worker  job {id, job, windowBytes}; then any number of ack {id, bytes} (chunk bytes the store
//                   took) and at most one cancel {id, reason} (the upload failed: stop)
//   worker -> main  per file: begin {eventDate, eventHour}, chunk {bytes} (its ArrayBuffer
//                   transferred, not copied) ..., end {file facts}; then done {result}, or error
//                   {message} at any point (also the answer to a cancel)
// The worker waits after a chunk that leaves windowBytes or more unacknowledged,
// so a slow store bounds the bytes in flight; after done or error the worker is free again.
import { setPriority } from 'node:os'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parentPort, workerData } from 'node:worker_threads'
import * as parquet from 'parquet-wasm/node'
import { ZombiError } from '../errors.ts'
import type { EncodedFile } from './data-file.ts'
import { releaseJobBuffers, type EncodeOutput } from './encode.ts'
import { runWorkerJob, type WorkerJob } from './worker-job.ts'
import { Credit, type EncodeEvent } from './encode-stream.ts'
import { holdJobShapes } from './job-shapes.ts'
import type { StructSource } from '../schema/source-type.ts'
import type { PlanAnswer, SchemaAnswer, TypedResolver } from './typed-rows.ts'

/** A typed job's question to the flusher (typed-rows.ts has what each means). */
export type Question = { kind: 'schemas'; ids: number[]; latest: boolean } | { kind: 'plan'; shapes: Array<[string, StructSource]> }

export type ToWorker =
  | { kind: 'job'; id: number; job: WorkerJob; windowBytes: number }
  | { kind: 'answer'; id: number; seq: number; answer?: unknown; error?: string }
  | { kind: 'ack'; id: number; bytes: number }
  | { kind: 'cancel'; id: number; reason: string }

/**
 * What the worker holds: its V8 heap (committed), its ArrayBuffers, and its wasm memory (which only grows, so it
 * is the most the worker's jobs ever needed). Reported after each job and again once an idle worker collected.
 */
export interface WorkerMemoryReport { heapBytes: number; externalBytes: number; wasmBytes: number }

export type FromWorker = { id: number } & (Exclude<EncodeEvent, { kind: 'error' }> | { kind: 'error'; message: string } | { kind: 'ask'; seq: number; question: Question } | { kind: 'memory'; memory: WorkerMemoryReport })

const port = parentPort
if (port === null) throw new ZombiError('INVALID_STATE', 'encode-worker.ts runs as a worker thread')
const mainThread = port

// On Linux, priority 0 ("this process") means the calling thread: the encoder gets a higher nice
// value than the event loop, so when cores are short, produce and fetch are served first and the
// flush takes the CPU left over (it runs well above ingest speed, so it catches up). Compaction's
// worker gets a higher value still (encode-pool.ts), so it takes what the flush leaves.
const settings = (workerData ?? {}) as { niceness?: number; recycleBytes?: number; idleCollectMs?: number }
try {
  setPriority(0, settings.niceness ?? 10)
} catch {
  // Not permitted or not supported here: encode at normal priority.
}
// Each job's objects get the hidden classes the optimized code was compiled for (job-shapes.ts).
// Measured over 7 jobs of 126 MB: 14 % less CPU in V8's helper threads (compilation and marking),
// 5 % less for the worker and the helpers together.
holdJobShapes()

class WorkerOutput implements EncodeOutput {
  readonly id: number
  readonly credit: Credit
  readonly #asked = new Map<number, { resolve(answer: unknown): void; reject(error: Error): void }>()
  #seq = 0
  readonly typed: TypedResolver = {
    schemas: (ids, latest) => this.#ask({ kind: 'schemas', ids, latest }) as Promise<SchemaAnswer>,
    plan: (shapes) => this.#ask({ kind: 'plan', shapes }) as Promise<PlanAnswer>,
  }

  constructor(id: number, windowBytes: number) {
    this.id = id
    this.credit = new Credit(windowBytes)
  }

  #post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
    mainThread.postMessage(message, transfer)
  }

  #ask(question: Question): Promise<unknown> {
    this.credit.check()
    const seq = this.#seq++
    return new Promise((resolve, reject) => {
      this.#asked.set(seq, { resolve, reject })
      this.#post({ id: this.id, kind: 'ask', seq, question })
    })
  }

  answered(seq: number, answer: unknown, error: string | undefined): void {
    const asked = this.#asked.get(seq)
    if (asked === undefined) return
    this.#asked.delete(seq)
    if (error !== undefined) asked.reject(new ZombiError('ENCODE_FAILED', error))
    else asked.resolve(answer)
  }

  beginFile(eventDate: number, eventHour: number, deadLetter = false): void {
    this.credit.check()
    this.#post({ id: this.id, kind: 'begin', eventDate, eventHour, deadLetter })
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    this.credit.check()
    // A chunk that owns its whole buffer moves; a view into a larger one is copied to its own
    // first (posting the view would clone the whole buffer behind it).
    const { buffer } = chunk
    const bytes = buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength ? chunk : chunk.slice()
    const length = bytes.length
    // Transferring detaches the buffer here: its length reads 0 from now on.
    this.#post({ id: this.id, kind: 'chunk', bytes }, [bytes.buffer as ArrayBuffer])
    return this.credit.sent(length)
  }

  endFile(file: EncodedFile): void {
    this.#post({ id: this.id, kind: 'end', file })
  }
}

let current: WorkerOutput | null = null

/**
 * V8's full collection, or null if the runtime refuses to expose it. A job's input, columns and Arrow batches
 * are garbage once it ends, but an idle worker allocates nothing, so V8 would keep them (tens of MiB) until the
 * next job; a collection after each job keeps the worker's memory at what it uses (measured: without it,
 * bench:compare's throughput rounds peaked at 564-585 MiB, against 408-413 MiB with it).
 */
const collect: (() => void) | null = (() => {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return null
  }
})()

/** How long a worker waits idle before it lets go of the buffers it keeps for the next job (encode.ts JobBuffers). */
const IDLE_COLLECT_MS = settings.idleCollectMs ?? 2000
const recycleBytes = settings.recycleBytes ?? Number.POSITIVE_INFINITY
let idleCollection: NodeJS.Timeout | null = null

/**
 * What the worker holds now. Its buffers are Node's ArrayBuffer bytes, which drop as soon as a collection frees
 * them (V8's external total only catches up at the collection after, and also counts wasm memory, reported apart).
 */
function memoryReport(): WorkerMemoryReport {
  const usage = process.memoryUsage()
  return { heapBytes: usage.heapTotal, externalBytes: usage.arrayBuffers, wasmBytes: parquet.wasmMemory().buffer.byteLength }
}

const heldBytes = (memory: WorkerMemoryReport): number => memory.heapBytes + memory.externalBytes + memory.wasmBytes

/**
 * What the worker holds after job `id`, before the reply: the pool reads it when the job settles, to recycle a
 * worker grown past its limit. The worker collects first, so the report is what it keeps; one above the limit
 * also lets go of the buffers it keeps for the next job, so it is recycled only for what it cannot give back.
 * Once idle it lets go of those buffers anyway, collects and reports again.
 */
function reportAfterJob(id: number): void {
  let memory = memoryReport()
  if (collect !== null) {
    collect()
    memory = memoryReport()
    if (heldBytes(memory) > recycleBytes) {
      releaseJobBuffers()
      collect()
      memory = memoryReport()
    } else {
      idleCollection = setTimeout(() => {
        idleCollection = null
        releaseJobBuffers()
        collect()
        mainThread.postMessage({ id, kind: 'memory', memory: memoryReport() } satisfies FromWorker)
      }, IDLE_COLLECT_MS)
    }
  }
  mainThread.postMessage({ id, kind: 'memory', memory } satisfies FromWorker)
}

/** Runs one job; its input and everything decoded from it are garbage once this returns. */
async function runJob(id: number, job: WorkerJob, windowBytes: number): Promise<FromWorker> {
  const output = new WorkerOutput(id, windowBytes)
  current = output
  try {
    return { id, kind: 'done', result: await runWorkerJob(job, output) }
  } catch (error) {
    return { id, kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }
  } finally {
    current = null
  }
}

mainThread.on('message', (message: ToWorker) => {
  if (message.kind === 'answer') {
    if (current?.id === message.id) current.answered(message.seq, message.answer, message.error)
    return
  }
  if (message.kind === 'ack') {
    if (current?.id === message.id) current.credit.taken(message.bytes)
    return
  }
  if (message.kind === 'cancel') {
    if (current?.id === message.id) current.credit.fail(new ZombiError('ENCODE_FAILED', `encode job cancelled: ${message.reason}`))
    return
  }
  if (idleCollection !== null) clearTimeout(idleCollection)
  idleCollection = null
  const { id } = message
  // The report comes from a callback that holds only the id, a turn after the job's promise chain ended, so
  // neither keeps the job from the collection (parquet-wasm may hold its input stream a little longer).
  void runJob(id, message.job, message.windowBytes).then((reply) => setImmediate(() => {
    reportAfterJob(id)
    mainThread.postMessage(reply)
  }))
})
