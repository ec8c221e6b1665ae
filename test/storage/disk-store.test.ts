import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { crc32c } from '@node-rs/crc32'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { BATCH_FRAME_HEADER_BYTES, batchFrameHeader, partitionFrame, replaceFrameHeader, stateFrame } from '../../src/storage/frame.ts'
import type { AppendRequest, BatchLocation, HotStore, TopicRecord } from '../../src/storage/hot-store.ts'
import { topicIdBytes, topicKey } from '../../src/storage/keys.ts'
import { LevelIndex } from '../../src/storage/level-index.ts'
import { SegmentLog, segmentFileName } from '../../src/storage/segment-log.ts'
import { appendOf, batchAt, topicRecord } from './batches.ts'
import { hotStoreContract } from './contract.ts'

hotStoreContract('disk (fsync)', (dir) => new DiskHotStore({ dir, durability: 'fsync' }), (dir) => new DiskHotStore({ dir, durability: 'fsync' }))
hotStoreContract(
  'disk (none, 4 KiB segments)',
  (dir) => new DiskHotStore({ dir, durability: 'none', segmentBytes: 4096 }),
  (dir) => new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 4096 }),
)

const dirs: string[] = []
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zombi-store-'))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  vi.restoreAllMocks()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'log')).sort()
}

function segmentPath(dir: string, segment: number): string {
  return path.join(dir, 'log', segmentFileName(segment))
}

async function openStore(dir: string, segmentBytes?: number, durability: 'fsync' | 'none' = 'fsync'): Promise<DiskHotStore> {
  const store = new DiskHotStore({ dir, durability, segmentBytes })
  await store.open()
  return store
}

async function storeWithTopic(dir: string, partitions = 1, segmentBytes?: number, durability: 'fsync' | 'none' = 'fsync'): Promise<{ store: DiskHotStore; topic: TopicRecord }> {
  const store = await openStore(dir, segmentBytes, durability)
  const topic = topicRecord('t', partitions)
  await store.putTopic(topic)
  await store.initPartitions(topic.id, Array.from({ length: partitions }, (_, p) => p))
  return { store, topic }
}

/** Appends frames behind the store's back, as a crash between the log write and the index batch leaves them. */
async function writeFramesWithoutIndex(dir: string, frames: Buffer[][], segmentBytes = 1 << 30): Promise<void> {
  const log = new SegmentLog(path.join(dir, 'log'), segmentBytes)
  const numbers = log.list()
  log.activate(numbers[numbers.length - 1] ?? 0)
  for (const buffers of frames) {
    const segment = log.reserve(buffers.reduce((sum, b) => sum + b.length, 0))
    await log.write(segment, segment.size, buffers)
    for (const buffer of buffers) segment.size += buffer.length
  }
  log.close()
}

/** The frame the store writes for `request` (a checked-batch frame when the request says its CRC was verified). */
function batchFrame(request: AppendRequest): Buffer[] {
  const { topicId, partition, baseOffset, lastOffset, maxTimestamp, bytes, batchCrcChecked } = request
  return [batchFrameHeader(topicIdBytes(topicId), partition, baseOffset, lastOffset, maxTimestamp, bytes, batchCrcChecked === true), bytes]
}

/** Holds classic-level's batch writes (the next one, or every one) until `gate` resolves, then writes them. */
function holdIndexBatches(every: boolean): { gate: PromiseWithResolvers<undefined>; batch: ReturnType<typeof vi.spyOn> } {
  const gate = Promise.withResolvers<undefined>()
  const realBatch = ClassicLevel.prototype.batch
  const held = (async function (this: ClassicLevel<Buffer, Buffer>, ...args: unknown[]) {
    await gate.promise
    return (realBatch as (...a: unknown[]) => Promise<void>).apply(this, args)
  }) as unknown as ClassicLevel['batch']
  const batch = vi.spyOn(ClassicLevel.prototype, 'batch')
  if (every) batch.mockImplementation(held)
  else batch.mockImplementationOnce(held)
  return { gate, batch }
}

async function entriesOf(store: HotStore, topicId: string, partition = 0): Promise<number[]> {
  const found = (await store.loadPartitions()).find((p) => p.topicId === topicId && p.partition === partition)
  return found?.entries.map((e) => e.baseOffset) ?? []
}

describe('disk hot store', () => {
  it('rolls segments at the configured size and reads across them, also after reopening', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir, 1, 1024)
    const requests = Array.from({ length: 40 }, (_, i) => appendOf(topic.id, 0, i, 1, 'roll', i === 20 ? 5000 : 0))
    const locations = []
    for (const request of requests) locations.push(await store.append(request))
    expect(segmentFiles(dir).length).toBeGreaterThan(3)
    expect(new Set(locations.map((l) => l.segment)).size).toBe(segmentFiles(dir).length)
    for (let i = 0; i < 40; i++) expect(store.read(locations[i]!).equals(requests[i]!.bytes)).toBe(true)
    // Only a frame larger than a segment makes its segment exceed the size, and then it is alone there.
    const big = locations[20]!
    expect(locations.filter((l) => l.segment === big.segment)).toHaveLength(1)
    for (const name of segmentFiles(dir)) {
      if (name !== segmentFileName(big.segment)) expect(fs.statSync(path.join(dir, 'log', name)).size).toBeLessThanOrEqual(1024)
    }
    await store.close()

    const reopened = await openStore(dir, 1024)
    const [partition] = await reopened.loadPartitions()
    expect(partition!.entries.map((e) => e.segment)).toEqual(locations.map((l) => l.segment))
    for (let i = 0; i < 40; i++) expect(reopened.read(partition!.entries[i]!).equals(requests[i]!.bytes)).toBe(true)
    await reopened.close()
  })

  it('rebuilds index entries, partition updates and state rows of index batches that were lost', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir, 2)
    await store.append(appendOf(topic.id, 0, 0, 2))
    await store.writeState([{ key: 'keep', value: Buffer.from('old') }])
    // The index as it was on disk at this moment: everything after it is "lost" below.
    const snapshot = path.join(dir, 'index-snapshot')
    fs.cpSync(path.join(dir, 'index'), snapshot, { recursive: true })
    await Promise.all([
      store.append(appendOf(topic.id, 0, 2, 3)),
      store.append(appendOf(topic.id, 1, 0, 1)),
      store.writeState([{ key: 'keep', value: Buffer.from('new') }, { key: 'added', value: Buffer.from('x') }]),
      store.updatePartitionState(topic.id, 0, { flushedOffset: 2 }),
    ])
    await store.writeState([{ key: 'added', value: null }, { key: 'later', value: Buffer.from('y') }])
    const before = await store.loadPartitions()
    const stateBefore = await store.scanState('')
    await store.close()
    fs.rmSync(path.join(dir, 'index'), { recursive: true })
    fs.renameSync(snapshot, path.join(dir, 'index'))

    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const report = await reopened.open()
    expect([report.reindexedBatches, report.replayedStateWrites, report.truncatedBytes, report.droppedEntries]).toEqual([2, 4, 0, 0])
    expect(report.reindexed.map((r) => [r.partition, r.entry.baseOffset, r.entry.lastOffset])).toEqual([[0, 2, 4], [1, 0, 0]])
    const after = await reopened.loadPartitions()
    const sorted = (list: typeof before) => [...list].sort((a, b) => a.partition - b.partition)
    expect(sorted(after)).toEqual(sorted(before))
    expect(await reopened.scanState('')).toEqual(stateBefore)
    expect(reopened.read(sorted(after)[0]!.entries[1]!).equals(batchAt(2, 3))).toBe(true)
    await reopened.close()
  })

  it('re-indexes frames with the index fields they were appended with', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    await store.close()
    // LogAppendTime: the index timestamp is the broker's, not one parsed from the records.
    await writeFramesWithoutIndex(dir, [batchFrame({ ...appendOf(topic.id, 0, 0, 2), maxTimestamp: 123 })])
    const reopened = await openStore(dir)
    const [partition] = await reopened.loadPartitions()
    expect(partition!.entries.map((e) => [e.baseOffset, e.lastOffset, e.maxTimestamp])).toEqual([[0, 1, 123]])
    expect(partition!.state.nextOffset).toBe(2)
    await reopened.close()
  })

  it.each([
    ['a flipped byte in the records of the last frame (plain batch frame)', false, (file: string) => {
      const bytes = fs.readFileSync(file)
      bytes[bytes.length - 2]! ^= 0xff
      fs.writeFileSync(file, bytes)
    }, false],
    ['a flipped byte in the batch prefix of the last frame (checked batch frame)', false, (file: string, intact: number) => {
      const bytes = fs.readFileSync(file)
      bytes[intact + BATCH_FRAME_HEADER_BYTES + 10]! ^= 0xff
      fs.writeFileSync(file, bytes)
    }, true],
    ['a frame cut short', false, (file: string) => fs.truncateSync(file, fs.statSync(file).size - 5)],
    ['a frame cut inside its length field', false, (file: string, intact: number) => fs.truncateSync(file, intact + 3)],
    ['garbage after a complete frame', true, (file: string) => fs.appendFileSync(file, Buffer.from('not a frame at all, just noise'))],
    ['zeros after a complete frame', true, (file: string) => fs.appendFileSync(file, Buffer.alloc(4096))],
    ['a flipped byte in the last frame', false, (file: string) => {
      const bytes = fs.readFileSync(file)
      bytes[bytes.length - 2]! ^= 0xff
      fs.writeFileSync(file, bytes)
    }],
  ] as Array<[string, boolean, (file: string, intact: number) => void, boolean?]>)('cuts a torn tail (%s) and never serves it', async (_label, lastFrameSurvives, damage, checked = true) => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    for (let i = 0; i < 3; i++) await store.append(appendOf(topic.id, 0, i))
    await store.close()
    const intact = fs.statSync(segmentPath(dir, 0)).size
    await writeFramesWithoutIndex(dir, [batchFrame({ ...appendOf(topic.id, 0, 3), batchCrcChecked: checked })])
    damage(segmentPath(dir, 0), intact)
    const expectedSize = lastFrameSurvives ? intact + BATCH_FRAME_HEADER_BYTES + batchAt(3).length : intact

    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const report = await reopened.open()
    expect(report.truncatedBytes).toBeGreaterThan(0)
    expect(fs.statSync(segmentPath(dir, 0)).size).toBe(expectedSize)
    const kept = lastFrameSurvives ? 4 : 3
    expect(await entriesOf(reopened, topic.id)).toEqual([0, 1, 2, 3].slice(0, kept))
    expect((await reopened.loadPartitions())[0]!.state.nextOffset).toBe(kept)
    // New appends go where the torn bytes were and read back intact.
    const again = appendOf(topic.id, 0, kept, 1, 'again')
    expect(reopened.read(await reopened.append(again)).equals(again.bytes)).toBe(true)
    await reopened.close()
  })

  it('keeps later segments when bytes in the middle of the log are damaged', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir, 1, 1024)
    await store.append(appendOf(topic.id, 0, 0))
    await store.close()
    // Twenty frames past the checkpoint over several segments, then damage one in the middle segment.
    await writeFramesWithoutIndex(dir, Array.from({ length: 20 }, (_, i) => batchFrame(appendOf(topic.id, 0, i + 1))), 1024)
    const files = segmentFiles(dir)
    expect(files.length).toBeGreaterThanOrEqual(3)
    const middle = path.join(dir, 'log', files[1]!)
    const bytes = fs.readFileSync(middle)
    bytes[BATCH_FRAME_HEADER_BYTES + 20]! ^= 0xff
    fs.writeFileSync(middle, bytes)

    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const report = await reopened.open()
    expect(report.truncatedBytes).toBe(bytes.length)
    expect(segmentFiles(dir)).toEqual([files[0], ...files.slice(2)])
    const offsets = await entriesOf(reopened, topic.id)
    const lastOfFirst = offsets.findIndex((o, i) => o !== i)
    // Dense up to the damage, then a gap, then every batch of the later segments.
    expect(lastOfFirst).toBeGreaterThan(1)
    expect(offsets.at(-1)).toBe(20)
    expect((await reopened.loadPartitions())[0]!.state.nextOffset).toBe(21)
    await reopened.close()
  })

  it('reuses an empty segment a roll created just before a crash', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    await store.append(appendOf(topic.id, 0, 0))
    await store.close()
    fs.writeFileSync(segmentPath(dir, 1), '')
    fs.writeFileSync(segmentPath(dir, 2), '')
    const reopened = await openStore(dir)
    const location = await reopened.append(appendOf(topic.id, 0, 1))
    expect([location.segment, location.position]).toEqual([2, 0])
    expect(segmentFiles(dir)).toEqual([segmentFileName(0), segmentFileName(2)])
    expect(await entriesOf(reopened, topic.id)).toEqual([0, 1])
    await reopened.close()
  })

  it('drops index entries whose bytes are gone and keeps offsets moving forward', async () => {
    // Only durability none after a machine crash can leave the index ahead of the log.
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    const first = await store.append(appendOf(topic.id, 0, 0))
    await store.append(appendOf(topic.id, 0, 1))
    await store.append(appendOf(topic.id, 0, 2))
    await store.close()
    fs.truncateSync(segmentPath(dir, 0), first.position + BATCH_FRAME_HEADER_BYTES + first.size)

    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const report = await reopened.open()
    expect([report.droppedEntries, report.truncatedBytes]).toEqual([2, 0])
    expect(await entriesOf(reopened, topic.id)).toEqual([0])
    expect((await reopened.loadPartitions())[0]!.state.nextOffset).toBe(3)
    const next = appendOf(topic.id, 0, 3)
    const location = await reopened.append(next)
    expect(reopened.read(location).equals(next.bytes)).toBe(true)
    expect(reopened.read(first).equals(batchAt(0))).toBe(true)
    await reopened.close()
  })

  it('fails every write of a commit whose fdatasync failed and every later one, and acknowledges none of them', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    await store.append(appendOf(topic.id, 0, 0))
    // After a failed fdatasync what reached the disk is unknown: unlike a full disk, nothing is rolled back.
    const sync = vi.spyOn(fs, 'fdatasync').mockImplementationOnce(((_fd: number, callback: (error: Error | null) => void) => {
      callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
    }) as typeof fs.fdatasync)
    const failed = [store.append(appendOf(topic.id, 0, 1)), store.writeState([{ key: 'k', value: Buffer.from('v') }])]
    for (const outcome of await Promise.allSettled(failed)) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE_FAILED' } })
    }
    await expect(store.append(appendOf(topic.id, 0, 1))).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
    await expect(store.updatePartitionState(topic.id, 0, { flushedOffset: 1 })).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
    await expect(store.putTopic(topicRecord('after'))).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
    expect(sync).toHaveBeenCalled()
    expect(store.health()).toMatchObject({ ok: false, detail: expect.stringContaining('restart needed') })
    await store.close()

    // The failed commit's bytes reached the page cache here, so recovery finds them intact and indexes
    // them, as after a crash before the acknowledgement; what matters is that none was acknowledged.
    const reopened = await openStore(dir)
    expect(await entriesOf(reopened, topic.id)).toEqual([0, 1])
    await reopened.close()
  })

  it('acknowledges after the index batch with durability fsync, and right after the log write with durability none', async () => {
    for (const durability of ['fsync', 'none'] as const) {
      const { store, topic } = await storeWithTopic(await freshDir(), 1, undefined, durability)
      const { gate, batch } = holdIndexBatches(false)
      let settled = false
      const appended = store.append(appendOf(topic.id, 0, 0)).then((location) => {
        settled = true
        return location
      })
      while (batch.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve))
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
      expect({ durability, settled }).toEqual({ durability, settled: durability === 'none' })
      gate.resolve(undefined)
      expect(store.read(await appended).equals(batchAt(0))).toBe(true)
      // A read of the index waits for the batches of what was acknowledged.
      expect(await entriesOf(store, topic.id)).toEqual([0])
      batch.mockRestore()
      await store.close()
    }
  })

  it('stops acknowledging once 16 index batches wait behind the log (durability none), and goes on when they are written', async () => {
    const { store, topic } = await storeWithTopic(await freshDir(), 1, undefined, 'none')
    const { gate } = holdIndexBatches(true)
    // One commit per append: the 17th is answered, and its commit holds the next one back.
    for (let offset = 0; offset < 17; offset++) await store.append(appendOf(topic.id, 0, offset))
    const commits = store.stats().commits
    let answered = false
    const held = store.append(appendOf(topic.id, 0, 17)).then(() => (answered = true))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect({ answered, commits: store.stats().commits }).toEqual({ answered: false, commits })
    gate.resolve(undefined)
    await held
    vi.restoreAllMocks()
    expect(await entriesOf(store, topic.id)).toHaveLength(18)
    await store.close()
  })

  it('fails the store when an index batch fails after its writes were acknowledged (durability none), and reopens with them', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir, 1, undefined, 'none')
    await store.append(appendOf(topic.id, 0, 0))
    const gate = Promise.withResolvers<undefined>()
    const batch = vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementationOnce((async () => {
      await gate.promise
      // Even a full disk: acknowledged writes cannot be rolled back.
      throw Object.assign(new Error(`IO error: ${dir}/index/000003.log: No space left on device`), { code: 'LEVEL_IO_ERROR' })
    }) as unknown as ClassicLevel['batch'])
    let acknowledged: BatchLocation | undefined
    void store.append(appendOf(topic.id, 0, 1)).then((location) => (acknowledged = location))
    while (batch.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 20 && acknowledged === undefined; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(acknowledged).toBeDefined()
    gate.resolve(undefined)
    for (let i = 0; i < 1000 && store.health().ok; i++) await new Promise((resolve) => setTimeout(resolve, 1))
    expect(store.health()).toMatchObject({ ok: false, detail: expect.stringContaining('restart needed') })
    await expect(store.append(appendOf(topic.id, 0, 2))).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
    await store.close()

    const reopened = await openStore(dir)
    expect(await entriesOf(reopened, topic.id)).toEqual([0, 1])
    const [partition] = await reopened.loadPartitions()
    expect(partition!.entries[1]).toMatchObject({ segment: acknowledged!.segment, position: acknowledged!.position })
    expect(reopened.read(partition!.entries[1]!).equals(batchAt(1))).toBe(true)
    await reopened.close()
  })

  it('removes the rows of a topic whose delete was interrupted', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir, 2)
    await store.append(appendOf(topic.id, 1, 0))
    await store.close()
    const index = new LevelIndex(path.join(dir, 'index'))
    await index.open()
    await index.write([{ type: 'del', key: topicKey(topicIdBytes(topic.id)) }], true)
    await index.close()

    const reopened = await openStore(dir)
    expect(await reopened.loadPartitions()).toEqual([])
    await reopened.close()
    const check = new LevelIndex(path.join(dir, 'index'))
    await check.open()
    let rows = 0
    await check.forEachEntry(() => rows++)
    expect([rows, (await check.partitionStates()).length]).toEqual([0, 0])
    await check.close()
  })

  it('does not re-index frames of a deleted topic', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    await store.deleteTopic(topic.id)
    await store.close()
    await writeFramesWithoutIndex(dir, [batchFrame(appendOf(topic.id, 0, 0))])
    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    expect((await reopened.open()).reindexedBatches).toBe(0)
    expect(await reopened.loadPartitions()).toEqual([])
    await reopened.close()
  })

  it('refuses an index written before the format was versioned', async () => {
    const dir = await freshDir()
    const db = new ClassicLevel(path.join(dir, 'index'))
    await db.put('c', 'old checkpoint')
    await db.close()
    await expect(new DiskHotStore({ dir, durability: 'fsync' }).open()).rejects.toMatchObject({ code: 'STORAGE_CORRUPT' })
  })

  it('refuses to cut a frame of an unknown kind whose CRC is valid (a newer format)', async () => {
    const dir = await freshDir()
    const { store } = await storeWithTopic(dir)
    await store.close()
    const frame = Buffer.alloc(16)
    frame.writeUInt32BE(12, 0)
    frame[8] = 0x7f
    frame.writeUInt32BE(crc32c(frame.subarray(8)) >>> 0, 4)
    await writeFramesWithoutIndex(dir, [[frame]])
    await expect(new DiskHotStore({ dir, durability: 'fsync' }).open()).rejects.toMatchObject({ code: 'STORAGE_CORRUPT' })
    expect(fs.statSync(segmentPath(dir, 0)).size).toBe(16)
  })

  it('replays partition updates and state rows written past the checkpoint', async () => {
    const dir = await freshDir()
    const { store, topic } = await storeWithTopic(dir)
    await store.append(appendOf(topic.id, 0, 0, 5))
    await store.close()
    const id = topicIdBytes(topic.id)
    await writeFramesWithoutIndex(dir, [
      [partitionFrame(id, 0, -1, 4)],
      [stateFrame([{ key: 'group/g/t/0', value: Buffer.from('5') }])],
      [partitionFrame(id, 0, 2, -1)],
    ])
    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    expect((await reopened.open()).replayedStateWrites).toBe(1)
    expect((await reopened.loadPartitions())[0]!.state).toEqual({ logStartOffset: 2, nextOffset: 5, flushedOffset: 4 })
    expect((await reopened.scanState('group/')).map((r) => r.value.toString())).toEqual(['5'])
    await reopened.close()
  })

  it('applies a replacement frame found past the checkpoint whole, and none of a torn one', async () => {
    for (const torn of [false, true]) {
      const dir = await freshDir()
      const { store, topic } = await storeWithTopic(dir)
      for (let base = 0; base < 10; base += 2) await store.append(appendOf(topic.id, 0, base, 2))
      await store.close()
      const added = [0, 4].map((base) => ({ baseOffset: base, lastOffset: base + 1, maxTimestamp: 7, bytes: batchAt(base + 1, 1, 'kept', 300) }))
      const header = replaceFrameHeader(topicIdBytes(topic.id), 0, [0, 2, 4], added.map(({ baseOffset, lastOffset, maxTimestamp, bytes }) => ({ baseOffset, lastOffset, maxTimestamp, size: bytes.length })), added.map((a) => a.bytes))
      const frame = Buffer.concat([header, ...added.map((a) => a.bytes)])
      // A crash between the log write and the index batch, the write whole or cut in the second batch.
      await writeFramesWithoutIndex(dir, [[torn ? frame.subarray(0, frame.length - 100) : frame]])
      const reopened = new DiskHotStore({ dir, durability: 'fsync' })
      const report = await reopened.open()
      const partition = (await reopened.loadPartitions())[0]!
      if (torn) {
        expect(report.truncatedBytes).toBe(frame.length - 100)
        expect(partition.entries.map((e) => e.baseOffset)).toEqual([0, 2, 4, 6, 8])
        for (const entry of partition.entries) expect(reopened.read(entry).equals(batchAt(entry.baseOffset, 2))).toBe(true)
      } else {
        expect(report.truncatedBytes).toBe(0)
        expect(partition.entries.map((e) => [e.baseOffset, e.lastOffset])).toEqual([[0, 1], [4, 5], [6, 7], [8, 9]])
        expect(reopened.read(partition.entries[0]!).equals(added[0]!.bytes)).toBe(true)
        expect(reopened.read(partition.entries[1]!).equals(added[1]!.bytes)).toBe(true)
      }
      expect(partition.state.nextOffset).toBe(10)
      await reopened.close()
    }
  })

  // A process crash keeps the page cache, so durability none (acknowledged before the index batch) must hold too.
  it.each(['fsync', 'none'] as const)('loses no acknowledged batch or state row when the writer (durability %s) is killed with SIGKILL, over several cycles', async (durability) => {
    const dir = await freshDir()
    const segmentBytes = 16 * 1024
    const acknowledged = new Map<number, Set<number>>([[0, new Set()], [1, new Set()]])
    let maxStateAck = -1
    for (let cycle = 0; cycle < 5; cycle++) {
      const child = spawn(process.execPath, [path.join(import.meta.dirname, 'crash-writer.ts'), dir, String(segmentBytes), durability], { stdio: ['ignore', 'pipe', 'inherit'] })
      let buffered = ''
      let killTimer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString()
          const lines = buffered.split('\n')
          buffered = lines.pop()!
          for (const line of lines) {
            const [word, a, b] = line.split(' ')
            if (word === 'ack') acknowledged.get(Number(a))!.add(Number(b))
            else if (word === 'state') maxStateAck = Math.max(maxStateAck, Number(a))
            else continue
            // Killed at a random moment once it writes, so the kill lands anywhere in a commit
            // (log write, fdatasync, index batch), not just after one.
            killTimer ??= setTimeout(() => child.kill('SIGKILL'), 20 + Math.random() * 300)
          }
        })
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))))
      })
      const store = await openStore(dir, segmentBytes)
      for (const partition of await store.loadPartitions()) {
        const offsets = partition.entries.map((e) => e.baseOffset)
        // Dense: every batch holds 3 records, offsets from 0 without a gap.
        expect(offsets).toEqual(offsets.map((_, i) => i * 3))
        expect(partition.state.nextOffset).toBe(offsets.length * 3)
        const stored = new Set(offsets)
        for (const base of acknowledged.get(partition.partition)!) expect(stored.has(base), `acked ${partition.partition}/${base}`).toBe(true)
        for (const entry of partition.entries) {
          const expected = appendOf('00000000-0000-0000-0000-000000000001', partition.partition, entry.baseOffset, 3, `p${partition.partition}`, (entry.baseOffset * 37) % 700).bytes
          expect(store.read(entry).equals(expected)).toBe(true)
        }
      }
      // State rows survive as a dense prefix that covers every acknowledged one.
      const rows = (await store.scanState('crash/')).map((r) => Number(r.value.toString()))
      expect(rows).toEqual(rows.map((_, i) => i))
      expect(rows.length).toBeGreaterThan(maxStateAck)
      await store.close()
    }
  })
})
