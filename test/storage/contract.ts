// The contract every hot store passes (run by disk-store.test.ts and memory-store.test.ts).
// `makeStore(dir)` builds an unopened store over a fresh temporary directory; `reopen(dir)`,
// for engines that persist, builds another one over the same directory after the first closed.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AppendRequest, HotStore } from '../../src/storage/hot-store.ts'
import { appendOf, batchAt, topicRecord } from './batches.ts'

export function hotStoreContract(name: string, makeStore: (dir: string) => HotStore, reopen?: (dir: string) => HotStore): void {
  describe(`${name} hot store contract`, () => {
    let dir: string
    let store: HotStore

    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'zombi-contract-'))
      store = makeStore(dir)
      await store.open()
    })

    afterEach(async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    })

    async function topicWith(partitions: number): Promise<string> {
      const topic = topicRecord(`t${partitions}`, partitions)
      await store.putTopic(topic)
      await store.initPartitions(topic.id, Array.from({ length: partitions }, (_, p) => p))
      return topic.id
    }

    async function partitionOf(topicId: string, partition: number) {
      return (await store.loadPartitions()).find((p) => p.topicId === topicId && p.partition === partition)
    }

    it('returns exactly the appended bytes, small and large', async () => {
      const topicId = await topicWith(1)
      for (const [base, valueBytes] of [[0, 0], [1, 100_000], [2, 3 * 1024 * 1024]] as const) {
        const request = appendOf(topicId, 0, base, 1, 'bytes', valueBytes)
        const location = await store.append(request)
        expect(location.size).toBe(request.bytes.length)
        expect(store.read(location).equals(request.bytes)).toBe(true)
      }
    })

    it('keeps nothing of an append\'s bytes once it has settled: the caller may reuse them (pooled request buffers)', async () => {
      const topicId = await topicWith(1)
      const shared = Buffer.alloc(200_000)
      const appended: Buffer[] = []
      const locations = []
      for (let base = 0; base < 3; base++) {
        const request = appendOf(topicId, 0, base, 1, `reused-${base}`, 100_000)
        appended.push(request.bytes)
        request.bytes.copy(shared)
        locations.push(await store.append({ ...request, bytes: shared.subarray(0, request.bytes.length) }))
      }
      shared.fill(0x5a)
      expect(locations.map((location) => store.read(location).toString('hex'))).toEqual(appended.map((bytes) => bytes.toString('hex')))
    })

    it('resolves appends of one tick in call order, across partitions', async () => {
      const topicId = await topicWith(4)
      const resolved: number[] = []
      const requests: AppendRequest[] = []
      const promises = Array.from({ length: 40 }, (_, i) => {
        const request = appendOf(topicId, i % 4, Math.floor(i / 4) * 2, 2, `p${i % 4}`)
        requests.push(request)
        return store.append(request).then((location) => {
          resolved.push(i)
          return location
        })
      })
      const locations = await Promise.all(promises)
      expect(resolved).toEqual(Array.from({ length: 40 }, (_, i) => i))
      for (let i = 0; i < 40; i++) expect(store.read(locations[i]!).equals(requests[i]!.bytes)).toBe(true)
    })

    it('resolves appends, state writes and partition updates of one tick in call order', async () => {
      const topicId = await topicWith(1)
      const order: string[] = []
      await Promise.all([
        store.writeState([{ key: 'a', value: Buffer.from('1') }]).then(() => order.push('state a')),
        store.append(appendOf(topicId, 0, 0)).then(() => order.push('append 0')),
        store.updatePartitionState(topicId, 0, { flushedOffset: 1 }).then(() => order.push('flushed')),
        store.writeState([]).then(() => order.push('state empty')),
        store.append(appendOf(topicId, 0, 1)).then(() => order.push('append 1')),
      ])
      expect(order).toEqual(['state a', 'append 0', 'flushed', 'state empty', 'append 1'])
      expect((await partitionOf(topicId, 0))!.state).toEqual({ logStartOffset: 0, nextOffset: 2, flushedOffset: 1 })
    })

    it('keeps resolving in call order while a commit is in flight', async () => {
      const topicId = await topicWith(2)
      const resolved: number[] = []
      const all: Promise<unknown>[] = []
      // Appends spread over several ticks, so later ones queue behind a commit in flight.
      for (let tick = 0; tick < 10; tick++) {
        for (let j = 0; j < 5; j++) {
          const i = tick * 5 + j
          all.push(store.append(appendOf(topicId, i % 2, Math.floor(i / 2))).then(() => resolved.push(i)))
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(all)
      expect(resolved).toEqual(Array.from({ length: 50 }, (_, i) => i))
      expect((await partitionOf(topicId, 0))!.entries.map((e) => e.baseOffset)).toEqual(Array.from({ length: 25 }, (_, i) => i))
    })

    it('records index entries ascending and advances nextOffset per partition', async () => {
      const topicId = await topicWith(2)
      const first = appendOf(topicId, 0, 0, 5)
      await store.append(first)
      await store.append({ ...appendOf(topicId, 0, 5, 1), maxTimestamp: 42 })
      await store.append(appendOf(topicId, 1, 0, 1))
      const p0 = (await partitionOf(topicId, 0))!
      const p1 = (await partitionOf(topicId, 1))!
      expect(p0.state).toEqual({ logStartOffset: 0, nextOffset: 6, flushedOffset: 0 })
      expect(p0.entries.map((e) => [e.baseOffset, e.lastOffset, e.maxTimestamp])).toEqual([[0, 4, first.maxTimestamp], [5, 5, 42]])
      expect(p1.state.nextOffset).toBe(1)
      expect(store.read(p0.entries[1]!).equals(batchAt(5))).toBe(true)
    })

    it('never moves nextOffset backwards', async () => {
      const topicId = await topicWith(1)
      await store.append(appendOf(topicId, 0, 10, 5))
      await store.append(appendOf(topicId, 0, 2, 1))
      expect((await partitionOf(topicId, 0))!.state.nextOffset).toBe(15)
    })

    it('indexes an append to a partition of a known topic that has no state yet', async () => {
      // The log layer makes a topic visible before initPartitions has finished.
      const topic = topicRecord('racing', 2)
      await store.putTopic(topic)
      await store.append(appendOf(topic.id, 1, 0, 3))
      await store.initPartitions(topic.id, [0, 1])
      const p1 = (await partitionOf(topic.id, 1))!
      expect(p1.state.nextOffset).toBe(3)
      expect(p1.entries.map((e) => e.baseOffset)).toEqual([0])
    })

    it('puts, loads and deletes topics with their partitions and index', async () => {
      const keep = topicRecord('keep')
      const drop = topicRecord('drop', 2)
      await store.putTopic(keep)
      await store.putTopic(drop)
      await store.initPartitions(keep.id, [0])
      await store.initPartitions(drop.id, [0, 1])
      await store.append(appendOf(drop.id, 1, 0))
      await store.append(appendOf(keep.id, 0, 0))
      expect((await store.loadTopics()).map((t) => t.name).sort()).toEqual(['drop', 'keep'])
      await store.deleteTopic(drop.id)
      expect((await store.loadTopics()).map((t) => t.name)).toEqual(['keep'])
      const partitions = await store.loadPartitions()
      expect(partitions.filter((p) => p.topicId === drop.id)).toEqual([])
      expect(partitions.filter((p) => p.topicId === keep.id).map((p) => p.entries.length)).toEqual([1])
    })

    it('does not index appends of a topic deleted while they were queued', async () => {
      const topic = topicRecord('short-lived')
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0])
      const appended = store.append(appendOf(topic.id, 0, 0))
      const deleted = store.deleteTopic(topic.id)
      await Promise.all([appended, deleted])
      expect((await store.loadPartitions()).filter((p) => p.topicId === topic.id)).toEqual([])
      await store.initPartitions(topic.id, [0])
      expect((await store.loadPartitions()).filter((p) => p.topicId === topic.id)).toEqual([])
    })

    it('keeps topic configs and partition counts as put', async () => {
      const topic = { ...topicRecord('configured', 3), configs: { 'retention.ms': '1000', 'message.timestamp.type': 'LogAppendTime' } }
      await store.putTopic(topic)
      await store.putTopic({ ...topic, partitions: 5 })
      const [loaded] = await store.loadTopics()
      expect(loaded).toEqual({ ...topic, partitions: 5 })
    })

    it('writes, overwrites, deletes and scans state rows by prefix in key order', async () => {
      await store.writeState([{ key: 'group/g1/t/1', value: Buffer.from('b') }, { key: 'group/g1/t/0', value: Buffer.from('a') }, { key: 'group/g2/t/0', value: Buffer.from('c') }])
      await store.writeState([{ key: 'group/g10/t/0', value: Buffer.from('d') }, { key: 'groups', value: Buffer.from('e') }])
      await store.writeState([{ key: 'group/g1/t/1', value: Buffer.from('B') }, { key: 'group/g2/t/0', value: null }])
      const rows = (prefix: string) => store.scanState(prefix).then((found) => found.map((r) => [r.key, r.value.toString()]))
      expect(await rows('group/g1/')).toEqual([['group/g1/t/0', 'a'], ['group/g1/t/1', 'B']])
      expect(await rows('group/g2/')).toEqual([])
      expect(await rows('group/')).toEqual([['group/g1/t/0', 'a'], ['group/g1/t/1', 'B'], ['group/g10/t/0', 'd']])
      expect((await rows('')).length).toBe(4)
    })

    it('applies state writes of one tick in call order (the last write of a key wins)', async () => {
      const value = Buffer.from('first')
      const writes = [
        store.writeState([{ key: 'k', value }]),
        store.writeState([{ key: 'k', value: null }, { key: 'k', value: Buffer.from('second') }]),
        store.writeState([{ key: 'k', value: Buffer.from('third') }, { key: 'gone', value: Buffer.from('x') }, { key: 'gone', value: null }]),
      ]
      value.write('FIRST') // values are copied at the call
      await Promise.all(writes)
      expect((await store.scanState('')).map((r) => [r.key, r.value.toString()])).toEqual([['k', 'third']])
    })

    it('updates logStartOffset and flushedOffset without moving nextOffset', async () => {
      const topicId = await topicWith(1)
      await store.append(appendOf(topicId, 0, 0, 10))
      await store.updatePartitionState(topicId, 0, { flushedOffset: 7 })
      await store.updatePartitionState(topicId, 0, { logStartOffset: 3 })
      expect((await partitionOf(topicId, 0))!.state).toEqual({ logStartOffset: 3, nextOffset: 10, flushedOffset: 7 })
      await expect(store.updatePartitionState(topicId, 9, { flushedOffset: 1 })).rejects.toThrow(/no partition 9/)
    })

    it('initialises new partitions at offset 0 and leaves existing ones alone', async () => {
      const topicId = await topicWith(1)
      await store.append(appendOf(topicId, 0, 0))
      await store.initPartitions(topicId, [0, 1, 2])
      const states = (await store.loadPartitions()).filter((p) => p.topicId === topicId).sort((a, b) => a.partition - b.partition).map((p) => p.state.nextOffset)
      expect(states).toEqual([1, 0, 0])
    })

    it('rejects a malformed append alone and keeps accepting good ones', async () => {
      const topicId = await topicWith(1)
      const good = appendOf(topicId, 0, 0)
      await expect(store.append({ ...good, lastOffset: -1 })).rejects.toThrow(/last offset/)
      await expect(store.append({ ...good, partition: -1 })).rejects.toThrow(/partition/)
      await expect(store.append({ ...good, baseOffset: 0.5 })).rejects.toThrow(/base offset/)
      expect(store.read(await store.append(good)).equals(good.bytes)).toBe(true)
    })

    it('finishes queued writes on close and refuses writes after it', async () => {
      const topicId = await topicWith(1)
      const appended = store.append(appendOf(topicId, 0, 0))
      const written = store.writeState([{ key: 'late', value: Buffer.from('x') }])
      await store.close()
      await expect(appended).resolves.toMatchObject({ size: batchAt(0).length })
      await expect(written).resolves.toBeUndefined()
      await expect(store.append(appendOf(topicId, 0, 1))).rejects.toMatchObject({ code: 'STORAGE_CLOSED' })
      await expect(store.writeState([])).rejects.toMatchObject({ code: 'STORAGE_CLOSED' })
      store = makeStore(dir)
      await store.open()
    })

    it('replaces batches of a partition in one swap, keeping offsets, other partitions and nextOffset', async () => {
      const topicId = await topicWith(2)
      // Five batches of two records per partition: offsets 0-9.
      for (let base = 0; base < 10; base += 2) {
        await store.append(appendOf(topicId, 0, base, 2, 'p0'))
        await store.append(appendOf(topicId, 1, base, 2, 'p1'))
      }
      // Batches 0, 2 and 4 become one batch that keeps offset 1 and one that keeps offset 4.
      const kept = [
        { baseOffset: 0, lastOffset: 1, maxTimestamp: 1, bytes: batchAt(0, 1, 'kept') },
        { baseOffset: 4, lastOffset: 5, maxTimestamp: 2, bytes: batchAt(4, 1, 'kept') },
      ]
      const entries = await store.replaceBatches(topicId, 0, [0, 2, 4], kept)
      expect(entries.map((e) => [e.baseOffset, e.lastOffset, e.maxTimestamp])).toEqual([[0, 1, 1], [4, 5, 2]])
      for (let i = 0; i < 2; i++) expect(store.read(entries[i]!).equals(kept[i]!.bytes)).toBe(true)
      const check = async (): Promise<void> => {
        const p0 = (await partitionOf(topicId, 0))!
        expect(p0.entries.map((e) => e.baseOffset)).toEqual([0, 4, 6, 8])
        expect(p0.state.nextOffset).toBe(10)
        expect(store.read(p0.entries[0]!).equals(kept[0]!.bytes)).toBe(true)
        expect(store.read(p0.entries[1]!).equals(kept[1]!.bytes)).toBe(true)
        expect(store.read(p0.entries[2]!).equals(batchAt(6, 2, 'p0'))).toBe(true)
        const p1 = (await partitionOf(topicId, 1))!
        expect(p1.entries.map((e) => e.baseOffset)).toEqual([0, 2, 4, 6, 8])
        for (const entry of p1.entries) expect(store.read(entry).equals(batchAt(entry.baseOffset, 2, 'p1'))).toBe(true)
      }
      await check()
      // Appends go on after the replacement, at the partition's next offset.
      await store.append(appendOf(topicId, 0, 10, 1, 'p0'))
      expect((await partitionOf(topicId, 0))!.state.nextOffset).toBe(11)
      // A replacement may remove batches without adding any (every record of them was superseded).
      await store.replaceBatches(topicId, 0, [6], [])
      expect((await partitionOf(topicId, 0))!.entries.map((e) => e.baseOffset)).toEqual([0, 4, 8, 10])
      if (reopen !== undefined) {
        await store.close()
        store = reopen(dir)
        const report = await store.open()
        expect(report.droppedEntries).toBe(0)
        const p0 = (await partitionOf(topicId, 0))!
        expect(p0.entries.map((e) => e.baseOffset)).toEqual([0, 4, 8, 10])
        expect(store.read(p0.entries[1]!).equals(kept[1]!.bytes)).toBe(true)
      }
    })

    it('orders a replacement with the appends of its tick and refuses malformed ones alone', async () => {
      const topicId = await topicWith(1)
      for (let base = 0; base < 4; base++) await store.append(appendOf(topicId, 0, base))
      const order: string[] = []
      await Promise.all([
        store.append(appendOf(topicId, 0, 4)).then(() => order.push('append 4')),
        store.replaceBatches(topicId, 0, [0, 1], [{ baseOffset: 1, lastOffset: 1, maxTimestamp: 0, bytes: batchAt(1) }]).then(() => order.push('replace')),
        store.append(appendOf(topicId, 0, 5)).then(() => order.push('append 5')),
      ])
      expect(order).toEqual(['append 4', 'replace', 'append 5'])
      await expect(store.replaceBatches(topicId, 0, [], [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(store.replaceBatches(topicId, 0, [3, 2], [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      // A kept batch starting before the first removed one would move an offset.
      await expect(store.replaceBatches(topicId, 0, [2], [{ baseOffset: 1, lastOffset: 2, maxTimestamp: 0, bytes: batchAt(1) }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      const entries = (await partitionOf(topicId, 0))!.entries
      expect(entries.map((e) => e.baseOffset)).toEqual([1, 2, 3, 4, 5])
      for (const entry of entries) expect(store.read(entry).equals(batchAt(entry.baseOffset))).toBe(true)
    })

    it('deletes whole segments below a point for retention, keeping later batches readable and offsets going on', async () => {
      const topic = topicRecord('retention', 2)
      await store.putTopic(topic)
      await store.initPartitions(topic.id, [0, 1])
      // ~1.1 KB batches, alternating partitions: several per 4 KiB segment, a dozen segments.
      for (let i = 0; i < 40; i++) await store.append(appendOf(topic.id, i % 2, Math.floor(i / 2), 1, `k${i % 2}`, 1000))
      const listing = store.segments()
      if (listing.segments.length === 1) {
        // An engine configured with large segments: nothing below the one segment to delete.
        expect(await store.deleteSegmentsBefore(listing.segments[0]!.segment, [])).toBe(0)
        expect(store.segments().segments).toHaveLength(1)
        return
      }
      expect(listing.segments.length).toBeGreaterThan(6)
      expect(listing.deletableBefore).toBe(listing.segments[listing.segments.length - 1]!.segment)
      const cut = listing.segments[4]!.segment
      const before = await store.loadPartitions()
      const updates = before.map(({ partition, entries }) => ({ topicId: topic.id, partition, logStartOffset: entries.find((e) => e.segment >= cut)!.baseOffset }))
      expect(updates.every((u) => u.logStartOffset > 0)).toBe(true)
      // A point past the segments that may hold writes in flight is refused.
      await expect(store.deleteSegmentsBefore(listing.deletableBefore + 1, [])).rejects.toThrow(/unacknowledged/)

      const freed = await store.deleteSegmentsBefore(cut, updates)
      expect(freed).toBe(listing.segments.slice(0, 4).reduce((sum, info) => sum + info.bytes, 0))
      expect(store.segments().segments.map((info) => info.segment)).toEqual(listing.segments.slice(4).map((info) => info.segment))
      const check = async (): Promise<void> => {
        for (const { partition, state, entries } of await store.loadPartitions()) {
          expect(state.logStartOffset).toBe(updates[partition]!.logStartOffset)
          expect(entries[0]!.baseOffset).toBe(state.logStartOffset)
          expect(entries[entries.length - 1]!.lastOffset).toBe(19)
          for (const entry of entries) {
            expect(entry.segment).toBeGreaterThanOrEqual(cut)
            expect(store.read(entry).equals(batchAt(entry.baseOffset, 1, `k${partition}`, 1000))).toBe(true)
          }
        }
      }
      await check()
      if (reopen !== undefined) {
        await store.close()
        store = reopen(dir)
        const report = await store.open()
        expect([report.reindexedBatches, report.truncatedBytes, report.droppedEntries]).toEqual([0, 0, 0])
        await check()
      }
      const next = appendOf(topic.id, 0, 20)
      expect(store.read(await store.append(next)).equals(next.bytes)).toBe(true)
      expect((await partitionOf(topic.id, 0))!.state.nextOffset).toBe(21)
    })

    if (reopen !== undefined) {
      it('reopens with the same topics, partitions, index entries, bytes and state', async () => {
        const topic = topicRecord('reopen', 2)
        await store.putTopic(topic)
        await store.initPartitions(topic.id, [0, 1])
        const requests = Array.from({ length: 10 }, (_, i) => appendOf(topic.id, i % 2, Math.floor(i / 2) * 2, 2, `r${i % 2}`))
        await Promise.all(requests.map((request) => store.append(request)))
        await store.writeState([{ key: 'broker/x', value: Buffer.from('y') }])
        await store.updatePartitionState(topic.id, 1, { logStartOffset: 2, flushedOffset: 4 })
        const before = await store.loadPartitions()
        await store.close()

        store = reopen(dir)
        const report = await store.open()
        expect([report.reindexedBatches, report.truncatedBytes, report.replayedStateWrites, report.droppedEntries]).toEqual([0, 0, 0, 0])
        expect(await store.loadTopics()).toEqual([topic])
        const after = await store.loadPartitions()
        const byKey = (list: typeof before) => [...list].sort((a, b) => a.partition - b.partition)
        expect(byKey(after)).toEqual(byKey(before))
        for (const partition of after) {
          for (const entry of partition.entries) expect(store.read(entry).equals(batchAt(entry.baseOffset, 2, `r${partition.partition}`))).toBe(true)
        }
        expect((await store.scanState('broker/')).map((r) => r.value.toString())).toEqual(['y'])
        // Appends continue where the log left off.
        const next = appendOf(topic.id, 0, 10)
        expect(store.read(await store.append(next)).equals(next.bytes)).toBe(true)
      })
    }
  })
}
