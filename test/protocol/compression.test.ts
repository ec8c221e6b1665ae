import { expect, test } from 'vitest'
import { Compression, compress, decompress, takeDecompressedBytes } from '../../src/protocol/compression.ts'

const data = Buffer.from('zombi '.repeat(1000))

test('every codec decompresses what it compressed', () => {
  for (const codec of Object.values(Compression)) expect(decompress(codec, compress(codec, data)).equals(data)).toBe(true)
})

test('decompressed bytes are counted until taken; uncompressed batches count nothing', () => {
  takeDecompressedBytes()
  decompress(Compression.none, data)
  expect(takeDecompressedBytes()).toBe(0)
  for (const codec of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) decompress(codec, compress(codec, data))
  expect(takeDecompressedBytes()).toBe(4 * data.length)
  expect(takeDecompressedBytes()).toBe(0)
})
