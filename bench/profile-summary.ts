// node bench/profile-summary.ts FILE.cpuprofile [--top N]: the functions with the most self time in a V8 CPU
// profile (node --cpu-prof), aggregated by function and source location, with their share of all samples. Used for
// the hot-path profiles in docs/benchmarks.md.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const { values: options, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true })
const file = positionals[0]
if (file === undefined) throw new Error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
const repoRoot = path.resolve(import.meta.dirname, '..')

/** `name (file:line)`, with repo paths shortened and node_modules reduced to the package. */
function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const name = functionName || '(anonymous)'
  if (!url) return name
  let where = url.replace(/^file:\/\//, '')
  const modules = where.lastIndexOf('node_modules/')
  if (modules >= 0) where = where.slice(modules + 'node_modules/'.length)
  else if (where.startsWith(repoRoot)) where = path.relative(repoRoot, where)
  return `${name} (${where}:${lineNumber + 1})`
}

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfMicros = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!)
  const delta = profile.timeDeltas[i] ?? 0
  if (!node) continue
  const key = label(node)
  selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta)
  total += delta
}
const idle = selfMicros.get('(idle)') ?? 0
console.log(`${(total / 1e6).toFixed(2)} s sampled, ${((total - idle) / 1e6).toFixed(2)} s busy; self time, share of busy time:`)
for (const [key, micros] of [...selfMicros].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(options.top))) {
  console.log(`${((micros / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${(micros / 1e3).toFixed(0).padStart(6)} ms  ${key}`)
}
