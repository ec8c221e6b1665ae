// ElectLeaders (kafka-leader-election, Admin.electLeaders): this broker is the only replica and leads
// every partition, so no election is ever needed. Named partitions are answered ELECTION_NOT_NEEDED
// (as Kafka answers for a partition whose preferred or live replica already leads), unknown ones
// UNKNOWN_TOPIC_OR_PARTITION; a request for all partitions gets an empty list, as Kafka leaves out
// the partitions that needed no election.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readElectLeadersRequest, writeElectLeadersResponse, type ElectLeadersRequest, type ElectLeadersResponse } from '../../protocol/generated/elect-leaders.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnCluster } from '../authorize.ts'

type TopicResult = ElectLeadersResponse['replicaElectionResults'][number]

const PREFERRED = 0
const UNCLEAN = 1

export const electLeaders = defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  apiKey: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  minVersion: 0,
  maxVersion: 2,
  read: readElectLeadersRequest,
  write: writeElectLeadersResponse,
  handle(request, context) {
    const every = (errorCode: ErrorCode, errorMessage: string): TopicResult[] => (request.topicPartitions ?? []).map(({ topic, partitions }) => ({
      topic, partitionResult: partitions.map((id) => ({ partitionId: id, errorCode, errorMessage })),
    }))
    if (!allowedOnCluster(context, AclOperation.ALTER)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: every(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.') }
    }
    // Version 0 has no election type: it asks for the preferred replica.
    const electionType = context.apiVersion >= 1 ? request.electionType : PREFERRED
    if (electionType !== PREFERRED && electionType !== UNCLEAN) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: every(ErrorCode.INVALID_REQUEST, `unknown election type ${electionType} (0 preferred, 1 unclean)`) }
    }
    const replicaElectionResults: TopicResult[] = (request.topicPartitions ?? []).map(({ topic: name, partitions }) => {
      const topic = context.log.topicByName(name)
      return {
        topic: name,
        partitionResult: partitions.map((id) => topic?.partitions[id] === undefined
          ? { partitionId: id, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${name} has no partition ${id}` }
          : { partitionId: id, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `broker ${context.broker.nodeId} is the only replica and already leads ${name}-${id}` }),
      }
    })
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults }
  },
})
