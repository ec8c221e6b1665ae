// Broker-side recompression for topics whose compression.type is a codec rather than `producer`:
// a batch's records section is decompressed and compressed again with the topic's codec, as a Kafka
// broker does. The records' bytes (offset and timestamp deltas, keys, values, headers) and every
// header field but the codec bits, the length and the CRC stay as the producer wrote them, so
// idempotent and transactional batches keep their producer id, epoch and sequences.
import { crc32c } from '@node-rs/crc32'
import { compress, decompress } from './compression.ts'
import { ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTRIBUTES, BATCH_LENGTH, CRC, LOG_OVERHEAD, RECORDS, attributesOf, batchSize } from './record-batch.ts'

/**
 * The batch at `position` of `batches` with its records compressed by `codec` (0: none), or null when it
 * already uses that codec or is a control batch (control records stay uncompressed, as in Kafka).
 * Throws when the batch's own compressed records cannot be decoded.
 */
export function recompressBatch(batches: Buffer, position: number, codec: number): Buffer | null {
  const attributes = attributesOf(batches, position)
  if ((attributes & ATTR_COMPRESSION_MASK) === codec || (attributes & ATTR_CONTROL) !== 0) return null
  const size = batchSize(batches, position)
  const records = decompress(attributes & ATTR_COMPRESSION_MASK, batches.subarray(position + RECORDS, position + size))
  const body = compress(codec, records)
  const batch = Buffer.allocUnsafe(RECORDS + body.length)
  batches.copy(batch, 0, position, position + RECORDS)
  body.copy(batch, RECORDS)
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH)
  batch.writeInt16BE((attributes & ~ATTR_COMPRESSION_MASK) | codec, ATTRIBUTES)
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)) >>> 0, CRC)
  return batch
}

/** Every batch of `batches` in `codec` (see recompressBatch); the same buffer when none changes. */
export function recompressBatches(batches: Buffer, codec: number): Buffer {
  const parts: Buffer[] = []
  let changed = false
  for (let position = 0; position < batches.length;) {
    const size = batchSize(batches, position)
    const recompressed = recompressBatch(batches, position, codec)
    if (recompressed !== null) changed = true
    parts.push(recompressed ?? batches.subarray(position, position + size))
    position += size
  }
  return changed ? (parts.length === 1 ? parts[0]! : Buffer.concat(parts)) : batches
}
