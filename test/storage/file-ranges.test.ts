import { describe, expect, it } from 'vitest'
import { FileRangesBuilder, fileRangesOf, rangeBytes } from '../../src/storage/file-ranges.ts'

describe('file ranges', () => {
  it('keeps ranges in order with each file named once, also when files alternate', () => {
    const ranges = fileRangesOf([
      { path: '/log/1.seg', position: 40, size: 100 },
      { path: '/log/2.seg', position: 0, size: 7 },
      { path: '/log/1.seg', position: 200, size: 2 ** 33 },
    ])
    expect(ranges.paths).toEqual(['/log/1.seg', '/log/2.seg'])
    expect([...ranges.files]).toEqual([0, 1, 0])
    expect([...ranges.positions]).toEqual([40, 0, 200])
    expect([...ranges.sizes]).toEqual([100, 7, 2 ** 33])
    expect(rangeBytes(ranges)).toBe(107 + 2 ** 33)
  })

  it('finishes with only the ranges pushed, and survives a structured clone as typed arrays', () => {
    const builder = new FileRangesBuilder(4)
    builder.push({ path: '/a', position: 1, size: 2 })
    const cloned = structuredClone(builder.finish())
    expect(cloned.sizes).toBeInstanceOf(Float64Array)
    expect(cloned).toMatchObject({ paths: ['/a'], files: new Uint32Array([0]), positions: new Float64Array([1]), sizes: new Float64Array([2]) })
  })
})
