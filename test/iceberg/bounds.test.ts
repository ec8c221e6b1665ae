import { expect, test } from 'vitest'
import { BytesRange, truncatedBinaryLower, truncatedBinaryUpper, truncatedStringLower, truncatedStringUpper } from '../../src/iceberg/bounds.ts'

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)
const hex = (value: Uint8Array | null): string | null => (value === null ? null : Buffer.from(value).toString('hex'))

test('binary bounds keep values of up to 16 bytes whole and truncate longer ones to 16 bytes, the upper one incremented with carry', () => {
  const short = bytes(1, 2, 3)
  expect(hex(truncatedBinaryLower(short))).toBe('010203')
  expect(hex(truncatedBinaryUpper(short))).toBe('010203')
  const long = bytes(...Array.from({ length: 20 }, (_, i) => i))
  expect(hex(truncatedBinaryLower(long))).toBe('000102030405060708090a0b0c0d0e0f')
  expect(hex(truncatedBinaryUpper(long))).toBe('000102030405060708090a0b0c0d0e10')
  // Trailing 0xff bytes carry into the byte before them and are dropped.
  expect(hex(truncatedBinaryUpper(bytes(...Array(14).fill(7), 0xff, 0xff, 0)))).toBe('0707070707070707070707070708')
  // No 16-byte value lies above sixteen 0xff followed by more: no upper bound.
  expect(truncatedBinaryUpper(bytes(...Array(17).fill(0xff)))).toBeNull()
})

test('string bounds truncate to 16 code points (not bytes), the upper one incrementing the last code point, skipping surrogates', () => {
  expect(Buffer.from(truncatedStringLower('short')).toString()).toBe('short')
  expect(Buffer.from(truncatedStringUpper('short')!).toString()).toBe('short')
  const snowmen = '☃'.repeat(20)
  expect(Buffer.from(truncatedStringLower(snowmen)).toString()).toBe('☃'.repeat(16))
  expect(Buffer.from(truncatedStringUpper(snowmen)!).toString()).toBe(`${'☃'.repeat(15)}☄`)
  expect(Buffer.from(truncatedStringUpper(`${'a'.repeat(15)}\u{d7ff}zz`)!).toString()).toBe(`${'a'.repeat(15)}\u{e000}`)
  expect(Buffer.from(truncatedStringUpper(`${'a'.repeat(15)}\u{10ffff}zz`)!).toString()).toBe(`${'a'.repeat(14)}b`)
  expect(truncatedStringUpper('\u{10ffff}'.repeat(17))).toBeNull()
})

test('a BytesRange finds the minimum and maximum by unsigned bytes, exact on long values after truncation', () => {
  const range = new BytesRange('binary')
  const values = [Buffer.from('key-10'), Buffer.from('key-9'), Buffer.from([0xff, 0]), Buffer.alloc(0), Buffer.from('x'.repeat(40))]
  for (const value of values) range.add(value, 0, value.length)
  const [lower, upper] = range.binaryBounds()
  expect(hex(lower)).toBe('')
  expect(hex(upper)).toBe('ff00')
  const strings = new BytesRange('string')
  for (const value of ['b', 'ab', 'é'.repeat(30)]) strings.add(Buffer.from(value), 0, Buffer.byteLength(value))
  const [low, high] = strings.stringBounds()
  expect(Buffer.from(low!).toString()).toBe('ab')
  expect(Buffer.from(high!).toString()).toBe(`${'é'.repeat(15)}ê`)
})
