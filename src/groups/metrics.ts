// The consumer groups' gauges, registered with the broker's metrics and read at each scrape.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { GroupCoordinator } from './coordinator.ts'

export function registerGroupMetrics(registry: MetricsRegistry, groups: GroupCoordinator): void {
  registry.labelledGauge('zombi_group_members', 'Members per consumer group, labelled with its state', ['group', 'state'], (emit) => {
    for (const group of groups.snapshot()) emit({ group: group.groupId, state: group.state }, group.members)
  })
  registry.labelledGauge('zombi_group_lag_records', 'High watermark minus committed offset per group and partition', ['group', 'topic', 'partition'], (emit) => {
    for (const group of groups.snapshot()) for (const p of group.partitions) emit({ group: group.groupId, topic: p.topic, partition: String(p.partition) }, p.lag)
  })
}
