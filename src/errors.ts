// Zombi's own error family (config, storage, HTTP). Kafka protocol errors are codes in
// responses (src/protocol/generated/errors.ts), not exceptions.

export type ZombiErrorCode =
  | 'CONFIG_INVALID'
  | 'STORAGE_FAILED'
  | 'STORAGE_FULL'
  | 'STORAGE_CLOSED'
  | 'STORAGE_CORRUPT'
  | 'PROTOCOL_FRAME_TOO_LARGE'
  | 'PROTOCOL_MALFORMED'

export class ZombiError extends Error {
  readonly code: ZombiErrorCode

  constructor(code: ZombiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ZombiError'
    this.code = code
  }
}

/**
 * A write refused (or rolled back) because the disk is full: nothing of it is stored, the store
 * stays usable and accepts writes again once space returns. Retriable for the writer.
 */
export function isStorageFull(error: unknown): boolean {
  return error instanceof ZombiError && error.code === 'STORAGE_FULL'
}
