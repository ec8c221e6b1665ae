import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { Topic } from '../../src/log/topic.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import type { HotStore } from '../../src/storage/hot-store.ts'
import { SegmentLog, frameHeader } from '../../src/storage/segment-log.ts'
import { storedBatches } from './stored.ts'
import { makeLog, topicOf } from '../support/log.ts'

const dirs: string[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function openLog(store: HotStore): Promise<BrokerLog> {
  return (await makeLog({ store })).log
}

function idempotentBatch(producerId: number, epoch: number, baseSequence: number, count: number, tag = 'v'): Buffer {
  return encodeBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${tag}${baseSequence + i}`) })), { producerId, producerEpoch: epoch, baseSequence })
}

describe('BrokerLog appends', () => {
  it('assigns dense offsets across batches and partitions', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'dense', 2)
    const results = await Promise.all([
      log.append(topic, topic.partitions[0]!, encodeBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }])),
      log.append(topic, topic.partitions[0]!, encodeBatch([{ key: null, value: Buffer.from('c') }])),
      log.append(topic, topic.partitions[1]!, encodeBatch([{ key: null, value: Buffer.from('d') }])),
    ])
    expect(results.map((r) => r.baseOffset)).toEqual([0, 2, 0])
    expect(topic.partitions[0]!.highWatermark).toBe(3)
  })
})

describe('idempotent producers', () => {
  it('answers a retried batch with its original offset and writes it once', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'dupes')
    const partition = topic.partitions[0]!
    const producerId = await log.allocateProducerId()
    const first = await log.append(topic, partition, idempotentBatch(producerId, 0, 0, 3))
    const retry = await log.append(topic, partition, idempotentBatch(producerId, 0, 0, 3))
    expect([first.errorCode, retry.errorCode]).toEqual([0, 0])
    expect(retry.baseOffset).toBe(first.baseOffset)
    expect(partition.highWatermark).toBe(3)
    expect(storedBatches(partition)).toHaveLength(1)
  })

  it('answers a retry of a batch still in flight after it is durable, with the same offset', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'inflight')
    const partition = topic.partitions[0]!
    const producerId = await log.allocateProducerId()
    const [first, retry] = await Promise.all([
      log.append(topic, partition, idempotentBatch(producerId, 0, 0, 2)),
      log.append(topic, partition, idempotentBatch(producerId, 0, 0, 2)),
    ])
    expect(retry).toEqual(first)
    expect(partition.highWatermark).toBe(2)
  })

  it('refuses gaps, old epochs and ids it never issued, writing nothing', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'refusals')
    const partition = topic.partitions[0]!
    const producerId = await log.allocateProducerId()
    expect((await log.append(topic, partition, idempotentBatch(producerId, 1, 0, 2))).errorCode).toBe(0)
    expect((await log.append(topic, partition, idempotentBatch(producerId, 1, 5, 1))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    expect((await log.append(topic, partition, idempotentBatch(producerId, 0, 2, 1))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
    expect((await log.append(topic, partition, idempotentBatch(producerId + 100, 0, 0, 1))).errorCode).toBe(ErrorCode.UNKNOWN_PRODUCER_ID)
    expect((await log.append(topic, partition, encodeBatch([{ key: null, value: null }], { producerId, producerEpoch: 1, baseSequence: 2, attributes: 0x30 }))).errorCode).toBe(ErrorCode.INVALID_RECORD)
    expect(partition.highWatermark).toBe(2)
  })

  it('hands out increasing producer ids that survive a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-log-'))
    dirs.push(dir)
    const store = new DiskHotStore({ dir, durability: 'fsync' })
    const log = await openLog(store)
    const ids = [await log.allocateProducerId(), await log.allocateProducerId()]
    await store.close()
    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const again = await openLog(reopened)
    expect(await again.allocateProducerId()).toBe(ids[1]! + 1)
    await reopened.close()
  })

  it('keeps producer state across a restart, so a retry after it is still a duplicate', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-log-'))
    dirs.push(dir)
    const store = new DiskHotStore({ dir, durability: 'fsync' })
    const log = await openLog(store)
    const topic = await topicOf(log, 'restart')
    const producerId = await log.allocateProducerId()
    await log.append(topic, topic.partitions[0]!, idempotentBatch(producerId, 0, 0, 4))
    await log.append(topic, topic.partitions[0]!, idempotentBatch(producerId, 0, 4, 1))
    await store.close()

    const reopenedStore = new DiskHotStore({ dir, durability: 'fsync' })
    const reopened = await openLog(reopenedStore)
    const again = reopened.topicByName('restart')!
    const retry = await reopened.append(again, again.partitions[0]!, idempotentBatch(producerId, 0, 4, 1))
    expect([retry.errorCode, retry.baseOffset]).toEqual([0, 4])
    expect((await reopened.append(again, again.partitions[0]!, idempotentBatch(producerId, 0, 5, 1))).baseOffset).toBe(5)
    await reopenedStore.close()
  })

  it('rebuilds producer state of batches re-indexed at recovery', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-log-'))
    dirs.push(dir)
    const store = new DiskHotStore({ dir, durability: 'fsync' })
    const log = await openLog(store)
    const topic = await topicOf(log, 'replay')
    const producerId = await log.allocateProducerId()
    await store.close()
    // The frame reached the log but its index and producer rows did not (crash between the two).
    const batch = idempotentBatch(producerId, 0, 0, 2)
    const segments = new SegmentLog(path.join(dir, 'log'), 1 << 30)
    segments.activate(0)
    const segment = segments.active()
    await segments.write(segment, segment.size, [frameHeader(topic.id, 0, batch), batch])
    segments.close()

    const reopenedStore = new DiskHotStore({ dir, durability: 'fsync' })
    const reopened = await openLog(reopenedStore)
    const again = reopened.topicByName('replay')!
    expect(again.partitions[0]!.highWatermark).toBe(2)
    const retry = await reopened.append(again, again.partitions[0]!, idempotentBatch(producerId, 0, 0, 2))
    expect([retry.errorCode, retry.baseOffset]).toEqual([0, 0])
    expect(again.partitions[0]!.highWatermark).toBe(2)
    await reopenedStore.close()
  })
})

describe('full disk', () => {
  async function diskLog(freeBytes?: () => number): Promise<{ store: DiskHotStore; log: BrokerLog }> {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-log-'))
    dirs.push(dir)
    const options = freeBytes === undefined ? {} : { minFreeBytes: 16 * 1024 * 1024, freeBytes: async () => freeBytes() }
    const store = new DiskHotStore({ dir, durability: 'fsync', spaceCheckMs: 3_600_000, ...options })
    return { store, log: await openLog(store) }
  }

  /** The next log write fails with ENOSPC, as on a disk another process filled since the last check. */
  function failNextLogWrite(): void {
    vi.spyOn(fs, 'writev').mockImplementationOnce(((_fd: number, _buffers: Buffer[], _position: number, callback: (error: Error | null, written: number) => void) => {
      callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 0)
    }) as unknown as typeof fs.writev)
  }

  async function writable(store: DiskHotStore): Promise<void> {
    for (let i = 0; i < 10_000 && !store.health().ok; i++) await new Promise((resolve) => setTimeout(resolve, 1))
    expect(store.health().ok).toBe(true)
  }

  it('answers KAFKA_STORAGE_ERROR before giving out offsets while free space is under the floor', async () => {
    let free = 100 * 1024 * 1024
    const { store, log } = await diskLog(() => free)
    const topic = await topicOf(log, 'floor')
    const partition = topic.partitions[0]!
    expect((await log.append(topic, partition, encodeBatch([{ key: null, value: Buffer.from('a') }]))).baseOffset).toBe(0)
    free = 1024 * 1024
    await store.checkSpace()
    const refused = await log.append(topic, partition, encodeBatch([{ key: null, value: Buffer.from('b') }]))
    expect(refused).toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1, errorMessage: expect.stringContaining('disk full: ') })
    expect([partition.nextOffset, partition.highWatermark]).toEqual([1, 1])
    expect(log.storageRefusals).toMatchObject({ diskFull: 1, rolledBack: 0 })
    free = 100 * 1024 * 1024
    await store.checkSpace()
    expect((await log.append(topic, partition, encodeBatch([{ key: null, value: Buffer.from('c') }]))).baseOffset).toBe(1)
    await store.close()
  })

  it('still answers an idempotent retry of a stored batch while the disk is full', async () => {
    let free = 100 * 1024 * 1024
    const { store, log } = await diskLog(() => free)
    const topic = await topicOf(log, 'retry-full')
    const producerId = await log.allocateProducerId()
    const first = await log.append(topic, topic.partitions[0]!, idempotentBatch(producerId, 0, 0, 2))
    free = 0
    await store.checkSpace()
    expect(await log.append(topic, topic.partitions[0]!, idempotentBatch(producerId, 0, 0, 2))).toEqual(first)
    expect((await log.append(topic, topic.partitions[0]!, idempotentBatch(producerId, 0, 2, 1))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    await store.close()
  })

  it('takes the offsets of a rolled-back write back, so the next writes stay dense', async () => {
    const { store, log } = await diskLog()
    const topic = await topicOf(log, 'dense-after-full', 2)
    const [p0, p1] = topic.partitions as [Topic['partitions'][number], Topic['partitions'][number]]
    await log.append(topic, p0, encodeBatch([{ key: null, value: Buffer.from('a') }]))
    failNextLogWrite()
    const failed = await Promise.all([
      log.append(topic, p0, encodeBatch([{ key: null, value: Buffer.from('b') }, { key: null, value: Buffer.from('c') }])),
      log.append(topic, p0, encodeBatch([{ key: null, value: Buffer.from('d') }])),
      log.append(topic, p1, encodeBatch([{ key: null, value: Buffer.from('e') }])),
    ])
    expect(failed.map((r) => r.errorCode)).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR])
    expect([p0.nextOffset, p0.highWatermark, p1.nextOffset]).toEqual([1, 1, 0])
    expect(log.storageRefusals.rolledBack).toBe(3)
    await writable(store)
    expect((await log.append(topic, p0, encodeBatch([{ key: null, value: Buffer.from('f') }]))).baseOffset).toBe(1)
    expect((await log.append(topic, p1, encodeBatch([{ key: null, value: Buffer.from('g') }]))).baseOffset).toBe(0)
    const values = storedBatches(p0).map((batch) => batch.subarray(-2, -1).toString()) // the value, before the header count
    expect(values).toEqual(['a', 'f'])
    await store.close()
  })

  it('forgets an idempotent batch that was rolled back, so its retry with the same sequence is stored', async () => {
    const { store, log } = await diskLog()
    const topic = await topicOf(log, 'idempotent-full')
    const partition = topic.partitions[0]!
    const producerId = await log.allocateProducerId()
    await log.append(topic, partition, idempotentBatch(producerId, 0, 0, 3))
    failNextLogWrite()
    const [failed, inflightRetry] = await Promise.all([
      log.append(topic, partition, idempotentBatch(producerId, 0, 3, 2)),
      log.append(topic, partition, idempotentBatch(producerId, 0, 3, 2)),
    ])
    expect([failed.errorCode, inflightRetry.errorCode]).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR])
    await writable(store)
    const retry = await log.append(topic, partition, idempotentBatch(producerId, 0, 3, 2))
    expect([retry.errorCode, retry.baseOffset]).toEqual([ErrorCode.NONE, 3])
    expect((await log.append(topic, partition, idempotentBatch(producerId, 0, 5, 1))).baseOffset).toBe(5)
    await store.close()

    // The producer state stored with the retry (not with the rolled-back copy) survives a restart.
    const reopenedStore = new DiskHotStore({ dir: dirs[dirs.length - 1]!, durability: 'fsync' })
    const reopened = await openLog(reopenedStore)
    const again = reopened.topicByName('idempotent-full')!
    expect(await reopened.append(again, again.partitions[0]!, idempotentBatch(producerId, 0, 5, 1))).toMatchObject({ errorCode: 0, baseOffset: 5 })
    await reopenedStore.close()
  })
})

describe('partition limit', () => {
  it('refuses topics and partitions past ZOMBI_MAX_PARTITIONS with POLICY_VIOLATION, counting creations in flight and giving room back on delete', async () => {
    const { log, store } = await makeLog({ maxPartitions: 10 })
    // Two creations racing for the last room: only one fits.
    const [first, second] = await Promise.all([log.createTopic('a', 6, {}), log.createTopic('b', 6, {})])
    expect(first).toBeInstanceOf(Topic)
    expect(second).toMatchObject({ errorCode: ErrorCode.POLICY_VIOLATION, message: expect.stringMatching(/ZOMBI_MAX_PARTITIONS/) })
    const a = first as Topic
    expect(await log.createPartitions(a, 11, false)).toMatchObject({ errorCode: ErrorCode.POLICY_VIOLATION })
    expect(await log.createPartitions(a, 10, false)).toBeNull()
    expect(await log.createTopic('c', 1, {})).toMatchObject({ errorCode: ErrorCode.POLICY_VIOLATION })
    await log.deleteTopic(a)
    expect(await log.createTopic('c', 10, {})).toBeInstanceOf(Topic)
    await store.close()
  })
})

describe('typed table modes', () => {
  it('are accepted at creation (the broker always serves its registry); an unknown mode is refused', async () => {
    const { log } = await makeLog()
    expect(await log.createTopic('plain', 1, { 'zombi.iceberg.mode': 'key_value' })).toBeInstanceOf(Topic)
    expect(await log.createTopic('typed', 1, { 'zombi.iceberg.mode': 'value_schema_id_prefix' })).toBeInstanceOf(Topic)
    const refused = await log.createTopic('odd', 1, { 'zombi.iceberg.mode': 'protobuf' })
    expect(refused).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, message: expect.stringMatching(/must be one of/) })
  })
})
