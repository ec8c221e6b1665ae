import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Compression } from '../../src/protocol/compression.ts'
import {
  ATTR_LOG_APPEND_TIME, CRC, ERR_CORRUPT, ERR_CRC, ERR_OLD_MAGIC, MAGIC, attributesOf, baseOffsetOf, batchProblem,
  checkBatch, maxTimestampOf, patchBaseOffset, stampLogAppendTime,
} from '../../src/protocol/record-batch.ts'
import { decodeBatch, encodeBatch, encodeBatches, firstRecordAtOrAfter, recordWithMaxTimestamp, type RecordInput } from '../../src/protocol/records.ts'

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/librdkafka-batches.json', import.meta.url), 'utf8')) as { batches: Record<string, string> }
const LONG_VALUE = 'abcdefgh'.repeat(20)

function sample(compression = 0): Buffer {
  return encodeBatch([
    { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') }], timestamp: 1_700_000_000_000 },
    { key: null, value: null, timestamp: 1_700_000_000_500 },
    { key: Buffer.from('k3'), value: Buffer.alloc(0), timestamp: 1_700_000_000_200 },
  ], { compression })
}

describe('record batch validation', () => {
  it('accepts a well-formed batch and returns its size', () => {
    const batch = sample()
    expect(checkBatch(batch, 0)).toBe(batch.length)
  })

  it('rejects a flipped payload bit as a CRC mismatch', () => {
    const batch = sample()
    batch[batch.length - 3]! ^= 0x01
    expect(checkBatch(batch, 0)).toBe(ERR_CRC)
    expect(batchProblem(ERR_CRC)).toBe('crc')
  })

  it('rejects a batch whose length field runs past the bytes present', () => {
    const batch = sample()
    expect(checkBatch(batch.subarray(0, batch.length - 1), 0)).toBe(ERR_CORRUPT)
  })

  it('reports magic 0 and 1 as the old message format', () => {
    const batch = sample()
    batch.writeInt8(1, MAGIC)
    expect(checkBatch(batch, 0)).toBe(ERR_OLD_MAGIC)
  })

  it('rejects a header shorter than 61 bytes', () => {
    expect(checkBatch(Buffer.alloc(40), 0)).toBe(ERR_CORRUPT)
  })

  it('validates librdkafka batches of every codec it produced', () => {
    for (const [codec, hex] of Object.entries(fixtures.batches)) {
      const batch = Buffer.from(hex, 'hex')
      expect(checkBatch(batch, 0), codec).toBe(batch.length)
    }
  })
})

describe('record batch patching', () => {
  it('patches the base offset without touching the CRC', () => {
    const batch = sample()
    const crc = batch.readUInt32BE(CRC)
    patchBaseOffset(batch, 2 ** 40 + 7)
    expect(baseOffsetOf(batch)).toBe(2 ** 40 + 7)
    expect(batch.readUInt32BE(CRC)).toBe(crc)
    expect(checkBatch(batch, 0)).toBe(batch.length)
  })

  it('stamps LogAppendTime into attributes and max timestamp with a fresh CRC', () => {
    const batch = sample()
    stampLogAppendTime(batch, 1_800_000_000_000)
    expect(attributesOf(batch) & ATTR_LOG_APPEND_TIME).toBe(ATTR_LOG_APPEND_TIME)
    expect(maxTimestampOf(batch)).toBe(1_800_000_000_000)
    expect(checkBatch(batch, 0)).toBe(batch.length)
    expect(decodeBatch(batch).records.map((r) => r.timestamp)).toEqual([1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000])
  })
})

describe('record decoding', () => {
  it.each(Object.entries(Compression))('round-trips keys, values, null values and headers with %s', (_name, codec) => {
    const batch = sample(codec)
    expect(checkBatch(batch, 0)).toBe(batch.length)
    const decoded = decodeBatch(batch)
    expect(decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      [0, 1_700_000_000_000, 'k1', 'v1'],
      [1, 1_700_000_000_500, null, null],
      [2, 1_700_000_000_200, 'k3', ''],
    ])
    expect(decoded.records[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }])
  })

  it.each(['gzip', 'snappy', 'zstd'])('decodes a %s batch made by librdkafka', (codec) => {
    const decoded = decodeBatch(Buffer.from(fixtures.batches[codec]!, 'hex'))
    expect(decoded.records).toHaveLength(2)
    expect(decoded.records[0]!.key!.toString()).toBe('key-1')
    expect(decoded.records[0]!.value!.toString()).toBe(`${codec}:${LONG_VALUE}`)
    expect(decoded.records[1]!.value).toBeNull()
    expect(decoded.records[1]!.headers).toEqual([{ key: 'h1', value: Buffer.from('x') }, { key: 'h2', value: Buffer.alloc(0) }])
  })

  it('finds the first record at or after a timestamp and the max-timestamp record', () => {
    const batch = sample()
    expect(firstRecordAtOrAfter(batch, 1_700_000_000_100)).toEqual({ offset: 1, timestamp: 1_700_000_000_500 })
    expect(firstRecordAtOrAfter(batch, 1_700_000_000_501)).toBeNull()
    expect(recordWithMaxTimestamp(batch)).toEqual({ offset: 1, timestamp: 1_700_000_000_500 })
  })
})

describe('encodeBatches', () => {
  const bytes = (length: number) => fc.option(fc.uint8Array({ maxLength: length }).map((array) => Buffer.from(array)), { nil: null })
  const record: fc.Arbitrary<RecordInput> = fc.record({
    key: bytes(40),
    value: bytes(3000),
    headers: fc.array(fc.record({ key: fc.string({ maxLength: 10, unit: 'grapheme' }), value: bytes(20) }), { maxLength: 3 }),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  })

  it('fills each batch as far as max.message.bytes allows, keeps the records in order, and gives an oversized record a batch of its own', () => {
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), fc.integer({ min: 100, max: 20_000 }), (records, maxBytes) => {
      const batches = encodeBatches(records, maxBytes)
      let next = 0
      for (const batch of batches) {
        expect(checkBatch(batch, 0)).toBe(batch.length)
        const decoded = decodeBatch(batch).records
        if (decoded.length > 1) expect(batch.length).toBeLessThanOrEqual(maxBytes)
        for (const [i, got] of decoded.entries()) {
          const sent = records[next + i]!
          expect([got.offset, got.timestamp, got.key, got.value]).toEqual([i, sent.timestamp, sent.key, sent.value])
        }
        next += decoded.length
        // Tight: with the next record the batch would have been over the limit (so the sizes are computed exactly).
        if (next < records.length) expect(encodeBatch(records.slice(next - decoded.length, next + 1)).length).toBeGreaterThan(maxBytes)
      }
      expect(next).toBe(records.length)
    }))
  })
})
