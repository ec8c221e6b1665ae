// Test helper: every batch a partition holds in the hot log, as stored.
import type { Partition } from '../../src/log/partition.ts'

export function storedBatches(partition: Partition): Buffer[] {
  const out: Buffer[] = []
  partition.read(0, Number.POSITIVE_INFINITY, true, out)
  return out
}
