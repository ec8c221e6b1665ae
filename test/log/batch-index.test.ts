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
})
