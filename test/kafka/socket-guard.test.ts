// The socket limits on real connections to an in-process listener: request deadlines, idle close,
// the broker-wide budget for incomplete requests and the connection limits.
import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { writeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { readFetchResponse, writeFetchRequest } from '../../src/protocol/generated/fetch.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { RawClient } from '../e2e/fixtures/raw-client.ts'
import { startInProcessKafka, type InProcessKafka } from './fixtures/in-process-kafka.ts'

let kafka: InProcessKafka | undefined

afterEach(async () => {
  await kafka?.close()
  kafka = undefined
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves true once the server has closed the connection, false if it is still open after `ms`. */
function closedWithin(client: RawClient, ms: number): Promise<boolean> {
  return Promise.race([client.closedPromise.then(() => true), sleep(ms).then(() => false)])
}

/** A size prefix announcing `announced` body bytes, followed by `sent` of them. */
function partialFrame(announced: number, sent: number): Buffer {
  const bytes = Buffer.alloc(4 + sent, 1)
  bytes.writeInt32BE(announced, 0)
  return bytes
}

function connectFrom(localAddress: string, port: number): Promise<RawClient> {
  return RawClient.connect('127.0.0.1', port, localAddress)
}

async function apiVersions(client: RawClient): Promise<void> {
  await client.request(ApiKey.ApiVersions, 3, (w) => writeApiVersionsRequest(w, 3, { clientSoftwareName: 'guard-test', clientSoftwareVersion: '1' }))
}

describe('request deadline', () => {
  it('closes a connection whose request stops arriving halfway', async () => {
    kafka = await startInProcessKafka({ limits: { requestTimeoutMs: 300 } })
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    client.sendRaw(partialFrame(5000, 100))
    expect(await closedWithin(client, 5000)).toBe(true)
    expect(kafka.guard.closedByReason.get('request_timeout')).toBe(1)
    expect(kafka.guard.bufferedRequestBytes).toBe(0)
  })

  it('closes a connection that sends its request a byte at a time, slower than the deadline allows', async () => {
    kafka = await startInProcessKafka({ limits: { requestTimeoutMs: 400 } })
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    client.sendRaw(partialFrame(64, 0))
    let sent = 0
    const trickle = setInterval(() => { if (!client.closed && sent++ < 60) client.sendRaw(Buffer.from([1])) }, 50)
    try {
      expect(await closedWithin(client, 5000)).toBe(true)
      expect(sent).toBeLessThan(60)
    } finally {
      clearInterval(trickle)
    }
    expect(kafka.guard.closedByReason.get('request_timeout')).toBe(1)
  })

  it('closes a connection that sends only a size prefix', async () => {
    kafka = await startInProcessKafka({ limits: { requestTimeoutMs: 200 } })
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    client.sendRaw(partialFrame(100, 0))
    expect(await closedWithin(client, 5000)).toBe(true)
  })
})

describe('idle connections', () => {
  it('closes a connection idle for connections.max.idle.ms and keeps an active one', async () => {
    // Generous against a stalled machine: the active client asks ten times within the limit.
    kafka = await startInProcessKafka({ limits: { connectionsMaxIdleMs: 1000 } })
    const idle = await RawClient.connect('127.0.0.1', kafka.port)
    const active = await RawClient.connect('127.0.0.1', kafka.port)
    await apiVersions(idle)
    for (let i = 0; i < 25 && !idle.closed; i++) {
      await apiVersions(active)
      await sleep(100)
    }
    expect(idle.closed).toBe(true)
    expect(active.closed).toBe(false)
    expect(kafka.guard.closedByReason.get('idle')).toBe(1)
    active.close()
  })

  it('does not close a connection waiting on a long-poll Fetch longer than the idle limit', async () => {
    kafka = await startInProcessKafka({ limits: { connectionsMaxIdleMs: 200 } })
    await kafka.log.createTopic('quiet', 1, {})
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    const reader = await client.request(ApiKey.Fetch, 12, (w) => writeFetchRequest(w, 12, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 1000, minBytes: 1, maxBytes: 1 << 20,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'quiet', topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
      forgottenTopicsData: [], rackId: '',
    }))
    expect(readFetchResponse(reader, 12).responses[0]!.partitions[0]!.errorCode).toBe(0)
    expect(kafka.guard.closedByReason.get('idle')).toBe(0)
    client.close()
  })
})

describe('buffered request budget', () => {
  it('closes the connections holding the largest incomplete requests once the broker-wide budget is spent', async () => {
    const mb = 1024 * 1024
    kafka = await startInProcessKafka({ settings: { ZOMBI_MAX_REQUEST_BYTES: String(mb), ZOMBI_MAX_BUFFERED_REQUEST_MB: '2' } })
    // Each request is cut short by a few bytes. A large request is counted at its full size once
    // the broker has allocated its buffer (plain TCP), by the bytes received otherwise (TLS).
    const small = await RawClient.connect('127.0.0.1', kafka.port)
    small.sendRaw(partialFrame(300_000, 299_000))
    const large = await RawClient.connect('127.0.0.1', kafka.port)
    large.sendRaw(partialFrame(1_000_000, 999_000))
    for (let i = 0; i < 100 && kafka.guard.bufferedRequestBytes < 1_298_000; i++) await sleep(10)
    expect(small.closed || large.closed).toBe(false)
    // This one tips the total over 2 MiB: the largest holder goes, the others stay.
    const medium = await RawClient.connect('127.0.0.1', kafka.port)
    medium.sendRaw(partialFrame(900_000, 899_000))
    expect(await closedWithin(large, 5000)).toBe(true)
    expect(small.closed).toBe(false)
    expect(medium.closed).toBe(false)
    expect(kafka.guard.bufferedRequestBytes).toBeLessThanOrEqual(2 * mb)
    expect(kafka.guard.closedByReason.get('buffer_budget')).toBe(1)
    // Everyone else is still served.
    const bystander = await RawClient.connect('127.0.0.1', kafka.port)
    await apiVersions(bystander)
    for (const client of [small, medium, bystander]) client.close()
    for (let i = 0; i < 100 && kafka.guard.bufferedRequestBytes !== 0; i++) await sleep(10)
    expect(kafka.guard.bufferedRequestBytes).toBe(0)
  })

  it('refuses a budget smaller than the largest request at start', async () => {
    await expect(startInProcessKafka({ settings: { ZOMBI_MAX_REQUEST_BYTES: String(4 * 1024 * 1024), ZOMBI_MAX_BUFFERED_REQUEST_MB: '2' } }))
      .rejects.toThrow(/ZOMBI_MAX_BUFFERED_REQUEST_MB .* must be at least ZOMBI_MAX_REQUEST_BYTES/)
  })
})

describe('connection limits', () => {
  it('closes the newest connection from an address over the per-address limit, and serves other addresses', async () => {
    kafka = await startInProcessKafka({ limits: { maxConnectionsPerAddress: 2 } })
    const first = await connectFrom('127.0.0.2', kafka.port)
    const second = await connectFrom('127.0.0.2', kafka.port)
    const third = await connectFrom('127.0.0.2', kafka.port)
    expect(await closedWithin(third, 5000)).toBe(true)
    const elsewhere = await connectFrom('127.0.0.3', kafka.port)
    for (const client of [first, second, elsewhere]) await apiVersions(client)
    expect(kafka.guard.closedByReason.get('too_many_connections_from_address')).toBe(1)
    // A slot freed is a slot to take again.
    first.close()
    for (let i = 0; i < 100 && kafka.guard.connectionCount > 2; i++) await sleep(10)
    const again = await connectFrom('127.0.0.2', kafka.port)
    await apiVersions(again)
    for (const client of [second, elsewhere, again]) client.close()
  })

  it('closes the newest connection over the broker-wide limit', async () => {
    kafka = await startInProcessKafka({ limits: { maxConnections: 3 } })
    const open = [await connectFrom('127.0.0.4', kafka.port), await connectFrom('127.0.0.5', kafka.port), await connectFrom('127.0.0.6', kafka.port)]
    const extra = await connectFrom('127.0.0.7', kafka.port)
    expect(await closedWithin(extra, 5000)).toBe(true)
    for (const client of open) await apiVersions(client)
    expect(kafka.guard.closedByReason.get('too_many_connections')).toBe(1)
    for (const client of open) client.close()
  })
})
