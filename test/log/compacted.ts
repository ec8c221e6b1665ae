// Test helpers for compacted topics: a deterministic stream of keyed records with tombstones, what a
// partition holds, and what it should hold. No vitest import: the kill -9 child process uses it too.
import type { BrokerLog } from '../../src/log/broker-log.ts'
import type { Partition } from '../../src/log/partition.ts'
import { Topic } from '../../src/log/topic.ts'
import { decodeBatch, encodeBatch } from '../../src/protocol/records.ts'

export interface KeyedRecord {
  offset: number
  key: string
  /** null: a tombstone. */
  value: string | null
}

/** A compacted topic with the given configs (min.cleanable.dirty.ratio 0 and small segments unless set). */
export async function compactedTopic(log: BrokerLog, name: string, configs: Record<string, string> = {}, partitions = 1): Promise<Topic> {
  const created = await log.createTopic(name, partitions, { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0', ...configs })
  if (!(created instanceof Topic)) throw new Error(created.message)
  return created
}

/** xorshift32: the same records every run. */
export function random(seed: number): () => number {
  let state = seed || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x100000000
  }
}

/**
 * Appends `batches` batches of 1-5 records with keys k0..k<keys-1>, about one in `tombstoneEvery`
 * a tombstone; returns every record as written (offsets included).
 */
export async function produceKeyed(log: BrokerLog, topic: Topic, partition: Partition, batches: number, options: { keys?: number; tombstoneEvery?: number; seed?: number; timestamp?: number } = {}): Promise<KeyedRecord[]> {
  const next = random(options.seed ?? 7)
  const keys = options.keys ?? 10
  const written: KeyedRecord[] = []
  for (let b = 0; b < batches; b++) {
    const count = 1 + Math.floor(next() * 5)
    const records: Array<{ key: string; value: string | null }> = []
    for (let i = 0; i < count; i++) {
      const key = `k${Math.floor(next() * keys)}`
      const tombstone = options.tombstoneEvery !== undefined && Math.floor(next() * options.tombstoneEvery) === 0
      records.push({ key, value: tombstone ? null : `${key}=${b}.${i}` })
    }
    const timestamp = options.timestamp ?? 1_000
    const batch = encodeBatch(records.map((r) => ({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value), timestamp })))
    const result = await log.append(topic, partition, batch)
    if (result.errorCode !== 0) throw new Error(`append failed: ${result.errorMessage}`)
    records.forEach((r, i) => written.push({ offset: result.baseOffset + i, ...r }))
  }
  return written
}

/** Every record the partition serves from offset 0, in order. */
export function partitionRecords(partition: Partition): KeyedRecord[] {
  const out: Buffer[] = []
  partition.read(0, Number.POSITIVE_INFINITY, true, out)
  const records: KeyedRecord[] = []
  for (const batch of out) {
    for (const record of decodeBatch(batch).records) {
      records.push({ offset: record.offset, key: record.key!.toString(), value: record.value === null ? null : record.value.toString() })
    }
  }
  return records
}

/** The latest record of every key among `records` (tombstones included), by offset. */
export function latestPerKey(records: readonly KeyedRecord[]): Map<string, KeyedRecord> {
  const latest = new Map<string, KeyedRecord>()
  for (const record of records) latest.set(record.key, record)
  return latest
}

/**
 * Why `served` is not a valid compaction of `written` (or null): ascending offsets, each record exactly
 * as written at its offset, every key's latest record present unless it is a tombstone (those may go).
 */
export function compactionProblem(written: readonly KeyedRecord[], served: readonly KeyedRecord[]): string | null {
  const byOffset = new Map(written.map((r) => [r.offset, r]))
  let previous = -1
  for (const record of served) {
    if (record.offset <= previous) return `offset ${record.offset} after ${previous}`
    previous = record.offset
    const original = byOffset.get(record.offset)
    if (original === undefined || original.key !== record.key || original.value !== record.value) {
      return `record at ${record.offset} is ${JSON.stringify(record)}, written ${JSON.stringify(original)}`
    }
  }
  // A key's last record served is its latest one; only a tombstone may be gone, and then the key altogether.
  const lastServed = latestPerKey(served)
  for (const latest of latestPerKey(written).values()) {
    const last = lastServed.get(latest.key)
    if (latest.value !== null && last?.offset !== latest.offset) return `latest record of ${latest.key} (offset ${latest.offset}) is gone`
    if (latest.value === null && last !== undefined && last.offset !== latest.offset) return `${latest.key} was deleted at ${latest.offset} but ${last.offset} is served`
  }
  return null
}

/** The record the crash test writes at `offset`: a key and a value (or tombstone) that depend on the offset alone. */
export function recordAt(offset: number): KeyedRecord {
  const hash = Math.imul(offset + 1, 0x9e3779b1) >>> 0
  const key = `k${hash % 13}`
  return { offset, key, value: (hash >>> 8) % 6 === 0 ? null : `${key}@${offset}` }
}

/** Appends `batches` batches of 1-4 records, each record `recordAt` its offset. */
export async function produceByOffset(log: BrokerLog, topic: Topic, partition: Partition, batches: number): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const first = partition.nextOffset
    const records = Array.from({ length: 1 + (first % 4) }, (_, i) => recordAt(first + i))
    const batch = encodeBatch(records.map((r) => ({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value), timestamp: 1_000 })))
    const result = await log.append(topic, partition, batch)
    if (result.errorCode !== 0 || result.baseOffset !== first) throw new Error(`append failed: ${result.errorMessage}`)
  }
}
