import { expect, test } from 'vitest'
import { Metrics } from '../../src/observability/metrics.ts'

async function samples(metrics: Metrics, name: string): Promise<string[]> {
  return (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((line) => !line.startsWith('#'))
}

test('a layer\'s gauges and totals are read from its own state at each scrape', async () => {
  const metrics = new Metrics()
  const state = { queued: 3, done: 10 }
  metrics.gauge('zombi_test_queued', 'Queued', () => state.queued)
  metrics.total('zombi_test_done_total', 'Done', () => state.done)
  expect([...await samples(metrics, 'zombi_test_queued'), ...await samples(metrics, 'zombi_test_done_total')]).toEqual(['zombi_test_queued 3', 'zombi_test_done_total 10'])
  state.queued = 1
  state.done = 12
  expect([...await samples(metrics, 'zombi_test_queued'), ...await samples(metrics, 'zombi_test_done_total')]).toEqual(['zombi_test_queued 1', 'zombi_test_done_total 12'])
  expect(await metrics.registry.getSingleMetricAsString('zombi_test_done_total')).toContain('# TYPE zombi_test_done_total counter')
})

test('labelled families are rebuilt at each scrape, so series of things that are gone disappear', async () => {
  const metrics = new Metrics()
  const partitions = new Map([['a', 5], ['b', 7]])
  metrics.labelledGauge('zombi_test_offset', 'Offset', ['topic'], (emit) => {
    for (const [topic, offset] of partitions) emit({ topic }, offset)
  })
  metrics.labelledTotal('zombi_test_closed_total', 'Closed', ['reason'], (emit) => emit({ reason: 'idle' }, partitions.size))
  expect(await samples(metrics, 'zombi_test_offset')).toEqual(['zombi_test_offset{topic="a"} 5', 'zombi_test_offset{topic="b"} 7'])
  partitions.delete('a')
  expect(await samples(metrics, 'zombi_test_offset')).toEqual(['zombi_test_offset{topic="b"} 7'])
  expect(await samples(metrics, 'zombi_test_closed_total')).toEqual(['zombi_test_closed_total{reason="idle"} 1'])
})

test('a layer observes into the histogram handle it registered', async () => {
  const metrics = new Metrics()
  const observe = metrics.histogram('zombi_test_latency_seconds', 'Latency', [0.1, 1])
  observe(0.05)
  observe(0.5)
  expect(await samples(metrics, 'zombi_test_latency_seconds')).toEqual(expect.arrayContaining([
    'zombi_test_latency_seconds_bucket{le="0.1"} 1', 'zombi_test_latency_seconds_bucket{le="1"} 2', 'zombi_test_latency_seconds_count 2',
  ]))
})
