// SIGKILL while producers run and flushes happen (size-triggered every ~1 MiB, interval 1 s):
// at a random time, right after a data file appears (before its commit), or right after a
// metadata file appears (a commit, before the flushed offset is recorded); restart, repeat; after the final flush the table holds every acknowledged record
// exactly once and exactly what the hot log holds: no crash window duplicates or loses a row. With
// ZOMBI_ORPHAN_GRACE_SECS=0 every restart also removes what the kill left (temp files, data files
// and manifests of an uncommitted flush), so at the end the warehouse holds only referenced files.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { brokerErrors, expectTableIsHotLog, firstNew } from './fixtures/crash-checks.ts'
import { runPython } from './fixtures/python.ts'
import { filesScanned, readRows, tableDir } from '../iceberg/readers.ts'
import { freePort } from '../support/ports.ts'

const CYCLES = 12
const RECORDS_PER_CYCLE = 4000


let broker: Broker | undefined

afterAll(async () => {
  await broker?.cleanup()
})

test('SIGKILL during flushes, with producers running, neither duplicates nor loses a record', async () => {
  broker = await startBroker({
    ZOMBI_KAFKA_PORT: String(await freePort()),
    ZOMBI_DEFAULT_PARTITIONS: '2',
    ZOMBI_FLUSH_INTERVAL_SECS: '1',
    ZOMBI_TARGET_FILE_SIZE_MB: '1',
    ZOMBI_ORPHAN_GRACE_SECS: '0',
  })
  const topic = uniqueTopic('iceberg-crash')
  const acknowledged = new Map<string, { partition: number; offset: number }>()
  const padding = 'x'.repeat(500)
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const lines = Array.from({ length: RECORDS_PER_CYCLE }, (_, i) =>
      JSON.stringify({ key: Buffer.from(`k${i}`).toString('base64'), value: Buffer.from(`c${cycle}-r${i}-${padding}`).toString('base64'), partition: i % 2 }))
    const producer = runPython('compat-tests/confluent-kafka-python/produce.py',
      ['--bootstrap', broker.bootstrap, '--topic', topic, '--compression', cycle % 2 === 0 ? 'zstd' : 'none', '--timeout', '30'],
      { input: `${lines.join('\n')}\n`, timeoutMs: 120_000 })
    const moment = (['random', 'data file written', 'commit'] as const)[cycle % 3]!
    if (moment === 'random') await sleep(200 + Math.random() * 1800)
    else await firstNew(join(broker.dataDir, 'warehouse'), moment === 'commit' ? /\/v\d+\.metadata\.json$/ : /\.parquet$/, 10_000)
    await broker.kill9()
    await broker.restart()
    const result = await producer
    // Records acknowledged before the kill or after the restart; failed ones are simply not counted.
    for (const line of result.stdout.toString('utf8').split('\n')) {
      if (line.trim() === '') continue
      const report = JSON.parse(line) as { partition: number; offset: number }
      const index = acknowledged.size
      acknowledged.set(`${cycle}/${index}`, report)
    }
  }
  await broker.stop() // SIGTERM: final flush
  await broker.restart()
  const dir = tableDir(broker.dataDir, topic)
  const rows = await readRows(dir, 'duckdb')
  // Exactly once: no (partition, offset) twice, and the table is exactly the hot log.
  const seen = await expectTableIsHotLog(broker, topic, rows)
  expect(brokerErrors(broker)).toEqual([])
  // Every acknowledged record is there.
  for (const { partition, offset } of acknowledged.values()) expect(seen.has(`${partition}/${offset}`)).toBe(true)
  expect(acknowledged.size).toBeGreaterThan(RECORDS_PER_CYCLE)
  const recovered = broker.logs().split('\n').filter((line) => line.includes('flushed offset taken from the Iceberg table')).length
  // Nothing a kill left behind survives a restart: no temp file, no data file the table does not reference.
  const files = readdirSync(join(broker.dataDir, 'warehouse'), { recursive: true }).map(String)
  expect(files.filter((name) => name.endsWith('.zombi-tmp'))).toEqual([])
  const onDisk = files.filter((name) => name.endsWith('.parquet')).length
  const referenced = (await filesScanned(dir, 'true')).data_files
  expect(onDisk).toBe(referenced)
  let removedOrphans = 0
  let removedTemporaries = 0
  for (const line of broker.logs().split('\n')) {
    if (!line.includes('removed files left in the warehouse by interrupted writes')) continue
    const removed = JSON.parse(line) as { orphanFiles: number; temporaryFiles: number }
    removedOrphans += removed.orphanFiles
    removedTemporaries += removed.temporaryFiles
  }
  console.log(`crash test: ${CYCLES} kills, ${acknowledged.size} acknowledged, ${rows.length} rows; ${recovered} restarts found a commit whose flushed offset was not recorded; restarts removed ${removedOrphans} unreferenced files (data files, manifests) and ${removedTemporaries} temp files that kills left`)
}, 600_000)
