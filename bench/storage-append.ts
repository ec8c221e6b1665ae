// Hot-store append throughput: the disk store (group commit: frames + one write + fdatasync +
// one index batch per tick) against a plain `fs.writeSync` (+ `fdatasync`) loop that writes
// the same bytes in groups of the same size the store's commits had, in the same run. The
// ratio store/reference is what the store costs over the bare disk. Nothing is asserted.
//
// Load: like 16 connections each delivering one produce per event-loop turn, one batch per
// partition per turn, up to `--inflight` appends outstanding; so requests keep arriving
// while a commit is in flight and commits size themselves to how long the disk takes.
//
//   node bench/storage-append.ts [--seconds 2] [--inflight 256] [--rounds 2] [--quick]
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DiskHotStore } from '../src/storage/disk-store.ts'

const args = process.argv.slice(2)
function option(name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(args[at + 1])
}
const quick = args.includes('--quick')
const seconds = option('seconds', quick ? 0.5 : 2)
const inflight = option('inflight', 256)
const rounds = option('rounds', quick ? 1 : 2)
const PARTITIONS = 16
const sizes = [100, 1024, 16 * 1024]
const durabilities = ['fsync', 'none'] as const

interface Measured {
  appends: number
  bytes: number
  seconds: number
  batchesPerCommit: number
}

/** One append per partition per loop turn while fewer than `inflight` are outstanding. */
async function runStore(dir: string, size: number, durability: 'fsync' | 'none'): Promise<Measured> {
  const store = new DiskHotStore({ dir, durability })
  await store.open()
  const topicId = randomUUID()
  await store.putTopic({ id: topicId, name: 'bench', partitions: PARTITIONS, configs: {}, createdAtMs: Date.now() })
  await store.initPartitions(topicId, Array.from({ length: PARTITIONS }, (_, p) => p))
  const bytes = randomBytes(size)
  const next = new Array<number>(PARTITIONS).fill(0)
  let appended = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  await new Promise<void>((resolve, reject) => {
    let outstanding = 0
    let scheduled = false
    const schedule = (): void => {
      if (scheduled || performance.now() >= deadline) return
      scheduled = true
      setImmediate(pump)
    }
    const done = (): void => {
      appended++
      outstanding--
      if (performance.now() < deadline) schedule()
      else if (outstanding === 0) resolve()
    }
    const pump = (): void => {
      scheduled = false
      for (let partition = 0; partition < PARTITIONS && outstanding < inflight; partition++) {
        const baseOffset = next[partition]!++
        outstanding++
        store.append({ topicId, partition, baseOffset, lastOffset: baseOffset, maxTimestamp: 0, bytes }).then(done, reject)
      }
      if (outstanding < inflight) schedule()
    }
    schedule()
  })
  const elapsed = (performance.now() - started) / 1000
  const { commits } = store.stats()
  await store.close()
  return { appends: appended, bytes: appended * size, seconds: elapsed, batchesPerCommit: appended / Math.max(commits, 1) }
}

/** The bare disk: groups of `group` batches, one writeSync each (+ one fdatasync with fsync). */
function runReference(dir: string, size: number, durability: 'fsync' | 'none', group: number): Measured {
  const file = path.join(dir, 'reference.log')
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.concat(Array.from({ length: group }, () => randomBytes(size)))
  let position = 0
  let appends = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  while (performance.now() < deadline) {
    position += fs.writeSync(fd, chunk, 0, chunk.length, position)
    if (durability === 'fsync') fs.fdatasyncSync(fd)
    appends += group
  }
  const elapsed = (performance.now() - started) / 1000
  fs.closeSync(fd)
  return { appends, bytes: appends * size, seconds: elapsed, batchesPerCommit: group }
}

async function measure(run: (dir: string) => Promise<Measured>): Promise<Measured> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zombi-bench-storage-'))
  execFileSync('sync')
  try {
    return await run(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)
}

async function main(): Promise<void> {
  console.log(`storage-append: ${os.cpus().length} cpus, node ${process.version}, ${PARTITIONS} partitions, ${inflight} appends in flight, ${seconds}s x ${rounds} rounds (median)`)
  const rows: string[][] = []
  for (const size of sizes) {
    for (const durability of durabilities) {
      const store: Measured[] = []
      const reference: Measured[] = []
      // The reference writes groups the size of the store's commits in the first round (the
      // store runs first there); later rounds alternate which goes first, and every run starts
      // with no dirty pages left by the one before (`sync`, files deleted), so neither pays
      // for the other's writeback.
      let group = 1
      for (let round = 0; round < rounds; round++) {
        for (const target of round % 2 === 0 ? ['store', 'reference'] : ['reference', 'store']) {
          if (target === 'store') {
            const measured = await measure((dir) => runStore(dir, size, durability))
            if (round === 0) group = Math.max(1, Math.round(measured.batchesPerCommit))
            store.push(measured)
          } else {
            reference.push(await measure(async (dir) => runReference(dir, size, durability, group)))
          }
        }
      }
      const rate = (m: Measured): number => m.appends / m.seconds
      const megabytes = (m: Measured): number => m.bytes / m.seconds / 1e6
      const storeRate = median(store.map(rate))
      const referenceRate = median(reference.map(rate))
      rows.push([
        size >= 1024 ? `${size / 1024} KiB` : `${size} B`, durability,
        format(storeRate), format(median(store.map(megabytes))), format(median(store.map((m) => m.batchesPerCommit))),
        format(referenceRate), format(median(reference.map(megabytes))), (storeRate / referenceRate).toFixed(2),
      ])
    }
  }
  const header = ['batch', 'durability', 'store appends/s', 'store MB/s', 'batches/commit', 'reference appends/s', 'reference MB/s', 'store/reference']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows) console.log(line(row))
}

await main()
