// Watches an Iceberg table's metadata files on disk (filesystem catalog): which offsets of each partition
// its snapshots record as committed, and how large metadata.json grows. Reading the files costs the broker
// nothing, so a bench can poll it often (ack -> visible, flush lag).
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

export interface Metadata {
  snapshots?: Array<{ summary: Record<string, string> }>
}

/** Watches a table's metadata files on disk; committed(p) is the offset after the last committed one of partition p. */
export class TableWatcher {
  #version = 0
  readonly #committed = new Map<number, number>()
  readonly dir: string
  /** Snapshots and bytes of the first and the newest metadata.json seen: their slope is what a kept snapshot adds. */
  first: { snapshots: number; bytes: number } | undefined
  last: { snapshots: number; bytes: number } | undefined
  constructor(dir: string) {
    this.dir = dir
  }

  #file(version: number): string {
    return path.join(this.dir, 'metadata', `v${version}.metadata.json`)
  }

  /** Reads the newest metadata.json if a newer one appeared; true if it did. */
  poll(): boolean {
    let version = this.#version
    if (version === 0) {
      const hint = path.join(this.dir, 'metadata', 'version-hint.text')
      if (!existsSync(hint)) return false
      version = Number(readFileSync(hint, 'utf8').trim())
    }
    while (existsSync(this.#file(version + 1))) version++
    if (version === this.#version) return false
    let text: string
    try {
      text = readFileSync(this.#file(version), 'utf8')
    } catch {
      return false // deleted by delete-after-commit between the check and the read: the next poll finds the newer one
    }
    this.#version = version
    const metadata = JSON.parse(text) as Metadata
    const sample = { snapshots: metadata.snapshots?.length ?? 0, bytes: Buffer.byteLength(text) }
    this.first ??= sample
    this.last = sample
    for (const snapshot of metadata.snapshots ?? []) {
      for (const [key, value] of Object.entries(snapshot.summary)) {
        if (!key.startsWith('zombi.offsets.')) continue
        const match = /^(\d+)-(\d+)$/.exec(value)
        if (match === null) continue
        const partition = Number(key.slice('zombi.offsets.'.length))
        const end = Number(match[2]) + 1
        if (end > (this.#committed.get(partition) ?? 0)) this.#committed.set(partition, end)
      }
    }
    return true
  }

  committed(partition: number): number {
    return this.#committed.get(partition) ?? 0
  }
}

