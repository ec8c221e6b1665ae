// What an encode worker runs: a flush's encode job (stored batches -> Parquet) or compaction's
// rewrite job (Parquet files -> one sorted Parquet file); both stream files the same way.
import { runEncodeJob, type EncodeJob, type EncodeOutput, type EncodeResult } from './encode.ts'
import { runRewriteJob, type RewriteJob } from './rewrite.ts'

/** What a worker runs: a flush's encode job, or compaction's rewrite of data files. */
export type WorkerJob = EncodeJob | RewriteJob

export function runWorkerJob(job: WorkerJob, output: EncodeOutput): Promise<EncodeResult> {
  return 'kind' in job ? runRewriteJob(job, output) : runEncodeJob(job, output)
}

