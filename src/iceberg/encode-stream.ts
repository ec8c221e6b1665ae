// The bytes of an encode job on their way from the encoder to the object store, one chunk at a
// time: the encoder (a worker thread, or the calling thread) produces events, the flusher takes
// them as files whose chunks it streams into ObjectStore.putStream. A byte window between the two
// (Credit) holds the encoder back while the store is slow, so neither side ever holds a whole file.
import { ZombiError } from '../errors.ts'
import type { EncodedFile } from './data-file.ts'
import type { EncodeOutput, EncodeResult } from './encode.ts'
import type { TypedResolver } from './typed-rows.ts'

/**
 * Bytes an encoder may have handed over that the store has not taken yet. A chunk is a row group
 * (up to ROW_GROUP_BYTES before compression), so this lets the next row group be encoded while
 * the previous one uploads, and no more.
 */
export const CHUNK_WINDOW_BYTES = 8 * 1024 * 1024

/** What an encoder sends, in order: per file begin, chunks, end; then done, or error at any point. */
export type EncodeEvent =
  | { kind: 'begin'; eventDate: number; eventHour: number; deadLetter?: boolean }
  | { kind: 'chunk'; bytes: Uint8Array }
  | { kind: 'end'; file: EncodedFile }
  | { kind: 'done'; result: EncodeResult }
  | { kind: 'error'; error: Error }

/** The sending side's count of bytes handed over and not yet taken; sends wait while it is at the window. */
export class Credit {
  readonly #windowBytes: number
  #outstanding = 0
  #waiter: { resolve(): void; reject(error: Error): void } | null = null
  #failure: Error | null = null

  constructor(windowBytes = CHUNK_WINDOW_BYTES) {
    this.#windowBytes = windowBytes
  }

  /** Throws once failed: the consumer is gone, so nothing more is sent. */
  check(): void {
    if (this.#failure !== null) throw this.#failure
  }

  /** Counts `bytes` as handed over; resolves at once below the window, else when enough is taken. */
  sent(bytes: number): Promise<void> | undefined {
    this.#outstanding += bytes
    if (this.#outstanding < this.#windowBytes) return undefined
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
    })
  }

  taken(bytes: number): void {
    this.#outstanding -= bytes
    const waiter = this.#waiter
    if (waiter !== null && this.#outstanding < this.#windowBytes) {
      this.#waiter = null
      waiter.resolve()
    }
  }

  /** The consumer stopped: the waiting send and every later one fail with `error`. */
  fail(error: Error): void {
    this.#failure ??= error
    const waiter = this.#waiter
    this.#waiter = null
    waiter?.reject(this.#failure)
  }
}

/** One data file as it arrives: name it from its partition values, stream its chunks, then read its facts. */
export class IncomingFile {
  readonly eventDate: number
  readonly eventHour: number
  /** A file of the topic's dead-letter table. */
  readonly deadLetter: boolean
  readonly #run: EncodeRun
  #file: EncodedFile | null = null

  constructor(run: EncodeRun, eventDate: number, eventHour: number, deadLetter = false) {
    this.#run = run
    this.eventDate = eventDate
    this.eventHour = eventHour
    this.deadLetter = deadLetter
  }

  /** The file's bytes, chunk by chunk; each is acknowledged to the encoder once the consumer asks for the next. */
  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const event = await this.#run.next()
      if (event.kind === 'chunk') {
        yield event.bytes
        this.#run.taken(event.bytes.length)
      } else if (event.kind === 'end') {
        this.#file = event.file
        return
      } else {
        throw this.#run.unexpected(event, 'a chunk of the file')
      }
    }
  }

  /** The file's facts; only once chunks() has ended. */
  get file(): EncodedFile {
    if (this.#file === null) throw new ZombiError('INVALID_STATE', 'the facts of a data file are known once its last chunk is taken')
    return this.#file
  }
}

/**
 * The consumer's end of one running encode job. Events are queued in order as they arrive;
 * nextFile() and the file's chunks() take them. cancel() tells the encoder to stop; `settled`
 * resolves once the encoder is done either way (its worker free for the next job).
 */
export class EncodeRun {
  readonly settled: Promise<void>
  readonly #queue: EncodeEvent[] = []
  #waiter: ((event: EncodeEvent) => void) | null = null
  #ended = false
  #settle!: () => void
  #result: EncodeResult | null = null
  #cancelled: Error | null = null
  /** Set by whoever runs the job: tells the encoder that `bytes` were taken, or that it must stop. */
  onTaken: (bytes: number) => void = () => undefined
  onCancel: (error: Error) => void = () => undefined
  /** Answers a typed job's questions (schemas, the value column's type); null for key_value jobs. */
  readonly resolver: TypedResolver | null

  constructor(resolver: TypedResolver | null = null) {
    this.resolver = resolver
    this.settled = new Promise((resolve) => {
      this.#settle = resolve
    })
  }

  get cancelled(): Error | null {
    return this.#cancelled
  }

  /** An event from the encoder. A done or an error ends the run; nothing after it counts. */
  push(event: EncodeEvent): void {
    if (this.#ended) return
    if (event.kind === 'done' || event.kind === 'error') {
      this.#ended = true
      this.#settle()
    }
    const waiter = this.#waiter
    if (waiter !== null) {
      this.#waiter = null
      waiter(event)
    } else {
      this.#queue.push(event)
    }
  }

  /** The next file, or null once the job is done (then `result` holds its summary). Throws the encoder's error. */
  async nextFile(): Promise<IncomingFile | null> {
    const event = await this.next()
    if (event.kind === 'begin') return new IncomingFile(this, event.eventDate, event.eventHour, event.deadLetter === true)
    if (event.kind === 'done') {
      this.#result = event.result
      return null
    }
    throw this.unexpected(event, 'a file or the end of the job')
  }

  /** The job's summary; only once nextFile() returned null. */
  get result(): EncodeResult {
    if (this.#result === null) throw new ZombiError('INVALID_STATE', 'the result of an encode job is known once every file is taken')
    return this.#result
  }

  /** Stops the encoder (a no-op once it ended); the flusher then waits for `settled`. */
  cancel(error: Error): void {
    if (this.#ended || this.#cancelled !== null) return
    this.#cancelled = error
    this.onCancel(error)
  }

  next(): Promise<EncodeEvent> {
    const event = this.#queue.shift()
    if (event !== undefined) return Promise.resolve(event)
    return new Promise((resolve) => {
      this.#waiter = resolve
    })
  }

  taken(bytes: number): void {
    this.onTaken(bytes)
  }

  unexpected(event: EncodeEvent, wanted: string): Error {
    if (event.kind === 'error') return event.error
    return new ZombiError('INVALID_STATE', `encode job sent ${event.kind} where ${wanted} was due`)
  }
}

/** The encoder's end when it runs on the consumer's thread (a pool of size 0): events go straight into the run. */
export class LocalOutput implements EncodeOutput {
  readonly #run: EncodeRun
  readonly #credit: Credit

  constructor(run: EncodeRun, windowBytes = CHUNK_WINDOW_BYTES) {
    this.#run = run
    this.#credit = new Credit(windowBytes)
    run.onTaken = (bytes) => this.#credit.taken(bytes)
    run.onCancel = (error) => this.#credit.fail(error)
  }

  get typed(): TypedResolver | undefined {
    return this.#run.resolver ?? undefined
  }

  beginFile(eventDate: number, eventHour: number, deadLetter = false): void {
    this.#credit.check()
    this.#run.push({ kind: 'begin', eventDate, eventHour, deadLetter })
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    this.#credit.check()
    this.#run.push({ kind: 'chunk', bytes: chunk })
    return this.#credit.sent(chunk.length)
  }

  endFile(file: EncodedFile): void {
    this.#run.push({ kind: 'end', file })
  }
}
