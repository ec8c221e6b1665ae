import { expect, test } from 'vitest'
import { Compression, compress, decompress, takeNativeOutputBytes } from '../../src/protocol/compression.ts'

const data = Buffer.from('zombi '.repeat(1000))

test('every codec decompresses what it compressed', () => {
  for (const codec of Object.values(Compression)) expect(decompress(codec, compress(codec, data)).equals(data)).toBe(true)
})

test('only lz4, whose output lives in its own allocator, counts native output bytes until they are taken', () => {
  takeNativeOutputBytes()
  for (const codec of [Compression.none, Compression.gzip, Compression.snappy, Compression.zstd]) decompress(codec, compress(codec, data))
  expect(takeNativeOutputBytes()).toBe(0)
  decompress(Compression.lz4, compress(Compression.lz4, data))
  decompress(Compression.lz4, compress(Compression.lz4, data))
  expect(takeNativeOutputBytes()).toBe(2 * data.length)
  expect(takeNativeOutputBytes()).toBe(0)
})
