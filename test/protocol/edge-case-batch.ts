// One batch with the records readers could disagree about: header keys that are not UTF-8,
// timestamps outside years 1..9999 inside a batch whose header is in range, null and empty
// keys and values, the idempotency key header, and a header key that spells an escape itself.
import { encodeBatch } from '../../src/protocol/records.ts'

export const EDGE_BASE_TIMESTAMP = Date.UTC(2024, 0, 31, 23, 30)

/** What RecordCursor reads from the header keys given as bytes below. */
export const ESCAPED_HEADER_KEYS = ['\\xffa', 'ok\\xe2\\x82', '\\xed\\xa0\\x80', '€\\xff\\x', '😀\\x80']

export function edgeCaseBatch(compression = 0): Buffer {
  return encodeBatch([
    {
      key: Buffer.from('k'),
      value: Buffer.from([0, 0xff, 0xfe]),
      headers: [
        { key: 'plain', value: Buffer.from('x') },
        { key: Buffer.from([0xff, 0x61]), value: null },
        { key: 'idempotency_key', value: Buffer.from('order-1') },
        { key: 'é☃', value: Buffer.alloc(0) },
        { key: Buffer.from([0x6f, 0x6b, 0xe2, 0x82]), value: Buffer.from([0xc3]) },
      ],
      timestamp: EDGE_BASE_TIMESTAMP,
    },
    { key: null, value: null, headers: [{ key: Buffer.from([0xed, 0xa0, 0x80]), value: Buffer.from('y') }], timestamp: EDGE_BASE_TIMESTAMP + 2 ** 52 },
    {
      key: Buffer.alloc(0),
      value: Buffer.alloc(0),
      headers: [{ key: Buffer.from([0xe2, 0x82, 0xac, 0xff, 0x5c, 0x78]), value: null }, { key: Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0x80]), value: null }],
      timestamp: EDGE_BASE_TIMESTAMP - 2 ** 52,
    },
  ], { baseOffset: 40, baseTimestamp: EDGE_BASE_TIMESTAMP, compression })
}
