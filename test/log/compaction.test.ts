import { describe, expect, it } from 'vitest'
import { CleanedBatch, OffsetMap, cleanBatch, keyId } from '../../src/log/compaction.ts'
import { Compression } from '../../src/protocol/compression.ts'
import {
  ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, attributesOf, baseOffsetOf, baseSequenceOf, checkBatch, lastOffsetDeltaOf,
  maxTimestampOf, patchBaseOffset, producerEpochOf, producerIdOf,
} from '../../src/protocol/record-batch.ts'
import { decodeBatch, encodeBatch, type BatchOptions } from '../../src/protocol/records.ts'

/** A batch at `baseOffset` of records [key, value|null, timestamp]. */
function batchOf(baseOffset: number, records: Array<[string, string | null, number]>, options: BatchOptions = {}): Buffer {
  const batch = encodeBatch(records.map(([key, value, timestamp]) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp })), options)
  patchBaseOffset(batch, baseOffset)
  return batch
}

const keep = { nowMs: 1_000, expiresAt: () => Number.POSITIVE_INFINITY }

describe('compaction of one batch', () => {
  for (const [name, codec] of Object.entries(Compression)) {
    it(`keeps the latest records of a ${name} batch at their offsets, with the batch's offsets, producer fields and a valid CRC`, () => {
      const options = { compression: codec, producerId: 42, producerEpoch: 3, baseSequence: 17 }
      const first = batchOf(10, [['a', 'a1', 100], ['b', 'b1', 101], ['a', 'a2', 102], ['c', 'c1', 103]], options)
      const second = batchOf(14, [['b', 'b2', 104]])
      const map = new OffsetMap()
      map.add(first)
      map.add(second)
      expect(map.size).toBe(3)
      const cleaned = cleanBatch(first, map, keep)
      expect(cleaned.recordsRemoved).toBe(2)
      const bytes = cleaned.bytes!
      expect(checkBatch(bytes, 0)).toBe(bytes.length)
      expect([baseOffsetOf(bytes), lastOffsetDeltaOf(bytes)]).toEqual([10, 3])
      expect([producerIdOf(bytes), producerEpochOf(bytes), baseSequenceOf(bytes)]).toEqual([42, 3, 17])
      expect(attributesOf(bytes) & 0x07).toBe(codec)
      expect(maxTimestampOf(bytes)).toBe(103)
      const records = decodeBatch(bytes).records
      expect(records.map((r) => [r.offset, r.key!.toString(), r.value!.toString(), r.timestamp])).toEqual([[12, 'a', 'a2', 102], [13, 'c', 'c1', 103]])
      // The second batch's only record is its key's latest: the same bytes.
      expect(cleanBatch(second, map, keep).bytes).toBe(second)
    })
  }

  it('drops a batch whose every record is superseded, and a record without a key', () => {
    const old = encodeBatch([{ key: null, value: Buffer.from('no key') }, { key: Buffer.from('k'), value: Buffer.from('v1') }])
    patchBaseOffset(old, 0)
    const newer = batchOf(2, [['k', 'v2', 5]])
    const map = new OffsetMap()
    map.add(old)
    map.add(newer)
    expect(cleanBatch(old, map, keep)).toEqual(new CleanedBatch(null, 2, 0, Number.POSITIVE_INFINITY))
  })

  it('keeps a latest tombstone until it expires, then removes it, and reports the next expiry', () => {
    const batch = batchOf(0, [['gone', 'v', 1], ['gone', null, 2], ['other', null, 3]])
    const map = new OffsetMap()
    map.add(batch)
    const expiries: Record<number, number> = { 1: 500, 2: 900 }
    const early = cleanBatch(batch, map, { nowMs: 400, expiresAt: (offset) => expiries[offset]! })
    expect(decodeBatch(early.bytes!).records.map((r) => [r.offset, r.value])).toEqual([[1, null], [2, null]])
    expect(early.nextTombstoneExpiry).toBe(500)
    const later = cleanBatch(batch, map, { nowMs: 600, expiresAt: (offset) => expiries[offset]! })
    expect(decodeBatch(later.bytes!).records.map((r) => r.offset)).toEqual([2])
    expect([later.tombstonesRemoved, later.nextTombstoneExpiry]).toEqual([1, 900])
  })

  it('keeps control and transactional batches whole, and their records supersede nothing', () => {
    const committed = batchOf(0, [['k', 'committed', 1]])
    const transactional = batchOf(1, [['k', 'in a transaction', 2]], { attributes: ATTR_TRANSACTIONAL, producerId: 7, producerEpoch: 0, baseSequence: 0 })
    const marker = batchOf(2, [['\u0000', '\u0000', 3]], { attributes: ATTR_TRANSACTIONAL | ATTR_CONTROL, producerId: 7, producerEpoch: 0 })
    const map = new OffsetMap()
    for (const batch of [committed, transactional, marker]) map.add(batch)
    expect(cleanBatch(committed, map, keep).bytes).toBe(committed)
    expect(cleanBatch(transactional, map, keep).bytes).toBe(transactional)
    expect(cleanBatch(marker, map, keep).bytes).toBe(marker)
  })

  it('keeps a LogAppendTime batch\'s max timestamp, which its records read', () => {
    const batch = batchOf(0, [['a', '1', 1], ['a', '2', 2]], { attributes: ATTR_LOG_APPEND_TIME })
    batch.writeBigInt64BE(5_000n, 35)
    // (The CRC is stale after the patch above; cleaning rebuilds it.)
    const map = new OffsetMap()
    map.add(batch)
    const cleaned = cleanBatch(batch, map, keep).bytes!
    expect(maxTimestampOf(cleaned)).toBe(5_000)
    expect(checkBatch(cleaned, 0)).toBe(cleaned.length)
    expect(decodeBatch(cleaned).records.map((r) => [r.offset, r.timestamp])).toEqual([[1, 5_000]])
  })

  it('maps long keys by digest and short ones as they are', () => {
    const body = Buffer.from('k'.repeat(100))
    expect(keyId(body, 0, 10)).toBe('k'.repeat(10))
    expect(keyId(body, 0, 100)).toMatch(/^#/)
    expect(keyId(body, 0, 100)).not.toBe(keyId(Buffer.from('k'.repeat(99) + 'x'), 0, 100))
  })
})
