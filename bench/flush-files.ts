// Files per flush: one flush of a topic of 1, 100 and 1,000 partitions holding the same records
// (100-byte values, one hour of timestamps), in-process over the in-memory hot store and an
// in-memory warehouse, with the broker's defaults (128 MiB target, one encode worker). Prints data
// files, snapshots, rows and seconds of the flush; the record count read back must equal what was
// appended. Quick enough to run anywhere (no broker process, no Kafka client).
//   node bench/flush-files.ts [--records 1000000] [--partitions 1,100,1000] [--hours 1]
import { FilesystemCatalog } from '../src/catalog/filesystem.ts'
import { EncodePool } from '../src/iceberg/encode-pool.ts'
import { Flusher } from '../src/iceberg/flusher.ts'
import { FlushMetrics } from '../src/iceberg/metrics.ts'
import { MemoryObjectStore } from '../src/objectstore/memory.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { TestLog, base } from '../test/iceberg/test-log.ts'

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name)
  return at < 0 ? fallback : process.argv[at + 1] ?? fallback
}

const records = Number(option('--records', '1000000'))
const partitionCounts = option('--partitions', '1,100,1000').split(',').map(Number)
const hours = Number(option('--hours', '1'))
const RECORD_BYTES = 100
const BATCH_RECORDS = 100

async function run(partitions: number): Promise<{ files: number; snapshots: number; rows: number; seconds: number }> {
  const log = await TestLog.open()
  const topic = await log.addTopic('bench', partitions)
  const perPartition = Math.ceil(records / partitions)
  const value = 'x'.repeat(RECORD_BYTES)
  // Timestamps spread evenly over `hours` hours, in offset order per partition.
  const stepMs = Math.max(1, Math.floor((hours * 3_600_000) / perPartition))
  for (let p = 0; p < partitions; p++) {
    for (let at = 0; at < perPartition; at += BATCH_RECORDS) {
      const values = Array.from({ length: Math.min(BATCH_RECORDS, perPartition - at) }, () => value)
      await log.add(topic, p, values, base + at * stepMs)
    }
  }
  const catalog = new FilesystemCatalog(new MemoryObjectStore())
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(1), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 128 * 1024 * 1024, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  await flusher.start()
  const started = performance.now()
  const summary = await flusher.flush('bench')
  const seconds = (performance.now() - started) / 1000
  await flusher.close()
  if (summary.rows !== perPartition * partitions) throw new Error(`flushed ${summary.rows} rows of ${perPartition * partitions}`)
  return { files: summary.files, snapshots: summary.snapshots, rows: summary.rows, seconds }
}

console.log(`| Kafka partitions | records | hours of timestamps | data files | snapshots | flush seconds |`)
console.log(`|---:|---:|---:|---:|---:|---:|`)
for (const partitions of partitionCounts) {
  const result = await run(partitions)
  console.log(`| ${partitions} | ${result.rows} | ${hours} | ${result.files} | ${result.snapshots} | ${result.seconds.toFixed(2)} |`)
}
