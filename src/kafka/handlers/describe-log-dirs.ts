// DescribeLogDirs (kafka-log-dirs, Admin.describeLogDirs): the broker has one log directory, its data
// dir, which holds every partition; a partition's size is the bytes of its batches in the hot log
// (from the index), its offset lag 0 (the single replica is the leader, its log end is durable).
import path from 'node:path'
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeLogDirsRequest, writeDescribeLogDirsResponse, type DescribeLogDirsRequest, type DescribeLogDirsResponse } from '../../protocol/generated/describe-log-dirs.ts'
import type { Topic } from '../../log/topic.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'

type TopicResult = DescribeLogDirsResponse['results'][number]['topics'][number]

function describeTopic(topic: Topic, partitions: readonly number[] | null): TopicResult {
  const result: TopicResult = { name: topic.name, partitions: [] }
  for (const partition of topic.partitions) {
    // As Kafka: partitions this broker does not host are left out, not answered with an error.
    if (partitions !== null && !partitions.includes(partition.id)) continue
    result.partitions.push({ partitionIndex: partition.id, partitionSize: partition.bytesBetween(0, Number.POSITIVE_INFINITY), offsetLag: 0, isFutureKey: false })
  }
  return result
}

export const describeLogDirs = defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  apiKey: ApiKey.DescribeLogDirs,
  name: 'DescribeLogDirs',
  minVersion: 1,
  maxVersion: 5,
  read: readDescribeLogDirsRequest,
  write: writeDescribeLogDirsResponse,
  handle(request, context) {
    // As Kafka: without DESCRIBE on the cluster the answer lists no directory.
    if (!allowedOnCluster(context, AclOperation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] }
    const { log } = context
    const topics: TopicResult[] = []
    if (request.topics === null) {
      for (const topic of log.topics()) topics.push(describeTopic(topic, null))
    } else {
      for (const wanted of request.topics) {
        const topic = log.topicByName(wanted.topic)
        if (topic !== undefined) topics.push(describeTopic(topic, wanted.partitions))
      }
    }
    const freeBytes = log.store.health().freeBytes
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: path.resolve(context.config.dataDir), topics: topics.filter((topic) => topic.partitions.length > 0), totalBytes: -1, usableBytes: freeBytes ?? -1, isCordoned: false }],
    }
  },
})
