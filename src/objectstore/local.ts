// The object store on a local filesystem (the embedded default warehouse). Writes go to a
// temp file that is fsynced and then renamed (put) or hard-linked (putIfAbsent: link fails
// if the name exists, which makes it an atomic create-exclusive of a complete file). A crash
// mid-write leaves the temp file (`*.zombi-tmp`); removeAbandonedUploads deletes old ones.
import { randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { link, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkKey, checkRange, type ObjectInfo, type ObjectStore, type Removed } from './object-store.ts'

const TEMP_SUFFIX = '.zombi-tmp'
/**
 * Bytes per write call (a Parquet row group arrives as one chunk of up to tens of megabytes): larger
 * writes fill the page cache with 2 MiB folios, which on this project's VMs cost about ten times
 * the system time per byte (the same cap as the hot log's, storage/segment-log.ts).
 */
const MAX_WRITE_BYTES = 1024 * 1024

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
}

/** The file's stat, or null if it vanished meanwhile (another cleanup, a rename). */
async function statIfPresent(file: string): Promise<Stats | null> {
  try {
    return await stat(file)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null
    throw error
  }
}

/**
 * The location Iceberg metadata names a local file by: `file:` and the absolute path as it is,
 * neither percent-encoded nor normalized (what Iceberg Java writes, from Hadoop's Path). Readers
 * hand the path after the scheme to the file system unchanged: with a URL's percent-encoding
 * (`Application%20Support`), DuckDB, pyiceberg and polars look for a directory of that literal name
 * (checked with DuckDB 1.4.4, pyiceberg 0.12.0, polars 2.1.0); all of them, and Spark, open `file:/`.
 */
export function fileLocation(file: string): string {
  return `file:${file}`
}

/**
 * The absolute path a location names, or null for what names no local file. `file:/p` (one slash,
 * what fileLocation and Iceberg Java write) is taken as it is; `file:///p` and `file://localhost/p`
 * are URLs and percent-decoded: earlier versions wrote pathToFileURL's form, and tables made then
 * must still be read and cleaned. A plain absolute path is taken as it is.
 */
export function localPath(location: string): string | null {
  if (!location.startsWith('file:')) return path.isAbsolute(location) ? location : null
  if (location.startsWith('file://')) {
    try {
      return fileURLToPath(location)
    } catch {
      return null
    }
  }
  const file = location.slice('file:'.length)
  return path.isAbsolute(file) ? file : null
}

export class LocalObjectStore implements ObjectStore {
  readonly root: string
  readonly #fsync: boolean

  /** `fsync: false` skips fsync (tests and benchmarks on throwaway directories). */
  constructor(root: string, options: { fsync?: boolean } = {}) {
    this.root = path.resolve(root)
    this.#fsync = options.fsync ?? true
  }

  #path(key: string): string {
    checkKey(key)
    return path.join(this.root, ...key.split('/'))
  }

  location(key: string): string {
    return fileLocation(this.#path(key))
  }

  keyOf(location: string): string | null {
    const file = localPath(location)
    if (file === null) return null
    const relative = path.relative(this.root, file)
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return null
    return relative.split(path.sep).join('/')
  }

  /** Writes the chunks to a new temp file next to `file` (fsynced); resolves to its name and size. */
  async #writeTemp(file: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<{ temp: string; size: number }> {
    await mkdir(path.dirname(file), { recursive: true })
    const temp = `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`
    const handle = await open(temp, 'wx')
    let size = 0
    try {
      for await (const chunk of chunks) {
        let written = 0
        while (written < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, written, Math.min(chunk.length - written, MAX_WRITE_BYTES))
          written += bytesWritten
        }
        size += chunk.length
      }
      if (this.#fsync) await handle.datasync()
    } catch (error) {
      await handle.close()
      await unlink(temp).catch(() => undefined)
      throw error
    }
    await handle.close()
    return { temp, size }
  }

  /** Moves a finished temp file over `file` (the atomic replace), removing the temp file if that fails. */
  async #replace(temp: string, file: string): Promise<void> {
    try {
      await rename(temp, file)
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
    await this.#syncDirectory(path.dirname(file))
  }

  async #syncDirectory(directory: string): Promise<void> {
    if (!this.#fsync) return
    const handle = await open(directory, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const file = this.#path(key)
    const { temp } = await this.#writeTemp(file, [body])
    await this.#replace(temp, file)
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const file = this.#path(key)
    const { temp, size } = await this.#writeTemp(file, source)
    await this.#replace(temp, file)
    return size
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const file = this.#path(key)
    const { temp } = await this.#writeTemp(file, [body])
    try {
      await link(temp, file)
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false
      throw error
    } finally {
      await unlink(temp).catch(() => undefined)
    }
    await this.#syncDirectory(path.dirname(file))
    return true
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.#path(key))
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null
      throw error
    }
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer | null> {
    const file = this.#path(key)
    checkRange(start, endExclusive)
    let handle
    try {
      handle = await open(file, 'r')
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null
      throw error
    }
    try {
      const size = (await handle.stat()).size
      const length = Math.max(0, Math.min(endExclusive, size) - start)
      const out = Buffer.allocUnsafe(length)
      let read = 0
      while (read < length) {
        const { bytesRead } = await handle.read(out, read, length - read, start + read)
        if (bytesRead === 0) break
        read += bytesRead
      }
      return read === length ? out : out.subarray(0, read)
    } finally {
      await handle.close()
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.#path(key))).isFile()
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw error
    }
  }

  /** Calls `visit` for every file whose key starts with `prefix`, finished objects and temp files alike. */
  async #walk(prefix: string, visit: (key: string, file: string, temporary: boolean) => void): Promise<void> {
    const slash = prefix.lastIndexOf('/')
    const walk = async (relative: string): Promise<void> => {
      const directory = relative === '' ? this.root : path.join(this.root, ...relative.split('/'))
      let entries
      try {
        entries = await readdir(directory, { withFileTypes: true })
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return
        throw error
      }
      for (const entry of entries) {
        const key = relative === '' ? entry.name : `${relative}/${entry.name}`
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key)
        } else if (entry.isFile() && key.startsWith(prefix)) {
          visit(key, path.join(directory, entry.name), entry.name.endsWith(TEMP_SUFFIX))
        }
      }
    }
    await walk(slash === -1 ? '' : prefix.slice(0, slash))
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = []
    await this.#walk(prefix, (key, _file, temporary) => {
      if (!temporary) out.push(key)
    })
    return out.sort()
  }

  async listInfo(prefix: string): Promise<ObjectInfo[]> {
    const files: Array<[string, string]> = []
    await this.#walk(prefix, (key, file, temporary) => {
      if (!temporary) files.push([key, file])
    })
    const out: ObjectInfo[] = []
    for (const [key, file] of files.sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const info = await statIfPresent(file)
      if (info !== null) out.push({ key, sizeBytes: info.size, modifiedMs: info.mtimeMs })
    }
    return out
  }

  async removeAbandonedUploads(prefix: string, modifiedBeforeMs: number): Promise<Removed> {
    const temporaries: string[] = []
    await this.#walk(prefix, (_key, file, temporary) => {
      if (temporary) temporaries.push(file)
    })
    const removed = { count: 0, bytes: 0 }
    for (const file of temporaries) {
      const info = await statIfPresent(file)
      if (info === null || info.mtimeMs >= modifiedBeforeMs) continue
      try {
        await unlink(file)
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue
        throw error
      }
      removed.count++
      removed.bytes += info.size
    }
    return removed
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.#path(key))
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
  }
}
