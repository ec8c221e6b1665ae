import { describe, expect, it } from 'vitest'
import { readInt64, setInt64Words, writeInt64 } from '../../src/protocol/int64.ts'

const SIGNED = [-1, 0, 1, -(2 ** 40), 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1)]

describe('int64 helpers', () => {
  it('round-trip signed 64-bit integers below 2^53 as big-endian two\'s complement', () => {
    const buffer = Buffer.alloc(12)
    for (const value of SIGNED) {
      writeInt64(buffer, 3, value)
      expect(readInt64(buffer, 3)).toBe(value)
      expect(buffer.readBigInt64BE(3)).toBe(BigInt(value))
    }
  })

  it('write non-negative values so that keys built from them sort numerically', () => {
    const values = [0, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]
    const keys = values.map((value) => {
      const key = Buffer.alloc(8)
      writeInt64(key, 0, value)
      expect(key.readBigUInt64BE(0)).toBe(BigInt(value))
      return key
    })
    expect([...keys].reverse().sort(Buffer.compare).map((key) => readInt64(key, 0))).toEqual(values)
  })

  it('set little-endian int64 words in a Uint32Array view over an int64 array', () => {
    const longs = new BigInt64Array(SIGNED.length)
    const words = new Uint32Array(longs.buffer)
    SIGNED.forEach((value, i) => setInt64Words(words, i, value))
    expect([...longs]).toEqual(SIGNED.map(BigInt))
  })
})
