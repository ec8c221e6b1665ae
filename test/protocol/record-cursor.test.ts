import { crc32c } from '@node-rs/crc32'
import fc from 'fast-check'
import { isUtf8 } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { Compression } from '../../src/protocol/compression.ts'
import { ATTRIBUTES, CRC, MAX_RECORD_TIMESTAMP, MIN_RECORD_TIMESTAMP, RECORDS } from '../../src/protocol/record-batch.ts'
import { ProtocolDecodeError } from '../../src/protocol/reader.ts'
import { RecordCursor, escapeMalformedUtf8 } from '../../src/protocol/record-cursor.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { EDGE_BASE_TIMESTAMP, ESCAPED_HEADER_KEYS, edgeCaseBatch } from './edge-case-batch.ts'

function headerKeysOf(batch: Buffer): string[] {
  const cursor = new RecordCursor().open(batch)
  const keys: string[] = []
  while (cursor.nextRecord()) while (cursor.nextHeader()) keys.push(cursor.headerKey())
  return keys
}

/** `\xNN` back to the byte, everything else to its UTF-8: the inverse of the escaping for keys without a backslash. */
function unescape(text: string): Buffer {
  const parts = text.split(/\\x([0-9a-f]{2})/)
  return Buffer.concat(parts.map((part, i) => (i % 2 === 1 ? Buffer.from([parseInt(part, 16)]) : Buffer.from(part, 'utf8'))))
}

describe('RecordCursor', () => {
  it('lets go of its batch when closed: no view of it stays, and no record is left to read', () => {
    const batch = edgeCaseBatch(Compression.none)
    const cursor = new RecordCursor().open(batch)
    expect(cursor.nextRecord()).toBe(true)
    expect(cursor.body.buffer).toBe(batch.buffer)
    cursor.close()
    expect(cursor.body.length).toBe(0)
    expect(cursor.body.buffer).not.toBe(batch.buffer)
    expect(cursor.nextRecord()).toBe(false)
  })

  it.each(Object.entries(Compression))('reads header keys that are not UTF-8 as \\xNN escapes of the bytes (%s)', (_name, codec) => {
    expect(headerKeysOf(edgeCaseBatch(codec)).filter((key) => key.includes('\\x'))).toEqual(ESCAPED_HEADER_KEYS)
    expect(headerKeysOf(edgeCaseBatch(codec)).slice(0, 4)).toEqual(['plain', ESCAPED_HEADER_KEYS[0], 'idempotency_key', 'é☃'])
  })

  it('escapes overlong forms, surrogates and code points above U+10FFFF byte by byte, as Python\'s backslashreplace', () => {
    const cases: Array<[number[], string]> = [
      [[0xc0, 0xaf], '\\xc0\\xaf'],
      [[0xed, 0xa0, 0x80], '\\xed\\xa0\\x80'],
      [[0xf4, 0x90, 0x80, 0x80], '\\xf4\\x90\\x80\\x80'],
      [[0x61, 0xc3], 'a\\xc3'],
      [[0xf0, 0x9f, 0x98, 0x80, 0x80], '😀\\x80'],
    ]
    for (const [bytes, text] of cases) expect(escapeMalformedUtf8(Buffer.from(bytes), 0, bytes.length)).toBe(text)
  })

  it('keeps every byte of a header key visible: the text is valid UTF-8 and unescapes to the original bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }).filter((bytes) => !bytes.includes(0x5c)), (bytes) => {
      const key = Buffer.from(bytes)
      const [text] = headerKeysOf(encodeBatch([{ key: null, value: null, headers: [{ key, value: null }] }]))
      expect(isUtf8(Buffer.from(text!, 'utf8'))).toBe(true)
      expect(unescape(text!).equals(key)).toBe(true)
      if (isUtf8(key)) expect(text).toBe(key.toString('utf8'))
    }))
  })

  it('reads record timestamps outside years 1..9999 as the nearest bound', () => {
    const cursor = new RecordCursor().open(edgeCaseBatch())
    const timestamps: number[] = []
    while (cursor.nextRecord()) timestamps.push(cursor.timestamp)
    expect(timestamps).toEqual([EDGE_BASE_TIMESTAMP, MAX_RECORD_TIMESTAMP, MIN_RECORD_TIMESTAMP])
  })

  it('gives positions of keys, values and headers in the body, -1 lengths for nulls, and skips headers not visited', () => {
    const cursor = new RecordCursor().open(edgeCaseBatch(Compression.lz4))
    const seen: unknown[] = []
    while (cursor.nextRecord()) {
      seen.push([cursor.offset, cursor.keyLength, cursor.valueLength, cursor.key()?.toString('hex') ?? null, cursor.value()?.toString('hex') ?? null])
    }
    expect(seen).toEqual([[40, 1, 3, '6b', '00fffe'], [41, -1, -1, null, null], [42, 0, 0, '', '']])
    cursor.open(edgeCaseBatch())
    cursor.nextRecord()
    const values: Array<string | null> = []
    while (cursor.nextHeader()) values.push(cursor.headerValue()?.toString('hex') ?? null)
    expect(values).toEqual(['78', null, Buffer.from('order-1').toString('hex'), '', 'c3'])
  })

  it('refuses a record whose fields run past its length, with a decode error', () => {
    const batch = encodeBatch([{ key: Buffer.from('abc'), value: Buffer.from('def') }, { key: null, value: Buffer.from('next') }])
    // The first record's length varint (zigzag) sits at RECORDS; shrink it by two bytes, keeping the CRC right.
    batch[RECORDS] = batch[RECORDS]! - 4
    batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)) >>> 0, CRC)
    const cursor = new RecordCursor().open(batch)
    expect(() => cursor.nextRecord()).toThrow(ProtocolDecodeError)
    expect(() => new RecordCursor().open(batch).nextRecord()).toThrow(/overruns its length/)
  })
})
