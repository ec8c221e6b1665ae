import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey } from '../../src/log/partitioner.ts'

describe('Kafka default partitioner', () => {
  // Reference values of Kafka's Utils.murmur2 (org.apache.kafka.common.utils), as Java ints.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%s) = %d', (text, expected) => {
    expect(murmur2(Buffer.from(text))).toBe(expected)
  })

  it('maps keys to a partition in range, the same key always to the same one', () => {
    for (const key of ['user-1', 'user-2', '', 'x'.repeat(100)]) {
      const partition = partitionForKey(Buffer.from(key), 7)
      expect(partition).toBeGreaterThanOrEqual(0)
      expect(partition).toBeLessThan(7)
      expect(partitionForKey(Buffer.from(key), 7)).toBe(partition)
    }
  })
})
