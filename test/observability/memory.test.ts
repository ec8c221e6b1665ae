import { expect, test, vi } from 'vitest'
import { silentLogger } from '../../src/observability/logger.ts'
import { MemoryBudgets, registerMemoryMetrics } from '../../src/observability/memory.ts'
import { MemoryRelief, tuneMalloc } from '../../src/observability/memory-relief.ts'
import { Metrics } from '../../src/observability/metrics.ts'

async function samples(metrics: Metrics, name: string): Promise<string[]> {
  return (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((line) => !line.startsWith('#'))
}

test('/metrics shows each budget beside what it holds, read at each scrape', async () => {
  const metrics = new Metrics()
  const budgets = new MemoryBudgets()
  let cached = 10
  budgets.add('fetch_cache', 64, () => cached)
  registerMemoryMetrics(metrics, budgets)
  expect(await samples(metrics, 'zombi_memory_budget_bytes')).toEqual(['zombi_memory_budget_bytes{budget="fetch_cache"} 64'])
  expect(await samples(metrics, 'zombi_memory_used_bytes')).toEqual(['zombi_memory_used_bytes{budget="fetch_cache"} 10'])
  cached = 60
  expect(await samples(metrics, 'zombi_memory_used_bytes')).toEqual(['zombi_memory_used_bytes{budget="fetch_cache"} 60'])
})

test('process memory shows the main thread\'s parts and the sum over the worker pools\' reports', async () => {
  const metrics = new Metrics()
  const budgets = new MemoryBudgets()
  budgets.addWorkers({ memory: () => ({ heapBytes: 1, externalBytes: 2, wasmBytes: 3 }), recycled: 1, retiredIdle: 0 })
  budgets.addWorkers({ memory: () => ({ heapBytes: 10, externalBytes: 20, wasmBytes: 30 }), recycled: 2, retiredIdle: 5 })
  registerMemoryMetrics(metrics, budgets)
  const parts = new Map((await samples(metrics, 'zombi_memory_process_bytes')).filter((line) => line !== '').map((line) => {
    const [, part, value] = /part="([^"]+)"\} (\S+)/.exec(line)!
    return [part!, Number(value)]
  }))
  expect([...parts.keys()].sort()).toEqual(['array_buffers', 'external', 'heap_total', 'heap_used', 'rss', 'worker_external', 'worker_heap', 'worker_wasm'])
  expect(parts.get('rss')).toBeGreaterThan(0)
  expect(parts.get('heap_used')).toBeGreaterThan(0)
  expect([parts.get('worker_heap'), parts.get('worker_external'), parts.get('worker_wasm')]).toEqual([11, 22, 33])
  expect(await samples(metrics, 'zombi_memory_workers_ended_total')).toEqual(['zombi_memory_workers_ended_total{reason="memory"} 3', 'zombi_memory_workers_ended_total{reason="idle"} 5'])
})

test.runIf(process.platform === 'linux')('malloc tuning sets the arena limit and a fixed mmap threshold through mallopt, and nothing for 0', () => {
  expect(tuneMalloc(0, 0, silentLogger)).toEqual([])
  // The vitest worker's own malloc: values glibc accepts and that change nothing a test relies on.
  expect(tuneMalloc(8, 128 * 1024, silentLogger)).toEqual(['arena_max=8', 'mmap_threshold=131072'])
})

test.runIf(process.platform === 'linux')('periodic malloc trimming runs at its interval until closed, and not at all for 0', async () => {
  const off = new MemoryRelief(silentLogger)
  expect(off.trimEvery(0)).toBe(false)
  off.close()
  const relief = new MemoryRelief(silentLogger)
  expect(relief.trimEvery(5)).toBe(true)
  await expect.poll(() => relief.trims, { timeout: 10_000 }).toBeGreaterThan(1)
  relief.close()
  const after = relief.trims
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(relief.trims).toBe(after)
})

test('a full collection runs when ArrayBuffer memory passes the budgets by more than the slack, at most every 5 s', () => {
  vi.useFakeTimers()
  const relief = new MemoryRelief(silentLogger)
  try {
    let arrayBuffers = 100
    let accounted = 60
    const usage = process.memoryUsage()
    vi.spyOn(process, 'memoryUsage').mockImplementation(() => ({ ...usage, arrayBuffers }))
    relief.collectGarbageBuffersAbove(50, () => accounted)
    vi.advanceTimersByTime(3000)
    expect(relief.garbageCollections).toBe(0) // 40 beyond the budgets: within the slack
    arrayBuffers = 200
    vi.advanceTimersByTime(1000)
    expect(relief.garbageCollections).toBe(1)
    vi.advanceTimersByTime(4000)
    expect(relief.garbageCollections).toBe(1) // not again within 5 s
    vi.advanceTimersByTime(1000)
    expect(relief.garbageCollections).toBe(2)
    accounted = 190 // the same buffers, now held by the budgets
    vi.advanceTimersByTime(10_000)
    expect(relief.garbageCollections).toBe(2)
  } finally {
    relief.close()
    vi.restoreAllMocks()
    vi.useRealTimers()
  }
})

test('a slack of 0 leaves collections to V8', () => {
  vi.useFakeTimers()
  const relief = new MemoryRelief(silentLogger)
  try {
    relief.collectGarbageBuffersAbove(0, () => 0)
    vi.advanceTimersByTime(10_000)
    expect(relief.garbageCollections).toBe(0)
  } finally {
    relief.close()
    vi.useRealTimers()
  }
})
