// Runs an encode job on this thread and keeps each file's bytes, for tests that read files back
// (the broker never does this: its files stream into the object store).
import type { EncodedFile } from '../../src/iceberg/data-file.ts'
import { runEncodeJob, type EncodeJob, type EncodeOutput, type EncodeResult } from '../../src/iceberg/encode.ts'
import { fileRangesOf } from '../../src/storage/file-ranges.ts'
import type { FileRange } from '../../src/storage/hot-store.ts'

export type FileWithBytes = EncodedFile & { bytes: Buffer }

/** A job of one Kafka partition: its batches, or where they lie in files. */
export type OnePartitionJob = Omit<EncodeJob, 'parts'> & { partition: number; fromOffset: number; files?: FileRange[] }

/** Runs `job`; `endOffset` is the first part's end (the only one of a one-partition job). */
export async function encodeInMemory(job: EncodeJob | OnePartitionJob): Promise<Omit<EncodeResult, 'files'> & { files: FileWithBytes[]; endOffset: number }> {
  const full: EncodeJob = 'parts' in job ? job : {
    topic: job.topic, batches: job.batches, maxRowBytes: job.maxRowBytes, targetFileBytes: job.targetFileBytes, rowGroupBytes: job.rowGroupBytes,
    parts: [{ partition: job.partition, fromOffset: job.fromOffset, batchBytes: job.files === undefined ? job.batches.length : 0, files: job.files === undefined ? undefined : fileRangesOf(job.files) }],
  }
  let chunks: Uint8Array[] = []
  const files: FileWithBytes[] = []
  const output: EncodeOutput = {
    beginFile() {
      chunks = []
    },
    write(chunk) {
      chunks.push(chunk)
    },
    endFile(file) {
      files.push({ ...file, bytes: Buffer.concat(chunks) })
    },
  }
  const result = await runEncodeJob(full, output)
  return { ...result, files, endOffset: result.endOffsets[0]! }
}
