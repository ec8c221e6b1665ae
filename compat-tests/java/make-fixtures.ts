// Regenerates compat-tests/java/fixtures/: record batches made by the real Java producer (each
// kafka-clients line, each codec), read back from Zombi as stored bytes, for
// test/protocol/java-batches.test.ts. Run after `bash compat-tests/java/setup.sh`:
//   npx node compat-tests/java/make-fixtures.ts
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startBroker } from '../../test/e2e/fixtures/broker.ts'
import { report, runProcess } from '../../test/e2e/fixtures/kcat.ts'
import { RawClient } from '../../test/e2e/fixtures/raw-client.ts'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readFetchResponse, writeFetchRequest } from '../../src/protocol/generated/fetch.ts'
import { ZERO_UUID } from '../../src/protocol/reader.ts'
import { batchSize } from '../../src/protocol/record-batch.ts'
import { compatRoot } from '../lib/results.ts'
import { clientVersion, javaCommand, type KafkaClientsLine } from './family.ts'

const FETCH_VERSION = 12 // the last one that names topics
const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

/** Every stored batch of partition 0, as the bytes Zombi keeps. */
async function storedBatches(client: RawClient, topic: string): Promise<Buffer[]> {
  const batches: Buffer[] = []
  let offset = 0
  for (;;) {
    const reader = await client.request(ApiKey.Fetch, FETCH_VERSION, (w) => writeFetchRequest(w, FETCH_VERSION, {
      clusterId: null, replicaId: -1, replicaState: null, maxWaitMs: 0, minBytes: 1, maxBytes: 8 << 20,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 8 << 20, replicaDirectoryId: ZERO_UUID }] }],
      forgottenTopicsData: [], rackId: '',
    }))
    const partition = readFetchResponse(reader, FETCH_VERSION).responses[0]!.partitions[0]!
    if (partition.errorCode !== 0) throw new Error(`fetch ${topic} at ${offset}: error ${partition.errorCode}`)
    const records = partition.records ?? Buffer.alloc(0)
    for (let position = 0; position < records.length;) {
      const size = batchSize(records, position)
      batches.push(Buffer.from(records.subarray(position, position + size)))
      offset = Number(records.readBigInt64BE(position)) + records.readInt32BE(position + 23) + 1
      position += size
    }
    if (offset >= partition.highWatermark) return batches
  }
}

async function main(): Promise<void> {
  const broker = await startBroker({ ZOMBI_AUTO_CREATE_TOPICS: 'true' })
  try {
    const client = await RawClient.connect(broker.host, broker.kafkaPort)
    for (const line of ['3', '4'] as KafkaClientsLine[]) {
      const prefix = `fixture-java-${line}`
      const [command, ...args] = javaCommand(line)
      const result = await runProcess(command!, [...args, 'fixture-produce', broker.bootstrap, prefix], { timeoutMs: 120_000 })
      if (result.code !== 0) throw new Error(`fixture-produce for kafka-clients ${line}.x failed\n${report(result)}`)
      const batches: Record<string, string[]> = {}
      for (const codec of codecs) {
        batches[codec] = (await storedBatches(client, `${prefix}-${codec}`)).map((batch) => batch.toString('hex'))
        if (codec !== 'none') batches[`${codec}-large`] = (await storedBatches(client, `${prefix}-${codec}-large`)).map((batch) => batch.toString('hex'))
      }
      const version = clientVersion(line)
      const fixture = {
        client: 'org.apache.kafka:kafka-clients',
        version,
        made: new Date().toISOString().slice(0, 10),
        note: 'Batches as the Java producer sent them and Zombi stored them (base offset assigned by the broker). ' +
          'Records: see FixtureProducer.java (records() for "<codec>", largeRecords() for "<codec>-large").',
        batches,
      }
      const path = join(compatRoot, 'java/fixtures', `kafka-clients-${version}.json`)
      await mkdir(join(compatRoot, 'java/fixtures'), { recursive: true })
      await writeFile(path, JSON.stringify(fixture, null, 2) + '\n')
      process.stdout.write(`wrote ${path}\n`)
    }
    client.close()
  } finally {
    await broker.cleanup()
  }
}

await main()
