// The reference REST catalog writing table metadata to S3 (moto) through S3FileIO, as it does when
// Zombi's warehouse is a bucket: the table's location is an s3:// URI and the server's metadata
// file lands under it. Runs when the test venv has moto (scripts/install-test-deps.sh).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { expect, test } from 'vitest'
import { connectRestCatalog } from '../../src/catalog/rest.ts'
import { newTableMetadata } from '../../src/iceberg/metadata.ts'
import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { freePort } from '../support/ports.ts'
import { startRestCatalogServer } from '../support/rest-catalog-server.ts'

const MOTO = fileURLToPath(new URL('../../.cache/venv/bin/moto_server', import.meta.url))

test('the reference server writes a table\'s metadata into the S3 bucket of its location', async () => {
  const port = await freePort()
  const moto = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const exited = once(moto, 'exit')
  const endpoint = `http://127.0.0.1:${port}`
  const credentials = { accessKeyId: 'zombi', secretAccessKey: 'zombi-secret' }
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials })
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: 'lake' }))
        break
      } catch (error) {
        if (attempt >= 100) throw error
        await new Promise((resolve) => setTimeout(resolve, 100)) // moto still starting
      }
    }
    const server = await startRestCatalogServer({ warehouse: 's3://lake/server', s3: { endpoint, region: 'us-east-1', ...credentials } })
    try {
      const catalog = await connectRestCatalog({
        url: server.url, warehouse: null, token: null, credential: null, oauth2Uri: null, scope: 'catalog', store: new MemoryObjectStore(), namespace: 'zombi',
      })
      const committed = await catalog.commit({ namespace: 'zombi', name: 'orders' }, null, newTableMetadata('s3://lake/zombi/orders', {}, 1))
      expect(committed.metadataLocation).toMatch(/^s3:\/\/lake\/zombi\/orders\/metadata\/.*\.metadata\.json$/)
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: 'zombi/orders/' }))
      expect((listed.Contents ?? []).map((object) => `s3://lake/${object.Key}`)).toEqual([committed.metadataLocation])
      expect((await catalog.loadTable({ namespace: 'zombi', name: 'orders' }))!.metadataLocation).toBe(committed.metadataLocation)
    } finally {
      await server.stop()
    }
  } finally {
    s3.destroy()
    moto.kill('SIGTERM')
    await exited
  }
}, 180_000)
