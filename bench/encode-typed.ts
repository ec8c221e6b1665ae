// In-process encode benchmark: one flush encode job (decode, sort, Arrow, Parquet) on this thread,
// raw layout and typed (Avro, value_schema_id_prefix) at 100 B and 1 KiB, in rows per CPU-second of
// this thread (medians of --runs), so other sessions' load on the machine moves the figures less.
// With `node --cpu-prof` it is also the profile of a typed flush (bench/profile-summary.ts reads it).
//   node bench/encode-typed.ts [--runs 3] [--only raw|typed] [--size 100|1024]
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runEncodeJob, type EncodeJob, type EncodeOutput } from '../src/iceberg/encode.ts'
import { TableTypes } from '../src/iceberg/typed-resolver.ts'
import { LAST_COLUMN_ID } from '../src/iceberg/schema.ts'
import { encodeBatch } from '../src/protocol/records.ts'
import { MemorySchemaLookup } from '../test/support/memory-schema-lookup.ts'
import { AVRO_BENCH_SCHEMA, avroRecord, fillRecord } from './lib/scenarios.ts'

const { values: options } = parseArgs({ options: { runs: { type: 'string', default: '3' }, only: { type: 'string' }, size: { type: 'string' }, dump: { type: 'string' } } })
const runs = Number(options.runs)
const recordsOf: Record<number, number> = { 100: 200_000, 1024: 60_000 }

function filled(index: number, recordBytes: number): Buffer {
  const value = Buffer.alloc(recordBytes)
  fillRecord(value, index)
  return value
}

function batchesOf(recordBytes: number, records: number, typed: boolean): Buffer {
  const batches: Buffer[] = []
  const perBatch = Math.max(1, Math.floor(16384 / recordBytes))
  const timestamp = 1_767_000_000_000
  for (let start = 0; start < records; start += perBatch) {
    const end = Math.min(records, start + perBatch)
    const entries = []
    for (let i = start; i < end; i++) entries.push({ key: null, value: typed ? avroRecord(i, recordBytes) : filled(i, recordBytes), timestamp: timestamp + i })
    batches.push(encodeBatch(entries, { baseOffset: start }))
  }
  return Buffer.concat(batches)
}

function cpuSeconds(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

async function measure(recordBytes: number, typed: boolean): Promise<number> {
  const records = recordsOf[recordBytes]!
  const batches = batchesOf(recordBytes, records, typed)
  const lookup = new MemorySchemaLookup()
  lookup.register('bench-value', AVRO_BENCH_SCHEMA)
  const rates: number[] = []
  for (let run = 0; run < runs; run++) {
    const types = new TableTypes(lookup, 'bench', null, LAST_COLUMN_ID)
    let bytes = 0
    const chunks: Uint8Array[] = []
    const output: EncodeOutput = {
      typed: typed ? types : undefined,
      beginFile() {},
      write(chunk) {
        bytes += chunk.byteLength
        if (options.dump !== undefined) chunks.push(chunk)
      },
      endFile() {
        if (options.dump !== undefined && run === 0) writeFileSync(`${options.dump}-${recordBytes}-${typed ? 'typed' : 'raw'}.parquet`, Buffer.concat(chunks))
      },
    }
    const job: EncodeJob = {
      topic: 'bench', parts: [{ partition: 0, fromOffset: 0, batchBytes: batches.length }], batches, maxRowBytes: 1 << 30, targetFileBytes: 1 << 30,
      typed: typed ? { mode: 'value_schema_id_prefix', deadLetterFrom: [0] } : undefined,
    }
    const before = cpuSeconds()
    const result = await runEncodeJob(job, output)
    const spent = cpuSeconds() - before
    if (result.rows !== records) throw new Error(`encoded ${result.rows} rows of ${records}`)
    if (typed && (result.deadLetterRows ?? 0) !== 0) throw new Error('typed rows went to the dead-letter table')
    rates.push(records / spent)
    void bytes
  }
  rates.sort((a, b) => a - b)
  return rates[Math.floor(rates.length / 2)]!
}

console.log('| record | layout | rows per CPU-second (median) |')
console.log('|---|---|---|')
for (const size of options.size === undefined ? [100, 1024] : [Number(options.size)]) {
  for (const typed of options.only === 'raw' ? [false] : options.only === 'typed' ? [true] : [false, true]) {
    const rate = await measure(size, typed)
    console.log(`| ${size} B | ${typed ? 'typed (Avro)' : 'raw'} | ${Math.round(rate).toLocaleString('en-US')} |`)
  }
}
