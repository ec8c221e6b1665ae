// Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive,
// modulo the partition count, so Zombi's HTTP door places keys where Kafka clients would.

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's murmur2 (32-bit, seed 0x9747b28c) of the bytes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const fours = length & ~3
  for (let i = 0; i < fours; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const rest = length & 3
  if (rest === 3) h ^= data[fours + 2]! << 16
  if (rest >= 2) h ^= data[fours + 1]! << 8
  if (rest >= 1) {
    h ^= data[fours]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions
}
