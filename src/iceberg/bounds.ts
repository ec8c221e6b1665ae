// Iceberg's single-value binary serialization (spec, Appendix D), used for column bounds in
// manifests and partition bounds in manifest lists. All numbers little-endian.

export function intBound(value: number): Uint8Array {
  const out = Buffer.alloc(4)
  out.writeInt32LE(value)
  return out
}

/** long, timestamp, timestamptz (exact for |value| < 2^53). */
export function longBound(value: number | bigint): Uint8Array {
  const out = Buffer.alloc(8)
  out.writeBigInt64LE(typeof value === 'bigint' ? value : BigInt(value))
  return out
}

export function booleanBound(value: boolean): Uint8Array {
  return Uint8Array.of(value ? 1 : 0)
}

/** date: days from 1970-01-01 as an int. */
export const dateBound = intBound

export function stringBound(value: string): Uint8Array {
  return Buffer.from(value, 'utf8')
}

export function decodeIntBound(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readInt32LE(0)
}

export function decodeLongBound(bytes: Uint8Array): bigint {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readBigInt64LE(0)
}
