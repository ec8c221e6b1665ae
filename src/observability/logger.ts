// The process logger: pino, JSON lines on stdout. One line per connection problem, never per request.
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, name = 'zombi'): Logger {
  return pino({ name, level, base: { pid: process.pid } })
}

/** A logger that drops everything, for tests and tools. */
export const silentLogger: Logger = pino({ level: 'silent' })
