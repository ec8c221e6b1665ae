// Where stored batches lie in the hot log's files, for a reader outside the store (the flush's
// encode worker reads them itself). Kept in flat typed arrays: a flush job of tens of thousands of
// batches then crosses to the worker thread as three array copies, where as many
// { path, position, size } objects cost ~0.28 µs each to clone on the event loop (12-19 ms for 50,000).
import type { FileRange } from './hot-store.ts'

export interface FileRanges {
  /** The files, each once. */
  readonly paths: string[]
  /** Per range, in order: its file (an index into paths), its first byte and its length. */
  readonly files: Uint32Array
  readonly positions: Float64Array
  readonly sizes: Float64Array
}

/** Collects up to `capacity` ranges in order. */
export class FileRangesBuilder {
  readonly #paths: string[] = []
  readonly #pathIndex = new Map<string, number>()
  readonly #files: Uint32Array
  readonly #positions: Float64Array
  readonly #sizes: Float64Array
  #count = 0

  constructor(capacity: number) {
    this.#files = new Uint32Array(capacity)
    this.#positions = new Float64Array(capacity)
    this.#sizes = new Float64Array(capacity)
  }

  push(range: FileRange): void {
    let file = this.#pathIndex.get(range.path)
    if (file === undefined) {
      file = this.#paths.push(range.path) - 1
      this.#pathIndex.set(range.path, file)
    }
    this.#files[this.#count] = file
    this.#positions[this.#count] = range.position
    this.#sizes[this.#count] = range.size
    this.#count++
  }

  finish(): FileRanges {
    const count = this.#count
    return { paths: this.#paths, files: this.#files.subarray(0, count), positions: this.#positions.subarray(0, count), sizes: this.#sizes.subarray(0, count) }
  }
}

/** `ranges` as FileRanges. */
export function fileRangesOf(ranges: readonly FileRange[]): FileRanges {
  const builder = new FileRangesBuilder(ranges.length)
  for (const range of ranges) builder.push(range)
  return builder.finish()
}

/** Bytes of all the ranges. */
export function rangeBytes(ranges: FileRanges): number {
  let total = 0
  for (const size of ranges.sizes) total += size
  return total
}
