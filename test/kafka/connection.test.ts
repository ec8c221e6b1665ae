// The connection's error boundary and framing, on real sockets against an in-process listener:
// whatever bytes one client sends, that connection is answered or closed, no exception escapes,
// and another client is served as before.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AnyHandler } from '../../src/kafka/handler.ts'
import { defineHandler } from '../../src/kafka/handler.ts'
import { allHandlers } from '../../src/kafka/handlers/index.ts'
import { MIN_REQUEST_BYTES } from '../../src/kafka/connection.ts'
import { READ_SLAB_BYTES, ReadBufferPool } from '../../src/kafka/read-buffers.ts'
import { RequestBufferPool } from '../../src/kafka/request-buffers.ts'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readApiVersionsResponse, writeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { readDescribeGroupsResponse, writeDescribeGroupsRequest } from '../../src/protocol/generated/describe-groups.ts'
import { readFetchResponse, writeFetchRequest } from '../../src/protocol/generated/fetch.ts'
import { readJoinGroupResponse, writeJoinGroupRequest } from '../../src/protocol/generated/join-group.ts'
import { readSyncGroupResponse, writeSyncGroupRequest } from '../../src/protocol/generated/sync-group.ts'
import { readMetadataRequest, writeMetadataRequest, writeMetadataResponse, type MetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import { readProduceResponse, writeProduceRequest } from '../../src/protocol/generated/produce.ts'
import { Reader } from '../../src/protocol/reader.ts'
import { Writer } from '../../src/protocol/writer.ts'
import { RawClient } from '../e2e/fixtures/raw-client.ts'
import { batchOf, topicOf } from '../support/log.ts'
import { startInProcessKafka, type InProcessKafka } from './fixtures/in-process-kafka.ts'
import { fetchPartition, fetchRequest, produceRequest } from './fixtures/requests.ts'

const fixturesDir = join(import.meta.dirname, '../protocol/fixtures/api')

interface CapturedRequest { apiKey: number; version: number; body: Buffer }

/** Request bodies written by other clients' encoders (kafkajs, @platformatic/kafka), one per API and version. */
function capturedRequests(): CapturedRequest[] {
  const byName = new Map(allHandlers.map((h) => [h.name, h.apiKey]))
  const out: CapturedRequest[] = []
  for (const file of readdirSync(fixturesDir)) {
    const fixture = JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as { api: string; cases: Array<{ side: string; version: number; hex: string }> }
    const apiKey = byName.get(fixture.api)
    if (apiKey === undefined) continue
    for (const c of fixture.cases) if (c.side === 'request') out.push({ apiKey, version: c.version, body: Buffer.from(c.hex, 'hex') })
  }
  return out
}

/** A whole frame: size prefix, request header (v1, or v2 for flexible versions), body. */
function frameOf(request: CapturedRequest, correlationId: number): Buffer {
  return RawClient.frame(request.apiKey, request.version, correlationId, (w) => w.raw(request.body))
}

type Outcome = 'answered' | 'closed'

/** Sends bytes on a fresh connection; resolves with what the broker did (the guard's request timeout bounds the wait). */
async function outcomeOf(port: number, bytes: Buffer): Promise<Outcome> {
  const client = await RawClient.connect('127.0.0.1', port)
  const answered = client.nextFrame().then(() => 'answered' as const, () => 'closed' as const)
  client.sendRaw(bytes)
  const outcome = await Promise.race([answered, client.closedPromise.then(() => 'closed' as const)])
  client.close()
  return outcome
}

async function apiVersionsWorks(port: number, client?: RawClient): Promise<boolean> {
  const own = client ?? await RawClient.connect('127.0.0.1', port)
  try {
    const reader = await own.request(ApiKey.ApiVersions, 3, (w) => writeApiVersionsRequest(w, 3, { clientSoftwareName: 'bystander', clientSoftwareVersion: '1' }))
    return readApiVersionsResponse(reader, 3).errorCode === 0
  } finally {
    if (client === undefined) own.close()
  }
}

describe('connection error boundary', () => {
  let kafka: InProcessKafka
  let bystander: RawClient
  const captured = capturedRequests()

  beforeAll(async () => {
    // A short request timeout: a frame announcing more bytes than the case sends is closed quickly.
    kafka = await startInProcessKafka({ limits: { requestTimeoutMs: 100 } })
    bystander = await RawClient.connect('127.0.0.1', kafka.port)
  })

  afterAll(async () => {
    bystander?.close()
    await kafka?.close()
  })

  it('has request captures of every API the broker serves', () => {
    const apis = new Set(captured.map((c) => c.apiKey))
    for (const handler of allHandlers) expect(apis.has(handler.apiKey), handler.name).toBe(true)
  })

  it('closes a connection whose size prefix is below a request header, whatever follows', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 16 }), fc.uint8Array({ maxLength: 24 }),
      async (size, rest) => {
        const bytes = Buffer.concat([Buffer.from([0, 0, 0, size]), rest])
        const outcome = await outcomeOf(kafka.port, bytes)
        if (size < MIN_REQUEST_BYTES) expect(outcome).toBe('closed')
        expect(await apiVersionsWorks(kafka.port, bystander)).toBe(true)
      },
    ), { numRuns: 150, seed: 12 })
    expect(kafka.guard.closedByReason.get('internal_error')).toBe(0)
  })

  it('closes a connection that sends any truncated header or body of any API version, and serves the others on', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...captured), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(),
      async (request, fraction, honestSize) => {
        const whole = frameOf(request, 7)
        const keep = 4 + Math.floor((whole.length - 4) * fraction)
        const cut = Buffer.from(whole.subarray(0, Math.max(4, Math.min(keep, whole.length - 1))))
        // Either the size prefix tells the truth about the shorter frame, or it still promises the whole one.
        if (honestSize) cut.writeInt32BE(cut.length - 4, 0)
        expect(await outcomeOf(kafka.port, cut)).toBe('closed')
        expect(await apiVersionsWorks(kafka.port, bystander)).toBe(true)
      },
    ), { numRuns: 200, seed: 7 })
    expect(kafka.guard.closedByReason.get('internal_error')).toBe(0)
  })

  it('answers or closes on any byte mutation of a real request, never failing inside', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...captured),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      async (request, mutations) => {
        const frame = frameOf(request, 9)
        // Mutate anything after the size prefix (the size prefix has its own property above).
        for (const [at, value] of mutations) frame[4 + (at % (frame.length - 4))] = value
        await outcomeOf(kafka.port, frame)
        expect(await apiVersionsWorks(kafka.port, bystander)).toBe(true)
      },
    ), { numRuns: 400, seed: 3 })
    expect(kafka.guard.closedByReason.get('internal_error')).toBe(0)
  })

  it('answers every captured request sent whole, one byte at a time', async () => {
    const request = captured.find((c) => c.apiKey === ApiKey.Metadata && c.version === 12)!
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    const response = client.nextFrame()
    for (const byte of frameOf(request, 5)) client.sendRaw(Buffer.from([byte]))
    expect((await response).readInt32BE(0)).toBe(5)
    client.close()
  })

  it('leaves the guard with no buffered bytes once the connections are gone', async () => {
    for (let i = 0; i < 100 && kafka.guard.bufferedRequestBytes !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(kafka.guard.bufferedRequestBytes).toBe(0)
  })
})

describe('a handler that fails', () => {
  const metadataWith = (behaviour: 'throws' | 'rejects' | 'unwritable', slabBytes = 0): AnyHandler => defineHandler<MetadataRequest, MetadataResponse>({
    apiKey: ApiKey.Metadata, name: 'Metadata', minVersion: 0, maxVersion: 12,
    read: readMetadataRequest,
    write(writer: Writer, version: number, response: MetadataResponse) {
      if (behaviour === 'unwritable') throw new TypeError('cannot write this response')
      writeMetadataResponse(writer, version, response)
    },
    handle(_request, context): MetadataResponse | Promise<MetadataResponse> {
      // As Fetch does: bytes read into pooled slabs before the failure.
      if (slabBytes > 0) context.allocateResponseBytes!(slabBytes).fill(7)
      if (behaviour === 'throws') throw new TypeError('handler bug')
      if (behaviour === 'rejects') return Promise.reject(new Error('async handler bug'))
      return { throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, topics: [], clusterAuthorizedOperations: -2147483648 }
    },
  })

  for (const behaviour of ['throws', 'rejects', 'unwritable'] as const) {
    it(`closes only its own connection when the handler ${behaviour}, and the broker serves on`, async () => {
      const handlers = allHandlers.map((h) => (h.apiKey === ApiKey.Metadata ? metadataWith(behaviour) : h))
      const kafka = await startInProcessKafka({ handlers })
      try {
        const frame = RawClient.frame(ApiKey.Metadata, 12, 1, (w) => writeMetadataRequest(w, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
        expect(await outcomeOf(kafka.port, frame)).toBe('closed')
        expect(kafka.guard.closedByReason.get('internal_error')).toBe(1)
        expect(await apiVersionsWorks(kafka.port)).toBe(true)
      } finally {
        await kafka.close()
      }
    })

    it(`gives up the read slabs of a request whose handler ${behaviour}`, async () => {
      const pool = new ReadBufferPool(4 * READ_SLAB_BYTES)
      const handlers = allHandlers.map((h) => (h.apiKey === ApiKey.Metadata ? metadataWith(behaviour, 600_000) : h))
      const kafka = await startInProcessKafka({ handlers, readBuffers: pool })
      try {
        const frame = RawClient.frame(ApiKey.Metadata, 12, 1, (w) => writeMetadataRequest(w, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
        expect(await outcomeOf(kafka.port, frame)).toBe('closed')
        // The slab was taken, and is no longer counted as leased: the failed request will never be answered.
        expect(pool.leasedBytes).toBe(0)
      } finally {
        await kafka.close()
      }
    })
  }
})

describe('a client that goes away', () => {
  it('ends its requests still waiting (long polls) when its connection closes, instead of at their own deadline', async () => {
    let ended: () => void = () => undefined
    const endedPromise = new Promise<void>((resolve) => { ended = resolve })
    const waitsForever = defineHandler<MetadataRequest, MetadataResponse>({
      apiKey: ApiKey.Metadata, name: 'Metadata', minVersion: 0, maxVersion: 12,
      read: readMetadataRequest,
      write: writeMetadataResponse,
      handle(_request, context) {
        return new Promise((resolve) => context.shutdown.addEventListener('abort', () => {
          ended()
          resolve({ throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, topics: [], clusterAuthorizedOperations: -2147483648 })
        }))
      },
    })
    const kafka = await startInProcessKafka({ handlers: allHandlers.map((h) => (h.apiKey === ApiKey.Metadata ? waitsForever : h)) })
    try {
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      client.sendRaw(RawClient.frame(ApiKey.Metadata, 12, 1, (w) => writeMetadataRequest(w, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })))
      // Still waiting while the client is there.
      expect(await apiVersionsWorks(kafka.port)).toBe(true)
      const stillWaiting = await Promise.race([endedPromise.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 100))])
      expect(stillWaiting).toBe(true)
      client.close()
      await endedPromise
    } finally {
      await kafka.close()
    }
  })
})

describe('response order and backpressure', () => {
  /** Waiters for the next `count` frames of the connection, registered before anything is sent. */
  const nextFrames = (client: RawClient, count: number): Promise<Buffer[]> => Promise.all(Array.from({ length: count }, () => client.nextFrame()))
  const correlationIds = (frames: Buffer[]): number[] => frames.map((frame) => frame.readInt32BE(0))
  const apiVersionsFrame = (correlationId: number): Buffer =>
    RawClient.frame(ApiKey.ApiVersions, 3, correlationId, (w) => writeApiVersionsRequest(w, 3, { clientSoftwareName: 'order-test', clientSoftwareVersion: '1' }))
  const metadataFrame = (correlationId: number): Buffer =>
    RawClient.frame(ApiKey.Metadata, 12, correlationId, (w) => writeMetadataRequest(w, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))

  /** The handler with `before` run as each request reaches it (the original answers). */
  const spied = (original: AnyHandler, before: () => unknown): AnyHandler => ({
    ...original,
    async handle(request, context) {
      await before()
      return original.handle(request, context)
    },
  })

  it('answers a pipelined request ready first (ApiVersions) only after the long-poll Fetch sent before it', async () => {
    const apiVersionsHandled = Promise.withResolvers<undefined>()
    const handlers = allHandlers.map((h) => (h.apiKey === ApiKey.ApiVersions ? spied(h, () => apiVersionsHandled.resolve(undefined)) : h))
    const kafka = await startInProcessKafka({ handlers })
    try {
      const topic = await topicOf(kafka.log, 'orders')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const frames = nextFrames(client, 2)
      const poll = fetchRequest([{ topic: 'orders', partitions: [fetchPartition(0, 0)] }], { maxWaitMs: 60_000 })
      client.sendRaw(Buffer.concat([RawClient.frame(ApiKey.Fetch, 12, 1, (w) => writeFetchRequest(w, 12, poll)), apiVersionsFrame(2)]))
      // ApiVersions has its answer while the Fetch still waits for records.
      await apiVersionsHandled.promise
      await kafka.log.append(topic, topic.partitions[0]!, batchOf(['wakes the poll']))
      const [fetched, versions] = await frames
      expect(correlationIds([fetched!, versions!])).toEqual([1, 2])
      const reader = new Reader(fetched!, 4)
      reader.skipTaggedFields()
      expect(readFetchResponse(reader, 12).responses[0]!.partitions[0]!.highWatermark).toBe(1)
      client.close()
    } finally {
      await kafka.close()
    }
  })

  it('keeps a response held behind a long poll intact while other connections encode past the shared response buffer', async () => {
    const apiVersionsHandled = Promise.withResolvers<undefined>()
    const handlers = allHandlers.map((h) => (h.apiKey === ApiKey.ApiVersions ? spied(h, () => apiVersionsHandled.resolve(undefined)) : h))
    const kafka = await startInProcessKafka({ handlers })
    try {
      const topic = await topicOf(kafka.log, 'orders')
      const held = await RawClient.connect('127.0.0.1', kafka.port)
      const heldFrames = nextFrames(held, 2)
      const poll = fetchRequest([{ topic: 'orders', partitions: [fetchPartition(0, 0)] }], { maxWaitMs: 60_000 })
      held.sendRaw(Buffer.concat([RawClient.frame(ApiKey.Fetch, 12, 1, (w) => writeFetchRequest(w, 12, poll)), apiVersionsFrame(2)]))
      await apiVersionsHandled.promise
      // Another connection's answers fill well past the 64 KiB the connections share, while the first one's
      // ApiVersions answer waits for the Fetch before it.
      const busy = await RawClient.connect('127.0.0.1', kafka.port)
      const count = 600
      const busyFrames = nextFrames(busy, count)
      busy.sendRaw(Buffer.concat(Array.from({ length: count }, (_, i) => apiVersionsFrame(i + 1))))
      const answered = await busyFrames
      expect(answered.reduce((bytes, frame) => bytes + frame.length, 0)).toBeGreaterThan(128 * 1024)
      await kafka.log.append(topic, topic.partitions[0]!, batchOf(['wakes the poll']))
      const [, versions] = await heldFrames
      expect(versions!.readInt32BE(0)).toBe(2)
      // The same answer as any other ApiVersions of this broker, byte for byte after the correlation id.
      expect(versions!.subarray(4).equals(answered[0]!.subarray(4))).toBe(true)
      expect(readApiVersionsResponse(new Reader(versions!, 4), 3).errorCode).toBe(0)
      held.close()
      busy.close()
    } finally {
      await kafka.close()
    }
  })

  it('answers many pipelined requests in request order and assigns Produce offsets in that order', async () => {
    const kafka = await startInProcessKafka()
    try {
      await topicOf(kafka.log, 'orders')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const count = 60
      const frames = nextFrames(client, count)
      client.sendRaw(Buffer.concat(Array.from({ length: count }, (_, i) => {
        const correlationId = i + 1
        if (i % 3 === 0) return metadataFrame(correlationId)
        if (i % 3 === 1) return apiVersionsFrame(correlationId)
        const produce = produceRequest({ orders: [{ index: 0, records: batchOf([`record ${i}`]) }] })
        return RawClient.frame(ApiKey.Produce, 9, correlationId, (w) => writeProduceRequest(w, 9, produce))
      })))
      const answered = await frames
      expect(correlationIds(answered)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
      const baseOffsets = answered.filter((_, i) => i % 3 === 2).map((frame) => {
        const reader = new Reader(frame, 4)
        reader.skipTaggedFields()
        return readProduceResponse(reader, 9).responses[0]!.partitionResponses[0]!.baseOffset
      })
      expect(baseOffsets).toEqual(Array.from({ length: count / 3 }, (_, i) => i))
      client.close()
    } finally {
      await kafka.close()
    }
  })

  it('stores large and small pipelined Produce requests byte for byte however their bytes are cut, and caches batches in memory of their own', async () => {
    const kafka = await startInProcessKafka({ fetchCacheBytes: 16 << 20 })
    try {
      const topic = await topicOf(kafka.log, 'cuts')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      // Large requests (over OWN_BUFFER_ABOVE_BYTES) are read into buffers of their own, small ones into shared slabs.
      const recordCounts = [300, 1, 40, 2, 120, 1]
      const batches = recordCounts.map((records, i) => batchOf(Array.from({ length: records }, (_, r) => `${i}/${r} ${'x'.repeat(1000)}`)))
      const stream = Buffer.concat(batches.map((batch, i) => RawClient.frame(ApiKey.Produce, 9, i + 1, (w) => writeProduceRequest(w, 9, produceRequest({ cuts: [{ index: 0, records: batch }] })))))
      const frames = nextFrames(client, batches.length)
      // Pieces of 1 to 3 bytes (size prefixes and headers cut), then larger ones of uneven sizes.
      const cuts = [1, 2, 3, 1, 5000, 7919, 1, 65_536, 3, 100_000, 1, 2, 33_333]
      let at = 0
      for (let i = 0; at < stream.length; i++) {
        const end = Math.min(stream.length, at + cuts[i % cuts.length]!)
        client.sendRaw(stream.subarray(at, end))
        at = end
        if (i % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
      }
      expect(correlationIds(await frames)).toEqual(batches.map((_, i) => i + 1))
      const stored = expectStoredAsSent(topic, batches)
      for (const batch of stored) expect(batch.buffer.byteLength).toBeLessThanOrEqual(2 * batch.length)
      client.close()
    } finally {
      await kafka.close()
    }
  })

  /** The partition's batches as stored are `sent`, byte for byte from the CRC on (base offset and leader epoch are the broker's). */
  const expectStoredAsSent = (topic: Awaited<ReturnType<typeof topicOf>>, sent: Buffer[]): Buffer[] => {
    const stored: Buffer[] = []
    topic.partitions[0]!.read(0, 64 << 20, true, stored)
    expect(stored.map((batch) => batch.subarray(17).toString('hex'))).toEqual(sent.map((batch) => batch.subarray(17).toString('hex')))
    return stored
  }

  /** Sends one request and waits for its answer (so the next request is read after this one was handled). */
  const roundTrip = async (client: RawClient, frame: Buffer): Promise<Reader> => {
    const answer = client.nextFrame()
    client.sendRaw(frame)
    return new Reader(await answer, 4)
  }
  /** A batch of about 40 KiB (a request read into a pooled buffer of its own) whose every record says `label`. */
  const largeBatch = (label: string): Buffer => batchOf(Array.from({ length: 40 }, (_, r) => `${label}/${r} ${label.repeat(1000 / label.length)}`))

  it('reads each large Produce request into the buffer the last one was answered from, while the batches kept (fetch cache) stay their own', async () => {
    const pool = new RequestBufferPool(8 << 20)
    const kafka = await startInProcessKafka({ fetchCacheBytes: 16 << 20, requestBuffers: pool })
    try {
      const topic = await topicOf(kafka.log, 'reused')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const batches = ['a', 'b', 'c', 'd', 'e', 'f'].map(largeBatch)
      for (const [i, batch] of batches.entries()) {
        const reader = await roundTrip(client, RawClient.frame(ApiKey.Produce, 9, i + 1, (w) => writeProduceRequest(w, 9, produceRequest({ reused: [{ index: 0, records: batch }] }))))
        reader.skipTaggedFields()
        expect(readProduceResponse(reader, 9).responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: i * 40 })
      }
      // The 64 KiB buffer all six were read into, and the connection's first (4 KiB) read buffer.
      expect(pool.allocated).toBe(2)
      expect(pool.reused).toBe(batches.length - 1)
      expectStoredAsSent(topic, batches)
      client.close()
    } finally {
      await kafka.close()
    }
  })

  it('never reuses the buffer of a request other than Produce: a JoinGroup member\'s metadata stays intact through later Produce requests', async () => {
    const pool = new RequestBufferPool(8 << 20)
    const kafka = await startInProcessKafka({ requestBuffers: pool, settings: { ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } })
    try {
      await topicOf(kafka.log, 'after-join')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      // The coordinator keeps a member's protocol metadata as it came (a view of the request's bytes).
      const metadata = Buffer.from('m'.repeat(40_000))
      const join = await roundTrip(client, RawClient.frame(ApiKey.JoinGroup, 3, 1, (w) => writeJoinGroupRequest(w, 3, {
        groupId: 'keeps', sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata }], reason: null,
      })))
      const joined = readJoinGroupResponse(join, 3)
      expect(joined.errorCode).toBe(0)
      // Stable after the leader's SyncGroup: DescribeGroups then shows the members' metadata.
      const sync = await roundTrip(client, RawClient.frame(ApiKey.SyncGroup, 3, 2, (w) => writeSyncGroupRequest(w, 3, {
        groupId: 'keeps', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }],
      })))
      expect(readSyncGroupResponse(sync, 3).errorCode).toBe(0)
      for (const [i, label] of ['x', 'y', 'z'].entries()) {
        await roundTrip(client, RawClient.frame(ApiKey.Produce, 9, i + 3, (w) => writeProduceRequest(w, 9, produceRequest({ 'after-join': [{ index: 0, records: largeBatch(label) }] }))))
      }
      // The JoinGroup's buffer (never reused), the one the three Produce requests shared, and the first read buffer.
      expect(pool.allocated).toBe(3)
      const described = await roundTrip(client, RawClient.frame(ApiKey.DescribeGroups, 4, 9, (w) => writeDescribeGroupsRequest(w, 4, { groups: ['keeps'], includeAuthorizedOperations: false })))
      const [member] = readDescribeGroupsResponse(described, 4).groups[0]!.members
      expect(member!.memberMetadata.equals(metadata)).toBe(true)
      client.close()
    } finally {
      await kafka.close()
    }
  })

  /** Produce requests of about 5 KiB each for `topic`, pipelined in one write: read into read buffers from the pool. */
  const smallProduceBurst = (topic: string, label: string, count: number, firstCorrelationId: number): { bytes: Buffer; batches: Buffer[] } => {
    const batches = Array.from({ length: count }, (_, i) => batchOf(Array.from({ length: 5 }, (_, r) => `${label}${i}/${r} ${label.repeat(1000)}`)))
    const bytes = Buffer.concat(batches.map((batch, i) => RawClient.frame(ApiKey.Produce, 9, firstCorrelationId + i, (w) => writeProduceRequest(w, 9, produceRequest({ [topic]: [{ index: 0, records: batch }] })))))
    return { bytes, batches }
  }

  it('reads pipelined small Produce requests into pooled read buffers, reused once every request in them is answered', async () => {
    const pool = new RequestBufferPool(8 << 20)
    const kafka = await startInProcessKafka({ fetchCacheBytes: 16 << 20, requestBuffers: pool })
    try {
      const topic = await topicOf(kafka.log, 'small-reused')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const sent: Buffer[] = []
      for (const [round, label] of ['a', 'b', 'c', 'd'].entries()) {
        const burst = smallProduceBurst('small-reused', label, 40, round * 40 + 1)
        const answers = nextFrames(client, 40)
        client.sendRaw(burst.bytes)
        for (const frame of await answers) {
          const reader = new Reader(frame, 4)
          reader.skipTaggedFields()
          expect(readProduceResponse(reader, 9).responses[0]!.partitionResponses[0]!.errorCode).toBe(0)
        }
        sent.push(...burst.batches)
      }
      // Each burst is read into pooled buffers of 16-64 KiB; later bursts read into the ones earlier bursts gave back.
      expect(pool.reused).toBeGreaterThan(0)
      expectStoredAsSent(topic, sent)
      client.close()
    } finally {
      await kafka.close()
    }
  })

  it('never reuses a pooled read buffer that held a request other than Produce: a small JoinGroup read among Produce requests keeps its metadata', async () => {
    const pool = new RequestBufferPool(8 << 20)
    const kafka = await startInProcessKafka({ requestBuffers: pool, settings: { ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } })
    try {
      await topicOf(kafka.log, 'join-among')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const metadata = Buffer.from('j'.repeat(3000))
      const before = smallProduceBurst('join-among', 'p', 40, 1)
      const join = RawClient.frame(ApiKey.JoinGroup, 3, 41, (w) => writeJoinGroupRequest(w, 3, {
        groupId: 'among', sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata }], reason: null,
      }))
      const after = smallProduceBurst('join-among', 'q', 40, 42)
      const answers = nextFrames(client, 81)
      // The JoinGroup lands in the middle of a read buffer full of Produce requests.
      client.sendRaw(Buffer.concat([before.bytes, join, after.bytes]))
      const joined = readJoinGroupResponse(new Reader((await answers)[40]!, 4), 3)
      expect(joined.errorCode).toBe(0)
      const sync = await roundTrip(client, RawClient.frame(ApiKey.SyncGroup, 3, 82, (w) => writeSyncGroupRequest(w, 3, {
        groupId: 'among', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }],
      })))
      expect(readSyncGroupResponse(sync, 3).errorCode).toBe(0)
      // More bursts: every buffer given back is reused, overwritten with their bytes.
      for (const [round, label] of ['r', 's', 't', 'u'].entries()) {
        const burst = smallProduceBurst('join-among', label, 40, 100 + round * 40)
        const done = nextFrames(client, 40)
        client.sendRaw(burst.bytes)
        await done
      }
      expect(pool.reused).toBeGreaterThan(0)
      const described = await roundTrip(client, RawClient.frame(ApiKey.DescribeGroups, 4, 300, (w) => writeDescribeGroupsRequest(w, 4, { groups: ['among'], includeAuthorizedOperations: false })))
      const [member] = readDescribeGroupsResponse(described, 4).groups[0]!.members
      expect(member!.memberMetadata.toString()).toBe(metadata.toString())
      client.close()
    } finally {
      await kafka.close()
    }
  })

  it('stops reading a connection with 256 unanswered requests and reads on once answers go out', async () => {
    const held = 256
    let handled = 0
    const gate = Promise.withResolvers<undefined>()
    const allHeld = Promise.withResolvers<undefined>()
    const handlers = allHandlers.map((h) => (h.apiKey === ApiKey.Metadata ? spied(h, () => {
      if (++handled === held) allHeld.resolve(undefined)
      return gate.promise
    }) : h))
    const kafka = await startInProcessKafka({ handlers })
    try {
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const extra = 20
      const frames = nextFrames(client, held + extra)
      client.sendRaw(Buffer.concat(Array.from({ length: held }, (_, i) => metadataFrame(i + 1))))
      await allHeld.promise
      client.sendRaw(Buffer.concat(Array.from({ length: extra }, (_, i) => metadataFrame(held + i + 1))))
      // Another connection's round trip: the broker has been reading sockets since the extra requests went out.
      expect(await apiVersionsWorks(kafka.port)).toBe(true)
      expect(handled).toBe(held)
      gate.resolve(undefined)
      expect(correlationIds(await frames)).toEqual(Array.from({ length: held + extra }, (_, i) => i + 1))
      expect(handled).toBe(held + extra)
      client.close()
    } finally {
      await kafka.close()
    }
  })

  /**
   * Pipelined Produce requests of ~6 KB on one connection while their handler is held: how many the
   * broker has read once the client's last request has had time to arrive.
   */
  const produceRequestsReadWhileHeld = async (settings: Record<string, string>): Promise<{ read: number; total: number; offsets: number[] }> => {
    const total = 4
    let handled = 0
    const gate = Promise.withResolvers<undefined>()
    const firstTwo = Promise.withResolvers<undefined>()
    const handlers = allHandlers.map((h) => (h.apiKey === ApiKey.Produce ? spied(h, () => {
      if (++handled === 2) firstTwo.resolve(undefined)
      return gate.promise
    }) : h))
    const kafka = await startInProcessKafka({ handlers, settings })
    try {
      await topicOf(kafka.log, 'bounded')
      const client = await RawClient.connect('127.0.0.1', kafka.port)
      const frames = nextFrames(client, total)
      const produceFrame = (i: number): Buffer => {
        const produce = produceRequest({ bounded: [{ index: 0, records: batchOf([`record ${i}`.padEnd(6000, '.')]) }] })
        return RawClient.frame(ApiKey.Produce, 9, i + 1, (w) => writeProduceRequest(w, 9, produce))
      }
      client.sendRaw(Buffer.concat([produceFrame(0), produceFrame(1)]))
      await firstTwo.promise
      client.sendRaw(Buffer.concat(Array.from({ length: total - 2 }, (_, i) => produceFrame(i + 2))))
      // Another connection's round trip: the broker has been reading sockets since the last requests went out.
      expect(await apiVersionsWorks(kafka.port)).toBe(true)
      const read = handled
      gate.resolve(undefined)
      const answered = await frames
      expect(correlationIds(answered)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      const offsets = answered.map((frame) => {
        const reader = new Reader(frame, 4)
        reader.skipTaggedFields()
        return readProduceResponse(reader, 9).responses[0]!.partitionResponses[0]!.baseOffset
      })
      client.close()
      return { read, total, offsets }
    } finally {
      await kafka.close()
    }
  }

  it('stops reading a connection whose unanswered Produce bytes reach ZOMBI_KAFKA_CONNECTION_INFLIGHT_PRODUCE_BYTES, and reads on once they are answered', async () => {
    // Two requests of ~6 KB reach a bound of 10,000 bytes: the two sent after them wait in the socket.
    const bounded = await produceRequestsReadWhileHeld({ ZOMBI_KAFKA_CONNECTION_INFLIGHT_PRODUCE_BYTES: '10000' })
    expect(bounded.read).toBe(2)
    expect(bounded.offsets).toEqual([0, 1, 2, 3])
    // 0: no bound of its own, every pipelined request is read at once.
    const unbounded = await produceRequestsReadWhileHeld({ ZOMBI_KAFKA_CONNECTION_INFLIGHT_PRODUCE_BYTES: '0' })
    expect(unbounded.read).toBe(unbounded.total)
    expect(unbounded.offsets).toEqual([0, 1, 2, 3])
  })
})
