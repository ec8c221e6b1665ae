// Writes of whole records (the HTTP door's) through the same append path as Kafka Produce: each record
// is placed on a partition (explicit, else by key as Kafka clients do, else round robin), records with
// an idempotency key already used on the topic write nothing and answer the first write, and each
// partition's records become record batches of at most the topic's max.message.bytes. All or nothing:
// every record is checked and every batch encoded before the first append.
import { ErrorCode } from '../protocol/generated/errors.ts'
import { recordCountOf } from '../protocol/record-batch.ts'
import { encodeBatches, type RecordHeader, type RecordInput } from '../protocol/records.ts'
import type { AppendListener, AppendResult, BrokerLog, LogError } from './broker-log.ts'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'
import type { IdempotencyKeys } from './idempotency-keys.ts'
import { partitionForKey } from './partitioner.ts'
import type { Topic } from './topic.ts'

/** One record to write. */
export interface RecordToWrite {
  key: Buffer | null
  value: Buffer
  headers: RecordHeader[]
  timestamp: number
  /** Explicit partition, or -1: by key, else round robin. */
  partition: number
  /** Deduplicates the write per topic (stored as the record's idempotency_key header), or null. */
  idempotencyKey: string | null
}

/** Where a record was written (for a repeated idempotency key: where the first write went). */
export interface WrittenRecord {
  partition: number
  offset: number
}

/** Why nothing was written: a Kafka error, and the record at fault (-1: none in particular). */
export interface WriteRefusal extends LogError {
  record: number
}

/** The records of one request for one partition, appended as one call; told when the append got its offsets. */
class PartitionWrite implements AppendListener {
  readonly topicId: string
  readonly partition: number
  readonly records: number[] = []
  readonly #keys: IdempotencyKeys
  readonly #placed: readonly RecordToWrite[]
  readonly #nowMs: number

  constructor(topicId: string, partition: number, keys: IdempotencyKeys, placed: readonly RecordToWrite[], nowMs: number) {
    this.topicId = topicId
    this.partition = partition
    this.#keys = keys
    this.#placed = placed
    this.#nowMs = nowMs
  }

  accepted(baseOffset: number, result: Promise<AppendResult>): void {
    // In the append's tick, so keys and records land in one commit.
    const keys: Array<{ key: string; offset: number }> = []
    for (let n = 0; n < this.records.length; n++) {
      const key = this.#placed[this.records[n]!]!.idempotencyKey
      if (key !== null) keys.push({ key, offset: baseOffset + n })
    }
    this.#keys.remember(this.topicId, this.partition, keys, this.#nowMs, result.then((appended) => appended.errorCode === ErrorCode.NONE))
  }
}

export class RecordWriter {
  readonly #log: BrokerLog
  readonly #keys: IdempotencyKeys
  #roundRobin = 0

  constructor(log: BrokerLog, keys: IdempotencyKeys) {
    this.#log = log
    this.#keys = keys
  }

  /** Writes the records and answers each one's partition and offset, in input order; or writes nothing and says why. */
  async write(topic: Topic, records: readonly RecordToWrite[], nowMs = Date.now()): Promise<WrittenRecord[] | WriteRefusal> {
    const partitionCount = topic.partitions.length
    const placed = new Array<number>(records.length)
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      if (record.partition >= partitionCount) {
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `partition ${record.partition} does not exist; topic ${topic.name} has ${partitionCount}`, record: i }
      }
      placed[i] = record.partition >= 0 ? record.partition : record.key !== null ? partitionForKey(record.key, partitionCount) : this.#roundRobin++ % partitionCount
    }
    // One promise per partition write (and per earlier write still in flight) fills the answers: a promise per
    // record cost a 1,000-record bulk write 2,000 promises and closures.
    const results = new Array<WrittenRecord>(records.length)
    const pending: Array<Promise<WriteRefusal | null>> = []
    /** [record, earlier record in this request with the same key]: copied once all are known. */
    const repeats: Array<[number, number]> = []
    const byPartition = new Map<number, PartitionWrite>()
    const firstByKey = new Map<string, number>()
    for (let i = 0; i < records.length; i++) {
      const key = records[i]!.idempotencyKey
      if (key !== null) {
        // Keys are unique per topic: a retry gets the first write's partition, whichever this one was placed on.
        const earlier = this.#keys.lookup(topic.id, key, nowMs)
        if (earlier !== undefined) {
          if (earlier instanceof Promise) pending.push(earlier.then((written) => (written === null ? notStored(key, i) : (results[i] = written, null))))
          else results[i] = earlier
          continue
        }
        // The same key twice in one request: the second answers with the first.
        const firstInRequest = firstByKey.get(key)
        if (firstInRequest !== undefined) {
          repeats.push([i, firstInRequest])
          continue
        }
        firstByKey.set(key, i)
      }
      const partition = placed[i]!
      let write = byPartition.get(partition)
      if (write === undefined) byPartition.set(partition, write = new PartitionWrite(topic.id, partition, this.#keys, records, nowMs))
      write.records.push(i)
    }
    // Encode and size-check every batch before the first append. A partition's records go in as many batches as
    // max.message.bytes needs; only a record too large for a batch of its own is refused.
    const encoded: Buffer[] = []
    for (const write of byPartition.values()) {
      const batches = encodeBatches(write.records.map((i) => inputOf(records[i]!)), topic.maxMessageBytes)
      let first = 0
      for (const batch of batches) {
        if (batch.length > topic.maxMessageBytes) {
          return { errorCode: ErrorCode.MESSAGE_TOO_LARGE, message: `takes ${batch.length} bytes as a record batch, over max.message.bytes ${topic.maxMessageBytes}`, record: write.records[first]! }
        }
        first += recordCountOf(batch)
      }
      encoded.push(batches.length === 1 ? batches[0]! : Buffer.concat(batches))
    }
    let w = 0
    for (const write of byPartition.values()) {
      const appended = this.#log.append(topic, topic.partitions[write.partition]!, encoded[w++]!, write)
      pending.push(appended.then((result) => {
        if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, message: result.errorMessage ?? `write refused with Kafka error ${result.errorCode}`, record: -1 }
        for (let n = 0; n < write.records.length; n++) results[write.records[n]!] = { partition: write.partition, offset: result.baseOffset + n }
        return null
      }))
    }
    for (const refusal of await Promise.all(pending)) if (refusal !== null) return refusal
    for (const [i, first] of repeats) results[i] = results[first]!
    return results
  }
}

function inputOf(record: RecordToWrite): RecordInput {
  if (record.idempotencyKey === null) return record
  return { key: record.key, value: record.value, headers: [...record.headers, { key: IDEMPOTENCY_KEY, value: Buffer.from(record.idempotencyKey, 'utf8') }], timestamp: record.timestamp }
}

function notStored(key: string, record: number): WriteRefusal {
  return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: `the first write with idempotency key ${key} was not stored (disk full); retry`, record }
}
