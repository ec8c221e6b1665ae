// A fixed pool of encode workers. Jobs beyond the pool size wait for a free worker; a worker
// that dies fails its job and is replaced. Size 0 runs jobs on the calling thread (tests).
import { Worker } from 'node:worker_threads'
import { ZombiError } from '../errors.ts'
import { runEncodeJob, type EncodeJob, type EncodeResult } from './encode.ts'
import type { EncodeReply, EncodeRequest } from './encode-worker.ts'

const workerUrl = new URL('./encode-worker.ts', import.meta.url)

interface Pending {
  resolve(result: EncodeResult): void
  reject(error: Error): void
}

class PoolWorker {
  readonly worker: Worker
  current: Pending | null = null

  constructor(onExit: (worker: PoolWorker, error: Error) => void) {
    this.worker = new Worker(workerUrl)
    this.worker.unref()
    this.worker.on('message', (reply: EncodeReply) => {
      const pending = this.current
      this.current = null
      if (pending === null) return
      if ('error' in reply) pending.reject(new ZombiError('ENCODE_FAILED', `encode job failed: ${reply.error}`))
      else pending.resolve(reply.result)
    })
    this.worker.on('error', (error) => onExit(this, error))
    this.worker.on('exit', (code) => onExit(this, new ZombiError('ENCODE_FAILED', `encode worker exited with code ${code}`)))
  }
}

export class EncodePool {
  readonly size: number
  readonly #idle: PoolWorker[] = []
  readonly #all = new Set<PoolWorker>()
  readonly #waiting: Array<(worker: PoolWorker) => void> = []
  #nextId = 0
  #closed = false

  constructor(size: number) {
    this.size = size
    for (let i = 0; i < size; i++) this.#idle.push(this.#spawn())
  }

  #spawn(): PoolWorker {
    const worker = new PoolWorker((dead, error) => this.#onExit(dead, error))
    this.#all.add(worker)
    return worker
  }

  #onExit(dead: PoolWorker, error: Error): void {
    if (!this.#all.delete(dead)) return
    dead.current?.reject(error)
    dead.current = null
    const index = this.#idle.indexOf(dead)
    if (index !== -1) this.#idle.splice(index, 1)
    if (!this.#closed) this.#release(this.#spawn())
  }

  #release(worker: PoolWorker): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next(worker)
    else this.#idle.push(worker)
  }

  #acquire(): Promise<PoolWorker> {
    const idle = this.#idle.pop()
    if (idle !== undefined) return Promise.resolve(idle)
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  /** Runs the job; `job.batches` is transferred to the worker (do not use it afterwards). */
  async run(job: EncodeJob): Promise<EncodeResult> {
    if (this.#closed) throw new ZombiError('INVALID_STATE', 'encode pool is closed')
    if (this.size === 0) return runEncodeJob(job)
    const worker = await this.#acquire()
    try {
      return await new Promise<EncodeResult>((resolve, reject) => {
        worker.current = { resolve, reject }
        const request: EncodeRequest = { id: this.#nextId++, job }
        const { buffer } = job.batches
        const transferable = buffer instanceof ArrayBuffer && job.batches.byteOffset === 0 && job.batches.byteLength === buffer.byteLength
        worker.worker.postMessage(request, transferable ? [buffer] : [])
      })
    } finally {
      if (this.#all.has(worker)) this.#release(worker)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const workers = [...this.#all]
    this.#all.clear()
    await Promise.all(workers.map((worker) => worker.worker.terminate()))
  }
}
