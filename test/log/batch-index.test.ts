import { describe, expect, it } from 'vitest'
import { BatchIndex } from '../../src/log/batch-index.ts'
import { FetchCache } from '../../src/log/fetch-cache.ts'

function entry(baseOffset: number, lastOffset: number, maxTimestamp = baseOffset * 10, size = 100) {
  return { baseOffset, lastOffset, maxTimestamp, segment: 0, position: baseOffset * 100, size }
}

describe('BatchIndex', () => {
  it('finds the batch holding an offset, including offsets inside a batch', () => {
    const index = new BatchIndex()
    index.push(entry(0, 4))
    index.push(entry(5, 5))
    index.push(entry(6, 9))
    expect(index.findByOffset(0)).toBe(0)
    expect(index.findByOffset(3)).toBe(0)
    expect(index.findByOffset(5)).toBe(1)
    expect(index.findByOffset(7)).toBe(2)
    expect(index.findByOffset(10)).toBe(3)
  })

  it('grows past its initial capacity and keeps every entry', () => {
    const index = new BatchIndex()
    for (let i = 0; i < 1000; i++) index.push(entry(i * 2, i * 2 + 1))
    expect(index.count).toBe(1000)
    expect(index.findByOffset(1501)).toBe(750)
    expect(index.location(999)).toEqual({ segment: 0, position: 199_800, size: 100 })
  })

  it('finds the first batch whose max timestamp reaches a target even when timestamps go backwards', () => {
    const index = new BatchIndex()
    index.push(entry(0, 0, 500))
    index.push(entry(1, 1, 100))
    index.push(entry(2, 2, 900))
    expect(index.findByTimestamp(400)).toBe(0)
    expect(index.findByTimestamp(600)).toBe(2)
    expect(index.findByTimestamp(1000)).toBe(3)
  })

  it('drops batches below an offset and keeps positions relative to the first live batch', () => {
    const index = new BatchIndex()
    for (let i = 0; i < 10; i++) index.push(entry(i, i), Buffer.alloc(1))
    index.dropBefore(4)
    expect(index.count).toBe(6)
    expect(index.baseOffset(0)).toBe(4)
    expect(index.findByOffset(4)).toBe(0)
    for (let i = 0; i < 200; i++) index.push(entry(10 + i, 10 + i))
    expect(index.baseOffset(0)).toBe(4)
    expect(index.cachedBytes(0)).toBeDefined()
  })
})

describe('FetchCache', () => {
  it('evicts the oldest cached batches broker-wide once over budget', () => {
    const cache = new FetchCache(250)
    const a = new BatchIndex()
    const b = new BatchIndex()
    const admit = (index: BatchIndex, offset: number): void => {
      const bytes = Buffer.alloc(100, offset)
      index.push(entry(offset, offset), cache.admit(index, bytes.length) ? bytes : undefined)
    }
    admit(a, 0)
    admit(b, 0)
    admit(a, 1) // 300 > 250: a's batch 0 goes
    expect(a.cachedBytes(0)).toBeUndefined()
    expect(b.cachedBytes(0)).toBeDefined()
    expect(a.cachedBytes(1)).toBeDefined()
    admit(b, 1) // b's batch 0 goes
    expect(b.cachedBytes(0)).toBeUndefined()
    expect(cache.usedBytes).toBe(200)
  })

  it('does not cache a batch larger than the whole budget', () => {
    const cache = new FetchCache(50)
    expect(cache.admit(new BatchIndex(), 100)).toBe(false)
    expect(cache.usedBytes).toBe(0)
  })

  it('swaps a range of batches for compacted ones, keeping the rest and its cached bytes', () => {
    const index = new BatchIndex()
    const cache = new FetchCache(1 << 20)
    for (let i = 0; i < 10; i++) {
      const bytes = Buffer.alloc(10, i)
      index.push({ ...entry(i * 2, i * 2 + 1), segment: 1 }, cache.admit(index, bytes.length) ? bytes : undefined)
    }
    index.dropBefore(2)
    // Batches 2..7 (positions 0..2 after the drop) become two batches in a later segment.
    index.replace(0, 3, [{ ...entry(2, 5), segment: 4 }, { ...entry(6, 7), segment: 4 }])
    expect(index.count).toBe(8)
    expect(Array.from({ length: index.count }, (_, i) => index.baseOffset(i))).toEqual([2, 6, 8, 10, 12, 14, 16, 18])
    expect(index.findByOffset(4)).toBe(0)
    expect(index.findByOffset(7)).toBe(1)
    expect(index.cachedBytes(0)).toBeUndefined()
    expect(index.cachedBytes(2)).toEqual(Buffer.alloc(10, 4))
    // Segments no longer grow along the index: lookups by segment scan.
    expect(index.minSegment(0)).toBe(1)
    expect(index.minSegment(2)).toBe(1)
    expect(index.findBySegment(4)).toBe(8)
    expect(index.findBySegment(1)).toBe(0)
    index.push({ ...entry(20, 21), segment: 5 })
    expect(index.entry(8)).toMatchObject({ baseOffset: 20, lastOffset: 21, segment: 5 })
    // Eviction still walks the cached suffix.
    expect(index.uncacheOldest()).toBe(10)
  })
})
