// Test data for the storage tests: topic records and valid Kafka v2 record batches. No vitest
// import, so the crash-test child process can use it too.
import { randomUUID } from 'node:crypto'
import { encodeBatch } from '../../src/protocol/records.ts'
import { indexTimestampOf, patchBaseOffset } from '../../src/protocol/record-batch.ts'
import type { AppendRequest, TopicRecord } from '../../src/storage/hot-store.ts'

export const BASE_TIMESTAMP = 1_700_000_000_000

export function topicRecord(name: string, partitions = 1): TopicRecord {
  return { id: randomUUID(), name, partitions, configs: {}, createdAtMs: BASE_TIMESTAMP }
}

/** A valid batch (CRC-32C and all) of `count` records from `baseOffset`, values `<tag>-<offset>` padded to `valueBytes`. */
export function batchAt(baseOffset: number, count = 1, tag = 'v', valueBytes = 0): Buffer {
  const records = Array.from({ length: count }, (_, i) => {
    const text = `${tag}-${baseOffset + i}`
    return { key: null, value: Buffer.from(text.padEnd(valueBytes, '.')), timestamp: BASE_TIMESTAMP + baseOffset + i }
  })
  const batch = encodeBatch(records)
  patchBaseOffset(batch, baseOffset)
  return batch
}

/** An append of `batchAt(baseOffset, count, tag)` with the index fields taken from the batch. */
export function appendOf(topicId: string, partition: number, baseOffset: number, count = 1, tag = 'v', valueBytes = 0): AppendRequest {
  const bytes = batchAt(baseOffset, count, tag, valueBytes)
  // A valid batch, CRC and all: the store may rely on its CRC (checked-batch frames), as for the broker's appends.
  return { topicId, partition, baseOffset, lastOffset: baseOffset + count - 1, maxTimestamp: indexTimestampOf(bytes), bytes, batchCrcChecked: true }
}
