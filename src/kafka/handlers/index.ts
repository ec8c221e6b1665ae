// Every API handler the broker serves. ApiVersions advertises exactly this list.
import type { AnyHandler } from '../handler.ts'
import { apiVersions } from './api-versions.ts'
import { createPartitions } from './create-partitions.ts'
import { createTopics } from './create-topics.ts'
import { deleteTopics } from './delete-topics.ts'
import { describeCluster } from './describe-cluster.ts'
import { describeConfigs } from './describe-configs.ts'
import { fetch } from './fetch.ts'
import { findCoordinator } from './find-coordinator.ts'
import { initProducerId } from './init-producer-id.ts'
import { listOffsets } from './list-offsets.ts'
import { metadata } from './metadata.ts'
import { produce } from './produce.ts'

export const allHandlers: readonly AnyHandler[] = [
  produce, fetch, listOffsets, metadata, apiVersions, createTopics, deleteTopics, describeConfigs, createPartitions, describeCluster,
  findCoordinator, initProducerId,
]
