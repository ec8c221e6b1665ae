import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  DecodedBatchFrame, DecodedPartitionFrame, FRAME_KIND_BATCH, FRAME_KIND_CHECKED_BATCH, FRAME_KIND_PARTITION, FRAME_KIND_STATE,
  FRAME_PREFIX_BYTES, batchFrameHeader, forEachStateRow, frameIntact, frameKind, partitionFrame, stateFrame,
} from '../../src/storage/frame.ts'
import {
  PREFIX_INDEX, indexKey, keyBaseOffset, keyPartition, stateKey, stateRange, topicIdBytes, topicRange,
} from '../../src/storage/keys.ts'
import { SegmentLog } from '../../src/storage/segment-log.ts'
import { batchAt } from './batches.ts'

const TOPIC = '0f8fad5b-d9cb-469f-a165-70867728950e'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function freshLog(segmentBytes = 1 << 30): Promise<SegmentLog> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zombi-segments-'))
  dirs.push(dir)
  const log = new SegmentLog(dir, segmentBytes)
  log.activate(0)
  return log
}

describe('frames', () => {
  it('carry the index fields of a batch, negative timestamps included', () => {
    const batch = Buffer.from('opaque batch bytes')
    const header = batchFrameHeader(topicIdBytes(TOPIC), 7, 2 ** 40, 2 ** 40 + 99, -1, batch)
    const body = Buffer.concat([header, batch]).subarray(FRAME_PREFIX_BYTES)
    expect(frameKind(body)).toBe(FRAME_KIND_BATCH)
    expect({ ...new DecodedBatchFrame(body) }).toEqual({ topicId: TOPIC, partition: 7, baseOffset: 2 ** 40, lastOffset: 2 ** 40 + 99, maxTimestamp: -1, batchSize: batch.length })
  })

  it('of a checked Kafka batch cover the header and the batch prefix, and the batch CRC the rest', () => {
    const batch = batchAt(5, 3, 'checked', 40)
    const header = batchFrameHeader(topicIdBytes(TOPIC), 1, 5, 7, 9, batch, true)
    const body = Buffer.concat([header, batch]).subarray(FRAME_PREFIX_BYTES)
    const crc = header.readUInt32BE(4)
    expect(frameKind(body)).toBe(FRAME_KIND_CHECKED_BATCH)
    expect(frameIntact(body, crc)).toBe(true)
    expect({ ...new DecodedBatchFrame(body) }).toMatchObject({ partition: 1, baseOffset: 5, lastOffset: 7, batchSize: batch.length })
    // Any byte changed, in the frame header, the batch prefix or the records, is caught.
    for (const at of [3, 41 + 9, 41 + 17, body.length - 1, 41 + 30]) {
      const damaged = Buffer.from(body)
      damaged[at] = damaged[at]! ^ 0x20
      expect(frameIntact(damaged, crc), `byte ${at}`).toBe(false)
    }
    // A cut batch (its length field no longer matches) too.
    expect(frameIntact(body.subarray(0, body.length - 1), crc)).toBe(false)
    // Unchecked bytes get a kind 1 frame hashed whole.
    const plain = batchFrameHeader(topicIdBytes(TOPIC), 1, 5, 7, 9, batch)
    expect(plain[8]).toBe(FRAME_KIND_BATCH)
    expect(frameIntact(Buffer.concat([plain, batch]).subarray(FRAME_PREFIX_BYTES), plain.readUInt32BE(4))).toBe(true)
  })

  it('carry state rows in order, deletes included', () => {
    const frame = stateFrame([{ key: 'group/g/ü', value: Buffer.from('1') }, { key: 'gone', value: null }, { key: 'empty', value: Buffer.alloc(0) }])
    const body = frame.subarray(FRAME_PREFIX_BYTES)
    expect(frameKind(body)).toBe(FRAME_KIND_STATE)
    const rows: Array<[string, string | null]> = []
    expect(forEachStateRow(body, (key, value) => rows.push([key.toString(), value === null ? null : value.toString()]))).toBe(3)
    expect(rows).toEqual([['group/g/ü', '1'], ['gone', null], ['empty', '']])
  })

  it('carry partition updates with -1 for unchanged fields', () => {
    const body = partitionFrame(topicIdBytes(TOPIC), 3, -1, 12).subarray(FRAME_PREFIX_BYTES)
    expect(frameKind(body)).toBe(FRAME_KIND_PARTITION)
    expect({ ...new DecodedPartitionFrame(body) }).toEqual({ topicId: TOPIC, partition: 3, logStartOffset: -1, flushedOffset: 12 })
  })
})

describe('keys', () => {
  it('sort index keys by topic, partition and base offset', () => {
    const id = topicIdBytes(TOPIC)
    const keys = [indexKey(id, 1, 0), indexKey(id, 0, 2 ** 33), indexKey(id, 0, 255), indexKey(id, 0, 256)]
    const sorted = [...keys].sort(Buffer.compare).map((k) => [keyPartition(k), keyBaseOffset(k)])
    expect(sorted).toEqual([[0, 255], [0, 256], [0, 2 ** 33], [1, 0]])
    const { gte, lt } = topicRange(PREFIX_INDEX, id)
    for (const key of keys) expect(Buffer.compare(gte, key) <= 0 && Buffer.compare(key, lt) < 0).toBe(true)
  })

  it('bound a state prefix without catching longer names', () => {
    const { gte, lt } = stateRange('group/g1/')
    const inside = (key: string) => Buffer.compare(gte, stateKey(key)) <= 0 && Buffer.compare(stateKey(key), lt) < 0
    expect([inside('group/g1/t/0'), inside('group/g1/'), inside('group/g10/t/0'), inside('group/g1'), inside('group/g2/')]).toEqual([true, true, false, false, false])
  })
})

describe('segment log', () => {
  it('scans frames across its read chunks, frames larger than a chunk included', async () => {
    const log = await freshLog()
    const sizes = [10, 4 * 1024 * 1024 - 40, 100, 5 * 1024 * 1024, 1, 3 * 1024 * 1024, 7]
    const written: Array<{ position: number; body: Buffer }> = []
    for (const [i, size] of sizes.entries()) {
      const batch = Buffer.alloc(size, i + 1)
      const segment = log.reserve(0)
      const header = batchFrameHeader(topicIdBytes(TOPIC), i, i, i, i, batch)
      written.push({ position: segment.size, body: Buffer.concat([header, batch]).subarray(FRAME_PREFIX_BYTES) })
      await log.write(segment, segment.size, [header, batch])
      segment.size += header.length + batch.length
    }
    const seen: Array<{ position: number; body: Buffer }> = []
    // Pausing after every second frame and going on from validEnd visits each frame once.
    let result = log.scan(0, 0, (body, position) => seen.push({ position, body: Buffer.from(body) }) % 2 !== 0)
    while (result.paused) result = log.scan(0, result.validEnd, (body, position) => seen.push({ position, body: Buffer.from(body) }) % 2 !== 0)
    expect(result.validEnd).toBe(result.fileSize)
    expect(seen.map((f) => f.position)).toEqual(written.map((f) => f.position))
    for (let i = 0; i < sizes.length; i++) expect(seen[i]!.body.equals(written[i]!.body)).toBe(true)
    log.close()
  })

  it('writes many small buffers and a few large ones back to back in order', async () => {
    const log = await freshLog()
    const buffers = Array.from({ length: 3000 }, (_, i) => Buffer.alloc(i % 500 === 0 ? 20_000 : 1 + (i % 90), i % 251))
    const segment = log.active()
    await log.write(segment, 0, buffers)
    segment.size = buffers.reduce((sum, b) => sum + b.length, 0)
    expect(fs.readFileSync(log.path(0)).equals(Buffer.concat(buffers))).toBe(true)
    expect(log.read(0, buffers[0]!.length, buffers[1]!.length).equals(buffers[1]!)).toBe(true)
    log.close()
  })

  it('writes a commit of several megabytes in writes of at most 1 MiB, buffers cut where a write ends', async () => {
    const log = await freshLog()
    const sizes = [300_000, 2_500_000, 10, 1_048_576, 700_000, 5]
    const buffers = sizes.map((size, i) => Buffer.alloc(size, i + 1))
    const writev = vi.spyOn(fs, 'writev')
    try {
      await log.write(log.active(), 0, buffers)
      const written = writev.mock.calls.map((call) => (call[1] as Buffer[]).reduce((sum, b) => sum + b.length, 0))
      expect(Math.max(...written)).toBeLessThanOrEqual(1024 * 1024)
      expect(written.reduce((sum, n) => sum + n, 0)).toBe(sizes.reduce((sum, n) => sum + n, 0))
    } finally {
      writev.mockRestore()
    }
    expect(fs.readFileSync(log.path(0)).equals(Buffer.concat(buffers))).toBe(true)
    log.close()
  })

  it('writes a small commit on the calling thread, and a short write goes on from where it stopped', async () => {
    const log = await freshLog()
    const buffers = [Buffer.alloc(5000, 1), Buffer.alloc(3000, 2), Buffer.alloc(9, 3)]
    // The kernel may take fewer bytes than asked: here the first 7,000.
    const writevSync = vi.spyOn(fs, 'writevSync').mockImplementationOnce(((fd: number, _buffers: Buffer[], position: number) => {
      return fs.writeSync(fd, Buffer.concat(buffers).subarray(0, 7000), 0, 7000, position)
    }) as typeof fs.writevSync)
    const writev = vi.spyOn(fs, 'writev')
    try {
      await log.write(log.active(), 0, buffers)
      expect(writevSync).toHaveBeenCalledTimes(1)
      expect(writev.mock.calls.map((call) => (call[1] as Buffer[]).reduce((sum, b) => sum + b.length, 0))).toEqual([1009])
    } finally {
      writevSync.mockRestore()
      writev.mockRestore()
    }
    expect(fs.readFileSync(log.path(0)).equals(Buffer.concat(buffers))).toBe(true)
    log.close()
  })

  it('keeps reading old segments after their descriptors were closed to stay under the limit', async () => {
    const log = await freshLog(64)
    const frames: Buffer[] = []
    for (let i = 0; i < 200; i++) {
      const frame = Buffer.alloc(60, i)
      const segment = log.reserve(frame.length)
      await log.write(segment, segment.size, [frame])
      segment.size += frame.length
      frames.push(frame)
    }
    expect(log.list()).toHaveLength(200)
    for (let i = 0; i < 200; i++) expect(log.read(i, 0, 60).equals(frames[i]!)).toBe(true)
    log.close()
  })
})
