// compacted-topic: what the harness does before the client runs (write many versions per key, have
// them flushed and cleaned) and the check of what a client read, shared by the TypeScript families and
// the broker-side check (drivers in other languages check the same rules themselves).
import { produceReference, readPartition } from './reader.ts'
import { compacted } from './scenarios.ts'

export interface ReadRecord {
  offset: number
  key: Buffer | null
  value: Buffer | null
}

interface BrokerAddress {
  bootstrap: string
  httpUrl: string
}

/**
 * Writes the scenario's records in batches, flushes the table (the cleaner only touches what is in
 * Iceberg) and waits until the log cleaner has removed older versions.
 */
export async function prepareCompacted(broker: BrokerAddress, topic: string): Promise<void> {
  for (let first = 0; first < compacted.count; first += compacted.batchRecords) {
    await produceReference(broker.bootstrap, topic, Array.from({ length: compacted.batchRecords }, (_, i) => ({
      partition: 0, key: compacted.key(first + i), value: compacted.value(first + i),
    })))
  }
  const flushed = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
  if (flushed.status !== 200) throw new Error(`flushing ${topic} answered ${flushed.status}`)
  const deadline = Date.now() + 30_000
  for (;;) {
    const stored = await readPartition(broker.bootstrap, topic, 0)
    if (stored.records.length < compacted.count / 2) return
    if (Date.now() > deadline) throw new Error(`the log cleaner did not clean ${topic} in 30 s (${stored.records.length} records)`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Why `records` (read from the beginning up to the last offset) are not a compaction of the scenario's records, or null. */
export function compactedProblem(records: readonly ReadRecord[]): string | null {
  let previous = -1
  const lastOfKey = new Map<string, number>()
  for (const { offset, key, value } of records) {
    if (offset <= previous) return `offset ${offset} after ${previous}`
    previous = offset
    if (offset >= compacted.count) return `offset ${offset} was never written`
    if (key === null || !key.equals(compacted.key(offset))) return `key at offset ${offset} is ${key?.toString() ?? 'null'}`
    const expected = compacted.value(offset)
    if (expected === null ? value !== null : value === null || !value.equals(expected)) return `value at offset ${offset} is ${value === null ? 'null' : JSON.stringify(value.toString())}`
    lastOfKey.set(key.toString(), offset)
  }
  if (previous !== compacted.count - 1) return `read up to offset ${previous}, not ${compacted.count - 1}`
  for (const latest of compacted.latestOffsets()) {
    const key = compacted.key(latest).toString()
    if (lastOfKey.get(key) !== latest) return `the last record of ${key} read is at ${lastOfKey.get(key)}, not its latest ${latest}`
  }
  if (records.length >= compacted.count) return `all ${records.length} records read: nothing was compacted`
  return null
}
