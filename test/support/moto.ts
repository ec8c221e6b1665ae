// moto's S3 server (PyPI moto[server], installed by scripts/install-test-deps.sh) on a free loopback
// port, one per test file, plus buckets for it with fixed test credentials.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { freePort } from './ports.ts'

const motoServer = path.resolve(import.meta.dirname, '../../.cache/venv/bin/moto_server')

/** moto accepts any credentials; these fixed ones keep the SDK away from the machine's own. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' }
export const MOTO_REGION = 'us-east-1'

export interface Moto {
  endpoint: string
  port: number
  stop(): Promise<void>
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort()
  const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const endpoint = `http://127.0.0.1:${port}`
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr} (run scripts/install-test-deps.sh)`)
    try {
      if ((await fetch(`${endpoint}/`)).ok) break
    } catch {
      // not listening yet
    }
    if (attempt >= 300) {
      child.kill('SIGKILL')
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`)
    }
    await sleep(100)
  }
  return {
    endpoint,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** Creates `bucket` on the server at `endpoint` (path-style, the test credentials). */
export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint, region: MOTO_REGION, forcePathStyle: true, credentials: MOTO_CREDENTIALS })
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
  } finally {
    client.destroy()
  }
}
