// HTTP writes through the same append path as Kafka Produce: records become record batches per
// partition (idempotency key in a header), appended with the configured durability.
import { HttpProblem } from '../errors.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { recordCountOf } from '../protocol/record-batch.ts'
import { encodeBatches, type RecordHeader, type RecordInput } from '../protocol/records.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import type { IdempotencyKeys } from '../log/idempotency-keys.ts'
import { partitionForKey } from '../log/partitioner.ts'
import { Topic } from '../log/topic.ts'
import { topicNameProblem } from '../log/topic-config.ts'

import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'

export interface HttpRecord {
  payload: string
  encoding?: 'utf8' | 'base64'
  key?: string | null
  headers?: Record<string, string>
  partition?: number
  timestamp_ms?: number
  [IDEMPOTENCY_KEY]?: string
}

/**
 * A write the broker could not store because its disk is full: 507 Insufficient Storage (WebDAV's
 * code, and what happened) rather than a generic 503, with Retry-After since it passes once space
 * returns; nothing of the write is stored, so retrying it is safe.
 */
export function insufficientStorage(message: string): HttpProblem {
  return new HttpProblem('HTTP_INSUFFICIENT_STORAGE', message, 1)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function decode(text: string, encoding: 'utf8' | 'base64', field: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8')
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new HttpProblem('HTTP_INVALID_REQUEST', `${field} is not valid base64`)
  return Buffer.from(text, 'base64')
}

export class TableWriter {
  readonly #log: BrokerLog
  readonly #keys: IdempotencyKeys
  readonly #autoCreate: boolean
  readonly #defaultPartitions: number
  #roundRobin = 0

  constructor(log: BrokerLog, keys: IdempotencyKeys, autoCreate: boolean, defaultPartitions: number) {
    this.#log = log
    this.#keys = keys
    this.#autoCreate = autoCreate
    this.#defaultPartitions = defaultPartitions
  }

  async #topic(name: string): Promise<Topic> {
    const existing = this.#log.topicByName(name)
    if (existing !== undefined) return existing
    const problem = topicNameProblem(name)
    if (problem !== null) throw new HttpProblem('HTTP_INVALID_TABLE', problem)
    if (!this.#autoCreate) throw new HttpProblem('HTTP_NOT_FOUND', `table ${name} does not exist (ZOMBI_AUTO_CREATE_TOPICS is off)`)
    const created = await this.#log.createTopic(name, this.#defaultPartitions, {})
    if (created instanceof Topic) return created
    if (created.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) throw insufficientStorage(created.message)
    // Someone else created it meanwhile.
    const raced = this.#log.topicByName(name)
    if (raced !== undefined) return raced
    throw new HttpProblem('HTTP_INVALID_TABLE', created.message)
  }

  /**
   * Writes records (all validated before anything is written) and returns each record's
   * partition and offset, in input order.
   */
  async write(table: string, records: HttpRecord[]): Promise<Array<{ partition: number; offset: number }>> {
    const topic = await this.#topic(table)
    const now = Date.now()
    // Validate and place every record first: a bad record anywhere means nothing is written.
    const placed = records.map((record, i) => {
      const field = records.length === 1 ? '' : `records[${i}].`
      const encoding = record.encoding ?? 'utf8'
      const value = decode(record.payload, encoding, `${field}payload`)
      const key = record.key === undefined || record.key === null ? null : decode(record.key, encoding, `${field}key`)
      let partition: number
      // 404 as for reads and commits: the request is well formed, the partition is missing.
      if (record.partition !== undefined) {
        if (record.partition >= topic.partitions.length) throw new HttpProblem('HTTP_NOT_FOUND', `${field}partition ${record.partition} does not exist; table ${table} has ${topic.partitions.length}`)
        partition = record.partition
      } else if (key !== null) {
        partition = partitionForKey(key, topic.partitions.length)
      } else {
        partition = this.#roundRobin++ % topic.partitions.length
      }
      const headers: RecordHeader[] = []
      if (record.headers !== undefined) {
        // Reads hide this header (it carries the key), so a header of that name would silently vanish from them.
        if (Object.hasOwn(record.headers, IDEMPOTENCY_KEY)) throw new HttpProblem('HTTP_INVALID_REQUEST', `${field}headers.${IDEMPOTENCY_KEY} is reserved; send the key as the ${IDEMPOTENCY_KEY} field`)
        for (const name in record.headers) headers.push({ key: name, value: Buffer.from(record.headers[name]!, 'utf8') })
      }
      if (record.idempotency_key !== undefined) headers.push({ key: IDEMPOTENCY_KEY, value: Buffer.from(record.idempotency_key, 'utf8') })
      const input: RecordInput = { key, value, headers, timestamp: record.timestamp_ms ?? now }
      return { partition, input, idempotencyKey: record.idempotency_key }
    })
    // One promise per partition batch (and per earlier write still in flight) fills the answers: a promise per
    // record cost a 1,000-record bulk write 2,000 promises and closures.
    const results = new Array<{ partition: number; offset: number }>(records.length)
    const pending: Promise<void>[] = []
    /** [record, earlier record in this request with the same key]: copied once all are known. */
    const repeats: Array<[number, number]> = []
    const byPartition = new Map<number, number[]>()
    // First record index per idempotency key within this request.
    const firstByKey = new Map<string, number>()
    for (let i = 0; i < placed.length; i++) {
      const { partition, idempotencyKey } = placed[i]!
      if (idempotencyKey !== undefined) {
        // Keys are unique per table: a retry gets the first write's partition, whichever this one was placed on.
        const earlier = this.#keys.lookup(topic.id, idempotencyKey, now)
        if (earlier !== undefined) {
          if (earlier instanceof Promise) {
            pending.push(earlier.then((written) => {
              if (written === null) throw insufficientStorage(`the first write with idempotency key ${idempotencyKey} was not stored (disk full); retry`)
              results[i] = written
            }))
          } else {
            results[i] = earlier
          }
          continue
        }
        // The same key twice in one request: the second answers with the first.
        const firstInRequest = firstByKey.get(idempotencyKey)
        if (firstInRequest !== undefined) {
          repeats.push([i, firstInRequest])
          continue
        }
        firstByKey.set(idempotencyKey, i)
      }
      let indexes = byPartition.get(partition)
      if (indexes === undefined) byPartition.set(partition, indexes = [])
      indexes.push(i)
    }
    // Encode and size-check every batch before the first append, so a bulk write is all or nothing. A partition's
    // records go in as many batches as max.message.bytes needs; only a record too large for a batch of its own is refused.
    const batches = [...byPartition].map(([partitionIndex, indexes]) => {
      const encoded = encodeBatches(indexes.map((i) => placed[i]!.input), topic.maxMessageBytes)
      let first = 0
      for (const batch of encoded) {
        if (batch.length > topic.maxMessageBytes) {
          const field = records.length === 1 ? 'the record' : `records[${indexes[first]!}]`
          throw new HttpProblem('HTTP_RECORD_TOO_LARGE', `${field} takes ${batch.length} bytes as a record batch, over max.message.bytes ${topic.maxMessageBytes} of table ${table}`)
        }
        first += recordCountOf(batch)
      }
      return { partitionIndex, indexes, batch: encoded.length === 1 ? encoded[0]! : Buffer.concat(encoded) }
    })
    for (const { partitionIndex, indexes, batch } of batches) {
      const partition = topic.partitions[partitionIndex]!
      const baseOffset = partition.nextOffset
      const appended = this.#log.append(topic, partition, batch)
      if (partition.nextOffset === baseOffset + indexes.length) {
        // Queued in the same tick as the append, so keys and records land in one commit.
        const keys = indexes.flatMap((i, n) => (placed[i]!.idempotencyKey === undefined ? [] : [{ key: placed[i]!.idempotencyKey!, offset: baseOffset + n }]))
        this.#keys.remember(topic.id, partitionIndex, keys, now, appended.then((result) => result.errorCode === ErrorCode.NONE))
      }
      pending.push(appended.then((result) => {
        const message = result.errorMessage ?? `write refused with Kafka error ${result.errorCode}`
        if (result.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) throw insufficientStorage(message)
        if (result.errorCode !== ErrorCode.NONE) throw new HttpProblem('HTTP_INVALID_REQUEST', message)
        for (let n = 0; n < indexes.length; n++) results[indexes[n]!] = { partition: partitionIndex, offset: result.baseOffset + n }
      }))
    }
    await Promise.all(pending)
    for (const [i, first] of repeats) results[i] = results[first]!
    return results
  }
}
