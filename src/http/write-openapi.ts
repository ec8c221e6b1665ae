// Writes docs/openapi.yaml from the route schemas (npm run docs:openapi).
import { writeFileSync } from 'node:fs'
import { loadConfig } from '../config/index.ts'
import { ZombiError } from '../errors.ts'
import { GroupCoordinator } from '../groups/coordinator.ts'
import { BrokerLog } from '../log/broker-log.ts'
import { IdempotencyKeys } from '../log/idempotency-keys.ts'
import { silentLogger } from '../observability/logger.ts'
import { Metrics } from '../observability/metrics.ts'
import { SchemaRegistry } from '../schema/registry.ts'
import { MemoryHotStore } from '../storage/memory-store.ts'
import { buildHttpApp } from './app.ts'

const store = new MemoryHotStore()
const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
const config = loadConfig({})
await store.open()
const schemaRegistry = await SchemaRegistry.open(store, { maxVersions: config.schemaRegistryMaxVersions, maxBytes: config.schemaRegistryMaxBytes }, silentLogger)
const app = await buildHttpApp({
  log, groups: new GroupCoordinator(log, silentLogger, config), keys: new IdempotencyKeys(store), metrics: new Metrics(), config, schemaRegistry,
  components: () => ({}), stats: () => ({}),
  iceberg: {
    flush: () => Promise.reject(new ZombiError('INVALID_STATE', 'the OpenAPI generator flushes nothing')),
    describe: async () => null,
    compact: () => Promise.reject(new ZombiError('INVALID_STATE', 'the OpenAPI generator compacts nothing')),
  },
})
writeFileSync(new URL('../../docs/openapi.yaml', import.meta.url), app.swagger({ yaml: true }))
await app.close()
