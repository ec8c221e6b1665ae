// kill -9 during flushes (interval 1 s, 1 MiB files): each cycle kills the broker right after a
// flush wrote a data file, a temp file or a metadata file (a commit), or at a random moment; after
// a clean stop (final flush) the Iceberg table, read with DuckDB, must hold every acknowledged
// record exactly once and be exactly the hot log; and the restarts (ZOMBI_ORPHAN_GRACE_SECS=0, safe
// at start) must have left no temp file and no unreferenced data file.
import { mkdirSync, watch } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { killCycles } from './kill-cycles.ts'
import { account, consumeAll, endOffsets, filesEndingWith, jsonLines, recordId, runPython, type FaultOptions, type FaultResult } from './lib.ts'

const PARTITIONS = 2
const MOMENTS = [
  { name: 'data file written', pattern: /\.parquet$/ },
  { name: 'temp file written', pattern: /\.zombi-tmp$/ },
  { name: 'commit (metadata file)', pattern: /\/v\d+\.metadata\.json$/ },
  { name: 'random', pattern: null },
] as const

/** Resolves with true when a file matching `pattern` appears under `dir`, false after `timeoutMs`. */
function firstNew(dir: string, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  mkdirSync(dir, { recursive: true })
  return new Promise((resolve) => {
    const watcher = watch(dir, { recursive: true }, (_event, name) => {
      if (name !== null && pattern.test(`/${name}`)) done(true)
    })
    const timer = setTimeout(() => done(false), timeoutMs)
    function done(seen: boolean): void {
      clearTimeout(timer)
      watcher.close()
      resolve(seen)
    }
  })
}

interface TableRow {
  partition: number
  sequence: number
  payload: string
}

export async function flushCrashLoop(options: FaultOptions): Promise<FaultResult> {
  const cycles = options.cycles ?? (options.quick ? 4 : 12)
  const topic = 'faults-flush-crash'
  const run = await killCycles(options, topic, {
    cycles, partitions: PARTITIONS, rate: 20_000,
    settings: { ZOMBI_FLUSH_INTERVAL_SECS: '1', ZOMBI_TARGET_FILE_SIZE_MB: '1', ZOMBI_ORPHAN_GRACE_SECS: '0' },
    async killMoment(cycle, broker) {
      const moment = MOMENTS[cycle % MOMENTS.length]!
      if (moment.pattern === null) {
        await sleep(500 + Math.random() * 2500)
        return moment.name
      }
      // Let the load build up first, then wait for the file (a flush runs at least every second).
      await sleep(500)
      return (await firstNew(path.join(broker.dataDir, 'warehouse'), moment.pattern, 8000)) ? moment.name : `${moment.name} (not seen in 8 s: random)`
    },
  })
  try {
    const ends = await endOffsets(run.broker.bootstrap, topic)
    const log = await consumeAll(run.broker.bootstrap, topic, PARTITIONS, ends.reduce((a, b) => a + b, 0))
    await run.broker.stop() // SIGTERM: the final flush
    const table = path.join(run.dataDir, 'warehouse', 'zombi', topic)
    const read = await runPython('compat-tests/iceberg-readers/read_table.py', ['rows', table, '--reader', 'duckdb'])
    if (read.code !== 0) throw new Error(`read_table.py rows failed: ${read.stderr.slice(-2000)}`)
    const rows = jsonLines<TableRow>(read.stdout).map((row) => ({ partition: row.partition, offset: row.sequence, value: recordId(Buffer.from(row.payload, 'base64').toString()) }))
    const inTable = account(run.acked, rows)
    const logKeys = new Set(log.map((record) => `${record.partition}/${record.offset}/${record.value}`))
    const rowKeys = new Set(rows.map((row) => `${row.partition}/${row.offset}/${row.value}`))
    const notInLog = [...rowKeys].filter((key) => !logKeys.has(key)).length
    const notInTable = [...logKeys].filter((key) => !rowKeys.has(key)).length
    const unacked = rows.filter((row) => !run.acked.has(row.value)).length

    const scanned = await runPython('compat-tests/iceberg-readers/read_table.py', ['files-scanned', table, 'true'])
    if (scanned.code !== 0) throw new Error(`read_table.py files-scanned failed: ${scanned.stderr.slice(-2000)}`)
    const referenced = (JSON.parse(scanned.stdout) as { data_files: number }).data_files
    const parquetOnDisk = (await filesEndingWith(path.join(table, 'data'), '.parquet')).length
    const temporaries = (await filesEndingWith(path.join(run.dataDir, 'warehouse'), '.zombi-tmp')).length
    let removedOrphans = 0
    let removedTemporaries = 0
    for (const output of run.startOutputs) {
      for (const line of output.split('\n')) {
        if (!line.includes('removed files left in the warehouse by interrupted writes')) continue
        const removed = JSON.parse(line) as { orphanFiles: number; temporaryFiles: number }
        removedOrphans += removed.orphanFiles
        removedTemporaries += removed.temporaryFiles
      }
    }
    return {
      scenario: 'flush crash loop',
      figures: [
        ['cycles (kill -9 during flushes)', cycles],
        ['kill moments', [...run.moments].map(([moment, count]) => `${moment} ×${count}`).join(', ')],
        ['records offered by the producer', run.produced],
        ['records acked', inTable.acked],
        ['deliveries the producer gave up / left unresolved', `${run.failed} / ${run.unresolved}`],
        ['table rows', rows.length],
        ['acked records missing from the table', inTable.lost],
        ['rows duplicated in the table', inTable.duplicated],
        ['table rows not acked (acks lost in a kill)', unacked],
        ['table rows not in the hot log / log records not in the table', `${notInLog} / ${notInTable}`],
        ['files removed by restarts: unreferenced / temp', `${removedOrphans} / ${removedTemporaries}`],
        ['left at the end: temp files / unreferenced data files', `${temporaries} / ${parquetOnDisk - referenced}`],
      ],
      ok: inTable.lost === 0 && inTable.duplicated === 0 && inTable.misplaced === 0 && notInLog === 0 && notInTable === 0 && temporaries === 0 && parquetOnDisk === referenced,
      notes: [],
    }
  } finally {
    await run.broker.kill9()
    await run.removeDataDir()
  }
}
