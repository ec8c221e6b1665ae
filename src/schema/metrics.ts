// The schema registry's metrics, registered with the broker's metrics and read from its counts at each scrape.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { SchemaRegistry } from './registry.ts'

export function registerSchemaRegistryMetrics(registry: MetricsRegistry, schemas: SchemaRegistry): void {
  registry.total('zombi_schema_registry_registrations_total', 'Schema versions registered (new versions; a schema already in its subject is counted in the idempotent total)', () => schemas.stats.registrations)
  registry.total('zombi_schema_registry_idempotent_registrations_total', 'Registrations answered with the existing version of the same schema', () => schemas.stats.idempotentRegistrations)
  registry.total('zombi_schema_registry_lookups_total', 'Schema lookups by clients: by global id and by schema within a subject', () => schemas.stats.lookups)
  registry.labelledTotal('zombi_schema_registry_refusals_total', 'Registry changes refused (registrations, deletions, config), by Confluent error code', ['error_code'], (emit) => {
    for (const [code, count] of schemas.stats.refusals) emit({ error_code: code }, count)
  })
  registry.gauge('zombi_schema_registry_subjects', 'Subjects with at least one live (not soft-deleted) version', () => schemas.counts().subjects)
  registry.gauge('zombi_schema_registry_versions', 'Schema versions held, soft-deleted ones included (bounded by ZOMBI_SCHEMA_REGISTRY_MAX_VERSIONS)', () => schemas.counts().versions)
  registry.gauge('zombi_schema_registry_schemas', 'Distinct schemas (global ids) held', () => schemas.counts().schemas)
  registry.gauge('zombi_schema_registry_schema_bytes', 'Bytes of distinct schema text held (bounded by ZOMBI_SCHEMA_REGISTRY_MAX_MB)', () => schemas.counts().bytes)
}
