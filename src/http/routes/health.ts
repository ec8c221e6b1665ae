// Operations routes: health (liveness, readiness with each component and the write backpressure),
// statistics and Prometheus metrics.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { BrokerLog } from '../../log/broker-log.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { HttpDependencies } from '../app.ts'
import type { WriteBudget } from '../plugins/backpressure.ts'
import * as schemas from '../schemas.ts'

export interface HealthRoutesOptions {
  log: BrokerLog
  groups: HttpDependencies['groups']
  metrics: Metrics
  budget: WriteBudget
  components: HttpDependencies['components']
  stats: HttpDependencies['stats']
}

interface Component {
  ok: boolean
  detail?: string
}

/** A storage component as readiness shows it; one the broker does not report (tests) is unknown. */
function componentStatus(component: Component | undefined): { status: 'ok' | 'unavailable' | 'unknown'; detail?: string } {
  if (component === undefined) return { status: 'unknown' }
  return component.detail === undefined ? { status: component.ok ? 'ok' : 'unavailable' } : { status: component.ok ? 'ok' : 'unavailable', detail: component.detail }
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const { log, groups, metrics, budget } = options
  const uptimeSecs = (): number => Math.floor((Date.now() - metrics.startedAtMs) / 1000)

  /** Every component, with backpressure, this door's own state: not ready while every write slot or the byte budget is taken. */
  const components = (): Record<string, Component> => ({
    ...options.components(),
    backpressure: { ok: !budget.saturated, detail: `${budget.writes}/${budget.maxWrites} writes and ${budget.bytes}/${budget.maxBytes} bytes in flight` },
  })
  const allOk = (all: Record<string, Component>): boolean => Object.values(all).every((c) => c.ok)

  const health = (reply: FastifyReply): FastifyReply => {
    const all = components()
    const ok = allOk(all)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', uptime_secs: uptimeSecs(), components: all })
  }

  /** The specification's readiness shape, with the component list of /health beside it. */
  const ready = (reply: FastifyReply): FastifyReply => {
    const all = components()
    const ok = allOk(all)
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ready' : 'not_ready',
      hot_storage: componentStatus(all.hot_storage),
      cold_storage: componentStatus(all.cold_storage),
      backpressure: {
        status: budget.saturated ? 'saturated' : 'ok',
        inflight_writes: budget.writes,
        max_inflight_writes: budget.maxWrites,
        inflight_bytes: budget.bytes,
        max_inflight_bytes: budget.maxBytes,
      },
      uptime_secs: uptimeSecs(),
      components: all,
    })
  }

  app.get('/health', { schema: { summary: 'Health with components', response: { 200: schemas.healthResponse, 503: schemas.healthResponse } } }, (_request, reply) => health(reply))
  app.get('/health/ready', { schema: { summary: 'Readiness: 503 (status not_ready) names the failing component', response: { 200: schemas.readyResponse, 503: schemas.readyResponse } } }, (_request, reply) => ready(reply))
  app.get('/health/live', { schema: { summary: 'Liveness', response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }))
  app.get('/stats', { schema: { summary: 'Broker statistics', response: { 200: { type: 'object', additionalProperties: { type: 'number' } } } } }, async () => {
    let partitions = 0
    let records = 0
    let topics = 0
    for (const topic of log.topics()) {
      topics++
      partitions += topic.partitions.length
      for (const p of topic.partitions) records += p.highWatermark
    }
    return { uptime_secs: uptimeSecs(), tables: topics, partitions, records, groups: groups.snapshot().length, inflight_writes: budget.writes, inflight_bytes: budget.bytes, ...options.stats() }
  })
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', response: { 200: { description: 'The Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}
