// Every API handler the broker serves. ApiVersions advertises exactly this list.
import type { AnyHandler } from '../handler.ts'
import { alterConfigs } from './alter-configs.ts'
import { apiVersions } from './api-versions.ts'
import { createPartitions } from './create-partitions.ts'
import { createTopics } from './create-topics.ts'
import { deleteRecords } from './delete-records.ts'
import { deleteTopics } from './delete-topics.ts'
import { describeClientQuotas } from './describe-client-quotas.ts'
import { describeCluster } from './describe-cluster.ts'
import { describeConfigs } from './describe-configs.ts'
import { describeLogDirs } from './describe-log-dirs.ts'
import { electLeaders } from './elect-leaders.ts'
import { fetch } from './fetch.ts'
import { findCoordinator } from './find-coordinator.ts'
import { initProducerId } from './init-producer-id.ts'
import { consumerGroupDescribe } from './consumer-group-describe.ts'
import { consumerGroupHeartbeat } from './consumer-group-heartbeat.ts'
import { deleteGroups } from './delete-groups.ts'
import { describeGroups } from './describe-groups.ts'
import { heartbeat } from './heartbeat.ts'
import { incrementalAlterConfigs } from './incremental-alter-configs.ts'
import { joinGroup } from './join-group.ts'
import { leaveGroup } from './leave-group.ts'
import { listGroups } from './list-groups.ts'
import { offsetCommit } from './offset-commit.ts'
import { offsetDelete } from './offset-delete.ts'
import { offsetFetch } from './offset-fetch.ts'
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.ts'
import { syncGroup } from './sync-group.ts'
import { listOffsets } from './list-offsets.ts'
import { metadata } from './metadata.ts'
import { produce } from './produce.ts'
import { alterUserScramCredentials } from './alter-user-scram-credentials.ts'
import { describeUserScramCredentials } from './describe-user-scram-credentials.ts'
import { saslAuthenticate } from './sasl-authenticate.ts'
import { saslHandshake } from './sasl-handshake.ts'
import { createAcls } from './create-acls.ts'
import { deleteAcls } from './delete-acls.ts'
import { describeAcls } from './describe-acls.ts'
import { addOffsetsToTxn } from './add-offsets-to-txn.ts'
import { addPartitionsToTxn } from './add-partitions-to-txn.ts'
import { describeProducers } from './describe-producers.ts'
import { describeTransactions } from './describe-transactions.ts'
import { endTxn } from './end-txn.ts'
import { listTransactions } from './list-transactions.ts'
import { txnOffsetCommit } from './txn-offset-commit.ts'

export const allHandlers: readonly AnyHandler[] = [
  produce, fetch, listOffsets, metadata, apiVersions, createTopics, deleteTopics, describeConfigs, alterConfigs, incrementalAlterConfigs,
  createPartitions, describeCluster, deleteRecords, describeLogDirs, electLeaders,
  findCoordinator, initProducerId,
  // The group APIs go together: librdkafka uses groups only when all of them are advertised.
  joinGroup, syncGroup, heartbeat, leaveGroup, offsetCommit, offsetFetch, describeGroups, listGroups, deleteGroups,
  offsetDelete, offsetForLeaderEpoch,
  // KIP-848's consumer group protocol, beside the classic one.
  consumerGroupHeartbeat, consumerGroupDescribe,
  saslHandshake, saslAuthenticate, describeUserScramCredentials, alterUserScramCredentials, describeClientQuotas,
  createAcls, describeAcls, deleteAcls,
  addPartitionsToTxn, addOffsetsToTxn, endTxn, txnOffsetCommit, describeProducers, describeTransactions, listTransactions,
]
