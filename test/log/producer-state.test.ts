import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import {
  PartitionProducers, ProducerBatch, addSequence, decodeProducerEntry, encodeProducerEntry,
} from '../../src/log/producer-state.ts'

function accept(producers: PartitionProducers, producerId: number, epoch: number, first: number, last: number, baseOffset: number): void {
  expect(producers.check(producerId, epoch, first, last)).toEqual({ kind: 'append' })
  producers.record(producerId, epoch, new ProducerBatch(first, last, baseOffset, baseOffset + last - first, null), 1000)
}

describe('idempotent producer sequence rules', () => {
  it('accepts a new producer at sequence 0 and refuses it anywhere else', () => {
    const producers = new PartitionProducers()
    const gap = producers.check(7, 0, 5, 9)
    expect(gap.kind === 'error' && gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    accept(producers, 7, 0, 0, 4, 100)
  })

  it('accepts the next sequence and refuses a gap', () => {
    const producers = new PartitionProducers()
    accept(producers, 1, 0, 0, 9, 0)
    accept(producers, 1, 0, 10, 19, 10)
    const gap = producers.check(1, 0, 25, 30)
    expect(gap.kind === 'error' && gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  })

  it('answers a repeat of any of the last five batches with the original batch', () => {
    const producers = new PartitionProducers()
    for (let i = 0; i < 6; i++) accept(producers, 1, 0, i * 10, i * 10 + 9, i * 10)
    const repeat = producers.check(1, 0, 10, 19)
    expect(repeat.kind === 'duplicate' && repeat.batch.baseOffset).toBe(10)
    // The sixth-newest batch has left the window: a repeat of it is out of order, not a duplicate.
    expect(producers.check(1, 0, 0, 9).kind).toBe('error')
  })

  it('refuses an older epoch and starts a newer one at sequence 0 only', () => {
    const producers = new PartitionProducers()
    accept(producers, 1, 3, 0, 0, 0)
    const old = producers.check(1, 2, 1, 1)
    expect(old.kind === 'error' && old.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
    const badStart = producers.check(1, 4, 1, 1)
    expect(badStart.kind === 'error' && badStart.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    accept(producers, 1, 4, 0, 0, 1)
    expect(producers.entry(1)!.epoch).toBe(4)
    expect(producers.entry(1)!.batches).toHaveLength(1)
  })

  it('ignores a batch recorded twice (recovery replaying stored state), keeping five distinct batches', () => {
    const producers = new PartitionProducers()
    for (let i = 0; i < 5; i++) accept(producers, 1, 0, i, i, i)
    producers.record(1, 0, new ProducerBatch(4, 4, 4, 4, null), 2000)
    expect(producers.entry(1)!.batches.map((b) => b.firstSequence)).toEqual([0, 1, 2, 3, 4])
  })

  it('wraps sequences from 2^31-1 to 0', () => {
    expect(addSequence(2147483647, 1)).toBe(0)
    expect(addSequence(2147483640, 10)).toBe(2)
    const producers = new PartitionProducers()
    producers.record(1, 0, new ProducerBatch(2147483600, 2147483647, 0, 47, null), 1)
    expect(producers.check(1, 0, 0, 4)).toEqual({ kind: 'append' })
  })

  it('round-trips its persisted form and expires idle producers', () => {
    const producers = new PartitionProducers()
    accept(producers, 9, 2, 0, 4, 50)
    accept(producers, 9, 2, 5, 5, 55)
    const decoded = decodeProducerEntry(encodeProducerEntry(producers.entry(9)!))
    expect(decoded.epoch).toBe(2)
    expect(decoded.batches.map((b) => [b.firstSequence, b.lastSequence, b.baseOffset, b.lastOffset])).toEqual([[0, 4, 50, 54], [5, 5, 55, 55]])
    expect(producers.expire(500)).toEqual([])
    expect(producers.expire(2000)).toEqual([9])
    expect(producers.size).toBe(0)
  })

  it('keeps an open transaction\'s first offset in its persisted form; rows written before transactions read as none', () => {
    const producers = new PartitionProducers()
    accept(producers, 4, 0, 0, 1, 10)
    const entry = producers.entry(4)!
    entry.transactionFirstOffset = 10
    const stored = encodeProducerEntry(entry)
    expect(decodeProducerEntry(stored).transactionFirstOffset).toBe(10)
    // The older form ends after the batches.
    expect(decodeProducerEntry(stored.subarray(0, stored.length - 8)).transactionFirstOffset).toBe(-1)
    // A producer in the middle of a transaction is not expired: its transaction holds the last stable offset.
    expect(producers.expire(Number.MAX_SAFE_INTEGER)).toEqual([])
    entry.transactionFirstOffset = -1
    expect(producers.expire(Number.MAX_SAFE_INTEGER)).toEqual([4])
  })
})
