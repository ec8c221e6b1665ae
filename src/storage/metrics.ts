// The hot store's gauges (segment files, free space), registered with the broker's metrics.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { HotStore } from './hot-store.ts'

export function registerHotStoreMetrics(registry: MetricsRegistry, store: HotStore): void {
  registry.gauge('zombi_hot_log_bytes', 'Bytes of hot-log segment files on disk', () => store.segments().segments.reduce((sum, info) => sum + info.bytes, 0))
  registry.gauge('zombi_hot_log_segments', 'Hot-log segment files on disk', () => store.segments().segments.length)
  registry.gauge('zombi_hot_log_disk_free_bytes', 'Estimated free bytes on the data dir\'s filesystem (the reserve file counted as free); produce is refused under ZOMBI_MIN_FREE_DISK_MB', () => store.health().freeBytes ?? 0)
}
