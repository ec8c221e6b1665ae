// Broker-side recompression: a batch's records come out the same in every codec, its producer fields,
// timestamps and attributes other than the codec stay, its CRC is valid; control batches and batches
// already in the codec are left as written.
import { describe, expect, it } from 'vitest'
import { Compression } from '../../src/protocol/compression.ts'
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, attributesOf, baseSequenceOf, checkBatch, maxTimestampOf, producerEpochOf, producerIdOf } from '../../src/protocol/record-batch.ts'
import { decodeBatch, encodeBatch } from '../../src/protocol/records.ts'
import { recompressBatch, recompressBatches } from '../../src/protocol/recompress.ts'

const RECORDS = [
  { key: Buffer.from('k1'), value: Buffer.from('hello '.repeat(50)), timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: Buffer.from('v') }] },
  { key: null, value: null, timestamp: 1_700_000_000_007 },
]

describe('recompressBatch', () => {
  for (const [from, to] of [[Compression.none, Compression.zstd], [Compression.gzip, Compression.lz4], [Compression.snappy, Compression.none], [Compression.zstd, Compression.gzip], [Compression.lz4, Compression.snappy]] as const) {
    it(`turns codec ${from} into ${to} with the same records and producer fields`, () => {
      const batch = encodeBatch(RECORDS, { compression: from, producerId: 42, producerEpoch: 3, baseSequence: 7, attributes: ATTR_TRANSACTIONAL })
      const out = recompressBatch(batch, 0, to)!
      expect(checkBatch(out, 0)).toBe(out.length)
      expect(attributesOf(out) & 0x07).toBe(to)
      expect(attributesOf(out) & ATTR_TRANSACTIONAL).toBe(ATTR_TRANSACTIONAL)
      expect([producerIdOf(out), producerEpochOf(out), baseSequenceOf(out), maxTimestampOf(out)]).toEqual([42, 3, 7, 1_700_000_000_007])
      expect(decodeBatch(out)).toEqual(decodeBatch(batch))
    })
  }

  it('leaves control batches and batches already in the codec alone, and joins several batches', () => {
    const zstd = encodeBatch(RECORDS, { compression: Compression.zstd })
    expect(recompressBatch(zstd, 0, Compression.zstd)).toBeNull()
    const control = encodeBatch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], { attributes: ATTR_CONTROL | ATTR_TRANSACTIONAL })
    expect(recompressBatch(control, 0, Compression.gzip)).toBeNull()
    expect(recompressBatches(zstd, Compression.zstd)).toBe(zstd)
    const plain = encodeBatch(RECORDS)
    const joined = recompressBatches(Buffer.concat([plain, zstd, control]), Compression.zstd)
    const firstSize = checkBatch(joined, 0)
    expect(attributesOf(joined, 0) & 0x07).toBe(Compression.zstd)
    expect(joined.subarray(firstSize)).toEqual(Buffer.concat([zstd, control]))
  })

  it('throws on compressed records that do not decode', () => {
    const batch = encodeBatch(RECORDS, { compression: Compression.gzip })
    batch.fill(0x55, 70)
    expect(() => recompressBatch(batch, 0, Compression.zstd)).toThrow()
  })
})
