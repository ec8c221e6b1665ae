// The log cleaner's worker thread (batch-cleaner.ts has the protocol): holds one cleaning's key map
// and rebuilds batches, at a nice value above the event loop's.
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { ZombiError } from '../errors.ts'
import { cleanBatches, type CleanedOnWire, type FromCleaner, type ToCleaner } from './batch-cleaner.ts'
import { OffsetMap } from './compaction.ts'

const port = parentPort
if (port === null) throw new ZombiError('INVALID_STATE', 'batch-cleaner-worker.ts runs as a worker thread')
const mainThread = port

try {
  setPriority(0, (workerData as { niceness?: number } | null)?.niceness ?? 19)
} catch {
  // Not permitted or not supported here: clean at normal priority.
}

let map = new OffsetMap()

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

mainThread.on('message', (message: ToCleaner) => {
  let reply: FromCleaner
  const transfer: ArrayBuffer[] = []
  try {
    if (message.kind === 'reset') {
      map = new OffsetMap()
      reply = { kind: 'ok' }
    } else if (message.kind === 'map') {
      for (const batch of message.batches) map.add(asBuffer(batch))
      reply = { kind: 'ok', map: { keys: map.size, bytes: map.bytes } }
    } else {
      const inputs = message.batches.map(asBuffer)
      const cleaned: CleanedOnWire[] = cleanBatches(map, inputs, message.clock).map((result, i) => {
        let bytes: CleanedOnWire['bytes'] = null
        if (result.bytes === inputs[i]) bytes = 'whole'
        else if (result.bytes !== null) {
          bytes = result.bytes
          // A rebuilt batch owns its memory whole: moved, not copied.
          const { buffer } = result.bytes
          if (buffer instanceof ArrayBuffer && result.bytes.byteOffset === 0 && result.bytes.byteLength === buffer.byteLength && !transfer.includes(buffer)) transfer.push(buffer)
        }
        return { bytes, recordsRemoved: result.recordsRemoved, tombstonesRemoved: result.tombstonesRemoved, nextTombstoneExpiry: result.nextTombstoneExpiry }
      })
      reply = { kind: 'ok', cleaned }
    }
  } catch (error) {
    reply = { kind: 'error', message: error instanceof Error ? error.message : String(error) }
    transfer.length = 0
  }
  mainThread.postMessage(reply, transfer)
})
