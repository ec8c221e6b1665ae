// Runs an encode job on this thread and keeps each file's bytes, for tests that read files back
// (the broker never does this: its files stream into the object store).
import type { EncodedFile } from '../../src/iceberg/data-file.ts'
import { runEncodeJob, type EncodeJob, type EncodeOutput, type EncodeResult } from '../../src/iceberg/encode.ts'

export type FileWithBytes = EncodedFile & { bytes: Buffer }

export async function encodeInMemory(job: EncodeJob): Promise<Omit<EncodeResult, 'files'> & { files: FileWithBytes[] }> {
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
  const result = await runEncodeJob(job, output)
  return { ...result, files }
}
