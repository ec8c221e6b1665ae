// The object store on a local filesystem (the embedded default warehouse). Writes go to a
// temp file that is fsynced and then renamed (put) or hard-linked (putIfAbsent: link fails
// if the name exists, which makes it an atomic create-exclusive of a complete file).
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { checkKey, type ObjectStore } from './object-store.ts'

const TEMP_SUFFIX = '.zombi-tmp'

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
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
    return pathToFileURL(this.#path(key)).href
  }

  keyOf(location: string): string | null {
    let file: string
    try {
      file = location.startsWith('file:') ? fileURLToPath(location) : location
    } catch {
      return null
    }
    const relative = path.relative(this.root, file)
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return null
    return relative.split(path.sep).join('/')
  }

  async #writeTemp(file: string, body: Uint8Array): Promise<string> {
    await mkdir(path.dirname(file), { recursive: true })
    const temp = `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`
    const handle = await open(temp, 'wx')
    try {
      let written = 0
      while (written < body.length) {
        const { bytesWritten } = await handle.write(body, written, body.length - written)
        written += bytesWritten
      }
      if (this.#fsync) await handle.datasync()
    } finally {
      await handle.close()
    }
    return temp
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
    const temp = await this.#writeTemp(file, body)
    try {
      await rename(temp, file)
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
    await this.#syncDirectory(path.dirname(file))
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const file = this.#path(key)
    const temp = await this.#writeTemp(file, body)
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

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.#path(key))).isFile()
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw error
    }
  }

  async list(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/')
    const directory = slash === -1 ? '' : prefix.slice(0, slash)
    const out: string[] = []
    const walk = async (relative: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(relative === '' ? this.root : path.join(this.root, ...relative.split('/')), { withFileTypes: true })
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return
        throw error
      }
      for (const entry of entries) {
        const key = relative === '' ? entry.name : `${relative}/${entry.name}`
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key)
        } else if (entry.isFile() && key.startsWith(prefix) && !entry.name.endsWith(TEMP_SUFFIX)) {
          out.push(key)
        }
      }
    }
    await walk(directory)
    return out.sort()
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.#path(key))
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
  }
}
