// Table maintenance on object storage: the flusher, compaction, topic retention and snapshot expiry
// against a real S3 server (moto), as they run on local disk in the other files of this folder. At
// the end the bucket holds exactly the files the current metadata reaches, and every kept row once.
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { TableIdentifier } from '../../src/catalog/catalog.ts'
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts'
import { Compactor } from '../../src/iceberg/compaction.ts'
import { EncodePool } from '../../src/iceberg/encode-pool.ts'
import { expireSnapshots } from '../../src/iceberg/expiry.ts'
import { Flusher } from '../../src/iceberg/flusher.ts'
import { committedOffsets, currentSnapshot } from '../../src/iceberg/metadata.ts'
import { FlushMetrics } from '../../src/iceberg/metrics.ts'
import { enforceRetention } from '../../src/iceberg/retention.ts'
import { decodeManifest, decodeManifestList } from '../../src/iceberg/avro.ts'
import { S3ObjectStore } from '../../src/objectstore/s3.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeBatch } from '../../src/protocol/records.ts'
import { MOTO_CREDENTIALS, MOTO_REGION, createBucket, startMoto, type Moto } from '../support/moto.ts'
import { dataFiles, readTable } from './table-reader.ts'
import { TestLog, base } from './test-log.ts'

const id: TableIdentifier = { namespace: 'zombi', name: 'events' }
const HOUR = 3_600_000
let moto: Moto
let store: S3ObjectStore

beforeAll(async () => {
  moto = await startMoto()
  await createBucket(moto.endpoint, 'maintenance')
  store = new S3ObjectStore({
    bucket: 'maintenance', prefix: 'warehouse', endpoint: moto.endpoint, region: MOTO_REGION, forcePathStyle: true,
    maxRetries: 2, maxConcurrentUploads: 4, credentials: MOTO_CREDENTIALS, retryBaseMs: 10,
  })
}, 60_000)

afterAll(async () => {
  store?.close()
  await moto?.stop()
})

/** Every object the kept snapshots reach: their manifest lists, manifests and the data files live in them (a DELETED entry's file is gone). */
async function reachable(catalog: FilesystemCatalog): Promise<Set<string>> {
  const loaded = (await catalog.loadTable(id))!
  const keys = new Set<string>()
  for (const snapshot of loaded.metadata.snapshots) {
    keys.add(store.keyOf(snapshot['manifest-list'])!)
    for (const manifest of await decodeManifestList((await store.get(store.keyOf(snapshot['manifest-list'])!))!)) {
      keys.add(store.keyOf(manifest.manifest_path)!)
      for (const entry of (await decodeManifest((await store.get(store.keyOf(manifest.manifest_path)!))!)).entries) {
        if (entry.status !== 2) keys.add(store.keyOf(entry.data_file.file_path)!)
      }
    }
  }
  return keys
}

test('flush, compaction, retention and expiry on S3 leave exactly the kept rows and the files the table reaches', async () => {
  const log = await TestLog.open()
  const catalog = new FilesystemCatalog(store)
  const flusher = new Flusher({
    source: log, catalog, namespace: 'zombi', pool: new EncodePool(0), metrics: new FlushMetrics(), logger: silentLogger,
    targetFileBytes: 1 << 20, intervalMs: 0, recreatedTopicPolicy: 'replace', checkIntervalMs: 60_000,
  })
  const compactor = new Compactor({ catalog, namespace: 'zombi', pool: new EncodePool(0), logger: silentLogger, compactedFileBytes: 64 << 20, maxReadBytes: 64 << 20 })
  try {
    await flusher.start()
    const topic = await log.addTopic('events', 2)
    // Rounds 0-2 in one hour, rounds 3-5 two hours later: two table partitions of three files each.
    for (let round = 0; round < 6; round++) {
      for (const partition of topic.partitions) {
        const records = Array.from({ length: 4 }, (_, i) => ({ key: Buffer.from(`k${round}-${i}`), value: Buffer.from(`v${round}-${i}-${partition.id}`), timestamp: base + (round < 3 ? 0 : 2 * HOUR) + round * 1000 + i }))
        expect((await log.append(topic, partition, encodeBatch(records))).errorCode).toBe(0)
      }
      await flusher.flush('events')
    }
    expect(await readTable(catalog, id)).toHaveLength(48)

    const compacted = await compactor.compact('events')
    expect(compacted).toMatchObject({ filesIn: 6, filesOut: 2, rows: 48 })
    expect(await readTable(catalog, id)).toHaveLength(48)

    // retention.ms of one hour, two hours after the first records: the older hour's compacted file goes.
    const retained = await enforceRetention(catalog, id, { retentionMs: HOUR, retentionBytes: -1 }, base + 2 * HOUR + 60_000)
    expect(retained).toMatchObject({ filesDeleted: 1, rowsDeleted: 24n })
    const kept = await readTable(catalog, id)
    expect(kept.map((row) => row.sequence).sort((a, b) => a - b)).toEqual([12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 23, 23])

    const expired = await expireSnapshots(catalog, id, { retentionMs: 0, minKeep: 1 }, Date.now() + HOUR)
    expect(expired.snapshotsExpired).toBeGreaterThan(0)
    const loaded = (await catalog.loadTable(id))!
    expect(loaded.metadata.snapshots).toHaveLength(1)
    expect(committedOffsets(loaded.metadata, topic.id)).toEqual(new Map([[0, 24], [1, 24]]))
    expect(await readTable(catalog, id)).toEqual(kept)
    const live = (await dataFiles(catalog, loaded.metadata)).filter((entry) => entry.status !== 2)
    expect(live).toHaveLength(1)

    // Data, manifests and manifest lists in the bucket are exactly what the table reaches (expiry deleted the rest).
    const inBucket = (await store.list('zombi/events/')).filter((key) => !key.includes('/metadata/v') && !key.endsWith('version-hint.text'))
    expect(new Set(inBucket)).toEqual(await reachable(catalog))

    // Exactly once after all of it: a new round commits only its own rows.
    for (const partition of topic.partitions) {
      expect((await log.append(topic, partition, encodeBatch([{ key: null, value: Buffer.from('late'), timestamp: base + 3 * HOUR }]))).errorCode).toBe(0)
    }
    await flusher.flush('events')
    expect(await readTable(catalog, id)).toHaveLength(26)
    expect(currentSnapshot((await catalog.loadTable(id))!.metadata)!.summary).toMatchObject({ 'zombi.offsets.0': '24-24', 'zombi.offsets.1': '24-24' })
  } finally {
    await compactor.close()
    await flusher.close()
  }
}, 120_000)
