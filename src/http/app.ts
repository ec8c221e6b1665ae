// The Zombi HTTP API on fastify: writes and reads on the same topics as the Kafka door,
// consumer offsets shared with Kafka groups, health, stats, metrics and the OpenAPI document.
import swagger from '@fastify/swagger'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Config } from '../config/index.ts'
import { ERRORS, HttpProblem } from '../errors.ts'
import type { ColdQuery, ColdRecord } from '../iceberg/cold-reader.ts'
import type { GroupCoordinator } from '../kafka/groups/coordinator.ts'
import type { BrokerLog } from '../log/broker-log.ts'
import type { IdempotencyKeys } from '../log/idempotency-keys.ts'
import type { DataWaiter, Partition } from '../log/partition.ts'
import type { Metrics } from '../observability/metrics.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'
import { IDEMPOTENCY_KEY } from '../protocol/record-cursor.ts'
import { decodeBatch } from '../protocol/records.ts'
import { parseJsonStrictly } from './json-body.ts'
import * as schemas from './schemas.ts'
import { TableWriter, insufficientStorage, type HttpRecord } from './table-writes.ts'
import { validatorCompiler } from './validators.ts'
import { answerBackpressure, isBackpressure, limitWrites, WriteBudget } from './write-budget.ts'

/** What the HTTP door needs from the Iceberg side (the flusher and the catalog). */
export interface IcebergTables {
  /** Flushes a topic now and resolves with what was committed. */
  flush(table: string): Promise<{ rows: number; files: number; bytes: number; snapshots: number; flushedOffsets: Record<number, number> }>
  /** The table's current metadata, or null when nothing was flushed yet. */
  describe(table: string): Promise<{ metadataLocation: string; tableUuid: string; formatVersion: number; currentSnapshotId: string | null; snapshots: number; summary: Record<string, string> } | null>
  /** Records that left the hot log (below its log start offset), read back from the table; without it they are out of range. */
  readCold?(table: string, query: ColdQuery): Promise<ColdRecord[]>
}

export interface HttpDependencies {
  log: BrokerLog
  groups: GroupCoordinator
  keys: IdempotencyKeys
  metrics: Metrics
  iceberg: IcebergTables
  config: Config
  /** Component name -> healthy? with a detail. */
  components: () => Record<string, { ok: boolean; detail?: string }>
  /** Stats from outside the HTTP layer (connections, ...). */
  stats: () => Record<string, number>
}

type Encoding = 'utf8' | 'base64'

interface Event {
  offset: number
  partition: number
  timestamp_ms: number
  payload: string | null
  key: string | null
  headers: Record<string, string | null>
  encoding: Encoding
}

/** Node's default limit on the request line and headers, which bounds any path parameter anyway. */
const MAX_PARAM_LENGTH = 16 * 1024

/**
 * Body limit of the routes that are not writes (a commit is a few hundred bytes): they are outside the write
 * budget, so a large body sent to them would otherwise be buffered whole, up to ZOMBI_HTTP_MAX_BODY_MB each.
 */
const CONTROL_BODY_LIMIT = 64 * 1024

const WRITE_ROUTES = new Set(['/tables/:table', '/tables/:table/bulk'])

function encode(bytes: Buffer | null, encoding: Encoding): string | null {
  return bytes === null ? null : bytes.toString(encoding === 'base64' ? 'base64' : 'utf8')
}

/** One record as the API shows it, from the hot log or the Iceberg table alike (the idempotency header is the key's carrier, not shown). */
function eventOf(
  partition: number, offset: number, timestampMs: number, key: Buffer | null, value: Buffer | null,
  recordHeaders: ReadonlyArray<{ key: string; value: Buffer | null }>, encoding: Encoding,
): Event {
  const headers: Record<string, string | null> = {}
  for (const header of recordHeaders) if (header.key !== IDEMPOTENCY_KEY) headers[header.key] = header.value === null ? null : header.value.toString('utf8')
  return { offset, partition, timestamp_ms: timestampMs, payload: encode(value, encoding), key: encode(key, encoding), headers, encoding }
}

/** Records of a partition from `offset`, at most `limit`, from the hot log. */
function readEvents(log: BrokerLog, partition: Partition, offset: number, limit: number, encoding: Encoding, since = -Infinity): { events: Event[]; nextOffset: number } {
  const events: Event[] = []
  let next = offset
  const index = partition.index
  for (let i = index.findByOffset(offset); i < index.count && events.length < limit; i++) {
    if (index.baseOffset(i) >= partition.highWatermark) break
    const batch = decodeBatch(log.readBatch(partition, i))
    if (batch.isControl) {
      next = index.lastOffset(i) + 1
      continue
    }
    for (const record of batch.records) {
      if (record.offset < next) continue
      if (events.length >= limit) break
      next = record.offset + 1
      if (record.timestamp < since) continue
      events.push(eventOf(partition.id, record.offset, record.timestamp, record.key, record.value, record.headers, encoding))
    }
    if (events.length < limit) next = Math.max(next, index.lastOffset(i) + 1)
  }
  return { events, nextOffset: Math.min(next, partition.highWatermark) }
}

function coldEvents(records: ColdRecord[], encoding: Encoding): Event[] {
  return records.map((record) => eventOf(record.partition, record.offset, record.timestampMs, record.key, record.value, record.headers, encoding))
}

/** Resolves at the next append to the partition, the timeout, or shutdown. */
function waitForData(partition: Partition, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const waiter: DataWaiter = { wake: () => { clearTimeout(timer); resolve() } }
    const timer = setTimeout(() => { partition.removeWaiter(waiter); resolve() }, timeoutMs)
    partition.addWaiter(waiter)
  })
}

/** Requests Node's HTTP parser refuses (oversized headers, timeouts, garbage) never reach fastify: answered here in the API's error shape. */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, body] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', { error: ERRORS.HTTP_HEADERS_TOO_LARGE.problem, message: 'the request line and headers are over the 16 KiB limit (a very long table or group name?)' }]
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', { error: ERRORS.HTTP_REQUEST_TIMEOUT.problem, message: 'the request was not received in time' }]
      : [400, 'Bad Request', { error: ERRORS.HTTP_INVALID_REQUEST.problem, message: `malformed HTTP request (${error.code ?? error.message})` }]
  const text = JSON.stringify(body)
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`)
  socket.destroy(error)
}

/** frameworkErrors gets a reply whose generic types fit nothing outside fastify, so the answer goes to the raw response. */
function answerFrameworkError(error: FastifyError, response: ServerResponse, metrics: Metrics): void {
  metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_INVALID_REQUEST.problem })
  const text = JSON.stringify({ error: ERRORS.HTTP_INVALID_REQUEST.problem, message: error.message })
  response.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text)
}

export async function buildHttpApp(deps: HttpDependencies): Promise<FastifyInstance> {
  const { log, groups, keys, metrics, config } = deps
  const app = Fastify({
    logger: false,
    // A body over the in-flight byte budget could never be admitted: 413, not a 429 retried in vain.
    bodyLimit: Math.min(config.httpMaxBodyBytes, config.maxInflightBytes),
    // Names are bounded by their schemas (a table name by Kafka's 249) and the request line by the 16 KiB header
    // limit, not by the router: its default of 100 answered valid table names of 101-249 characters with 400.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors fastify answers before routing (a malformed percent-encoding in the URL) get the API's error shape too.
    frameworkErrors: (error, _request, reply) => answerFrameworkError(error, reply.raw, metrics),
    clientErrorHandler: answerClientError,
  })
  parseJsonStrictly(app)
  app.setValidatorCompiler(validatorCompiler([schemas.errorSchema, schemas.recordInputSchema, schemas.eventSchema]))
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Zombi HTTP API', version: '2.0.0', description: 'Write and read the same topics as the Kafka door; consumer offsets shared with Kafka groups.' },
    },
  })
  app.addSchema(schemas.errorSchema)
  app.addSchema(schemas.recordInputSchema)
  app.addSchema(schemas.eventSchema)
  // Label handles resolved once: inc({ door }) would hash the labels on every request.
  const httpWrites = metrics.writes.labels('http')
  const httpWriteBytes = metrics.writeBytes.labels('http')
  const httpReads = metrics.reads.labels('http')
  const writer = new TableWriter(log, keys, config.autoCreateTopics, config.defaultPartitions)
  const errorResponses = { 400: { $ref: 'Error#' }, 404: { $ref: 'Error#' }, 413: { $ref: 'Error#' }, 429: { $ref: 'Error#' } }
  // Writes (records and offset commits) are refused with 507 while the broker's disk is full; nothing is stored.
  const storageErrorResponses = {
    507: { $ref: 'Error#', description: 'Insufficient storage: the broker\'s disk is full; nothing was stored, retry later', headers: { 'retry-after': { type: 'string', description: 'Seconds to wait before retrying' } } },
  }
  // Only writes are subject to backpressure; their 429 carries Retry-After.
  const writeErrorResponses = {
    ...errorResponses,
    413: { $ref: 'Error#', description: 'A body over ZOMBI_HTTP_MAX_BODY_MB, or a record too large for a record batch of the table\'s max.message.bytes' },
    429: { $ref: 'Error#', description: 'Backpressure: too many writes or bytes in flight', headers: { 'retry-after': { type: 'string', description: 'Seconds to wait before retrying' } } },
    ...storageErrorResponses,
  }

  const budget = new WriteBudget(config.maxInflightWrites, config.maxInflightBytes, metrics)
  limitWrites(app, budget, WRITE_ROUTES)

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    if (isBackpressure(error)) return answerBackpressure(reply, error)
    if (error instanceof HttpProblem) {
      metrics.errors.inc({ door: 'http', code: error.problem })
      if (error.retryAfterSecs !== null) reply.header('retry-after', String(error.retryAfterSecs))
      return reply.code(error.status).send({ error: error.problem, message: error.message })
    }
    const status = error.statusCode ?? 500
    if (error.validation !== undefined) {
      metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_INVALID_REQUEST.problem })
      return reply.code(400).send({ error: ERRORS.HTTP_INVALID_REQUEST.problem, message: `${error.validationContext ?? 'request'}${error.validation[0]?.instancePath ?? ''} ${error.validation[0]?.message ?? error.message}` })
    }
    if (status < 500) {
      const code = (status === 413 ? ERRORS.HTTP_PAYLOAD_TOO_LARGE : status === 415 ? ERRORS.HTTP_UNSUPPORTED_MEDIA_TYPE : status === 404 ? ERRORS.HTTP_NOT_FOUND : ERRORS.HTTP_INVALID_REQUEST).problem
      metrics.errors.inc({ door: 'http', code })
      return reply.code(status).send({ error: code, message: error.message })
    }
    request.log.error(error)
    metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_INTERNAL.problem })
    return reply.code(500).send({ error: ERRORS.HTTP_INTERNAL.problem, message: 'internal error; see the broker log' })
  })
  // A known path with another method is 405 with Allow, not 404.
  const routes: Array<{ pattern: RegExp; method: string }> = []
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}$`)
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ pattern, method })
  })
  const allowedMethods = (url: string): string[] => {
    const path = url.split('?')[0]!
    return [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))]
  }
  // Decided in onRequest, before fastify looks at a body (a QUERY without Content-Type is still 405).
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return
    const allowed = allowedMethods(request.url)
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ error: ERRORS.HTTP_METHOD_NOT_ALLOWED.problem, message: `${request.method} is not allowed here; use ${allowed.join(' or ')}` })
    }
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: ERRORS.HTTP_NOT_FOUND.problem, message: `no route ${request.method} ${request.url.split('?')[0]}` }))

  const table = (name: string): ReturnType<BrokerLog['topicByName']> & object => {
    const topic = log.topicByName(name)
    if (topic === undefined) throw new HttpProblem('HTTP_NOT_FOUND', `table ${name} does not exist`)
    return topic
  }

  app.post<{ Params: { table: string }; Body: HttpRecord }>('/tables/:table', {
    schema: { summary: 'Write one record', params: schemas.tableParams, body: { $ref: 'RecordInput#' }, response: { 202: schemas.writeResponse, ...writeErrorResponses } },
  }, async (request, reply) => {
    const started = performance.now()
    const [written] = await writer.write(request.params.table, [request.body])
    httpWrites.inc()
    httpWriteBytes.inc(request.body.payload.length)
    metrics.writeLatency.observe((performance.now() - started) / 1000)
    return reply.code(202).send({ offset: written!.offset, partition: written!.partition, table: request.params.table })
  })

  app.post<{ Params: { table: string }; Body: { records: HttpRecord[] } }>('/tables/:table/bulk', {
    schema: { summary: 'Write many records, all or nothing', params: schemas.tableParams, body: schemas.bulkBody, response: { 202: schemas.bulkResponse, ...writeErrorResponses } },
  }, async (request, reply) => {
    const started = performance.now()
    const written = await writer.write(request.params.table, request.body.records)
    httpWrites.inc(written.length)
    metrics.writeLatency.observe((performance.now() - started) / 1000)
    return reply.code(202).send({ offsets: written, count: written.length })
  })

  app.get<{ Params: { table: string }; Querystring: { partition: number; offset: number; limit: number; wait_ms: number; encoding: Encoding } }>('/tables/:table/stream', {
    schema: { summary: 'Read records of one partition from an offset (long poll with wait_ms); offsets that left the hot log are read from the Iceberg table', params: schemas.tableParams, querystring: schemas.streamQuery, response: { 200: schemas.streamResponse, ...errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const { partition: index, offset, limit, wait_ms: waitMs, encoding } = request.query
    const partition = topic.partitions[index]
    if (partition === undefined) throw new HttpProblem('HTTP_NOT_FOUND', `partition ${index} does not exist; table ${topic.name} has ${topic.partitions.length}`)
    const logStartOffset = partition.logStartOffset
    if (offset < logStartOffset) {
      if (deps.iceberg.readCold === undefined) throw new HttpProblem('HTTP_OFFSET_OUT_OF_RANGE', `offset ${offset} is below the log start offset ${logStartOffset}`)
      // Flushed and gone from the hot log: read it back from the Iceberg table, then go on in the hot log.
      const cold = coldEvents(await deps.iceberg.readCold(topic.name, { topicId: topic.id, partition: index, fromOffset: offset, toOffset: logStartOffset, limit }), encoding)
      if (cold.length === limit) {
        httpReads.inc(cold.length)
        return { events: cold, next_offset: cold[cold.length - 1]!.offset + 1, has_more: true }
      }
      const hot = readEvents(log, partition, logStartOffset, limit - cold.length, encoding)
      const events = [...cold, ...hot.events]
      httpReads.inc(events.length)
      return { events, next_offset: Math.max(hot.nextOffset, logStartOffset), has_more: hot.nextOffset < partition.highWatermark }
    }
    if (waitMs > 0 && offset >= partition.highWatermark) await waitForData(partition, waitMs)
    const { events, nextOffset } = readEvents(log, partition, Math.min(offset, partition.highWatermark), limit, encoding)
    httpReads.inc(events.length)
    return { events, next_offset: Math.max(nextOffset, Math.min(offset, partition.highWatermark)), has_more: nextOffset < partition.highWatermark }
  })

  app.get<{ Params: { table: string }; Querystring: { since: number; limit: number; encoding: Encoding } }>('/tables/:table', {
    schema: { summary: 'Read records with timestamp_ms >= since across partitions', params: schemas.tableParams, querystring: schemas.readQuery, response: { 200: schemas.readResponse, ...errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const { since, limit, encoding } = request.query
    const records: Event[] = []
    let hasMore = false
    for (const partition of topic.partitions) {
      if (partition.logStartOffset > 0 && deps.iceberg.readCold !== undefined) {
        // The part that left the hot log comes from the Iceberg table.
        const query = { topicId: topic.id, partition: partition.id, fromOffset: 0, toOffset: partition.logStartOffset, sinceMs: since, limit: limit - records.length + 1 }
        const cold = coldEvents(await deps.iceberg.readCold(topic.name, query), encoding)
        records.push(...cold.slice(0, limit - records.length))
        if (cold.length > query.limit - 1 || records.length >= limit) {
          hasMore = true
          break
        }
      }
      const first = log.offsetForTimestamp(partition, since)
      if (first === null) continue
      const { events, nextOffset } = readEvents(log, partition, first.offset, limit - records.length, encoding, since)
      records.push(...events)
      if (nextOffset < partition.highWatermark) hasMore = true
      if (records.length >= limit) {
        hasMore = hasMore || partition.id < topic.partitions.length - 1
        break
      }
    }
    httpReads.inc(records.length)
    return { records, count: records.length, has_more: hasMore }
  })

  app.get('/tables', { schema: { summary: 'List tables', response: { 200: schemas.tablesResponse } } }, async () => ({
    tables: [...log.topics()].map((t) => ({ name: t.name, topic_id: t.id, partitions: t.partitions.length, records: t.partitions.reduce((sum, p) => sum + p.highWatermark, 0) })),
  }))

  app.post<{ Params: { group: string }; Body: { topic: string; partition: number; offset: number; metadata?: string | null } }>('/consumers/:group/commit', {
    bodyLimit: CONTROL_BODY_LIMIT,
    schema: { summary: 'Commit a consumer offset (the same store as Kafka group offsets)', params: schemas.groupParams, body: schemas.commitBody, response: { 200: schemas.offsetResponse, ...errorResponses, 409: { $ref: 'Error#' }, ...storageErrorResponses } },
  }, async (request) => {
    const { group } = request.params
    const { topic, partition, offset, metadata = null } = request.body
    const [errorCode] = await groups.commitOffsets(group, -1, '', null, [{ topic, partition, offset, leaderEpoch: -1, metadata }])
    if (errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new HttpProblem('HTTP_NOT_FOUND', `table ${topic} has no partition ${partition}`)
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID || errorCode === ErrorCode.ILLEGAL_GENERATION) {
      throw new HttpProblem('HTTP_GROUP_ACTIVE', `group ${group} has active Kafka members; only they can commit its offsets`)
    }
    // The only cause of COORDINATOR_NOT_AVAILABLE for a commit: the offsets could not be stored.
    if (errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) throw insufficientStorage(`the offset of group ${group} could not be stored (disk full); retry later`)
    if (errorCode !== ErrorCode.NONE) throw new HttpProblem('HTTP_INVALID_REQUEST', `commit refused with Kafka error ${errorCode}`)
    return { group, topic, partition, offset, metadata }
  })

  app.get<{ Params: { group: string }; Querystring: { topic: string; partition: number } }>('/consumers/:group/offset', {
    schema: { summary: 'Read a committed consumer offset', params: schemas.groupParams, querystring: schemas.offsetQuery, response: { 200: schemas.offsetResponse, ...errorResponses } },
  }, async (request) => {
    const { group } = request.params
    const { topic, partition } = request.query
    const committed = groups.fetchOffset(group, topic, partition)
    return { group, topic, partition, offset: committed?.offset ?? -1, metadata: committed?.metadata ?? null }
  })

  app.post<{ Params: { table: string } }>('/tables/:table/flush', {
    bodyLimit: CONTROL_BODY_LIMIT,
    schema: { summary: 'Flush the table to Iceberg now; answers once the commit is done', params: schemas.tableParams, response: { 200: schemas.flushResponse, ...errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const summary = await deps.iceberg.flush(topic.name)
    const flushed: Record<string, number> = {}
    for (const [partition, offset] of Object.entries(summary.flushedOffsets)) flushed[partition] = offset
    return { table: topic.name, rows: summary.rows, files: summary.files, bytes: summary.bytes, snapshots: summary.snapshots, flushed_offsets: flushed }
  })

  app.get<{ Params: { table: string } }>('/tables/:table/metadata', {
    schema: { summary: 'Iceberg metadata of the table: location, current snapshot, flushed offsets', params: schemas.tableParams, response: { 200: schemas.metadataResponse, ...errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const described = await deps.iceberg.describe(topic.name)
    const flushed: Record<string, number> = {}
    const highWatermarks: Record<string, number> = {}
    for (const partition of topic.partitions) {
      flushed[partition.id] = partition.flushedOffset
      highWatermarks[partition.id] = partition.highWatermark
    }
    return {
      table: topic.name,
      topic_id: topic.id,
      metadata_location: described?.metadataLocation ?? null,
      table_uuid: described?.tableUuid ?? null,
      format_version: described?.formatVersion ?? null,
      current_snapshot_id: described?.currentSnapshotId ?? null,
      snapshots: described?.snapshots ?? 0,
      summary: described?.summary ?? {},
      flushed_offsets: flushed,
      high_watermarks: highWatermarks,
    }
  })

  app.post<{ Params: { table: string } }>('/tables/:table/compact', {
    bodyLimit: CONTROL_BODY_LIMIT,
    schema: { summary: 'Compaction request (compaction is not implemented yet: the answer says what it would do and nothing changes)', params: schemas.tableParams, response: { 202: schemas.compactResponse, ...errorResponses } },
  }, async (request, reply) => {
    const topic = table(request.params.table)
    const described = await deps.iceberg.describe(topic.name)
    const dataFiles = Number(described?.summary['total-data-files'] ?? 0)
    return reply.code(202).send({
      table: topic.name,
      status: 'not_implemented',
      data_files: dataFiles,
      message: `compaction is not implemented yet and nothing was changed; it will rewrite the table's ${dataFiles} data files into files of about ZOMBI_TARGET_FILE_SIZE_MB per partition and hour, and expire the replaced snapshots`,
    })
  })

  const health = (reply: FastifyReply): FastifyReply => {
    // Backpressure is this door's own state: not ready while every write slot or the byte budget is taken.
    const components = {
      ...deps.components(),
      backpressure: { ok: !budget.saturated, detail: `${budget.writes}/${budget.maxWrites} writes and ${budget.bytes}/${budget.maxBytes} bytes in flight` },
    }
    const ok = Object.values(components).every((c) => c.ok)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', uptime_secs: Math.floor((Date.now() - metrics.startedAtMs) / 1000), components })
  }
  app.get('/health', { schema: { summary: 'Health with components', response: { 200: schemas.healthResponse, 503: schemas.healthResponse } } }, (_request, reply) => health(reply))
  app.get('/health/ready', { schema: { summary: 'Readiness: 503 names the failing component', response: { 200: schemas.healthResponse, 503: schemas.healthResponse } } }, (_request, reply) => health(reply))
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
    return { uptime_secs: Math.floor((Date.now() - metrics.startedAtMs) / 1000), tables: topics, partitions, records, groups: groups.snapshot().length, inflight_writes: budget.writes, inflight_bytes: budget.bytes, ...deps.stats() }
  })
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: false } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_request, reply) => reply.type('application/yaml').send(app.swagger({ yaml: true })))
  await app.ready()
  return app
}
