// The transaction coordinator over a real log: epochs and fencing, markers and the last stable
// offset, the aborted index, offsets held until commit, timeouts, and what a restart finds.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { GroupCoordinator } from '../../../src/groups/coordinator.ts'
import type { BrokerLog } from '../../../src/log/broker-log.ts'
import { HotRetention } from '../../../src/log/hot-retention.ts'
import type { Topic } from '../../../src/log/topic.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { CONTROL_ABORT, CONTROL_COMMIT, controlTypeOf, isControlBatch } from '../../../src/protocol/control-record.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { ATTR_TRANSACTIONAL } from '../../../src/protocol/record-batch.ts'
import { encodeBatch } from '../../../src/protocol/records.ts'
import { DiskHotStore } from '../../../src/storage/disk-store.ts'
import { MemoryHotStore } from '../../../src/storage/memory-store.ts'
import { testGroupSettings } from '../fixtures/coordinator.ts'
import { makeLog, topicOf } from '../../support/log.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Broker {
  log: BrokerLog
  groups: GroupCoordinator
  topic: Topic
  clock: { now: number }
  /** Closes this broker's store and opens a new broker over the same directory. */
  restart(): Promise<Broker>
}

async function open(dir: string, clock: { now: number }, segmentBytes?: number): Promise<Broker> {
  const store = new DiskHotStore({ dir, durability: 'fsync', segmentBytes })
  const { log } = await makeLog({ store, now: () => clock.now })
  const topic = log.topicByName('orders') ?? await topicOf(log, 'orders', 2)
  const groups = new GroupCoordinator(log, silentLogger, { ...testGroupSettings(), transactionMaxTimeoutMs: 60_000 }, () => clock.now)
  await groups.load()
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    groups.close()
    await store.close()
  }
  cleanups.push(close)
  return {
    log, groups, topic, clock,
    restart: async () => {
      await close()
      return open(dir, clock)
    },
  }
}

async function broker(): Promise<Broker> {
  const dir = await mkdtemp(join(tmpdir(), 'zombi-txn-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return open(dir, { now: Date.now() })
}

/** A transactional batch of `count` records from the producer, appended to partition `p`. */
async function produce(b: Broker, p: number, producerId: number, epoch: number, sequence: number, count: number): Promise<number> {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${sequence + i}`) }))
  const batch = encodeBatch(records, { producerId, producerEpoch: epoch, baseSequence: sequence, attributes: ATTR_TRANSACTIONAL })
  const result = await b.log.append(b.topic, b.topic.partitions[p]!, batch)
  expect(result.errorCode).toBe(ErrorCode.NONE)
  return result.baseOffset
}

function batchesOf(b: Broker, p: number): Buffer[] {
  const out: Buffer[] = []
  b.topic.partitions[p]!.read(0, Number.MAX_SAFE_INTEGER, true, out)
  return out
}

describe('producer ids and epochs', () => {
  test('a transactional id keeps its producer id and every init bumps the epoch, fencing the older producer', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const first = await tx.initProducerId('app', 10_000, -1, -1, true)
    expect(first).toEqual({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 0 })
    const second = await tx.initProducerId('app', 10_000, -1, -1, true)
    expect(second).toEqual({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 1 })
    expect(await tx.addPartitions('app', first.producerId, 0, [{ topic: 'orders', partition: 0 }], true)).toBe(ErrorCode.PRODUCER_FENCED)
    expect(await tx.addPartitions('app', first.producerId, 0, [{ topic: 'orders', partition: 0 }], false)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
    expect(await tx.endTransaction('app', first.producerId, 0, true, true)).toBe(ErrorCode.PRODUCER_FENCED)
    expect(await tx.addPartitions('app', first.producerId + 1, 1, [{ topic: 'orders', partition: 0 }], true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    const other = await tx.initProducerId('other', 10_000, -1, -1, true)
    expect(other.producerId).not.toBe(first.producerId)
  })

  test('a timeout above the broker maximum is refused', async () => {
    const b = await broker()
    expect((await b.groups.transactions.initProducerId('app', 60_001, -1, -1, true)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    expect((await b.groups.transactions.initProducerId('app', 0, -1, -1, true)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
  })
})

describe('markers and the last stable offset', () => {
  test('an open transaction holds the last stable offset; the commit marker releases it', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
    const partition = b.topic.partitions[0]!
    expect(tx.verifyProduce('app', producerId, 0, 'orders', 0)).toBe(ErrorCode.INVALID_TXN_STATE)
    expect(await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }], true)).toBe(ErrorCode.NONE)
    expect(tx.verifyProduce('app', producerId, 0, 'orders', 0)).toBe(ErrorCode.NONE)
    expect(tx.verifyProduce('app', producerId, 1, 'orders', 0)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
    await produce(b, 0, producerId, 0, 0, 3)
    expect(partition.highWatermark).toBe(3)
    expect(partition.lastStableOffset).toBe(0)
    expect(tx.get('app')!.state).toBe('Ongoing')
    expect(await tx.endTransaction('app', producerId, 0, true, true)).toBe(ErrorCode.NONE)
    // The marker took offset 3; partition 1 got none (nothing was written there).
    expect(partition.highWatermark).toBe(4)
    expect(partition.lastStableOffset).toBe(4)
    expect(b.topic.partitions[1]!.highWatermark).toBe(0)
    const marker = batchesOf(b, 0)[1]!
    expect(isControlBatch(marker) && controlTypeOf(marker)).toBe(CONTROL_COMMIT)
    expect(partition.abortedTransactions(0, 4)).toEqual([])
    expect(tx.get('app')!.state).toBe('CompleteCommit')
    // A retried EndTxn is answered as the first; the opposite one is refused.
    expect(await tx.endTransaction('app', producerId, 0, true, true)).toBe(ErrorCode.NONE)
    expect(await tx.endTransaction('app', producerId, 0, false, true)).toBe(ErrorCode.INVALID_TXN_STATE)
    // The next transaction goes on with the producer's sequences.
    expect(await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)).toBe(ErrorCode.NONE)
    expect(await produce(b, 0, producerId, 0, 3, 2)).toBe(4)
    expect(partition.lastStableOffset).toBe(4)
  })

  test('an abort indexes the transaction: producer id, first offset, marker offset', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
    await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
    await produce(b, 0, producerId, 0, 0, 2)
    await produce(b, 0, producerId, 0, 2, 2)
    expect(await tx.endTransaction('app', producerId, 0, false, true)).toBe(ErrorCode.NONE)
    const partition = b.topic.partitions[0]!
    expect(partition.lastStableOffset).toBe(5)
    expect(partition.abortedTransactions(0, 5)).toEqual([{ producerId, firstOffset: 0, lastOffset: 4 }])
    expect(partition.abortedTransactions(5, 10)).toEqual([])
    expect(controlTypeOf(batchesOf(b, 0)[2]!)).toBe(CONTROL_ABORT)
    // Persisted with the log.
    const after = await b.restart()
    expect(after.topic.partitions[0]!.abortedTransactions(0, 5)).toEqual([{ producerId, firstOffset: 0, lastOffset: 4 }])
    expect(after.topic.partitions[0]!.lastStableOffset).toBe(5)
  })

  test('a new producer of the id aborts the transaction left open, with markers under the new epoch', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
    await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
    await produce(b, 0, producerId, 0, 0, 2)
    const next = await tx.initProducerId('app', 10_000, -1, -1, true)
    expect(next).toEqual({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 })
    const partition = b.topic.partitions[0]!
    expect(partition.lastStableOffset).toBe(3)
    expect(partition.abortedTransactions(0, 3)).toEqual([{ producerId, firstOffset: 0, lastOffset: 2 }])
    // The old epoch's batches are refused by the partition too; the new producer starts at sequence 0.
    const stale = encodeBatch([{ key: null, value: Buffer.from('late') }], { producerId, producerEpoch: 0, baseSequence: 2, attributes: ATTR_TRANSACTIONAL })
    expect((await b.log.append(b.topic, partition, stale)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
    await tx.addPartitions('app', producerId, 1, [{ topic: 'orders', partition: 0 }], true)
    expect(await produce(b, 0, producerId, 1, 0, 1)).toBe(3)
  })
})

describe('offsets in a transaction', () => {
  test('offsets are held until the commit and dropped by an abort', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
    const offsets = [{ topic: 'orders', partition: 1, offset: 42, leaderEpoch: -1, metadata: null }]
    expect(await tx.commitOffsets('app', 'g', producerId, 0, offsets)).toEqual([ErrorCode.INVALID_TXN_STATE])
    expect(await tx.addOffsets('app', producerId, 0, 'g', true)).toBe(ErrorCode.NONE)
    expect(await tx.commitOffsets('app', 'g', producerId, 0, offsets)).toEqual([ErrorCode.NONE])
    expect(b.groups.fetchOffset('g', 'orders', 1)).toBeUndefined()
    expect(await tx.endTransaction('app', producerId, 0, false, true)).toBe(ErrorCode.NONE)
    expect(b.groups.fetchOffset('g', 'orders', 1)).toBeUndefined()
    await tx.addOffsets('app', producerId, 0, 'g', true)
    await tx.commitOffsets('app', 'g', producerId, 0, [{ ...offsets[0]!, offset: 43 }])
    expect(await tx.endTransaction('app', producerId, 0, true, true)).toBe(ErrorCode.NONE)
    expect(b.groups.fetchOffset('g', 'orders', 1)?.offset).toBe(43)
  })
})

describe('timeouts and restarts', () => {
  test('a transaction open past its timeout is aborted and its producer fenced', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 5_000, -1, -1, true)
    await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
    await produce(b, 0, producerId, 0, 0, 1)
    b.clock.now += 5_000
    expect(await tx.abortExpired()).toEqual([])
    b.clock.now += 1
    expect(await tx.abortExpired()).toEqual(['app'])
    expect(tx.get('app')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 })
    expect(b.topic.partitions[0]!.lastStableOffset).toBe(2)
    expect(await tx.endTransaction('app', producerId, 0, true, true)).toBe(ErrorCode.PRODUCER_FENCED)
  })

  test('a restart finishes a transaction caught between prepare and its markers, offsets included', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
    await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }], true)
    await tx.addOffsets('app', producerId, 0, 'g', true)
    await tx.commitOffsets('app', 'g', producerId, 0, [{ topic: 'orders', partition: 1, offset: 7, leaderEpoch: -1, metadata: 'm' }])
    await produce(b, 0, producerId, 0, 0, 2)
    await produce(b, 1, producerId, 0, 0, 1)
    // The PrepareCommit state is durable, then the broker dies before any marker.
    const prepared = tx.get('app')!.with({ state: 'PrepareCommit' })
    await b.log.store.writeState([{ key: 'txn/app', value: prepared.encode() }])
    const after = await b.restart()
    expect(after.groups.transactions.get('app')!.state).toBe('CompleteCommit')
    expect(after.topic.partitions.map((p) => [p.highWatermark, p.lastStableOffset])).toEqual([[3, 3], [2, 2]])
    expect(after.groups.fetchOffset('g', 'orders', 1)).toMatchObject({ offset: 7, metadata: 'm' })
    expect(controlTypeOf(batchesOf(after, 0)[1]!)).toBe(CONTROL_COMMIT)
    // Finishing it again writes no second marker.
    const again = await after.restart()
    expect(again.topic.partitions[0]!.highWatermark).toBe(3)
  })

  test('an open transaction stays open across a restart, holding the last stable offset', async () => {
    const b = await broker()
    const tx = b.groups.transactions
    const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
    await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
    await produce(b, 0, producerId, 0, 0, 2)
    const after = await b.restart()
    expect(after.groups.transactions.get('app')!.state).toBe('Ongoing')
    expect(after.topic.partitions[0]!.lastStableOffset).toBe(0)
    expect(await after.groups.transactions.endTransaction('app', producerId, 0, false, true)).toBe(ErrorCode.NONE)
    expect(after.topic.partitions[0]!.lastStableOffset).toBe(3)
  })
})


test('hot retention forgets aborted transactions below the new log start, in memory and in the store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zombi-txn-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const b = await open(dir, { now: Date.now() }, 8192)
  const tx = b.groups.transactions
  const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
  await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
  await produce(b, 0, producerId, 0, 0, 2)
  await tx.endTransaction('app', producerId, 0, false, true)
  const partition = b.topic.partitions[0]!
  expect(partition.abortedTransactions(0, 3)).toHaveLength(1)
  await b.log.markFlushed(partition, 3)
  // A batch bigger than the 8 KiB segment rolls the log, so the aborted transaction's segment can go.
  const big = encodeBatch([{ key: null, value: Buffer.alloc(10_000) }])
  expect((await b.log.append(b.topic, b.topic.partitions[1]!, big)).errorCode).toBe(ErrorCode.NONE)
  expect((await b.log.append(b.topic, b.topic.partitions[1]!, encodeBatch([{ key: null, value: Buffer.from('x') }]))).errorCode).toBe(ErrorCode.NONE)
  await b.log.markFlushed(b.topic.partitions[1]!, 1)
  const retention = new HotRetention({ store: b.log.store, logger: silentLogger, topics: () => b.log.topics(), retentionMs: 0, retentionBytes: -1 })
  await retention.enforce()
  expect(partition.logStartOffset).toBe(3)
  expect(partition.abortedTransactions(0, 3)).toEqual([])
  expect(await b.log.store.scanState('aborted/')).toEqual([])
})

test('an end whose markers could not be stored answers COORDINATOR_NOT_AVAILABLE and is finished later', async () => {
  class TightStore extends MemoryHotStore {
    full = false
    override hasSpaceFor(bytes: number): boolean {
      return !this.full && super.hasSpaceFor(bytes)
    }
  }
  const store = new TightStore()
  const { log } = await makeLog({ store, topics: { orders: 1 } })
  const groups = new GroupCoordinator(log, silentLogger, testGroupSettings())
  await groups.load()
  cleanups.push(async () => groups.close())
  const tx = groups.transactions
  const topic = log.topicByName('orders')!
  const { producerId } = await tx.initProducerId('app', 10_000, -1, -1, true)
  await tx.addPartitions('app', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
  const batch = encodeBatch([{ key: null, value: Buffer.from('v') }], { producerId, producerEpoch: 0, baseSequence: 0, attributes: ATTR_TRANSACTIONAL })
  expect((await log.append(topic, topic.partitions[0]!, batch)).errorCode).toBe(ErrorCode.NONE)
  store.full = true
  expect(await tx.endTransaction('app', producerId, 0, true, true)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE)
  expect(tx.get('app')!.state).toBe('PrepareCommit')
  expect(topic.partitions[0]!.lastStableOffset).toBe(0)
  store.full = false
  await tx.abortExpired()
  expect(tx.get('app')!.state).toBe('CompleteCommit')
  expect(topic.partitions[0]!.lastStableOffset).toBe(2)
})

test('a transactional id idle past the expiration is forgotten, also across a restart; one with a transaction open is kept', async () => {
  const b = await broker()
  const tx = b.groups.transactions
  const first = await tx.initProducerId('idle', 10_000, -1, -1, true)
  const busy = await tx.initProducerId('busy', 10_000, -1, -1, true)
  await tx.addPartitions('busy', busy.producerId, 0, [{ topic: 'orders', partition: 0 }], true)
  const later = b.clock.now + 7 * 24 * 60 * 60 * 1000
  expect(await tx.expireTransactionalIds(later - 1)).toEqual([])
  expect(await tx.expireTransactionalIds(later)).toEqual(['idle'])
  expect(tx.get('idle')).toBeUndefined()
  expect(tx.get('busy')!.state).toBe('Ongoing')
  const after = await b.restart()
  expect(after.groups.transactions.get('idle')).toBeUndefined()
  const again = await after.groups.transactions.initProducerId('idle', 10_000, -1, -1, true)
  expect(again.producerId).not.toBe(first.producerId)
  expect(again.producerEpoch).toBe(0)
})
