// One small object of each shape an encode job builds, held for an encode worker's life.
// V8's optimized code checks objects' hidden classes (maps), and a map lives only while objects
// use it. Between two jobs every object of the first is dead, so a full collection frees their
// maps: the next job's columns, statistics, Arrow data and flatbuffers builders get new maps, and
// each optimized function that checked the old ones is thrown away and compiled again (measured on
// one worker encoding 126 MB jobs: ~135 such deoptimizations in six jobs). Held here, the maps stay.
import { Builder } from 'flatbuffers'
import { encodeBatch } from '../protocol/records.ts'
import { RowColumns, decodeBatchInto } from './columns.ts'
import { FileStats, buildRecordBatch } from './data-file.ts'

const held: unknown[] = []

/** Builds and holds the objects of a one-row job (columns with a key and a header, its statistics, its Arrow batch). */
export function holdJobShapes(): void {
  if (held.length > 0) return
  const columns = new RowColumns(64, { rows: 1, keyBytes: 64 })
  const batch = encodeBatch([{ key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'h', value: Buffer.from('x') }], timestamp: 0 }])
  decodeBatchInto(batch, 0, 0, columns)
  const stats = new FileStats()
  held.push(columns, stats, buildRecordBatch(columns, Uint32Array.of(0), 'shapes', stats), new Builder(64))
}
