// Shared by test/e2e/iceberg-*.test.ts: reads Zombi's Iceberg tables with the independent readers
// of compat-tests/iceberg-readers (DuckDB's iceberg extension and pyiceberg, from the test venv),
// by table directory or by name through an Iceberg REST catalog.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { python, pythonJsonLines } from '../e2e/fixtures/python.ts'

const script = 'compat-tests/iceberg-readers/read_table.py'

export interface TableRow {
  sequence: number
  topic: string
  partition: number
  /** base64 */
  payload: string
  timestamp_ms: number
  idempotency_key: string | null
  event_date: string
  event_hour: number
  key: string | null
  headers: Array<{ key: string; value: string | null }> | null
  timestamp_us: number
  value_is_null: boolean
}

export interface TableInfo {
  format_version: number
  schema: Array<{ id: number; name: string; required: boolean; type: string; element?: { id: number; fields?: Array<{ id: number; name: string }> } }>
  spec: Array<{ name: string; transform: string; source_id: number; field_id: number }>
  sort_order: Array<{ source_id: number; direction: string }>
  snapshots: Array<{ id: string; parent: string | null; sequence_number: number; summary: Record<string, string> }>
  current_snapshot: string | null
  files: Array<{
    path: string
    record_count: number
    partition: { event_date: number; event_hour: number }
    lower_bounds: Record<string, string>
    upper_bounds: Record<string, string>
    value_counts: Record<string, number>
    null_value_counts: Record<string, number>
  }>
}

export function tableDir(dataDir: string, topic: string, namespace = 'zombi'): string {
  return join(dataDir, 'warehouse', namespace, topic)
}

/** An Iceberg REST catalog to find tables by name in (e.g. the broker's own, `${httpUrl}/iceberg`), with the reader's own S3 access if any. */
export interface RestCatalog {
  uri: string
  namespace?: string
  s3?: { endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string }
}

function catalogArgs(catalog: RestCatalog): string[] {
  const args = ['--catalog', catalog.uri]
  if (catalog.namespace !== undefined) args.push('--namespace', catalog.namespace)
  const { endpoint, region, accessKeyId, secretAccessKey } = catalog.s3 ?? {}
  if (endpoint !== undefined) args.push('--s3-endpoint', endpoint)
  if (region !== undefined) args.push('--s3-region', region)
  if (accessKeyId !== undefined) args.push('--s3-access-key-id', accessKeyId)
  if (secretAccessKey !== undefined) args.push('--s3-secret-access-key', secretAccessKey)
  return args
}

/** Rows of the table in `dir`, or with `catalog`, of the table named `dir` in that catalog. */
export async function readRows(dir: string, reader: 'duckdb' | 'pyiceberg' | 'polars', options: { snapshot?: string; where?: string; catalog?: RestCatalog } = {}): Promise<TableRow[]> {
  const args = ['rows', dir, '--reader', reader]
  if (options.snapshot !== undefined) args.push('--snapshot', options.snapshot)
  if (options.where !== undefined) args.push('--where', options.where)
  if (options.catalog !== undefined) args.push(...catalogArgs(options.catalog))
  const rows = (await pythonJsonLines(script, args, { timeoutMs: 120_000 })) as TableRow[]
  return rows.sort((a, b) => a.partition - b.partition || a.sequence - b.sequence)
}

/** The table names the reader lists in the catalog's namespace, sorted. */
export async function listTables(catalog: RestCatalog, reader: 'duckdb' | 'pyiceberg'): Promise<string[]> {
  return (await pythonJsonLines(script, ['tables', '--reader', reader, ...catalogArgs(catalog)], { timeoutMs: 120_000 })) as string[]
}

/** Paths (s3://… or file paths) of the data files the table's current snapshot references, as pyiceberg plans a full scan. */
export async function dataFiles(dir: string, options: { catalog?: RestCatalog } = {}): Promise<string[]> {
  const args = ['files', dir, ...(options.catalog === undefined ? [] : catalogArgs(options.catalog))]
  return ((await pythonJsonLines(script, args, { timeoutMs: 120_000 })) as string[]).sort()
}

export async function readInfo(dir: string): Promise<TableInfo> {
  const [info] = await pythonJsonLines(script, ['info', dir], { timeoutMs: 120_000 })
  return info as TableInfo
}

export async function filesScanned(dir: string, where: string): Promise<{ files_read: number; data_files: number; rows: number }> {
  const result = await python(script, ['files-scanned', dir, where], { timeoutMs: 120_000 })
  return JSON.parse(result.stdout.toString('utf8')) as { files_read: number; data_files: number; rows: number }
}

/** total-records of the table's current snapshot, read from the metadata files (0 if no table). */
export async function committedRecords(dir: string): Promise<number> {
  let version: number
  try {
    version = Number((await readFile(join(dir, 'metadata', 'version-hint.text'), 'utf8')).trim())
  } catch {
    return 0
  }
  for (;;) {
    try {
      await readFile(join(dir, 'metadata', `v${version + 1}.metadata.json`))
      version++
    } catch {
      break
    }
  }
  // Only the summary strings are needed here: plain JSON.parse is fine for them.
  const metadata = JSON.parse(await readFile(join(dir, 'metadata', `v${version}.metadata.json`), 'utf8')) as {
    'current-snapshot-id'?: number
    snapshots: Array<{ summary: Record<string, string> }>
  }
  const last = metadata.snapshots.at(-1)
  return last === undefined ? 0 : Number(last.summary['total-records'] ?? 0)
}

/** Waits until the table holds `count` records (flushes run on the interval trigger). */
export async function waitForRecords(dir: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let seen = 0
  while (Date.now() < deadline) {
    seen = await committedRecords(dir)
    if (seen >= count) return
    await sleep(200)
  }
  throw new Error(`table ${dir} holds ${seen} records after ${timeoutMs} ms, expected ${count}`)
}

/** Data files pyiceberg plans for `key = <key>` (pruned by the manifests' key bounds), all data files, and the rows found. */
export async function keyFiles(dir: string, key: Buffer): Promise<{ planned: number; data_files: number; rows: number }> {
  const result = await python(script, ['key-files', dir, key.toString('base64')], { timeoutMs: 120_000 })
  return JSON.parse(result.stdout.toString('utf8')) as { planned: number; data_files: number; rows: number }
}

/** Per pyiceberg metadata table (`table.inspect.<name>()`): its row count and the totals of its count columns. */
export type InspectSummary = Record<string, { rows: number; record_count?: number; file_count?: number; added_data_files_count?: number; column_sizes?: number; names?: string[] }>

export async function inspectTables(dir: string): Promise<InspectSummary> {
  const result = await python(script, ['inspect', dir], { timeoutMs: 120_000 })
  return JSON.parse(result.stdout.toString('utf8')) as InspectSummary
}

/** The named columns (typed ones too) of every row, as the reader returns them (python.plain: bytes base64, decimals as text, timestamps in µs). */
export async function readColumns(dir: string, names: string, reader: 'duckdb' | 'pyiceberg', where?: string): Promise<Array<Record<string, unknown>>> {
  const args = ['columns', dir, names, '--reader', reader]
  if (where !== undefined) args.push('--where', where)
  return (await pythonJsonLines(script, args, { timeoutMs: 120_000 })) as Array<Record<string, unknown>>
}

/** Data files pyiceberg plans for a row filter (pruned by the manifests' bounds), and all data files. */
export async function plannedFiles(dir: string, rowFilter: string): Promise<{ planned: number; data_files: number }> {
  const result = await python(script, ['planned', dir, rowFilter], { timeoutMs: 120_000 })
  return JSON.parse(result.stdout.toString('utf8')) as { planned: number; data_files: number }
}
