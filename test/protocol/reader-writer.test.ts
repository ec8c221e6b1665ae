import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.ts'
import { Writer } from '../../src/protocol/writer.ts'

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex')
}

function written(fn: (w: Writer) => void): string {
  const w = new Writer(8)
  fn(w)
  return w.toBuffer().toString('hex')
}

describe('fixed-width integers', () => {
  it('encode big-endian and read back signed and unsigned', () => {
    expect(written((w) => { w.int8(-2); w.int16(-2); w.uint16(65535); w.int32(-2); w.uint32(4294967295) })).toBe('fe' + 'fffe' + 'ffff' + 'fffffffe' + 'ffffffff')
    const r = new Reader(hex('fe fffe ffff fffffffe ffffffff'))
    expect([r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32()]).toEqual([-2, -2, 65535, -2, 4294967295])
    expect(r.remaining).toBe(0)
  })

  it('int64 is exact up to 2^53 and for negatives', () => {
    const cases: [number, string][] = [
      [0, '0000000000000000'],
      [1, '0000000000000001'],
      [-1, 'ffffffffffffffff'],
      [2 ** 32, '0000000100000000'],
      [2 ** 32 - 1, '00000000ffffffff'],
      [-(2 ** 32), 'ffffffff00000000'],
      [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
      [-Number.MAX_SAFE_INTEGER, 'ffe0000000000001'],
      [1700000000123, '0000018bcfe5687b'],
    ]
    for (const [value, bytes] of cases) {
      expect(written((w) => w.int64(value))).toBe(bytes)
      expect(new Reader(hex(bytes)).int64()).toBe(value)
    }
  })

  it('int64 round-trips every safe integer', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (v) => {
      const w = new Writer()
      w.int64(v)
      return new Reader(w.toBuffer()).int64() === v
    }))
  })

  it('float64 and bool', () => {
    expect(written((w) => { w.float64(1.5); w.bool(true); w.bool(false) })).toBe('3ff8000000000000' + '01' + '00')
    const r = new Reader(hex('3ff8000000000000 01 00 07'))
    expect([r.float64(), r.bool(), r.bool(), r.bool()]).toEqual([1.5, true, false, true])
  })
})

describe('varints', () => {
  it('unsigned varints at the 7-bit boundaries', () => {
    const cases: [number, string][] = [
      [0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [16383, 'ff7f'], [16384, '808001'],
      [2 ** 31 - 1, 'ffffffff07'], [2 ** 32 - 1, 'ffffffff0f'],
    ]
    for (const [value, bytes] of cases) {
      expect(written((w) => w.uvarint(value))).toBe(bytes)
      expect(new Reader(hex(bytes)).uvarint()).toBe(value)
    }
  })

  it('signed zigzag varints', () => {
    const cases: [number, string][] = [[0, '00'], [-1, '01'], [1, '02'], [-2, '03'], [63, '7e'], [-64, '7f'], [64, '8001'], [2 ** 31 - 1, 'feffffff0f'], [-(2 ** 31), 'ffffffff0f']]
    for (const [value, bytes] of cases) {
      expect(written((w) => w.varint(value))).toBe(bytes)
      expect(new Reader(hex(bytes)).varint()).toBe(value)
    }
  })

  it('varlongs beyond 32 bits', () => {
    const cases: [number, string][] = [[0, '00'], [-1, '01'], [2 ** 32, '8080808020'], [-(2 ** 32) - 1, '8180808020'], [2 ** 51, '8080808080808008']]
    for (const [value, bytes] of cases) {
      expect(written((w) => w.varlong(value))).toBe(bytes)
      expect(new Reader(hex(bytes)).varlong()).toBe(value)
    }
    fc.assert(fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), (v) => {
      const w = new Writer()
      w.varlong(v)
      return new Reader(w.toBuffer()).varlong() === v
    }))
  })

  it('rejects overlong and truncated varints', () => {
    expect(() => new Reader(hex('ffffffff1f')).uvarint()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('ffffffffff01')).uvarint()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('8080')).uvarint()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('ffffffffffffffffffff01')).varlong()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('80')).varlong()).toThrow(ProtocolDecodeError)
  })
})

describe('strings, bytes and uuids', () => {
  it('classic and compact strings, null included', () => {
    expect(written((w) => { w.string('ab'); w.nullableString(null); w.compactString('ab'); w.compactNullableString(null); w.compactString('') })).toBe('00026162' + 'ffff' + '036162' + '00' + '01')
    const r = new Reader(hex('00026162 ffff 036162 00 01'))
    expect([r.string(), r.nullableString(), r.compactString(), r.compactNullableString(), r.compactString()]).toEqual(['ab', null, 'ab', null, ''])
  })

  it('strings are UTF-8 with byte lengths', () => {
    expect(written((w) => w.string('é'))).toBe('0002c3a9')
    expect(new Reader(hex('03c3a9')).compactString()).toBe('é')
  })

  it('null is rejected where the type is not nullable', () => {
    expect(() => new Reader(hex('ffff')).string()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('00')).compactString()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('ffffffff')).bytes()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('fffe')).nullableString()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('fffffffe')).nullableBytes()).toThrow(ProtocolDecodeError)
  })

  it('bytes are subarrays of the input, not copies', () => {
    const input = hex('00000002 abcd 03 ef01')
    const r = new Reader(input)
    const a = r.bytes()
    const b = r.compactBytes()
    expect(a.toString('hex')).toBe('abcd')
    expect(b.toString('hex')).toBe('ef01')
    expect(a.buffer).toBe(input.buffer)
    expect(b.byteOffset).toBe(input.byteOffset + 7)
    expect(new Reader(hex('ffffffff 00')).nullableBytes()).toBeNull()
    expect(new Reader(hex('00')).compactNullableBytes()).toBeNull()
  })

  it('uuids are canonical lowercase strings', () => {
    const id = '0123abcd-4567-89ef-fedc-ba9876543210'
    expect(written((w) => w.uuid(id))).toBe(id.replaceAll('-', ''))
    expect(written((w) => w.uuid(id.toUpperCase()))).toBe(id.replaceAll('-', ''))
    expect(new Reader(hex(id.replaceAll('-', ''))).uuid()).toBe(id)
    expect(() => new Writer().uuid('0123')).toThrow(/invalid (uuid|hex digit)/)
    expect(() => new Writer().uuid(id + '00')).toThrow(/invalid (uuid|hex digit)/)
    expect(() => new Writer().uuid(id.replace('0', 'g'))).toThrow(/invalid (uuid|hex digit)/)
  })
})

describe('arrays and tagged fields', () => {
  it('array lengths: -1 means null, compact uses n+1', () => {
    expect(written((w) => { w.arrayLength(2); w.arrayLength(-1); w.compactArrayLength(2); w.compactArrayLength(-1) })).toBe('00000002' + 'ffffffff' + '03' + '00')
    const r = new Reader(hex('00000000 ffffffff 01 00'))
    expect([r.arrayLength(), r.arrayLength(), r.compactArrayLength(), r.compactArrayLength()]).toEqual([0, -1, 0, -1])
  })

  it('array lengths larger than the remaining bytes are rejected before allocating', () => {
    expect(() => new Reader(hex('7fffffff 00')).arrayLength()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('fffffffe')).arrayLength()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('ffffffff07')).compactArrayLength()).toThrow(ProtocolDecodeError)
  })

  it('unknown tagged fields are skipped, known ones handed to the callback', () => {
    // two fields: tag 0 with 4 bytes, tag 5 with 1 byte; then a trailing int8
    const input = hex('02 00 04 00000007 05 01 ff 2a')
    const seen: [number, number][] = []
    const r = new Reader(input)
    r.readTaggedFields((tag, size, reader) => {
      seen.push([tag, size])
      if (tag === 0) expect(reader.int32()).toBe(7)
    })
    expect(seen).toEqual([[0, 4], [5, 1]])
    expect(r.int8()).toBe(42)
    const skipping = new Reader(input)
    skipping.skipTaggedFields()
    expect(skipping.int8()).toBe(42)
  })

  it('a tagged field longer than the input is rejected', () => {
    expect(() => new Reader(hex('01 00 09 0000')).skipTaggedFields()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('01 00 09 0000')).readTaggedFields(() => undefined)).toThrow(ProtocolDecodeError)
  })
})

describe('truncated input', () => {
  it('every primitive throws ProtocolDecodeError instead of reading past the end', () => {
    const reads: ((r: Reader) => unknown)[] = [
      (r) => r.int8(), (r) => r.int16(), (r) => r.uint16(), (r) => r.int32(), (r) => r.uint32(), (r) => r.int64(),
      (r) => r.float64(), (r) => r.bool(), (r) => r.uuid(), (r) => r.string(), (r) => r.bytes(), (r) => r.uvarint(),
    ]
    for (const read of reads) {
      const error = (() => {
        try {
          read(new Reader(Buffer.alloc(0)))
        } catch (e) {
          return e
        }
        return null
      })()
      expect(error).toBeInstanceOf(ProtocolDecodeError)
      expect((error as Error).name).toBe('ProtocolDecodeError')
    }
    expect(() => new Reader(hex('0005 6162')).string()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('00000005 6162')).bytes()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('06 6162')).compactString()).toThrow(ProtocolDecodeError)
    expect(() => new Reader(hex('0001')).skip(3)).toThrow(ProtocolDecodeError)
  })

  it('reads respect a non-zero start offset', () => {
    const r = new Reader(hex('ff 0001'), 1)
    expect(r.remaining).toBe(2)
    expect(r.int16()).toBe(1)
  })
})

describe('Writer buffers', () => {
  it('grows past its initial capacity', () => {
    const w = new Writer(16)
    for (let i = 0; i < 1000; i++) w.int32(i)
    const r = new Reader(w.toBuffer())
    for (let i = 0; i < 1000; i++) expect(r.int32()).toBe(i)
    expect(w.length).toBe(4000)
  })

  it('chunks are appended without copying and the size prefix is patched across them', () => {
    const big = Buffer.alloc(1000, 7)
    const w = new Writer(16)
    const size = w.reserveInt32()
    w.int16(1)
    w.records(false, [big, Buffer.from('xy')])
    w.int8(9)
    w.patchInt32(size, w.length - 4)
    const chunks = w.toChunks()
    expect(chunks).toContain(big)
    const all = w.toBuffer()
    expect(all.length).toBe(4 + 2 + 4 + 1002 + 1)
    expect(all.readInt32BE(0)).toBe(all.length - 4)
    expect(all.readInt32BE(6)).toBe(1002)
    expect(all[all.length - 1]).toBe(9)
  })

  it('patches a position that lies inside a later chunk of scratch bytes', () => {
    const w = new Writer(16)
    w.int8(1)
    w.chunk(Buffer.from('abc'))
    const position = w.reserveInt32()
    w.chunk(Buffer.from('de'))
    w.patchInt32(position, 0x01020304)
    expect(w.toBuffer().toString('hex')).toBe('01' + '616263' + '01020304' + '6465')
  })

  it('records as a single buffer, compact and null', () => {
    expect(written((w) => { w.records(true, Buffer.from('ab')); w.records(true, null); w.records(false, null) })).toBe('036162' + '00' + 'ffffffff')
  })

  it('reset() never overwrites buffers handed out before', () => {
    const w = new Writer(16)
    w.int32(0x11111111)
    const first = w.toChunks()[0]!
    w.reset()
    w.int32(0x22222222)
    expect(first.toString('hex')).toBe('11111111')
    expect(w.toBuffer().toString('hex')).toBe('22222222')
    expect(w.length).toBe(4)
  })
})
