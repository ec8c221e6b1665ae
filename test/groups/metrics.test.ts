import { expect, test } from 'vitest'
import { registerGroupMetrics } from '../../src/groups/metrics.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import { makeBrokerParts } from '../kafka/fixtures/broker-parts.ts'

async function samples(metrics: Metrics, name: string): Promise<string[]> {
  return (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((line) => !line.startsWith('#'))
}

test('the transaction gauges count transactional ids by state and the transactions their timeout aborted', async () => {
  const parts = await makeBrokerParts({ topics: { orders: 1 } })
  try {
    const metrics = new Metrics()
    registerGroupMetrics(metrics, parts.groups)
    const tx = parts.groups.transactions
    const { producerId } = await tx.initProducerId('a', 60_000, -1, -1, true)
    await tx.initProducerId('b', 60_000, -1, -1, true)
    await tx.addPartitions('a', producerId, 0, [{ topic: 'orders', partition: 0 }], true)
    const states = await samples(metrics, 'zombi_transactions')
    expect(states).toContain('zombi_transactions{state="Ongoing"} 1')
    expect(states).toContain('zombi_transactions{state="Empty"} 1')
    expect(states).toContain('zombi_transactions{state="CompleteCommit"} 0')
    expect(await samples(metrics, 'zombi_transactions_timed_out_total')).toEqual(['zombi_transactions_timed_out_total 0'])
  } finally {
    parts.close()
  }
})
