// Child process of the log cleaner's kill -9 test: appends records that depend on their offsets alone
// (compacted.ts recordAt) to a compacted topic on a disk store, marks them flushed and cleans, in small
// chunks, over and over, printing `cleaning` before each pass, until it is killed with SIGKILL.
import { LogCleaner } from '../../src/log/log-cleaner.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { makeLog } from '../support/log.ts'
import { compactedTopic, produceByOffset } from './compacted.ts'

const [dir] = process.argv.slice(2) as [string]
const { log } = await makeLog({ store: new DiskHotStore({ dir, durability: 'fsync', segmentBytes: 8192 }), fetchCacheBytes: 0 })
// delete.retention.ms 0: tombstones go at the first cleaning that reaches them, the riskiest case.
const topic = log.topicByName('crash') ?? await compactedTopic(log, 'crash', { 'delete.retention.ms': '0', 'segment.bytes': '512' })
const partition = topic.partitions[0]!
const cleaner = new LogCleaner({ store: log.store, topics: () => log.topics(), logger: silentLogger, chunkBytes: 200 })
await cleaner.load()
for (;;) {
  await produceByOffset(log, topic, partition, 30)
  await log.markFlushed(partition, partition.highWatermark)
  process.stdout.write('cleaning\n')
  await cleaner.runOnce()
}
