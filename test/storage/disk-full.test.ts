// The disk store on a full disk: appends refused under the free-space floor (before anything is
// queued), the reserve file, and the rollback of a write that fails for lack of space anyway
// (ENOSPC injected into the log write or the index batch).
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RESERVE_FILE } from '../../src/storage/disk-space.ts'
import { DiskHotStore, type DiskHotStoreOptions } from '../../src/storage/disk-store.ts'
import { BATCH_FRAME_HEADER_BYTES } from '../../src/storage/frame.ts'
import { segmentFileName } from '../../src/storage/segment-log.ts'
import { appendOf, topicRecord } from './batches.ts'

const MB = 1024 * 1024
const dirs: string[] = []
const stores: DiskHotStore[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  for (const store of stores.splice(0)) await store.close()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function openStore(options: Partial<DiskHotStoreOptions> = {}): Promise<{ store: DiskHotStore; dir: string; topicId: string }> {
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'zombi-full-')))
  if (options.dir === undefined) dirs.push(dir)
  // The timer never fires within a test: checkSpace() is called where the test wants a measurement.
  const store = new DiskHotStore({ dir, durability: 'fsync', spaceCheckMs: 3_600_000, ...options })
  await store.open()
  stores.push(store)
  const topic = topicRecord('t')
  await store.putTopic(topic)
  await store.initPartitions(topic.id, [0])
  return { store, dir, topicId: topic.id }
}

async function reopen(store: DiskHotStore, dir: string): Promise<DiskHotStore> {
  await store.close()
  stores.splice(stores.indexOf(store), 1)
  const reopened = new DiskHotStore({ dir, durability: 'fsync', spaceCheckMs: 3_600_000 })
  await reopened.open()
  stores.push(reopened)
  return reopened
}

function segmentSize(dir: string): number {
  return fs.statSync(path.join(dir, 'log', segmentFileName(0))).size
}

/** The store's rollback ends when it accepts writes again. */
async function rolledBack(store: DiskHotStore): Promise<void> {
  for (let i = 0; i < 10_000 && !store.health().ok; i++) await new Promise((resolve) => setTimeout(resolve, 1))
  expect(store.health()).toMatchObject({ ok: true })
}

function noSpace(message = 'ENOSPC: no space left on device, write'): Error {
  return Object.assign(new Error(message), { code: 'ENOSPC' })
}

describe('free-space floor', () => {
  it('refuses appends that would leave less than the floor, counting queued bytes, until a check sees space again', async () => {
    let free = 100 * MB
    const { store, topicId } = await openStore({ minFreeBytes: 16 * MB, freeBytes: async () => free })
    expect(store.hasSpaceFor(1000)).toBe(true)
    expect(store.health()).toMatchObject({ ok: true, freeBytes: 100 * MB })

    // 8 MB of reserve file counts as free: 16 MB + 10 KB in all.
    free = 8 * MB + 10 * 1024
    await store.checkSpace()
    const request = appendOf(topicId, 0, 0, 1, 'fill', 4000)
    const frameBytes = request.bytes.length + BATCH_FRAME_HEADER_BYTES
    expect(store.hasSpaceFor(request.bytes.length)).toBe(true)
    await store.append(request)
    await store.append(appendOf(topicId, 0, 1, 1, 'fill', 4000))
    // Two frames written since the check: no syscall per append, the estimate counts them.
    expect(store.health().freeBytes).toBe(16 * MB + 10 * 1024 - 2 * frameBytes)
    expect(store.hasSpaceFor(request.bytes.length)).toBe(false)
    expect(store.health()).toMatchObject({ ok: false, detail: expect.stringMatching(/^disk full: 16 MB free, floor 16 MB$/) })

    free = 100 * MB
    expect(store.hasSpaceFor(request.bytes.length)).toBe(false)
    await store.checkSpace()
    expect(store.hasSpaceFor(request.bytes.length)).toBe(true)
    expect(store.health().ok).toBe(true)
  })

  it('holds a reserve file while there is room, gives it back when the disk fills up, and makes it again', async () => {
    let free = 100 * MB
    const { store, dir } = await openStore({ minFreeBytes: 16 * MB, freeBytes: async () => free })
    const reserve = path.join(dir, RESERVE_FILE)
    // Half the floor, written for real (blocks allocated, not a sparse file).
    expect(fs.statSync(reserve).size).toBe(8 * MB)
    expect(fs.statSync(reserve).blocks * 512).toBeGreaterThanOrEqual(8 * MB)

    free = 3 * MB
    await store.checkSpace()
    expect(fs.existsSync(reserve)).toBe(false)
    expect(store.health()).toMatchObject({ ok: false, detail: expect.stringContaining('disk full') })

    // Not before the floor and the reserve both fit.
    free = 20 * MB
    await store.checkSpace()
    expect(fs.existsSync(reserve)).toBe(false)
    free = 24 * MB
    await store.checkSpace()
    expect(fs.statSync(reserve).size).toBe(8 * MB)
  })

  it('gives the reserve back before opening on a disk with less free than the reserve, and serves reads', async () => {
    let free = 100 * MB
    const { store, dir, topicId } = await openStore({ minFreeBytes: 16 * MB, freeBytes: async () => free })
    const stored = appendOf(topicId, 0, 0, 3)
    const location = await store.append(stored)
    await store.close()
    stores.splice(0)

    free = 0
    const reopened = new DiskHotStore({ dir, durability: 'fsync', spaceCheckMs: 3_600_000, minFreeBytes: 16 * MB, freeBytes: async () => free })
    await reopened.open()
    stores.push(reopened)
    expect(fs.existsSync(path.join(dir, RESERVE_FILE))).toBe(false)
    expect(reopened.read(location).equals(stored.bytes)).toBe(true)
    expect(reopened.hasSpaceFor(1)).toBe(false)
    expect(reopened.health()).toMatchObject({ ok: false, detail: 'disk full: 0 MB free, floor 16 MB' })
  })
})

describe('rollback after a write that fails for lack of space', () => {
  it('cuts a torn log write back, fails that commit and every write after it, and reuses its offsets', async () => {
    const { store, dir, topicId } = await openStore()
    await store.append(appendOf(topicId, 0, 0))
    const durableEnd = segmentSize(dir)
    // The next log write (a small one, made synchronously) lands in part, then the disk is full.
    const writev = vi.spyOn(fs, 'writevSync').mockImplementationOnce(((fd: number, _buffers: Buffer[], position: number) => {
      fs.writeSync(fd, Buffer.from('torn bytes'), 0, 10, position)
      throw noSpace()
    }) as unknown as typeof fs.writevSync)
    const failed = [
      store.append(appendOf(topicId, 0, 1, 2, 'lost')),
      store.writeState([{ key: 'lost/state', value: Buffer.from('x') }]),
      store.updatePartitionState(topicId, 0, { flushedOffset: 1 }),
    ]
    for (const outcome of await Promise.allSettled(failed)) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE_FULL' } })
    expect(writev).toHaveBeenCalledTimes(1)
    await rolledBack(store)
    expect(segmentSize(dir)).toBe(durableEnd)

    const again = appendOf(topicId, 0, 1, 1, 'again')
    const location = await store.append(again)
    expect(location.position).toBe(durableEnd)
    expect(segmentSize(dir)).toBe(durableEnd + BATCH_FRAME_HEADER_BYTES + again.bytes.length)

    const reopened = await reopen(store, dir)
    const [partition] = await reopened.loadPartitions()
    expect(partition!.entries.map((e) => e.baseOffset)).toEqual([0, 1])
    expect(partition!.state).toEqual({ logStartOffset: 0, nextOffset: 2, flushedOffset: 0 })
    expect(reopened.read(partition!.entries[1]!).equals(again.bytes)).toBe(true)
    expect(await reopened.scanState('lost/')).toEqual([])
  })

  it('rolls back a failed index batch and the commit already in the log behind it, reopens the index and goes on', async () => {
    const { store, dir, topicId } = await openStore()
    await store.append(appendOf(topicId, 0, 0))
    const durableEnd = segmentSize(dir)
    const commits = store.stats().commits
    const gate = Promise.withResolvers<undefined>()
    const batch = vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementationOnce((async () => {
      await gate.promise
      throw Object.assign(new Error(`IO error: ${dir}/index/000003.log: No space left on device`), { code: 'LEVEL_IO_ERROR' })
    }) as unknown as ClassicLevel['batch'])
    const first = store.append(appendOf(topicId, 0, 1, 1, 'k'))
    while (store.stats().commits < commits + 1) await new Promise((resolve) => setImmediate(resolve))
    // Pipelined: this commit writes and syncs its frames while the first one's index batch runs.
    const second = store.append(appendOf(topicId, 0, 2, 1, 'k1'))
    const state = store.writeState([{ key: 'lost/state', value: Buffer.from('x') }])
    while (store.stats().commits < commits + 2) await new Promise((resolve) => setImmediate(resolve))
    expect(segmentSize(dir)).toBeGreaterThan(durableEnd)
    gate.resolve(undefined)
    for (const outcome of await Promise.allSettled([first, second, state])) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE_FULL' } })
    expect(batch).toHaveBeenCalled()
    await rolledBack(store)
    expect(segmentSize(dir)).toBe(durableEnd)

    const after = appendOf(topicId, 0, 1, 1, 'after')
    expect((await store.append(after)).position).toBe(durableEnd)
    await store.writeState([{ key: 'kept/state', value: Buffer.from('y') }])

    const reopened = await reopen(store, dir)
    const [partition] = await reopened.loadPartitions()
    expect(partition!.entries.map((e) => e.baseOffset)).toEqual([0, 1])
    expect(partition!.state.nextOffset).toBe(2)
    expect(reopened.read(partition!.entries[1]!).equals(after.bytes)).toBe(true)
    expect(await reopened.scanState('lost/')).toEqual([])
    expect((await reopened.scanState('kept/')).map((row) => row.key)).toEqual(['kept/state'])
  })

  it('keeps refusing writes while the disk is too full to reopen the index, and takes them again after a check finds room', async () => {
    const { store, dir, topicId } = await openStore()
    await store.append(appendOf(topicId, 0, 0))
    const noRoom = (): Error => Object.assign(new Error(`IO error: ${dir}/index/000005.ldb: No space left on device`), { code: 'LEVEL_IO_ERROR' })
    vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementationOnce((async () => {
      throw noRoom()
    }) as unknown as ClassicLevel['batch'])
    // The reopen fails as on a full disk: the database ends up closed (the real open runs, so the
    // instance does not open itself later, then it is closed again).
    const realOpen = ClassicLevel.prototype.open
    const open = vi.spyOn(ClassicLevel.prototype, 'open').mockImplementationOnce((async function (this: ClassicLevel<Buffer, Buffer>) {
      await (realOpen as (this: ClassicLevel<Buffer, Buffer>) => Promise<void>).call(this)
      await this.close()
      throw Object.assign(new Error('Database failed to open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: noRoom() })
    }) as unknown as ClassicLevel['open'])
    await expect(store.append(appendOf(topicId, 0, 1))).rejects.toMatchObject({ code: 'STORAGE_FULL' })
    for (let i = 0; i < 10_000 && open.mock.calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1))
    expect(store.hasSpaceFor(1)).toBe(false)
    expect(store.health()).toMatchObject({ ok: false, detail: expect.stringContaining('rolled back') })
    await expect(store.writeState([{ key: 'refused', value: Buffer.from('x') }])).rejects.toMatchObject({ code: 'STORAGE_FULL' })

    // The space timer's job (it never fires here): a check once the failed reopen is over makes it writable.
    for (let i = 0; i < 1000 && !store.health().ok; i++) {
      await store.checkSpace()
      if (!store.health().ok) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect(store.health().ok).toBe(true)
    expect(open).toHaveBeenCalledTimes(2)
    const location = await store.append(appendOf(topicId, 0, 1, 1, 'after'))
    const reopened = await reopen(store, dir)
    const [partition] = await reopened.loadPartitions()
    expect(partition!.entries.map((e) => e.baseOffset)).toEqual([0, 1])
    expect(partition!.entries[1]!.position).toBe(location.position)
  })

  it('fails a topic write that finds the disk full cleanly and stays writable', async () => {
    const { store, topicId } = await openStore()
    vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementationOnce((async () => {
      throw Object.assign(new Error('IO error: 000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
    }) as unknown as ClassicLevel['batch'])
    await expect(store.putTopic(topicRecord('full'))).rejects.toMatchObject({ code: 'STORAGE_FULL' })
    await rolledBack(store)
    const other = topicRecord('later')
    await store.putTopic(other)
    expect((await store.loadTopics()).map((t) => t.name).sort()).toEqual(['later', 't'])
    await store.append(appendOf(topicId, 0, 0))
  })
})
