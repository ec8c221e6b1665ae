// Fetch: whole stored batches from the hot log, within max_bytes and partition_max_bytes; an
// empty answer waits (without polling) for an append or max_wait_ms. Sessionless: we never
// hand out a session id, so clients send full fetch requests (session id 0).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readFetchRequest, writeFetchResponse, type FetchRequest, type FetchResponse as GeneratedFetchResponse } from '../../protocol/generated/fetch.ts'
import type { Records } from '../../protocol/writer.ts'
import type { Partition } from '../../log/partition.ts'
import type { Topic } from '../../log/topic.ts'
import { defineHandler, type RequestContext } from '../handler.ts'

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

  constructor(topic: Topic | undefined, partitionIndex: number, fetchOffset: number, partitionMaxBytes: number) {
    this.topic = topic
    this.partition = topic?.partitions[partitionIndex]
    this.partitionIndex = partitionIndex
    this.fetchOffset = fetchOffset
    this.partitionMaxBytes = partitionMaxBytes
  }
}

function resolveTargets(request: FetchRequest, context: RequestContext): FetchTarget[][] {
  const byId = context.apiVersion >= 13
  return request.topics.map((t) => {
    const topic = byId ? context.log.topicById(t.topicId) : context.log.topicByName(t.topic)
    return t.partitions.map((p) => new FetchTarget(topic, p.partition, p.fetchOffset, p.partitionMaxBytes))
  })
}

function partitionData(partitionIndex: number, errorCode: ErrorCode, partition: Partition | undefined, records: readonly Buffer[]): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: partition?.highWatermark ?? -1,
    lastStableOffset: partition?.highWatermark ?? -1,
    logStartOffset: partition?.logStartOffset ?? -1,
    divergingEpoch: null,
    currentLeader: null,
    snapshotId: null,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records,
  }
}

/** Bytes available for the whole request, to compare with min_bytes before waiting. */
function availableBytes(targets: FetchTarget[][], limit: number): number {
  let bytes = 0
  for (const topic of targets) {
    for (const target of topic) {
      if (target.partition === undefined) return limit // an error is worth answering now
      const { partition } = target
      if (target.fetchOffset < partition.logStartOffset || target.fetchOffset > partition.highWatermark) return limit
      bytes += partition.bytesBetween(target.fetchOffset, Number.POSITIVE_INFINITY, limit - bytes)
      if (bytes >= limit) return bytes
    }
  }
  return bytes
}

function buildResponse(request: FetchRequest, targets: FetchTarget[][], version: number): FetchResponse {
  let remaining = request.maxBytes
  let anyData = false
  const responses: TopicResponse[] = request.topics.map((requested, t) => ({
    topic: requested.topic,
    topicId: requested.topicId,
    partitions: targets[t]!.map((target): PartitionData => {
      const { partition } = target
      if (partition === undefined) {
        const code = target.topic === undefined && version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return partitionData(target.partitionIndex, code, undefined, NO_RECORDS)
      }
      if (target.fetchOffset < partition.logStartOffset || target.fetchOffset > partition.highWatermark) {
        return partitionData(target.partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE, partition, NO_RECORDS)
      }
      if (remaining <= 0 && anyData) return partitionData(target.partitionIndex, ErrorCode.NONE, partition, NO_RECORDS)
      const records: Buffer[] = []
      // The first batch of the response is sent even above the limits, so a consumer never stalls on a big batch.
      const bytes = partition.read(target.fetchOffset, Math.min(target.partitionMaxBytes, Math.max(remaining, 0)), !anyData, records)
      if (bytes > 0) {
        anyData = true
        remaining -= bytes
      }
      return partitionData(target.partitionIndex, ErrorCode.NONE, partition, records)
    }),
  }))
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
      while (availableBytes(targets, minBytes) < minBytes && Date.now() < deadline && !context.shutdown.aborted) {
        partitions ??= partitionsOf(targets)
        await context.log.waitForAppend(partitions, deadline, context.shutdown)
      }
    }
    const response = buildResponse(request, targets, version)
    context.traffic?.fetched(response)
    return response
  },
})
