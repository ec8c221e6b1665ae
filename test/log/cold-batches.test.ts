// Batches rebuilt from table rows against the bytes a real Java producer wrote for the same records
// (compat-tests/java/fixtures): the records section must come out byte for byte, the CRC must hold.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { crc32c } from '@node-rs/crc32'
import { endOffsetOf, rebuildBatches } from '../../src/log/cold-batches.ts'
import type { LogRecord } from '../../src/log/record-reader.ts'
import {
  ATTRIBUTES, RECORDS, attributesOf, baseOffsetOf, baseTimestampOf, batchSize, checkBatch, maxTimestampOf, producerIdOf, recordCountOf,
} from '../../src/protocol/record-batch.ts'
import { RecordCursor } from '../../src/protocol/record-cursor.ts'
import { decodeBatch } from '../../src/protocol/records.ts'

const javaFixture = JSON.parse(readFileSync(new URL('../../compat-tests/java/fixtures/kafka-clients-4.4.0.json', import.meta.url), 'utf8')) as { batches: Record<string, string[]> }

/** What the cold reader returns for the records of a batch (as the flusher wrote them to the table). */
function rowsOf(batch: Buffer, firstOffset: number): LogRecord[] {
  return decodeBatch(batch).records.map((record, i) => ({
    partition: 0, offset: firstOffset + i, timestampMs: record.timestamp, key: record.key, value: record.value, headers: record.headers,
  }))
}

describe('rebuildBatches', () => {
  it('writes the records section of an uncompressed Java batch byte for byte, with a valid CRC-32C', () => {
    const java = Buffer.from(javaFixture.batches.none![0]!, 'hex')
    const [rebuilt, ...more] = rebuildBatches(rowsOf(java, 0), 1 << 20)
    expect(more).toEqual([])
    expect(checkBatch(rebuilt!, 0)).toBe(rebuilt!.length)
    expect(rebuilt!.readUInt32BE(17)).toBe(crc32c(rebuilt!.subarray(ATTRIBUTES)) >>> 0)
    // Same records, same encoding: only the producer fields (Java's producer is idempotent) and so the CRC differ.
    expect(rebuilt!.subarray(RECORDS).equals(java.subarray(RECORDS, batchSize(java)))).toBe(true)
    expect([baseOffsetOf(rebuilt!), recordCountOf(rebuilt!), baseTimestampOf(rebuilt!), maxTimestampOf(rebuilt!)])
      .toEqual([baseOffsetOf(java), recordCountOf(java), baseTimestampOf(java), maxTimestampOf(java)])
    expect(attributesOf(rebuilt!)).toBe(0) // uncompressed, CreateTime, not transactional
    expect(producerIdOf(rebuilt!)).toBe(-1)
  })

  it('keeps offsets, timestamps (also going backwards), null keys, null values and null header values', () => {
    const records: LogRecord[] = [
      { partition: 3, offset: 41, timestampMs: 1_700_000_000_500, key: Buffer.from('k'), value: null, headers: [{ key: 'h', value: null }, { key: 'h', value: Buffer.from([0, 0xff]) }] },
      { partition: 3, offset: 42, timestampMs: 1_700_000_000_100, key: null, value: Buffer.alloc(0), headers: [] },
      { partition: 3, offset: 43, timestampMs: 1_700_000_000_900, key: Buffer.alloc(0), value: Buffer.from('v'), headers: [{ key: 'ü', value: Buffer.alloc(0) }] },
    ]
    const [batch] = rebuildBatches(records, 1 << 20)
    const hex = [
      '0000000000000029', '00000056', 'ffffffff', '02', batch!.subarray(17, 21).toString('hex'), // base offset 41, length 86, no epoch, magic 2, CRC (checked below)
      '0000', '00000002', '0000018bcfe569f4', '0000018bcfe56b84', // uncompressed CreateTime, last delta 2, first and max timestamp
      'ffffffffffffffff', 'ffff', 'ffffffff', '00000003', // no producer, 3 records
      '1e' + '00' + '00' + '00' + '026b' + '01' + '04' + '0268' + '01' + '0268' + '0400ff', // 15 bytes: key "k", null value, headers h=null, h=00ff
      '0e' + '00' + '9f06' + '02' + '01' + '00' + '00', // 7 bytes: timestamp delta -400, offset delta 1, null key, empty value
      '18' + '00' + 'a006' + '04' + '00' + '0276' + '02' + '04c3bc' + '00', // 12 bytes: delta +400, empty key, value "v", header "ü" = empty
    ].join('')
    expect(batch!.toString('hex')).toBe(hex)
    expect(checkBatch(batch!, 0)).toBe(batch!.length)
    const cursor = new RecordCursor().open(batch!)
    const seen: unknown[] = []
    while (cursor.nextRecord()) {
      const headers: unknown[] = []
      while (cursor.nextHeader()) headers.push([cursor.headerKey(), cursor.headerValue()])
      seen.push([cursor.offset, cursor.timestamp, cursor.key(), cursor.value(), headers])
    }
    expect(seen).toEqual(records.map((r) => [r.offset, r.timestampMs, r.key, r.value, r.headers.map((h) => [h.key, h.value])]))
    expect(endOffsetOf(batch!)).toBe(44)
  })

  it('starts a new batch at a gap in the offsets and when a batch would pass the byte limit', () => {
    const record = (offset: number, bytes: number): LogRecord => ({ partition: 0, offset, timestampMs: 1000 + offset, key: null, value: Buffer.alloc(bytes, 0x61), headers: [] })
    const batches = rebuildBatches([record(0, 10), record(1, 10), record(5, 10), record(6, 400), record(7, 400), record(8, 2000)], 1000)
    expect(batches.map((batch) => [baseOffsetOf(batch), endOffsetOf(batch)])).toEqual([[0, 2], [5, 8], [8, 9]])
    for (const batch of batches) expect(checkBatch(batch, 0)).toBe(batch.length)
  })
})
