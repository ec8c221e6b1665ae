import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Topic } from '../../src/log/topic.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { decodeBatch, encodeBatch } from '../../src/protocol/records.ts'
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

  /** The next log write (a small one, made synchronously) fails with ENOSPC, as on a disk another process filled since the last check. */
  function failNextLogWrite(): void {
    vi.spyOn(fs, 'writevSync').mockImplementationOnce((() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    }) as unknown as typeof fs.writevSync)
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

describe('BrokerLog deletion floor (DeleteRecords, topic retention)', () => {
  it('keeps a DeleteRecords cut across a restart, and forgets it with the topic', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-log-'))
    dirs.push(dir)
    const store = new DiskHotStore({ dir, durability: 'fsync' })
    const log = await openLog(store)
    const topic = await topicOf(log, 'cut')
    await log.append(topic, topic.partitions[0]!, encodeBatch(['a', 'b', 'c'].map((v) => ({ key: null, value: Buffer.from(v) }))))
    expect(await log.deleteRecords(topic, topic.partitions[0]!, 2)).toEqual({ errorCode: ErrorCode.NONE, lowWatermark: 2 })
    await store.close()
    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const again = await openLog(reopened)
    const kept = again.topicByName('cut')!
    expect(kept.partitions[0]!.deletedBefore).toBe(2)
    expect(await again.logStartOffset(kept, kept.partitions[0]!)).toBe(2)
    await again.deleteTopic(kept)
    expect(await reopened.scanState('deleted-before/')).toEqual([])
    await reopened.close()
  })

  it('moves the log start past batches older than retention.ms, by their max timestamp, and stops at the first kept one', async () => {
    const { log } = await makeLog()
    const created = await log.createTopic('aged', 1, { 'retention.ms': '1000' })
    if (!(created instanceof Topic)) throw new Error(created.message)
    const partition = created.partitions[0]!
    const batch = (timestamp: number) => encodeBatch([{ key: null, value: Buffer.from('x'), timestamp }, { key: null, value: Buffer.from('y'), timestamp: timestamp + 1 }])
    await log.append(created, partition, batch(1_000))
    await log.append(created, partition, batch(5_000))
    await log.append(created, partition, batch(2_000))
    expect(await log.enforceTopicRetention(5_500)).toBe(1)
    expect(partition.deletedBefore).toBe(2)
    expect(await log.logStartOffset(created, partition)).toBe(2)
    expect(await log.enforceTopicRetention(5_500)).toBe(0)
    expect(await log.enforceTopicRetention(10_000)).toBe(1)
    expect(partition.deletedBefore).toBe(6)
    expect(partition.highWatermark).toBe(6)
  })

  it('leaves a compact-only topic alone, as Kafka applies retention only with cleanup.policy delete', async () => {
    const { log } = await makeLog()
    const compacted = await log.createTopic('compacted', 1, { 'retention.ms': '1000', 'cleanup.policy': 'compact' })
    const both = await log.createTopic('both', 1, { 'retention.ms': '1000', 'cleanup.policy': 'compact,delete' })
    if (!(compacted instanceof Topic) || !(both instanceof Topic)) throw new Error('not created')
    const old = encodeBatch([{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1_000 }])
    await log.append(compacted, compacted.partitions[0]!, Buffer.from(old))
    await log.append(both, both.partitions[0]!, Buffer.from(old))
    expect(await log.enforceTopicRetention(100_000)).toBe(1)
    expect([compacted.partitions[0]!.deletedBefore, both.partitions[0]!.deletedBefore]).toEqual([0, 1])
  })

  it('moves the log start past the oldest batches while the rest still hold retention.bytes', async () => {
    const { log } = await makeLog()
    const created = await log.createTopic('sized', 2, {})
    if (!(created instanceof Topic)) throw new Error(created.message)
    const partition = created.partitions[0]!
    const batch = encodeBatch([{ key: null, value: Buffer.alloc(100) }])
    for (let i = 0; i < 5; i++) await log.append(created, partition, Buffer.from(batch))
    expect(await log.enforceTopicRetention(Date.now())).toBe(0)
    await log.alterTopicConfigs(created, { 'retention.bytes': String(batch.length * 2) })
    expect(await log.enforceTopicRetention(Date.now())).toBe(1)
    expect(partition.deletedBefore).toBe(3)
    expect(created.partitions[1]!.deletedBefore).toBe(0)
  })
})

describe('BrokerLog topic configs on append', () => {
  it('refuses CreateTime batches outside message.timestamp.before.max.ms / after.max.ms with INVALID_TIMESTAMP, but not LogAppendTime topics', async () => {
    const { log } = await makeLog({ now: () => 100_000 })
    const bounded = await log.createTopic('bounded', 1, { 'message.timestamp.before.max.ms': '1000', 'message.timestamp.after.max.ms': '500' })
    const stamped = await log.createTopic('stamped', 1, { 'message.timestamp.before.max.ms': '1000', 'message.timestamp.type': 'LogAppendTime' })
    if (!(bounded instanceof Topic) || !(stamped instanceof Topic)) throw new Error('not created')
    const at = (timestamp: number) => encodeBatch([{ key: null, value: Buffer.from('v'), timestamp }])
    expect((await log.append(bounded, bounded.partitions[0]!, at(99_000))).errorCode).toBe(ErrorCode.NONE)
    expect((await log.append(bounded, bounded.partitions[0]!, at(100_500))).errorCode).toBe(ErrorCode.NONE)
    const old = await log.append(bounded, bounded.partitions[0]!, at(98_999))
    expect(old).toMatchObject({ errorCode: ErrorCode.INVALID_TIMESTAMP, errorMessage: expect.stringContaining('[99000, 100500]') })
    expect((await log.append(bounded, bounded.partitions[0]!, at(100_501))).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP)
    expect(bounded.partitions[0]!.highWatermark).toBe(2)
    expect((await log.append(stamped, stamped.partitions[0]!, at(1))).errorCode).toBe(ErrorCode.NONE)
  })

  it('refuses topic configs for machinery Zombi lacks, naming the key and why, and accepts the value that describes Zombi', async () => {
    const { log } = await makeLog()
    const refusals = {
      'compression.zstd.level': '3', 'unclean.leader.election.enable': 'true', preallocate: 'true', 'remote.storage.enable': 'false',
      'leader.replication.throttled.replicas': '0:0', 'index.interval.bytes': '4096', 'local.retention.ms': '-2', 'message.downconversion.enable': 'true',
    }
    for (const [name, value] of Object.entries(refusals)) {
      const created = await log.createTopic(`refused-${name}`, 1, { [name]: value })
      expect(created).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, message: expect.stringMatching(new RegExp(`^${name.replaceAll('.', '\\.')}(=| is not supported)`)) })
    }
    const accepted = await log.createTopic('accepted', 1, {
      'compression.type': 'lz4', 'unclean.leader.election.enable': 'false', preallocate: 'false', 'remote.storage.enable': 'true',
      'follower.replication.throttled.replicas': '', 'flush.messages': '1', 'flush.ms': '1000', 'min.insync.replicas': '2',
    })
    expect(accepted).toBeInstanceOf(Topic)
  })

  it('recompresses batches to a topic\'s compression.type, keeping an idempotent producer\'s sequences (a retry is still a duplicate)', async () => {
    const { log } = await makeLog()
    const created = await log.createTopic('squeezed', 1, { 'compression.type': 'zstd' })
    if (!(created instanceof Topic)) throw new Error(created.message)
    const partition = created.partitions[0]!
    const records = [{ key: Buffer.from('k'), value: Buffer.from('v'.repeat(500)), timestamp: 5 }, { key: null, value: null, timestamp: 6 }]
    const producerId = await log.allocateProducerId()
    const idempotent = encodeBatch(records, { producerId, producerEpoch: 0, baseSequence: 0, compression: 1 })
    expect((await log.append(created, partition, Buffer.from(idempotent))).baseOffset).toBe(0)
    expect(await log.append(created, partition, Buffer.from(idempotent))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 })
    expect((await log.append(created, partition, encodeBatch(records))).baseOffset).toBe(2)
    const stored = storedBatches(partition)
    expect(stored.map((batch) => batch.readInt16BE(21) & 0x07)).toEqual([4, 4])
    expect(stored.map((batch) => decodeBatch(batch).records.map((record) => [record.offset, record.value?.length ?? null]))).toEqual([[[0, 500], [1, null]], [[2, 500], [3, null]]])
    await log.alterTopicConfigs(created, { 'compression.type': 'producer' })
    await log.append(created, partition, encodeBatch(records, { compression: 1 }))
    expect(storedBatches(partition).at(-1)!.readInt16BE(21) & 0x07).toBe(1)
  })

  it('refuses a batch that recompression makes larger than max.message.bytes', async () => {
    const { log } = await makeLog()
    const created = await log.createTopic('unsqueezed', 1, { 'compression.type': 'uncompressed', 'max.message.bytes': '2000' })
    if (!(created instanceof Topic)) throw new Error(created.message)
    const batch = encodeBatch([{ key: null, value: Buffer.alloc(5000, 97) }], { compression: 4 })
    expect(batch.length).toBeLessThan(2000)
    expect(await log.append(created, created.partitions[0]!, batch)).toMatchObject({ errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMessage: expect.stringContaining('once recompressed') })
  })

  it('accepts flush.messages and flush.ms bounds only when appends are fsync-ed before they are acknowledged', async () => {
    const { log } = await makeLog()
    const unsynced = new BrokerLog({ store: log.store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588, syncsEveryAppend: false }, fetchCacheBytes: 0 })
    expect(await unsynced.createTopic('unsynced', 1, { 'flush.messages': '1' }, true)).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, message: expect.stringContaining('ZOMBI_DURABILITY=fsync') })
    expect(await unsynced.createTopic('never', 1, { 'flush.ms': '9223372036854775807' }, true)).toBeInstanceOf(Topic)
  })
})
