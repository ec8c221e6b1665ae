// Prints a benchmark table and writes it as JSON and markdown.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export type Row = Record<string, string | number>

function cell(value: string | number): string {
  if (typeof value === 'string') return value
  if (Number.isInteger(value)) return value.toLocaleString('en-US')
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)
}

export function renderMarkdown(rows: Row[]): string {
  const columns = Object.keys(rows[0] ?? {})
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${columns.map((c) => cell(row[c] ?? '')).join(' | ')} |`)
  return lines.join('\n')
}

export function printTable(rows: Row[]): void {
  const columns = Object.keys(rows[0] ?? {})
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)))
  const line = (values: string[]): string => values.map((v, i) => v.padStart(widths[i]!)).join('  ')
  console.log(line(columns))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c] ?? ''))))
}

export function saveResults(dir: string, name: string, rows: Row[], meta: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...meta, rows }, null, 2))
  writeFileSync(path.join(dir, `${name}.md`), `${renderMarkdown(rows)}\n`)
}
