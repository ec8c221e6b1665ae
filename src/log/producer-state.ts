// Idempotent-producer bookkeeping of one partition: per producer id, the epoch and the last
// five batches (sequence range and offsets), so a retried batch is answered with its original
// offset instead of being written twice, and a gap or an old epoch is refused.
import { ErrorCode } from '../protocol/generated/errors.ts'

/** Kafka keeps the last five batches per producer and partition (max.in.flight = 5). */
export const RETAINED_BATCHES = 5
const MAX_SEQUENCE = 2147483647

export class ProducerBatch {
  readonly firstSequence: number
  readonly lastSequence: number
  readonly baseOffset: number
  readonly lastOffset: number
  /** Resolves with the append's answer once settled; retries of it wait for the same moment. */
  durable: Promise<{ errorCode: ErrorCode }> | null

  constructor(firstSequence: number, lastSequence: number, baseOffset: number, lastOffset: number, durable: Promise<{ errorCode: ErrorCode }> | null) {
    this.firstSequence = firstSequence
    this.lastSequence = lastSequence
    this.baseOffset = baseOffset
    this.lastOffset = lastOffset
    this.durable = durable
  }
}

export class ProducerEntry {
  epoch: number
  /** Oldest first, at most RETAINED_BATCHES. */
  batches: ProducerBatch[] = []
  lastTimestampMs: number
  /** First offset of the producer's open transaction on this partition, or -1. */
  transactionFirstOffset = -1

  constructor(epoch: number, lastTimestampMs: number) {
    this.epoch = epoch
    this.lastTimestampMs = lastTimestampMs
  }
}

/** What to do with an incoming idempotent batch. */
export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: ProducerBatch }
  | { kind: 'error'; errorCode: ErrorCode; message: string }

/** Sequence numbers wrap from 2^31 - 1 to 0. */
export function addSequence(sequence: number, delta: number): number {
  return sequence > MAX_SEQUENCE - delta ? delta - (MAX_SEQUENCE - sequence) - 1 : sequence + delta
}

export class PartitionProducers {
  readonly #entries = new Map<number, ProducerEntry>()

  get size(): number {
    return this.#entries.size
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.#entries.get(producerId)
  }

  entries(): IterableIterator<[number, ProducerEntry]> {
    return this.#entries.entries()
  }

  set(producerId: number, entry: ProducerEntry): void {
    this.#entries.set(producerId, entry)
  }

  check(producerId: number, epoch: number, firstSequence: number, lastSequence: number): SequenceCheck {
    const entry = this.#entries.get(producerId)
    if (entry === undefined) {
      if (firstSequence === 0) return { kind: 'append' }
      return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${producerId} has no state on this partition; its first batch must have sequence 0, got ${firstSequence}` }
    }
    if (epoch < entry.epoch) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${producerId} epoch ${epoch} is older than the current epoch ${entry.epoch}` }
    }
    if (epoch > entry.epoch) {
      if (firstSequence === 0) return { kind: 'append' }
      return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${producerId} started epoch ${epoch} with sequence ${firstSequence}, expected 0` }
    }
    for (const batch of entry.batches) {
      if (batch.firstSequence === firstSequence && batch.lastSequence === lastSequence) return { kind: 'duplicate', batch }
    }
    const last = entry.batches[entry.batches.length - 1]
    const expected = last === undefined ? 0 : addSequence(last.lastSequence, 1)
    if (firstSequence === expected) return { kind: 'append' }
    return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${producerId} sent sequence ${firstSequence}, expected ${expected}` }
  }

  /**
   * Records an accepted batch (call right after `check` said append). Recording a batch the
   * window already holds (recovery replaying what the stored state has) changes nothing.
   */
  record(producerId: number, epoch: number, batch: ProducerBatch, timestampMs: number): ProducerEntry {
    let entry = this.#entries.get(producerId)
    if (entry === undefined || epoch > entry.epoch) {
      entry = new ProducerEntry(epoch, timestampMs)
      this.#entries.set(producerId, entry)
    }
    if (entry.batches.some((b) => b.firstSequence === batch.firstSequence && b.lastSequence === batch.lastSequence && b.baseOffset === batch.baseOffset)) return entry
    entry.batches.push(batch)
    if (entry.batches.length > RETAINED_BATCHES) entry.batches.shift()
    entry.lastTimestampMs = timestampMs
    return entry
  }

  /** Forgets a recorded batch that was not stored (rolled back), so its retry is accepted. */
  forget(producerId: number, batch: ProducerBatch): void {
    const entry = this.#entries.get(producerId)
    const i = entry?.batches.indexOf(batch) ?? -1
    if (i !== -1) entry!.batches.splice(i, 1)
  }

  /** Forgets producers idle since before `cutoffMs` (Kafka's producer.id.expiration.ms). */
  expire(cutoffMs: number): number[] {
    const expired: number[] = []
    for (const [producerId, entry] of this.#entries) {
      // A producer in the middle of a transaction is kept: its open transaction holds the last stable offset.
      if (entry.lastTimestampMs < cutoffMs && entry.transactionFirstOffset < 0) {
        this.#entries.delete(producerId)
        expired.push(producerId)
      }
    }
    return expired
  }
}

// Persisted form: epoch i16, last timestamp f64, count u8, then per batch
// first/last sequence i32 and base/last offset f64, then the open transaction's first offset f64
// (rows written before transactions end after the batches: no open transaction).
export function encodeProducerEntry(entry: ProducerEntry): Buffer {
  const out = Buffer.allocUnsafe(11 + entry.batches.length * 24 + 8)
  out.writeInt16BE(entry.epoch, 0)
  out.writeDoubleBE(entry.lastTimestampMs, 2)
  out.writeUInt8(entry.batches.length, 10)
  let position = 11
  for (const batch of entry.batches) {
    out.writeInt32BE(batch.firstSequence, position)
    out.writeInt32BE(batch.lastSequence, position + 4)
    out.writeDoubleBE(batch.baseOffset, position + 8)
    out.writeDoubleBE(batch.lastOffset, position + 16)
    position += 24
  }
  out.writeDoubleBE(entry.transactionFirstOffset, position)
  return out
}

export function decodeProducerEntry(value: Buffer): ProducerEntry {
  const entry = new ProducerEntry(value.readInt16BE(0), value.readDoubleBE(2))
  const count = value.readUInt8(10)
  let position = 11
  for (let i = 0; i < count; i++) {
    entry.batches.push(new ProducerBatch(value.readInt32BE(position), value.readInt32BE(position + 4), value.readDoubleBE(position + 8), value.readDoubleBE(position + 16), null))
    position += 24
  }
  if (value.length >= position + 8) entry.transactionFirstOffset = value.readDoubleBE(position)
  return entry
}
