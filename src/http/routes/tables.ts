// Routes on tables: write records (one or a bulk), read them (a partition's stream with long poll, or
// since a timestamp), list tables, and the Iceberg side (flush, metadata, compaction). Each handler
// translates JSON into log calls and back; the log decides placement, idempotency and where records are.
import type { FastifyInstance } from 'fastify'
import type { BrokerLog, LogError } from '../../log/broker-log.ts'
import type { RecordReader } from '../../log/record-reader.ts'
import type { RecordWriter, WriteRefusal, WrittenRecord } from '../../log/record-writer.ts'
import { Topic } from '../../log/topic.ts'
import type { Metrics } from '../../observability/metrics.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { TOPIC_CONFIGS, effectiveTopicConfig, topicConfigProblem } from '../../log/topic-config.ts'
import { eventsOf, recordToWrite, type Encoding, type HttpRecord } from '../events.ts'
import { HttpProblem, insufficientStorage, tableProblem } from '../problems.ts'
import * as schemas from '../schemas.ts'

/** What the HTTP door needs from the Iceberg side (the flusher and the catalog). */
export interface IcebergTables {
  /** Flushes a topic now and resolves with what was committed. */
  flush(table: string): Promise<{ rows: number; files: number; bytes: number; snapshots: number; flushedOffsets: Record<number, number> }>
  /** The table's current metadata, or null when nothing was flushed yet. */
  describe(table: string): Promise<{ metadataLocation: string; tableUuid: string; formatVersion: number; currentSnapshotId: string | null; snapshots: number; summary: Record<string, string> } | null>
  /** Compacts the table now (after a compaction already running) and resolves with what it did. */
  compact(table: string): Promise<{ filesIn: number; filesOut: number; bytesIn: number; bytesOut: number; rows: number; seconds: number; snapshotId: string | null; commitAttempts: number }>
}

export interface TableRoutesOptions {
  log: BrokerLog
  writer: RecordWriter
  reader: RecordReader
  metrics: Metrics
  iceberg: IcebergTables
  /** Body limit of the routes that are not writes. */
  controlBodyLimit: number
}

/** The write routes, which the backpressure plugin guards. */
export const WRITE_ROUTES: ReadonlySet<string> = new Set(['/tables/:table', '/tables/:table/bulk'])

type BulkBody = { events: HttpRecord[]; records?: undefined } | { records: HttpRecord[]; events?: undefined }

/** Why a write was refused, in the API's words; `field` names record i as the request did. */
function writeProblem(table: string, topic: Topic, records: readonly HttpRecord[], refusal: WriteRefusal, field: (i: number) => string): HttpProblem {
  switch (refusal.errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: {
      // 404 as for reads and commits: the request is well formed, the partition is missing.
      const prefix = records.length === 1 ? '' : `${field(refusal.record)}.`
      return new HttpProblem('HTTP_NOT_FOUND', `${prefix}partition ${records[refusal.record]!.partition} does not exist; table ${table} has ${topic.partitions.length}`)
    }
    case ErrorCode.MESSAGE_TOO_LARGE:
      return new HttpProblem('HTTP_RECORD_TOO_LARGE', `${records.length === 1 ? 'the record' : field(refusal.record)} ${refusal.message} of table ${table}`)
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return insufficientStorage(refusal.message)
    default:
      return new HttpProblem('HTTP_INVALID_REQUEST', refusal.message)
  }
}

export async function tableRoutes(app: FastifyInstance, options: TableRoutesOptions): Promise<void> {
  const { log, writer, reader, metrics, iceberg, controlBodyLimit } = options
  // Label handles resolved once: inc({ door }) would hash the labels on every request.
  const httpWrites = metrics.writes.labels('http')
  const httpWriteBytes = metrics.writeBytes.labels('http')
  const httpReads = metrics.reads.labels('http')

  const table = (name: string): Topic => {
    const topic = log.topicByName(name)
    if (topic === undefined) throw new HttpProblem('HTTP_NOT_FOUND', `table ${name} does not exist`)
    return topic
  }

  /** Writes records (all checked before anything is written) and returns each one's partition and offset, in input order. */
  const write = async (name: string, records: readonly HttpRecord[], field: (i: number) => string): Promise<WrittenRecord[]> => {
    const topic: Topic | LogError = await log.ensureTopic(name)
    if (!(topic instanceof Topic)) throw tableProblem(name, topic)
    const now = Date.now()
    const toWrite = records.map((record, i) => recordToWrite(record, records.length === 1 ? '' : `${field(i)}.`, now))
    const written = await writer.write(topic, toWrite, now)
    if (!Array.isArray(written)) throw writeProblem(name, topic, records, written, field)
    // The payload as stored (base64 decoded, text as UTF-8): the same measure for one write and a bulk.
    let bytes = 0
    for (const record of toWrite) bytes += record.value.length
    httpWriteBytes.inc(bytes)
    return written
  }

  app.post<{ Params: { table: string }; Body: HttpRecord }>('/tables/:table', {
    schema: { summary: 'Write one record', params: schemas.tableParams, body: { $ref: 'RecordInput#' }, response: { 202: schemas.writeResponse, ...schemas.writeErrorResponses } },
  }, async (request, reply) => {
    const started = performance.now()
    const [written] = await write(request.params.table, [request.body], () => 'the record')
    httpWrites.inc()
    metrics.writeLatency.observe((performance.now() - started) / 1000)
    return reply.code(202).send({ offset: written!.offset, partition: written!.partition, table: request.params.table })
  })

  app.post<{ Params: { table: string }; Body: BulkBody }>('/tables/:table/bulk', {
    schema: { summary: 'Write many records, all or nothing', params: schemas.tableParams, body: schemas.bulkBody, response: { 202: schemas.bulkResponse, ...schemas.writeErrorResponses } },
  }, async (request, reply) => {
    const started = performance.now()
    const body = request.body
    const [records, name] = body.events !== undefined ? [body.events, 'events'] : [body.records, 'records']
    const written = await write(request.params.table, records, (i) => `${name}[${i}]`)
    httpWrites.inc(written.length)
    metrics.writeLatency.observe((performance.now() - started) / 1000)
    const offsets = new Array<number>(written.length)
    const partitions = new Array<number>(written.length)
    for (let i = 0; i < written.length; i++) {
      offsets[i] = written[i]!.offset
      partitions[i] = written[i]!.partition
    }
    return reply.code(202).send({ offsets, partitions, count: written.length })
  })

  app.get<{ Params: { table: string }; Querystring: { partition: number; offset: number; limit: number; wait_ms: number; encoding: Encoding } }>('/tables/:table/stream', {
    schema: { summary: 'Read records of one partition from an offset (long poll with wait_ms); offsets that left the hot log are read from the Iceberg table', params: schemas.tableParams, querystring: schemas.streamQuery, response: { 200: schemas.streamResponse, ...schemas.errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const { partition: index, offset, limit, wait_ms: waitMs, encoding } = request.query
    const partition = topic.partitions[index]
    if (partition === undefined) throw new HttpProblem('HTTP_NOT_FOUND', `partition ${index} does not exist; table ${topic.name} has ${topic.partitions.length}`)
    const page = await reader.readPartition(topic, partition, offset, limit, waitMs > 0 ? Date.now() + waitMs : 0)
    if (page === null) throw new HttpProblem('HTTP_OFFSET_OUT_OF_RANGE', `offset ${offset} is below the log start offset ${Math.max(partition.logStartOffset, partition.deletedBefore)}`)
    httpReads.inc(page.records.length)
    return { events: eventsOf(page.records, encoding), next_offset: page.nextOffset, has_more: page.hasMore }
  })

  app.get<{ Params: { table: string }; Querystring: { since: number; limit: number; encoding: Encoding } }>('/tables/:table', {
    schema: { summary: 'Read records with timestamp_ms >= since across partitions', params: schemas.tableParams, querystring: schemas.readQuery, response: { 200: schemas.readResponse, ...schemas.errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const { since, limit, encoding } = request.query
    const { records, hasMore } = await reader.readSince(topic, since, limit)
    httpReads.inc(records.length)
    return { records: eventsOf(records, encoding), count: records.length, has_more: hasMore }
  })

  const configsOf = (topic: Topic): Record<string, unknown> => {
    const effective: Record<string, string> = {}
    for (const definition of TOPIC_CONFIGS) effective[definition.name] = effectiveTopicConfig(topic.configs, definition.name, log.defaults)
    return { table: topic.name, topic_id: topic.id, partitions: topic.partitions.length, configs: { ...topic.configs }, effective }
  }

  app.put<{ Params: { table: string }; Body: { partitions?: number; configs?: Record<string, string> } }>('/tables/:table', {
    bodyLimit: controlBodyLimit,
    schema: {
      summary: 'Create the table (its Kafka topic) with partitions and topic configs, e.g. zombi.iceberg.mode for typed columns; writes create tables with the defaults',
      params: schemas.tableParams, body: schemas.createTableBody,
      response: { 201: schemas.tableConfigResponse, ...schemas.errorResponses, 409: { $ref: 'Error#' }, ...schemas.storageErrorResponses },
    },
    // No body: the defaults.
    preValidation: async (request) => {
      request.body ??= {}
    },
  }, async (request, reply) => {
    const name = request.params.table
    const created = await log.createTopic(name, request.body?.partitions ?? log.defaultPartitions, request.body?.configs ?? {})
    if (!(created instanceof Topic)) {
      if (created.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) throw new HttpProblem('HTTP_TABLE_EXISTS', `table ${name} already exists`)
      if (created.errorCode === ErrorCode.INVALID_CONFIG || created.errorCode === ErrorCode.INVALID_PARTITIONS || created.errorCode === ErrorCode.POLICY_VIOLATION) {
        throw new HttpProblem('HTTP_INVALID_REQUEST', created.message)
      }
      throw tableProblem(name, created)
    }
    return reply.code(201).send(configsOf(created))
  })

  app.get<{ Params: { table: string } }>('/tables/:table/config', {
    schema: { summary: 'The table\'s topic configs: those set, and every one in effect', params: schemas.tableParams, response: { 200: schemas.tableConfigResponse, ...schemas.errorResponses } },
  }, async (request) => configsOf(table(request.params.table)))

  app.patch<{ Params: { table: string }; Body: { configs: Record<string, string | null> } }>('/tables/:table/config', {
    bodyLimit: controlBodyLimit,
    schema: {
      summary: 'Change topic configs (as Kafka\'s IncrementalAlterConfigs: all or nothing); a change of zombi.iceberg.mode applies from the next flush',
      params: schemas.tableParams, body: schemas.configPatchBody, response: { 200: schemas.tableConfigResponse, ...schemas.errorResponses, ...schemas.storageErrorResponses },
    },
  }, async (request) => {
    const topic = table(request.params.table)
    const next = new Map(Object.entries(topic.configs))
    for (const [name, value] of Object.entries(request.body.configs)) {
      if (value === null) next.delete(name)
      else next.set(name, value)
      const problem = topicConfigProblem(name, value ?? TOPIC_CONFIGS.find((definition) => definition.name === name)?.defaultValue(log.defaults) ?? null, log.defaults)
      if (problem !== null) throw new HttpProblem('HTTP_INVALID_REQUEST', problem)
    }
    await log.alterTopicConfigs(topic, Object.fromEntries(next))
    return configsOf(topic)
  })

  app.get('/tables', { schema: { summary: 'List tables', response: { 200: schemas.tablesResponse } } }, async () => ({
    tables: [...log.topics()].map((t) => ({ name: t.name, topic_id: t.id, partitions: t.partitions.length, records: t.partitions.reduce((sum, p) => sum + p.highWatermark, 0) })),
  }))

  app.post<{ Params: { table: string } }>('/tables/:table/flush', {
    bodyLimit: controlBodyLimit,
    schema: { summary: 'Flush the table to Iceberg now; answers once the commit is done', params: schemas.tableParams, response: { 200: schemas.flushResponse, ...schemas.errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const summary = await iceberg.flush(topic.name)
    const flushed: Record<string, number> = {}
    for (const [partition, offset] of Object.entries(summary.flushedOffsets)) flushed[partition] = offset
    return { table: topic.name, rows: summary.rows, files: summary.files, bytes: summary.bytes, snapshots: summary.snapshots, flushed_offsets: flushed }
  })

  app.get<{ Params: { table: string } }>('/tables/:table/metadata', {
    schema: { summary: 'Iceberg metadata of the table: location, current snapshot, flushed offsets', params: schemas.tableParams, response: { 200: schemas.metadataResponse, ...schemas.errorResponses } },
  }, async (request) => {
    const topic = table(request.params.table)
    const described = await iceberg.describe(topic.name)
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
    bodyLimit: controlBodyLimit,
    schema: {
      summary: 'Compact the table now: small data files of each table partition merged into sorted files, committed as one replace snapshot; answers once committed',
      params: schemas.tableParams,
      response: { 200: schemas.compactResponse, ...schemas.errorResponses },
    },
  }, async (request) => {
    const topic = table(request.params.table)
    const done = await iceberg.compact(topic.name)
    return {
      table: topic.name, files_in: done.filesIn, files_out: done.filesOut, bytes_in: done.bytesIn, bytes_out: done.bytesOut, rows: done.rows,
      seconds: done.seconds, snapshot_id: done.snapshotId, commit_attempts: done.commitAttempts,
    }
  })
}
