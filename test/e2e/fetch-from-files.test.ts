// Fetch past the fetch cache: with ZOMBI_FETCH_CACHE_MB=0 every batch is read from the hot log's
// files into pooled slabs that are reused once a response is written. Several kcat consumers read
// several topics at once, so responses of different connections take and give back slabs while
// others are still being written; every record must come back byte for byte.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readFetchResponse, writeFetchRequest } from '../../src/protocol/generated/fetch.ts'
import { Reader, ZERO_UUID } from '../../src/protocol/reader.ts'
import { batchSize } from '../../src/protocol/record-batch.ts'
import { decodeBatch } from '../../src/protocol/records.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, kcatConsume } from './fixtures/kcat.ts'
import { RawClient } from './fixtures/raw-client.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_FETCH_CACHE_MB: '0', ZOMBI_DEFAULT_PARTITIONS: '1' })
})

afterAll(async () => {
  await broker?.cleanup()
})

async function produceTopic(t: number, name: string, count: number): Promise<void> {
  const input = Array.from({ length: count }, (_, i) => value(t, i)).join('\n')
  // Small batches (linger 0, 64 KiB batches), so a response holds many and slabs pack several.
  await kcat(['-P', '-b', broker.bootstrap, '-t', name, '-p', '0', ...kcatCommonArgs, '-X', 'linger.ms=0', '-X', 'batch.size=65536'], { input })
}

/** Record `i` of topic `t`: distinct bytes at every position, 1–3 KiB long. */
function value(t: number, i: number): string {
  return `${t}:${i}:`.padEnd(1024 + ((i * 37) % 2048), String.fromCharCode(97 + ((t + i) % 26)))
}

test('consumers reading several topics from the files at once get every record intact', async () => {
  const topics = [0, 1, 2].map((t) => ({ t, name: uniqueTopic(`files-${t}`) }))
  const perTopic = 3000
  for (const { t, name } of topics) await produceTopic(t, name, perTopic)
  const reads = await Promise.all([...topics, ...topics].map(({ name }) => kcatConsume(broker.bootstrap, name, { partition: 0, extraArgs: ['-X', 'fetch.max.bytes=3000000', '-X', 'max.partition.fetch.bytes=300000'] })))
  for (const [index, records] of reads.entries()) {
    const { t } = topics[index % topics.length]!
    expect(records).toHaveLength(perTopic)
    const bad = records.findIndex((record, i) => record.offset !== i || record.value?.toString('utf8') !== value(t, i))
    expect(bad).toBe(-1)
  }
}, 120_000)

test('a client that does not read its responses for a while still gets its bytes while other consumers reuse the slabs', async () => {
  const slow = { t: 7, name: uniqueTopic('files-slow') }
  const busy = { t: 8, name: uniqueTopic('files-busy') }
  const perTopic = 4000
  await produceTopic(slow.t, slow.name, perTopic)
  await produceTopic(busy.t, busy.name, perTopic)
  const client = await RawClient.connect(broker.host, broker.kafkaPort)
  try {
    // Twenty pipelined fetches of 1 MB each from the start, unread: far more than the sockets'
    // buffers hold, so most of these responses wait in the broker, slabs and all.
    client.socket.pause()
    const version = 12
    const frames: Array<Promise<Buffer>> = []
    for (let i = 0; i < 20; i++) {
      frames.push(client.nextFrame())
      client.sendRaw(RawClient.frame(ApiKey.Fetch, version, 100 + i, (w) => writeFetchRequest(w, version, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic: slow.name, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: (i * 211) % perTopic, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
      })))
    }
    // Meanwhile other consumers read another topic from the files, taking slabs as responses finish.
    const others = await Promise.all([1, 2, 3].map(() => kcatConsume(broker.bootstrap, busy.name, { partition: 0 })))
    for (const records of others) expect(records.map((record) => record.value?.toString('utf8'))).toEqual(Array.from({ length: perTopic }, (_, i) => value(busy.t, i)))
    client.socket.resume()
    for (const [i, frame] of (await Promise.all(frames)).entries()) {
      const reader = new Reader(frame)
      expect(reader.int32()).toBe(100 + i)
      reader.skipTaggedFields()
      const records = readFetchResponse(reader, version).responses[0]!.partitions[0]!.records as Buffer
      expect(records.length).toBeGreaterThan(0)
      let offset = -1
      for (let position = 0; position + 61 <= records.length;) {
        const size = batchSize(records, position)
        if (position + size > records.length) break
        // decodeBatch checks each batch's CRC: bytes overwritten by another response fail here.
        const batch = decodeBatch(records.subarray(position, position + size))
        for (const [delta, record] of batch.records.entries()) {
          offset = batch.baseOffset + delta
          expect(record.value!.toString('utf8')).toBe(value(slow.t, offset))
        }
        position += size
      }
      expect(offset).toBeGreaterThan((i * 211) % perTopic)
    }
  } finally {
    client.close()
  }
}, 120_000)
