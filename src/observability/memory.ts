// The broker's memory, as /metrics shows it: each bounded budget (its limit from a setting and what it holds
// now, registered by the layer that owns it) and the process's own parts (V8 heap, external and ArrayBuffer
// bytes, resident set, the encode workers' heaps and wasm memory), so where RSS goes can be read from a scrape.
import type { MetricsRegistry } from './metrics.ts'

/** One part of the encode workers' memory (what they reported after their last job, summed over workers). */
export interface WorkerMemory {
  heapBytes: number
  externalBytes: number
  wasmBytes: number
}

/** A pool of worker threads as the memory gauges see it. */
export interface WorkerPool {
  memory(): WorkerMemory
  /** Workers ended for holding more than their limit after a job, so far. */
  readonly recycled: number
  /** Workers ended for being idle, so far. */
  readonly retiredIdle: number
}

interface Budget {
  readonly budgetBytes: number
  readonly used: () => number
}

export class MemoryBudgets {
  readonly #budgets = new Map<string, Budget>()
  readonly #workers: WorkerPool[] = []

  /** `name` (a label value, snake case) may hold up to `budgetBytes`; `used` reads what it holds now. */
  add(name: string, budgetBytes: number, used: () => number): void {
    this.#budgets.set(name, { budgetBytes, used })
  }

  /** A pool of worker threads whose memory counts beside the main thread's. */
  addWorkers(pool: WorkerPool): void {
    this.#workers.push(pool)
  }

  /** Workers ended so far, over every pool: for their memory, and for being idle. */
  workersEnded(): { recycled: number; idle: number } {
    let recycled = 0
    let idle = 0
    for (const pool of this.#workers) {
      recycled += pool.recycled
      idle += pool.retiredIdle
    }
    return { recycled, idle }
  }

  /** Bytes the main thread's budgets hold now, summed. */
  usedBytes(): number {
    let used = 0
    for (const budget of this.#budgets.values()) used += budget.used()
    return used
  }

  budgets(): IterableIterator<[string, Budget]> {
    return this.#budgets.entries()
  }

  workers(): WorkerMemory {
    const total: WorkerMemory = { heapBytes: 0, externalBytes: 0, wasmBytes: 0 }
    for (const pool of this.#workers) {
      const part = pool.memory()
      total.heapBytes += part.heapBytes
      total.externalBytes += part.externalBytes
      total.wasmBytes += part.wasmBytes
    }
    return total
  }
}

export function registerMemoryMetrics(registry: MetricsRegistry, budgets: MemoryBudgets): void {
  registry.labelledGauge('zombi_memory_budget_bytes', 'Limit of each bounded memory budget, from its setting (docs/config.md)', ['budget'], (emit) => {
    for (const [name, budget] of budgets.budgets()) emit({ budget: name }, budget.budgetBytes)
  })
  registry.labelledGauge('zombi_memory_used_bytes', 'Bytes each bounded memory budget holds now', ['budget'], (emit) => {
    for (const [name, budget] of budgets.budgets()) emit({ budget: name }, budget.used())
  })
  registry.labelledGauge('zombi_memory_process_bytes', 'The process\'s memory by part: resident set, main thread V8 heap used and total, external and ArrayBuffer bytes; the encode workers\' V8 heaps, ArrayBuffer bytes and wasm memory (as of their last report: after each job, and again once idle)', ['part'], (emit) => {
    const usage = process.memoryUsage()
    emit({ part: 'rss' }, usage.rss)
    emit({ part: 'heap_used' }, usage.heapUsed)
    emit({ part: 'heap_total' }, usage.heapTotal)
    emit({ part: 'external' }, usage.external)
    emit({ part: 'array_buffers' }, usage.arrayBuffers)
    const workers = budgets.workers()
    emit({ part: 'worker_heap' }, workers.heapBytes)
    emit({ part: 'worker_external' }, workers.externalBytes)
    emit({ part: 'worker_wasm' }, workers.wasmBytes)
  })
  registry.labelledTotal('zombi_memory_workers_ended_total', 'Encode workers ended to give their memory back: memory (past ZOMBI_ENCODE_WORKER_MAX_MB after a job) or idle (ZOMBI_ENCODE_WORKER_IDLE_SECS)', ['reason'], (emit) => {
    const ended = budgets.workersEnded()
    emit({ reason: 'memory' }, ended.recycled)
    emit({ reason: 'idle' }, ended.idle)
  })
}
