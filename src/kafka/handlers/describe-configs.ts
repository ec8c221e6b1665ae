// DescribeConfigs: effective topic configs (set or default) and the broker configs clients read.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDescribeConfigsRequest, writeDescribeConfigsResponse, type DescribeConfigsRequest, type DescribeConfigsResponse } from '../../protocol/generated/describe-configs.ts'
import type { Topic } from '../../log/topic.ts'
import { CONFIG_TYPE_ID, TOPIC_CONFIGS, topicNameProblem, type ConfigType } from '../../log/topic-config.ts'
import { defineHandler, type RequestContext } from '../handler.ts'
import { AclOperation, allowedOnCluster, allowedOnTopic } from '../authorize.ts'

type ConfigEntry = DescribeConfigsResponse['results'][number]['configs'][number]

const RESOURCE_TOPIC = 2
const RESOURCE_BROKER = 4

// Config sources (Kafka's DescribeConfigs enumeration).
const SOURCE_DYNAMIC_TOPIC = 1
const SOURCE_STATIC_BROKER = 4
const SOURCE_DEFAULT = 5

function entry(name: string, value: string, source: number, type: ConfigType, readOnly: boolean, includeSynonyms: boolean): ConfigEntry {
  return {
    name,
    value,
    readOnly,
    isDefault: source === SOURCE_DEFAULT,
    configSource: source,
    isSensitive: false,
    synonyms: includeSynonyms ? [{ name, value, source }] : [],
    configType: CONFIG_TYPE_ID[type],
    documentation: null,
  }
}

/** Effective topic configs, optionally only the named keys. */
export function describeTopicConfigs(topic: Topic, context: RequestContext, keys: readonly string[] | null, includeSynonyms: boolean): ConfigEntry[] {
  const defaults = context.log.defaults
  const out: ConfigEntry[] = []
  for (const def of TOPIC_CONFIGS) {
    if (keys !== null && !keys.includes(def.name)) continue
    const set = topic.configs[def.name]
    out.push(set !== undefined
      ? entry(def.name, set, SOURCE_DYNAMIC_TOPIC, def.type, false, includeSynonyms)
      : entry(def.name, def.defaultValue(defaults), SOURCE_DEFAULT, def.type, false, includeSynonyms))
  }
  return out
}

/** The broker configs this broker reports: name, value, type (all fixed at start, by ZOMBI_* settings or by design). */
export function brokerConfigs(context: RequestContext): Array<[string, string, ConfigType]> {
  const { config, broker } = context
  return [
    ['broker.id', String(broker.nodeId), 'INT'],
    ['node.id', String(broker.nodeId), 'INT'],
    ['advertised.listeners', broker.advertisedListeners, 'STRING'],
    ['auto.create.topics.enable', String(config.autoCreateTopics), 'BOOLEAN'],
    ['num.partitions', String(config.defaultPartitions), 'INT'],
    ['default.replication.factor', '1', 'SHORT'],
    ['min.insync.replicas', '1', 'INT'],
    ['message.max.bytes', String(config.maxMessageBytes), 'INT'],
    ['socket.request.max.bytes', String(config.maxRequestBytes), 'INT'],
    ['log.retention.ms', '-1', 'LONG'],
    ['log.segment.bytes', String(config.segmentBytes), 'INT'],
    ['log.message.timestamp.type', 'CreateTime', 'STRING'],
    ['compression.type', 'producer', 'STRING'],
    ['offsets.topic.replication.factor', '1', 'SHORT'],
    ['transaction.state.log.replication.factor', '1', 'SHORT'],
    ['delete.topic.enable', 'true', 'BOOLEAN'],
  ]
}

export const describeConfigs = defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  read: readDescribeConfigsRequest,
  write: writeDescribeConfigsResponse,
  handle(request, context) {
    const includeSynonyms = request.includeSynonyms
    return {
      throttleTimeMs: 0,
      results: request.resources.map((resource) => {
        const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
        const keys = resource.configurationKeys
        if (resource.resourceType === RESOURCE_TOPIC) {
          if (!allowedOnTopic(context, AclOperation.DESCRIBE_CONFIGS, resource.resourceName)) return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', configs: [] }
          const topic = context.log.topicByName(resource.resourceName)
          if (topic === undefined) {
            const invalid = topicNameProblem(resource.resourceName)
            return { ...base, errorCode: invalid === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: invalid ?? `topic ${resource.resourceName} does not exist`, configs: [] }
          }
          return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: describeTopicConfigs(topic, context, keys, includeSynonyms) }
        }
        if (resource.resourceType === RESOURCE_BROKER) {
          if (!allowedOnCluster(context, AclOperation.DESCRIBE_CONFIGS)) return { ...base, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', configs: [] }
          if (resource.resourceName !== '' && resource.resourceName !== String(context.broker.nodeId)) {
            return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown broker ${resource.resourceName}; this is broker ${context.broker.nodeId}`, configs: [] }
          }
          const configs = brokerConfigs(context)
            .filter(([name]) => keys === null || keys.includes(name))
            .map(([name, value, type]) => entry(name, value, SOURCE_STATIC_BROKER, type, true, includeSynonyms))
          return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs }
        }
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${resource.resourceType} is not supported (2 = topic, 4 = broker)`, configs: [] }
      }),
    }
  },
})
