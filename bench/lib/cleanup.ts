// Temp dirs the bench must not leave behind when it exits early (a failure, Ctrl-C): removed synchronously at exit.
import { rmSync } from 'node:fs'

const dirs = new Set<string>()
let registered = false

/**
 * Removes `dir` when the process exits, unless the returned function is called first (after the normal removal).
 * The exit handler is installed on first use, so it runs after the handlers that kill the brokers using the dirs.
 */
export function removeOnExit(dir: string): () => void {
  if (!registered) {
    registered = true
    process.once('exit', () => {
      for (const pending of dirs) rmSync(pending, { recursive: true, force: true, maxRetries: 3 })
    })
  }
  dirs.add(dir)
  return () => dirs.delete(dir)
}
