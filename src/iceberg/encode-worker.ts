// Worker thread entry: runs encode jobs (decode, sort, Arrow, Parquet) off the event loop.
import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import { ZombiError } from '../errors.ts'
import { runEncodeJob, type EncodeJob } from './encode.ts'

export interface EncodeRequest {
  id: number
  job: EncodeJob
}

export type EncodeReply = { id: number; result: Awaited<ReturnType<typeof runEncodeJob>> } | { id: number; error: string }

const port = parentPort
if (port === null) throw new ZombiError('INVALID_STATE', 'encode-worker.ts runs as a worker thread')

// On Linux, priority 0 ("this process") means the calling thread: the encoder gets a higher nice
// value than the event loop, so when cores are short, produce and fetch are served first and the
// flush takes the CPU left over (it runs well above ingest speed, so it catches up).
try {
  setPriority(0, 10)
} catch {
  // Not permitted or not supported here: encode at normal priority.
}

// Jobs arrive one at a time (the pool gives a worker its next job after the reply).
port.on('message', async (request: EncodeRequest) => {
  let reply: EncodeReply
  const transfer: ArrayBuffer[] = []
  try {
    const result = await runEncodeJob(request.job)
    for (const file of result.files) {
      // Transfer only buffers the file owns whole; a view into a larger buffer is copied.
      const { buffer } = file.bytes
      if (buffer instanceof ArrayBuffer && file.bytes.byteOffset === 0 && file.bytes.byteLength === buffer.byteLength) transfer.push(buffer)
    }
    reply = { id: request.id, result }
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }
  }
  port.postMessage(reply, transfer)
})
