// The classic-level half of the hot store: topic records, partition states, the batch index,
// the log checkpoint and generic state rows (key layout in keys.ts), with compact binary
// values. Writes run one at a time in the order they are issued, so of two writes of one
// partition row the one encoded later always lands later.
import { ClassicLevel } from 'classic-level'
import { ZombiError } from '../errors.ts'
import { readInt64, writeInt64 } from '../protocol/int64.ts'
import type { IndexEntry, PartitionState, TopicRecord } from './hot-store.ts'
import {
  CHECKPOINT_KEY, PREFIX_INDEX, PREFIX_PARTITION, PREFIX_TOPIC, VERSION_KEY, keyBaseOffset, keyPartition, keyTopicId,
  prefixRange, stateRange, topicKey, topicRange,
} from './keys.ts'

/** Bumped when keys, values or the frame format change incompatibly. */
const FORMAT_VERSION = 1

export type IndexOperation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }

export interface Checkpoint {
  segment: number
  position: number
}

export interface StoredPartitionState {
  topicId: string
  partition: number
  state: PartitionState
}

// Partition state: [u64 log start offset][u64 next offset][u64 flushed offset]
export function encodePartitionState(state: PartitionState): Buffer {
  const value = Buffer.allocUnsafe(24)
  writeInt64(value, 0, state.logStartOffset)
  writeInt64(value, 8, state.nextOffset)
  writeInt64(value, 16, state.flushedOffset)
  return value
}

export function decodePartitionState(value: Buffer): PartitionState {
  return { logStartOffset: readInt64(value, 0), nextOffset: readInt64(value, 8), flushedOffset: readInt64(value, 16) }
}

// Index value: [u32 segment][u64 position][u32 size][u32 last offset delta][i64 max timestamp]
export function encodeIndexValue(segment: number, position: number, size: number, lastOffsetDelta: number, maxTimestamp: number): Buffer {
  const value = Buffer.allocUnsafe(28)
  value.writeUInt32BE(segment, 0)
  writeInt64(value, 4, position)
  value.writeUInt32BE(size, 12)
  value.writeUInt32BE(lastOffsetDelta, 16)
  writeInt64(value, 20, maxTimestamp)
  return value
}

export function decodeIndexEntry(key: Buffer, value: Buffer): IndexEntry {
  const baseOffset = keyBaseOffset(key)
  return {
    baseOffset,
    lastOffset: baseOffset + value.readUInt32BE(16),
    maxTimestamp: readInt64(value, 20),
    segment: value.readUInt32BE(0),
    position: readInt64(value, 4),
    size: value.readUInt32BE(12),
  }
}

// Checkpoint: [u32 segment][u64 position] — every frame before it is reflected in the index.
export function encodeCheckpoint(segment: number, position: number): Buffer {
  const value = Buffer.allocUnsafe(12)
  value.writeUInt32BE(segment, 0)
  writeInt64(value, 4, position)
  return value
}

export class LevelIndex {
  readonly location: string
  #db: ClassicLevel<Buffer, Buffer>
  #tail: Promise<void> = Promise.resolve()
  /**
   * The first write that failed. classic-level keeps accepting writes after a failed write-ahead
   * log append, but their records sit after a torn one and are dropped when the log is recovered
   * (checked on a full tmpfs: a write after the failure was readable, then gone after a reopen),
   * so no write is issued again until the database is reopened.
   */
  #failure: unknown = null

  constructor(location: string) {
    this.location = location
    this.#db = LevelIndex.#database(location)
  }

  static #database(location: string): ClassicLevel<Buffer, Buffer> {
    return new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  }

  /** A write failed since the last open: every further write is refused until reopen(). */
  get failed(): boolean {
    return this.#failure !== null
  }

  /**
   * Closes and opens the database again after a failed write: classic-level recovers its
   * write-ahead log, dropping the torn record, and accepts writes again.
   */
  async reopen(): Promise<void> {
    await this.#tail
    if (this.#db.status === 'open') await this.#db.close()
    this.#db = LevelIndex.#database(this.location)
    await this.open()
    this.#failure = null
  }

  async open(): Promise<void> {
    await this.#db.open()
    try {
      await this.#checkVersion()
    } catch (error) {
      await this.#db.close()
      throw error
    }
  }

  async #checkVersion(): Promise<void> {
    const stored = await this.#db.get(VERSION_KEY)
    if (stored === undefined) {
      for await (const _ of this.#db.keys({ limit: 1 })) {
        throw new ZombiError('STORAGE_CORRUPT', `${this.location} holds an index without a format version (an early development format); move the data directory away`)
      }
      await this.#db.put(VERSION_KEY, encodeVersion(FORMAT_VERSION), { sync: true })
      return
    }
    const version = stored.readUInt32BE(0)
    if (version !== FORMAT_VERSION) {
      throw new ZombiError('STORAGE_CORRUPT', `${this.location} was written in storage format ${version}; this Zombi reads format ${FORMAT_VERSION}`)
    }
  }

  async close(): Promise<void> {
    await this.#tail
    await this.#db.close()
  }

  async topics(): Promise<TopicRecord[]> {
    const topics: TopicRecord[] = []
    for await (const value of this.#db.values(prefixRange(PREFIX_TOPIC))) topics.push(JSON.parse(value.toString('utf8')) as TopicRecord)
    return topics
  }

  async partitionStates(): Promise<StoredPartitionState[]> {
    const states: StoredPartitionState[] = []
    for await (const [key, value] of this.#db.iterator(prefixRange(PREFIX_PARTITION))) {
      states.push({ topicId: keyTopicId(key), partition: keyPartition(key), state: decodePartitionState(value) })
    }
    return states
  }

  /** Every index entry, ascending by (topic id, partition, base offset). */
  async forEachEntry(visit: (topicId: string, partition: number, entry: IndexEntry, key: Buffer) => void): Promise<void> {
    let topicId = ''
    let topicBytes: Buffer | null = null
    for await (const [key, value] of this.#db.iterator(prefixRange(PREFIX_INDEX))) {
      // Keys of one topic come together: convert its id once.
      if (topicBytes === null || key.compare(topicBytes, 0, 16, 1, 17) !== 0) {
        topicBytes = key.subarray(1, 17)
        topicId = keyTopicId(key)
      }
      visit(topicId, keyPartition(key), decodeIndexEntry(key, value), key)
    }
  }

  async checkpoint(): Promise<Checkpoint | undefined> {
    const value = await this.#db.get(CHECKPOINT_KEY)
    return value === undefined ? undefined : { segment: value.readUInt32BE(0), position: readInt64(value, 4) }
  }

  /** State rows whose key starts with `prefix`, in key order. */
  async scanState(prefix: string): Promise<Array<{ key: string; value: Buffer }>> {
    const rows: Array<{ key: string; value: Buffer }> = []
    for await (const [key, value] of this.#db.iterator(stateRange(prefix))) rows.push({ key: key.toString('utf8', 1), value })
    return rows
  }

  /** Applies one batch atomically, after every write issued before it. */
  write(operations: IndexOperation[], sync: boolean): Promise<void> {
    return this.#serialized(() => this.#db.batch(operations, { sync }))
  }

  /** Deletes the rows with keys in [from, to), after every write issued before. */
  clearRange(from: Buffer, to: Buffer): Promise<void> {
    return this.#serialized(() => this.#db.clear({ gte: from, lt: to }))
  }

  /**
   * Deletes a topic: its record first (durably, the delete is then decided), then its index
   * and partition rows. A crash in between leaves partition rows of an unknown topic, which
   * `clearTopicRows` removes at the next open.
   */
  deleteTopic(id: Buffer, sync: boolean): Promise<void> {
    return this.#serialized(async () => {
      await this.#db.del(topicKey(id), { sync })
      await this.#db.clear(topicRange(PREFIX_INDEX, id))
      await this.#db.clear(topicRange(PREFIX_PARTITION, id))
    })
  }

  /** Index and partition rows of a topic without a record (an interrupted delete). */
  clearTopicRows(id: Buffer): Promise<void> {
    return this.#serialized(async () => {
      await this.#db.clear(topicRange(PREFIX_INDEX, id))
      await this.#db.clear(topicRange(PREFIX_PARTITION, id))
    })
  }

  #serialized(task: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(() => {
      if (this.#failure !== null) throw this.#failure
      return task()
    })
    this.#tail = run.catch((error: unknown) => {
      this.#failure ??= error
    })
    return run
  }
}

function encodeVersion(version: number): Buffer {
  const value = Buffer.allocUnsafe(4)
  value.writeUInt32BE(version, 0)
  return value
}
