// An Arrow record batch -> the bytes of a one-batch Arrow IPC stream, the only way parquet-wasm takes
// data in. tableToIPC joins the writer's chunks into a new buffer per call, and a new 20-40 MB buffer
// per row group costs more in page faults than the copy itself: here the chunks are collected and
// joined into one buffer kept for the next row group.
import { RecordBatchStreamWriter, type RecordBatch } from 'apache-arrow'
import { AsyncByteQueue } from 'apache-arrow/io/stream'

/** The writer's sink: keeps the chunks (views of the batch's buffers and small metadata arrays) in order. */
class ChunkList extends AsyncByteQueue {
  readonly chunks: Uint8Array[] = []
  byteLength = 0

  override write(value: Uint8Array): void {
    if (value.byteLength === 0) return
    this.chunks.push(value)
    this.byteLength += value.byteLength
  }
}

/** Smallest stream whose buffer is kept: smaller ones (tests, small flushes) get a buffer of their own. */
const MIN_KEPT_BYTES = 1 << 20

export class IpcEncoder {
  #scratch = new Uint8Array(0)

  /**
   * The IPC stream of `batch` (schema, batch, end marker). The bytes are valid until the next call:
   * the caller hands them on (parquet-wasm copies them into its memory) before encoding another.
   */
  encode(batch: RecordBatch): Uint8Array {
    const sink = new ChunkList()
    const writer = new RecordBatchStreamWriter()
    writer.reset(sink)
    writer.writeAll([batch])
    const total = sink.byteLength
    let out = this.#scratch
    if (total > out.length) {
      // An eighth of headroom, so row groups of slightly different sizes do not reallocate each time
      // (no doubling: row groups are bounded, and the buffer stays allocated).
      out = new Uint8Array(total + (total >>> 3))
      if (total >= MIN_KEPT_BYTES) this.#scratch = out
    }
    let at = 0
    for (const chunk of sink.chunks) {
      out.set(chunk, at)
      at += chunk.byteLength
    }
    return out.subarray(0, total)
  }

  /** Drops the kept buffer (the next stream gets a new one). */
  release(): void {
    this.#scratch = new Uint8Array(0)
  }
}
