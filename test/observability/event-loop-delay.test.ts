import { expect, test } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { EVENT_LOOP_DELAY_BUCKETS, EventLoopDelaySampler } from '../../src/observability/event-loop-delay.ts'
import { Metrics } from '../../src/observability/metrics.ts'

function blockFor(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* holding the main thread is the point */ }
}

test('a stall of the main thread is recorded as one late tick of at least its length, minus one interval', async () => {
  const delays: number[] = []
  const sampler = new EventLoopDelaySampler((seconds) => delays.push(seconds), 10)
  await sleep(30)
  blockFor(120)
  await sleep(30)
  sampler.close()
  expect(delays.length).toBeGreaterThan(1)
  expect(Math.max(...delays)).toBeGreaterThanOrEqual(0.1)
  const count = delays.length
  await sleep(40)
  expect(delays.length).toBe(count)
})

test('the histogram family is a Prometheus histogram with the documented buckets', async () => {
  const metrics = new Metrics()
  const sampler = new EventLoopDelaySampler(metrics.histogram('zombi_event_loop_delay_seconds', 'Event loop delay', EVENT_LOOP_DELAY_BUCKETS), 5)
  blockFor(60)
  await sleep(20)
  sampler.close()
  const text = await metrics.registry.getSingleMetricAsString('zombi_event_loop_delay_seconds')
  expect(text).toContain('# TYPE zombi_event_loop_delay_seconds histogram')
  const count = Number(/zombi_event_loop_delay_seconds_count (\d+)/.exec(text)?.[1])
  const under25ms = Number(/zombi_event_loop_delay_seconds_bucket\{le="0.025"\} (\d+)/.exec(text)?.[1])
  expect(count).toBeGreaterThan(0)
  expect(under25ms).toBeLessThan(count)
})
