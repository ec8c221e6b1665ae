// The layers of src/ and which way their imports may point: entry -> doors (kafka, http) -> groups
// -> log -> storage / iceberg -> catalog -> objectstore -> protocol, with config, observability and
// errors below everything. A door never imports the other door; nothing imports main.ts or
// broker.ts (the entry and the broker it loads).
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'

const src = path.resolve(import.meta.dirname, '../src')

/** What each top-level module of src/ may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  kafka: ['groups', 'log', 'security', 'protocol', 'config', 'observability', 'errors'],
  // The registry's REST API is an http route family over schema/.
  http: ['groups', 'log', 'schema', 'security', 'protocol', 'config', 'observability', 'errors'],
  groups: ['log', 'storage', 'protocol', 'config', 'observability', 'errors'],
  log: ['storage', 'iceberg', 'protocol', 'config', 'observability', 'errors'],
  // The flusher reads the hot log's segment files itself (their ranges come from storage's types).
  // Typed tables decode values with the registry's schemas.
  iceberg: ['storage', 'catalog', 'objectstore', 'schema', 'protocol', 'config', 'observability', 'errors'],
  // The registry keeps its subjects in a classic-level store; it knows nothing of topics or tables.
  schema: ['storage', 'protocol', 'config', 'observability', 'errors'],
  // Who a client is (TLS, SASL credentials, tokens) and what it may do (ACLs), for both doors; credentials and ACLs live in the hot store's state.
  security: ['storage', 'protocol', 'config', 'observability', 'errors'],
  storage: ['protocol', 'config', 'observability', 'errors'],
  catalog: ['objectstore', 'protocol', 'config', 'observability', 'errors'],
  objectstore: ['protocol', 'config', 'observability', 'errors'],
  protocol: ['errors'],
  config: ['errors'],
  // Metric labels name Kafka APIs; no layer's classes.
  observability: ['protocol', 'errors'],
  errors: [],
}

/** Process entries: they wire the layers together (main) or build one for a generator script. */
const ENTRIES = new Set(['main.ts', 'broker.ts', 'http/write-openapi.ts', 'config/write-docs.ts'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

const moduleOf = (file: string): string => path.relative(src, file).split(path.sep)[0]!.replace(/\.ts$/, '')

it('keeps every import of src/ pointing down the layers, doors apart', () => {
  const wrong: string[] = []
  for (const file of sourceFiles(src)) {
    const relative = path.relative(src, file)
    if (ENTRIES.has(relative)) continue
    const from = moduleOf(file)
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), match[1]!)
      if (path.relative(src, target) === 'main.ts' || path.relative(src, target) === 'broker.ts') {
        wrong.push(`${relative} imports ${path.relative(src, target)}`)
        continue
      }
      const to = moduleOf(target)
      if (to !== from && !ALLOWED[from]!.includes(to)) wrong.push(`${relative} -> ${path.relative(src, target)}`)
    }
  }
  expect(wrong).toEqual([])
})

it('knows every top-level module of src/', () => {
  const modules = new Set(sourceFiles(src).map(moduleOf))
  modules.delete('main')
  modules.delete('broker')
  expect([...modules].sort()).toEqual(Object.keys(ALLOWED).sort())
})
