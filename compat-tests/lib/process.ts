// Long-running client processes (group members) whose output is read while they run.
import { spawn, type ChildProcess } from 'node:child_process'

export class RunningProcess {
  readonly #child: ChildProcess
  #stdout: Buffer[] = []
  #stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.#child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    this.#child.stdout!.on('data', (chunk: Buffer) => this.#stdout.push(chunk))
    this.#child.stderr!.setEncoding('utf8')
    this.#child.stderr!.on('data', (chunk: string) => {
      this.#stderr += chunk
    })
    this.exited = new Promise((resolveExit, rejectExit) => {
      this.#child.once('error', rejectExit)
      this.#child.once('close', (code, signal) => resolveExit({ code, signal }))
    })
  }

  stdout(): Buffer {
    return Buffer.concat(this.#stdout)
  }

  stderr(): string {
    return this.#stderr
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** Sends `signal` and waits for the exit, then SIGKILL if it takes longer than `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited
    this.#child.kill(signal)
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Polls `predicate` every `intervalMs` until it holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: () => string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await new Promise((resolveWait) => setTimeout(resolveWait, intervalMs))
  }
}
