// Fetch: whole stored batches from the hot log, within max_bytes and partition_max_bytes; offsets
// that hot retention removed from the hot log come as batches rebuilt from the Iceberg table (the
// log's cold side), then the hot log goes on. An empty answer waits (without polling) for an append
// or max_wait_ms. Sessionless: we never hand out a session id, so clients send full fetch requests
// (session id 0).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readFetchRequest, writeFetchResponse, type FetchRequest, type FetchResponse as GeneratedFetchResponse } from '../../protocol/generated/fetch.ts'
import type { Records } from '../../protocol/writer.ts'
import { baseOffsetOf, lastOffsetDeltaOf } from '../../protocol/record-batch.ts'
import type { Partition } from '../../log/partition.ts'
import type { Topic } from '../../log/topic.ts'
import { defineHandler, type RequestContext } from '../handler.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'

type FetchResponse = GeneratedFetchResponse<Records>
type TopicResponse = FetchResponse['responses'][number]
type PartitionData = TopicResponse['partitions'][number]

const NO_RECORDS: readonly Buffer[] = []

/** The resolved target of one requested partition (null topic/partition: an error answer). */
class FetchTarget {
  readonly topic: Topic | undefined
  readonly partition: Partition | undefined
  readonly partitionIndex: number
  readonly fetchOffset: number
  readonly partitionMaxBytes: number
  /** The client may not READ the topic: answered TOPIC_AUTHORIZATION_FAILED (topic and partition are then unset). */
  readonly denied: boolean
  readonly isolationLevel: number

  constructor(topic: Topic | undefined, partitionIndex: number, fetchOffset: number, partitionMaxBytes: number, denied: boolean, isolationLevel: number) {
    this.denied = denied
    this.isolationLevel = isolationLevel
    this.topic = denied ? undefined : topic
    this.partition = this.topic?.partitions[partitionIndex]
    this.partitionIndex = partitionIndex
    this.fetchOffset = fetchOffset
    this.partitionMaxBytes = partitionMaxBytes
  }
}

function resolveTargets(request: FetchRequest, context: RequestContext): FetchTarget[][] {
  const byId = context.apiVersion >= 13
  return request.topics.map((t) => {
    const topic = byId ? context.log.topicById(t.topicId) : context.log.topicByName(t.topic)
    // By name, checked whether the topic exists or not (an unauthorized client learns nothing of it); an unknown id names nothing.
    const name = byId ? topic?.name : t.topic
    const denied = name !== undefined && !allowedOnTopic(context, AclOperation.READ, name)
    return t.partitions.map((p) => new FetchTarget(topic, p.partition, p.fetchOffset, p.partitionMaxBytes, denied, request.isolationLevel))
  })
}

/** Kafka's isolation levels: read_committed reads up to the last stable offset and learns which transactions aborted. */
const READ_COMMITTED = 1

/** Where a read of the partition stops: the high watermark, or the last stable offset for read_committed. */
function readLimit(partition: Partition, readCommitted: boolean): number {
  return readCommitted ? partition.lastStableOffset : partition.highWatermark
}

/**
 * The aborted transactions a read_committed consumer must skip among the batches it gets (from `from`
 * to the end of the last one), or null (none, nothing returned, or read_uncommitted).
 */
function abortedIn(partition: Partition, readCommitted: boolean, from: number, records: readonly Buffer[]): PartitionData['abortedTransactions'] {
  const last = records.at(-1)
  if (!readCommitted || last === undefined) return null
  const aborted = partition.transactions.abortedBetween(from, baseOffsetOf(last) + lastOffsetDeltaOf(last) + 1)
  return aborted.length === 0 ? null : aborted.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
}

function partitionData(partitionIndex: number, errorCode: ErrorCode, partition: Partition | undefined, records: readonly Buffer[], logStartOffset = partition === undefined ? -1 : Math.max(partition.logStartOffset, partition.deletedBefore), abortedTransactions: PartitionData['abortedTransactions'] = null): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: partition?.highWatermark ?? -1,
    lastStableOffset: partition?.lastStableOffset ?? -1,
    logStartOffset,
    divergingEpoch: null,
    currentLeader: null,
    snapshotId: null,
    abortedTransactions,
    preferredReadReplica: -1,
    records,
  }
}

/** Bytes available for the whole request, to compare with min_bytes before waiting. */
function availableBytes(targets: FetchTarget[][], limit: number, readCommitted: boolean): number {
  let bytes = 0
  for (const topic of targets) {
    for (const target of topic) {
      if (target.partition === undefined) return limit // an error is worth answering now
      const { partition } = target
      if (target.fetchOffset < partition.logStartOffset || target.fetchOffset < partition.deletedBefore || target.fetchOffset > partition.highWatermark) return limit
      bytes += partition.bytesBetween(target.fetchOffset, readLimit(partition, readCommitted), limit - bytes)
      if (bytes >= limit) return bytes
    }
  }
  return bytes
}

/** What a response adds up to while it is built: bytes left under max_bytes, and whether any batch went in. */
class ResponseBudget {
  remaining: number
  anyData = false

  constructor(maxBytes: number) {
    this.remaining = maxBytes
  }

  /** Bytes one partition may add: its own limit within what is left. */
  forPartition(partitionMaxBytes: number): number {
    return Math.min(partitionMaxBytes, Math.max(this.remaining, 0))
  }

  took(bytes: number): void {
    if (bytes <= 0) return
    this.anyData = true
    this.remaining -= bytes
  }
}

/** The answer for one partition from the hot log, or null when its fetch offset is below the hot log (answered by coldPartitionResponse). */
function partitionResponse(target: FetchTarget, budget: ResponseBudget, context: RequestContext): PartitionData | null {
  const { partition, topic } = target
  if (target.denied) return partitionData(target.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED, undefined, NO_RECORDS)
  if (partition === undefined || topic === undefined) {
    const code = target.topic === undefined && context.apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    return partitionData(target.partitionIndex, code, undefined, NO_RECORDS)
  }
  const { log } = context
  if (target.fetchOffset > partition.highWatermark || target.fetchOffset < partition.deletedBefore) {
    return partitionData(target.partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE, partition, NO_RECORDS, log.knownLogStartOffset(topic, partition))
  }
  if (target.fetchOffset < partition.logStartOffset) return null
  const logStartOffset = log.knownLogStartOffset(topic, partition)
  if (budget.remaining <= 0 && budget.anyData) return partitionData(target.partitionIndex, ErrorCode.NONE, partition, NO_RECORDS, logStartOffset)
  const records: Buffer[] = []
  const readCommitted = context.apiVersion >= 4 && target.isolationLevel === READ_COMMITTED
  const end = readLimit(partition, readCommitted)
  // The first batch of the response is sent even above the limits, so a consumer never stalls on a big batch.
  budget.took(partition.read(target.fetchOffset, budget.forPartition(target.partitionMaxBytes), !budget.anyData, records, end, context.allocateResponseBytes))
  return partitionData(target.partitionIndex, ErrorCode.NONE, partition, records, logStartOffset, abortedIn(partition, readCommitted, target.fetchOffset, records))
}

/** A fetch offset below the hot log: batches rebuilt from the Iceberg table, then the hot log's from its start. */
async function coldPartitionResponse(target: FetchTarget, topic: Topic, partition: Partition, budget: ResponseBudget, context: RequestContext): Promise<PartitionData> {
  const { log } = context
  const cold = log.coldFor(topic)
  if (cold === null) return partitionData(target.partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE, partition, NO_RECORDS)
  try {
    const logStartOffset = await log.logStartOffset(topic, partition)
    if (target.fetchOffset < logStartOffset) return partitionData(target.partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE, partition, NO_RECORDS, logStartOffset)
    if (budget.remaining <= 0 && budget.anyData) return partitionData(target.partitionIndex, ErrorCode.NONE, partition, NO_RECORDS, logStartOffset)
    const records: Buffer[] = []
    const limit = budget.forPartition(target.partitionMaxBytes)
    const read = await cold.read(topic, partition, target.fetchOffset, limit, !budget.anyData, records)
    budget.took(read.bytes)
    // Past the table's part: the hot log goes on in the same answer, within what is left.
    // The table holds only committed records (the flusher stops at the last stable offset and skips
    // aborted batches); the hot log's part is limited and annotated as for any read_committed fetch.
    const hotStart = partition.logStartOffset
    const readCommitted = context.apiVersion >= 4 && target.isolationLevel === READ_COMMITTED
    const end = readLimit(partition, readCommitted)
    let aborted: PartitionData['abortedTransactions'] = null
    if (read.nextOffset >= hotStart && limit - read.bytes > 0) {
      const coldBatches = records.length
      budget.took(partition.read(hotStart, Math.min(limit - read.bytes, Math.max(budget.remaining, 0)), !budget.anyData, records, end, context.allocateResponseBytes))
      if (records.length > coldBatches) aborted = abortedIn(partition, readCommitted, hotStart, records)
    }
    return partitionData(target.partitionIndex, ErrorCode.NONE, partition, records, logStartOffset, aborted)
  } catch (error) {
    // The table cannot be read now (object store or catalog down): a retriable error, the consumer keeps its position.
    context.logger.warn({ err: error, topic: topic.name, partition: partition.id }, 'Kafka fetch from the Iceberg table failed')
    return partitionData(target.partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR, partition, NO_RECORDS, log.knownLogStartOffset(topic, partition))
  }
}

async function buildResponse(request: FetchRequest, targets: FetchTarget[][], context: RequestContext): Promise<FetchResponse> {
  const budget = new ResponseBudget(request.maxBytes)
  const responses: TopicResponse[] = []
  for (let t = 0; t < request.topics.length; t++) {
    const requested = request.topics[t]!
    const partitions: PartitionData[] = []
    for (const target of targets[t]!) {
      // Only reads from the table wait; hot-log answers are built synchronously.
      partitions.push(partitionResponse(target, budget, context) ?? await coldPartitionResponse(target, target.topic!, target.partition!, budget, context))
    }
    responses.push({ topic: requested.topic, topicId: requested.topicId, partitions })
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses, nodeEndpoints: [] }
}

/** The known partitions of the request: what an empty answer waits on. */
function partitionsOf(targets: FetchTarget[][]): Partition[] {
  const partitions: Partition[] = []
  for (const topic of targets) for (const target of topic) if (target.partition !== undefined) partitions.push(target.partition)
  return partitions
}

export const fetch = defineHandler<FetchRequest, FetchResponse>({
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 0,
  maxVersion: 17,
  read: readFetchRequest,
  write: writeFetchResponse,
  async handle(request, context) {
    const version = context.apiVersion
    if (version >= 7 && request.sessionId !== 0) {
      // We never create sessions, so a client cannot hold one.
      context.traffic?.error(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [], nodeEndpoints: [] }
    }
    const targets = resolveTargets(request, context)
    const minBytes = Math.max(1, request.minBytes)
    if (request.maxWaitMs > 0 && !context.shutdown.aborted) {
      const deadline = Date.now() + request.maxWaitMs
      let partitions: Partition[] | null = null
      const readCommitted = version >= 4 && request.isolationLevel === READ_COMMITTED
      while (availableBytes(targets, minBytes, readCommitted) < minBytes && Date.now() < deadline && !context.shutdown.aborted) {
        partitions ??= partitionsOf(targets)
        await context.log.waitForAppend(partitions, deadline, context.shutdown)
      }
    }
    const response = await buildResponse(request, targets, context)
    context.traffic?.fetched(response)
    return response
  },
})
