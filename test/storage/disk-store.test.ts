import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { SegmentLog, frameHeader } from '../../src/storage/segment-log.ts'
import { batchAt, hotStoreContract, topicRecord } from './contract.ts'

const dirs: string[] = []
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zombi-store-'))
  dirs.push(dir)
  return dir
}

hotStoreContract('disk (fsync)', async () => new DiskHotStore({ dir: await freshDir(), durability: 'fsync' }))
hotStoreContract('disk (none, tiny segments)', async () => new DiskHotStore({ dir: await freshDir(), durability: 'none', segmentBytes: 512 }))

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'log')).sort()
}

describe('disk hot store', () => {
  it('reopens with the same topics, partitions, index entries and bytes', async () => {
    const dir = await freshDir()
    const topic = topicRecord('reopen', 2)
    const first = new DiskHotStore({ dir, durability: 'fsync' })
    await first.open()
    await first.putTopic(topic)
    await first.initPartitions(topic.id, [0, 1])
    for (let i = 0; i < 10; i++) await first.append({ topicId: topic.id, partition: i % 2, baseOffset: Math.floor(i / 2) * 2, lastOffset: Math.floor(i / 2) * 2 + 1, maxTimestamp: i, bytes: batchAt(Math.floor(i / 2) * 2, 2) })
    await first.writeState([{ key: 'broker/x', value: Buffer.from('y') }])
    const before = await first.loadPartitions()
    await first.close()

    const second = new DiskHotStore({ dir, durability: 'fsync' })
    expect(await second.open()).toEqual({ reindexedBatches: 0, reindexed: [], truncatedBytes: 0 })
    expect(await second.loadTopics()).toEqual([topic])
    const after = await second.loadPartitions()
    expect(after).toEqual(before)
    for (const partition of after) for (const entry of partition.entries) expect(second.read(entry).equals(batchAt(entry.baseOffset, 2))).toBe(true)
    expect((await second.scanState('broker/'))[0]!.value.toString()).toBe('y')
    await second.close()
  })

  it('rolls segments at the configured size and reads across them', async () => {
    const dir = await freshDir()
    const topic = topicRecord('roll')
    const store = new DiskHotStore({ dir, durability: 'none', segmentBytes: 1024 })
    await store.open()
    await store.putTopic(topic)
    await store.initPartitions(topic.id, [0])
    const locations = []
    for (let i = 0; i < 40; i++) locations.push(await store.append({ topicId: topic.id, partition: 0, baseOffset: i, lastOffset: i, maxTimestamp: i, bytes: batchAt(i) }))
    expect(segmentFiles(dir).length).toBeGreaterThan(3)
    expect(new Set(locations.map((l) => l.segment)).size).toBe(segmentFiles(dir).length)
    for (let i = 0; i < 40; i++) expect(store.read(locations[i]!).equals(batchAt(i))).toBe(true)
    await store.close()
  })

  it('re-indexes frames written past the last index checkpoint', async () => {
    const dir = await freshDir()
    const topic = topicRecord('reindex')
    const store = new DiskHotStore({ dir, durability: 'fsync' })
    await store.open()
    await store.putTopic(topic)
    await store.initPartitions(topic.id, [0])
    await store.append({ topicId: topic.id, partition: 0, baseOffset: 0, lastOffset: 0, maxTimestamp: 1, bytes: batchAt(0) })
    await store.close()
    // Frames the log got but the index never saw (a crash between the fdatasync and the index batch).
    const log = new SegmentLog(path.join(dir, 'log'), 1 << 30)
    log.activate(0)
    const segment = log.active()
    for (let base = 1; base <= 2; base++) {
      const batch = batchAt(base)
      await log.write(segment, segment.size, [frameHeader(topic.id, 0, batch), batch])
      segment.size += 28 + batch.length
    }
    log.close()

    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const report = await reopened.open()
    expect([report.reindexedBatches, report.truncatedBytes]).toEqual([2, 0])
    expect(report.reindexed.map((r) => [r.topicId, r.partition, r.entry.baseOffset])).toEqual([[topic.id, 0, 1], [topic.id, 0, 2]])
    const [partition] = await reopened.loadPartitions()
    expect(partition!.state.nextOffset).toBe(3)
    expect(partition!.entries.map((e) => e.baseOffset)).toEqual([0, 1, 2])
    expect(reopened.read(partition!.entries[2]!).equals(batchAt(2))).toBe(true)
    await reopened.close()
  })

  it.each([
    ['a frame cut short', false, (file: string) => fs.truncateSync(file, fs.statSync(file).size - 5)],
    ['garbage after a complete frame', true, (file: string) => fs.appendFileSync(file, Buffer.from('not a frame at all, just noise'))],
    ['a flipped byte in the last frame', false, (file: string) => {
      const bytes = fs.readFileSync(file)
      bytes[bytes.length - 2]! ^= 0xff
      fs.writeFileSync(file, bytes)
    }],
  ])('cuts a torn tail (%s) and never serves it', async (_label, lastFrameSurvives, damage) => {
    const dir = await freshDir()
    const topic = topicRecord('torn')
    const store = new DiskHotStore({ dir, durability: 'fsync' })
    await store.open()
    await store.putTopic(topic)
    await store.initPartitions(topic.id, [0])
    for (let i = 0; i < 3; i++) await store.append({ topicId: topic.id, partition: 0, baseOffset: i, lastOffset: i, maxTimestamp: i, bytes: batchAt(i) })
    await store.close()
    // Write the last frame again past the checkpoint, then damage it: the shape of a torn write.
    const log = new SegmentLog(path.join(dir, 'log'), 1 << 30)
    log.activate(0)
    const segment = log.active()
    const extra = batchAt(3)
    await log.write(segment, segment.size, [frameHeader(topic.id, 0, extra), extra])
    const intactSize = lastFrameSurvives ? segment.size + 28 + extra.length : segment.size
    log.close()
    damage(path.join(dir, 'log', segmentFiles(dir)[0]!))

    const reopened = new DiskHotStore({ dir, durability: 'fsync' })
    const report = await reopened.open()
    expect(report.truncatedBytes).toBeGreaterThan(0)
    expect(fs.statSync(path.join(dir, 'log', segmentFiles(dir)[0]!)).size).toBe(intactSize)
    const [partition] = await reopened.loadPartitions()
    const kept = lastFrameSurvives ? 4 : 3
    expect(partition!.entries.map((e) => e.baseOffset)).toEqual([0, 1, 2, 3].slice(0, kept))
    expect(partition!.state.nextOffset).toBe(kept)
    // New appends go where the torn bytes were and read back intact.
    const location = await reopened.append({ topicId: topic.id, partition: 0, baseOffset: kept, lastOffset: kept, maxTimestamp: 3, bytes: batchAt(kept, 1, 'again') })
    expect(reopened.read(location).equals(batchAt(kept, 1, 'again'))).toBe(true)
    await reopened.close()
  })

  it('loses no acknowledged batch when the writer is killed with SIGKILL, over several cycles', async () => {
    const dir = await freshDir()
    const acknowledged = new Map<number, Set<number>>([[0, new Set()], [1, new Set()]])
    for (let cycle = 0; cycle < 4; cycle++) {
      const child = spawn(process.execPath, [path.join(import.meta.dirname, 'crash-writer.ts'), dir, String(64 * 1024)], { stdio: ['ignore', 'pipe', 'inherit'] })
      let buffered = ''
      let acks = 0
      const enough = 200 + Math.floor(Math.random() * 400)
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString()
          const lines = buffered.split('\n')
          buffered = lines.pop()!
          for (const line of lines) {
            const [word, partition, base] = line.split(' ')
            if (word !== 'ack') continue
            acknowledged.get(Number(partition))!.add(Number(base))
            if (++acks === enough) child.kill('SIGKILL')
          }
        })
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))))
      })
      const store = new DiskHotStore({ dir, durability: 'fsync' })
      await store.open()
      for (const partition of await store.loadPartitions()) {
        const offsets = partition.entries.map((e) => e.baseOffset)
        // Dense: every batch is 3 records, offsets from 0 with no gap.
        expect(offsets).toEqual(offsets.map((_, i) => i * 3))
        expect(partition.state.nextOffset).toBe(offsets.length * 3)
        const stored = new Set(offsets)
        for (const base of acknowledged.get(partition.partition)!) expect(stored.has(base), `acked ${partition.partition}/${base}`).toBe(true)
        for (const entry of partition.entries) expect(store.read(entry).equals(batchAt(entry.baseOffset, 3, `p${partition.partition}`))).toBe(true)
      }
      await store.close()
    }
  })
})
