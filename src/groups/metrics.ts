// The consumer groups' and transactions' gauges, registered with the broker's metrics and read at each scrape.
import type { MetricsRegistry } from '../observability/metrics.ts'
import type { GroupCoordinator } from './coordinator.ts'
import { TRANSACTION_STATES } from './transactions/transaction.ts'

export function registerGroupMetrics(registry: MetricsRegistry, groups: GroupCoordinator): void {
  registry.labelledGauge('zombi_group_members', 'Members per consumer group, labelled with its state', ['group', 'state'], (emit) => {
    for (const group of groups.snapshot()) emit({ group: group.groupId, state: group.state }, group.members)
  })
  registry.labelledGauge('zombi_group_lag_records', 'High watermark minus committed offset per group and partition', ['group', 'topic', 'partition'], (emit) => {
    for (const group of groups.snapshot()) for (const p of group.partitions) emit({ group: group.groupId, topic: p.topic, partition: String(p.partition) }, p.lag)
  })
  registry.labelledGauge('zombi_transactions', 'Transactional ids by the state of their transaction', ['state'], (emit) => {
    const counts = new Map<string, number>(TRANSACTION_STATES.map((state) => [state, 0]))
    for (const transaction of groups.transactions.all()) counts.set(transaction.state, counts.get(transaction.state)! + 1)
    for (const [state, count] of counts) emit({ state }, count)
  })
  registry.total('zombi_transactions_timed_out_total', 'Transactions aborted because they stayed open past their timeout, since the start', () => groups.transactions.timedOut)
}
