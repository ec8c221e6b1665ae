// Hand-derived bytes (from the Kafka protocol rules, field by field) for the tagged fields the
// foreign clients do not send, plus the zero-copy guarantees of records fields.
import { describe, expect, it } from 'vitest'
import {
  type ApiVersionsResponse, type FetchRequest, type FetchResponse, type ProduceResponse,
  readApiVersionsResponse, readFetchRequest, readFetchResponse, readProduceRequest, readProduceResponse,
  writeApiVersionsResponse, writeFetchRequest, writeFetchResponse, writeProduceRequest, writeProduceResponse,
} from '../../src/protocol/generated/index.ts'
import { Reader } from '../../src/protocol/reader.ts'
import { type Records, Writer } from '../../src/protocol/writer.ts'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function roundTrip<T>(write: (w: Writer, v: number, m: T) => void, read: (r: Reader, v: number) => unknown, version: number, message: T, bytes: string): void {
  const w = new Writer()
  write(w, version, message)
  expect(w.toBuffer().toString('hex')).toBe(bytes.replace(/\s+/g, ''))
  const r = new Reader(hex(bytes))
  expect(read(r, version)).toEqual(message)
  expect(r.remaining).toBe(0)
}

describe('tagged fields, hand-derived', () => {
  it('Fetch request v15 carries ClusterId (tag 0) and ReplicaState (tag 1) after the body, in tag order', () => {
    const message: FetchRequest = {
      clusterId: 'c1', replicaId: -1, replicaState: { replicaId: 1, replicaEpoch: 2 }, maxWaitMs: 500, minBytes: 1, maxBytes: 1024,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: '', topicId: '3a4b5c6d-1111-4222-8333-944455556666', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 42, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1048576, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
      forgottenTopicsData: [], rackId: '',
    }
    roundTrip(writeFetchRequest, readFetchRequest, 15, message, `
      000001f4 00000001 00000400 00 00000000 ffffffff
      02 3a4b5c6d111142228333944455556666
         02 00000000 ffffffff 000000000000002a ffffffff ffffffffffffffff 00100000 00
         00
      01 01
      02 00 03 036331
         01 0d 00000001 0000000000000002 00`)
  })

  it('Fetch response v12 partition carries DivergingEpoch (tag 0) and SnapshotId (tag 2); absent CurrentLeader is null', () => {
    const message: FetchResponse = {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{
        topic: 'a', topicId: '00000000-0000-0000-0000-000000000000',
        partitions: [{
          partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0,
          divergingEpoch: { epoch: 3, endOffset: 7 }, currentLeader: null, snapshotId: { endOffset: 5, epoch: 2 },
          abortedTransactions: null, preferredReadReplica: -1, records: null,
        }],
      }],
      nodeEndpoints: [],
    }
    const bytes = `
      00000000 0000 00000000
      02 0261
         02 00000000 0000 000000000000000a 000000000000000a 0000000000000000 00 ffffffff 00
            02 00 0d 00000003 0000000000000007 00
               02 0d 0000000000000005 00000002 00
         00
      00`
    roundTrip(writeFetchResponse, readFetchResponse, 12, message, bytes)
    // An unknown top-level tag (9, two bytes) is skipped.
    const withUnknown = hex(bytes.replace(/00\s*$/, '01 09 02 abcd'))
    const r = new Reader(withUnknown)
    expect(readFetchResponse(r, 12)).toEqual(message)
    expect(r.remaining).toBe(0)
  })

  it('ApiVersions response v3 writes only the tagged fields that differ from their defaults', () => {
    const message: ApiVersionsResponse = {
      errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0,
      supportedFeatures: [], finalizedFeaturesEpoch: 5, finalizedFeatures: [], zkMigrationReady: true,
    }
    roundTrip(writeApiVersionsResponse, readApiVersionsResponse, 3, message, '0000 02 0012 0000 0003 00 00000000 02 01 08 0000000000000005 03 01 01')
    roundTrip(writeApiVersionsResponse, readApiVersionsResponse, 3, { ...message, finalizedFeaturesEpoch: -1, zkMigrationReady: false }, '0000 02 0012 0000 0003 00 00000000 00')
  })

  it('Produce response v10 carries CurrentLeader (partition tag 0) and NodeEndpoints (top-level tag 0)', () => {
    const message: ProduceResponse = {
      responses: [{
        name: 'a',
        partitionResponses: [{ index: 0, errorCode: 6, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null, currentLeader: { leaderId: 1, leaderEpoch: 5 } }],
      }],
      throttleTimeMs: 0,
      nodeEndpoints: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
    }
    roundTrip(writeProduceResponse, readProduceResponse, 10, message, `
      02 0261
         02 00000000 0006 ffffffffffffffff ffffffffffffffff ffffffffffffffff 01 00
            01 00 09 00000001 00000005 00
         00
      00000000
      01 00 0d 02 00000001 0268 00002384 00 00`)
  })

  it('a tagged field that overruns its declared size is rejected', () => {
    // ApiVersions v3 with finalizedFeaturesEpoch declared as 4 bytes but int64 read needs 8
    expect(() => readApiVersionsResponse(new Reader(hex('0000 01 00000000 01 01 04 00000000 00000005')), 3)).toThrow(/overran/)
  })
})

describe('records fields are never copied', () => {
  it('a produce request decodes records as a view of the frame', () => {
    const batch = Buffer.from('0123456789abcdef', 'hex')
    const w = new Writer()
    writeProduceRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }] })
    const frame = w.toBuffer()
    const records = readProduceRequest(new Reader(frame), 9).topicData[0]!.partitionData[0]!.records!
    expect(records.equals(batch)).toBe(true)
    expect(records.buffer).toBe(frame.buffer)
    records[0] = 0xff
    expect(frame.includes(Buffer.from('ff23456789abcdef', 'hex'))).toBe(true)
  })

  it('a fetch response appends stored batches as separate chunks under one length', () => {
    const stored: Buffer[] = [Buffer.alloc(300, 1), Buffer.alloc(200, 2)]
    const message: FetchResponse<Records> = {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0, nodeEndpoints: [],
      responses: [{
        topic: '', topicId: '3a4b5c6d-1111-4222-8333-944455556666',
        partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 2, lastStableOffset: 2, logStartOffset: 0, divergingEpoch: null, currentLeader: null, snapshotId: null, abortedTransactions: null, preferredReadReplica: -1, records: stored }],
      }],
    }
    for (const version of [4, 12, 17]) {
      const w = new Writer()
      const size = w.reserveInt32()
      writeFetchResponse(w, version, message)
      w.patchInt32(size, w.length - 4)
      const chunks = w.toChunks()
      expect(chunks.filter((c) => stored.includes(c))).toHaveLength(2)
      const frame = w.toBuffer()
      expect(frame.readInt32BE(0)).toBe(frame.length - 4)
      const back = readFetchResponse(new Reader(frame, 4), version)
      expect(back.responses[0]!.partitions[0]!.records).toEqual(Buffer.concat(stored))
    }
  })
})
