// IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT topic configs (kafka-configs --alter,
// Admin.incrementalAlterConfigs), validated like CreateTopics' and persisted with the topic; a
// resource's changes apply all or none. Broker configs are ZOMBI_* settings fixed at start: a change
// that keeps a broker config at its value is accepted (it holds), any other is INVALID_CONFIG naming
// the key and the setting that governs it.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import {
  readIncrementalAlterConfigsRequest, writeIncrementalAlterConfigsResponse, type IncrementalAlterConfigsRequest, type IncrementalAlterConfigsResponse,
} from '../../protocol/generated/incremental-alter-configs.ts'
import { topicConfigDefinition, topicConfigProblem, topicNameProblem } from '../../log/topic-config.ts'
import { AclOperation, allowedOnCluster, allowedOnTopic } from '../authorize.ts'
import { defineHandler, type RequestContext } from '../handler.ts'
import { brokerConfigs } from './describe-configs.ts'

export const RESOURCE_TOPIC = 2
export const RESOURCE_BROKER = 4

const OPERATION = { set: 0, delete: 1, append: 2, subtract: 3 } as const

/** The configs a resource should have, or why not. */
export type Change = { ok: true; configs: Map<string, string> } | { ok: false; errorCode: ErrorCode; message: string }

export interface AlterResult {
  errorCode: ErrorCode
  errorMessage: string | null
  resourceType: number
  resourceName: string
}

/**
 * Checks `change` (the topic's configs -> the configs it should have) for the topic resource and
 * stores the result unless `validateOnly`; the answer for that resource.
 */
export async function alterTopicResource(
  context: RequestContext, resourceType: number, resourceName: string, validateOnly: boolean, seen: Set<string>,
  change: (current: Readonly<Record<string, string>>) => Change,
): Promise<AlterResult> {
  const base = { resourceType, resourceName }
  const failed = (errorCode: ErrorCode, errorMessage: string): AlterResult => ({ ...base, errorCode, errorMessage })
  const key = `${resourceType}/${resourceName}`
  if (seen.has(key)) return failed(ErrorCode.INVALID_REQUEST, `resource ${resourceName} appears more than once in the request`)
  seen.add(key)
  // As Kafka: ALTER_CONFIGS on the resource is checked first, so a denied client learns nothing about it.
  if (resourceType === RESOURCE_BROKER && !allowedOnCluster(context, AclOperation.ALTER_CONFIGS)) return failed(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.')
  if (resourceType === RESOURCE_TOPIC && !allowedOnTopic(context, AclOperation.ALTER_CONFIGS, resourceName)) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.')
  if (resourceType === RESOURCE_BROKER) {
    if (resourceName !== '' && resourceName !== String(context.broker.nodeId)) return failed(ErrorCode.INVALID_REQUEST, `unknown broker ${resourceName}; this is broker ${context.broker.nodeId}`)
    const current = new Map(brokerConfigs(context).map(([name, value]) => [name, value]))
    const result = change(Object.fromEntries(current))
    if (!result.ok) return failed(result.errorCode, result.message)
    // A config left out (AlterConfigs) or deleted has no dynamic value: its value from start holds, as it does.
    for (const [name, value] of result.configs) {
      const held = current.get(name)
      if (held === undefined) return failed(ErrorCode.INVALID_CONFIG, `broker config ${name} is not supported by Zombi; broker settings are ZOMBI_* environment variables (docs/config.md)`)
      if (value !== held) return failed(ErrorCode.INVALID_CONFIG, `broker config ${name}=${value} is refused: ${fixedBrokerConfig(name)} (its value is ${held})`)
    }
    return { ...base, errorCode: ErrorCode.NONE, errorMessage: null }
  }
  if (resourceType !== RESOURCE_TOPIC) return failed(ErrorCode.INVALID_REQUEST, `resource type ${resourceType} is not supported (2 = topic)`)
  const topic = context.log.topicByName(resourceName)
  if (topic === undefined) {
    const invalid = topicNameProblem(resourceName)
    return failed(invalid === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION, invalid ?? `topic ${resourceName} does not exist`)
  }
  const result = change(topic.configs)
  if (!result.ok) return failed(result.errorCode, result.message)
  const next = Object.fromEntries(result.configs)
  for (const [name, value] of result.configs) {
    const problem = topicConfigProblem(name, value, context.log.defaults)
    if (problem !== null) return failed(ErrorCode.INVALID_CONFIG, problem)
  }
  if (!validateOnly) await context.log.alterTopicConfigs(topic, next)
  return { ...base, errorCode: ErrorCode.NONE, errorMessage: null }
}

/** Where a broker config comes from, for the refusal of a change. */
const BROKER_SETTINGS: Record<string, string> = {
  'auto.create.topics.enable': 'ZOMBI_AUTO_CREATE_TOPICS',
  'num.partitions': 'ZOMBI_DEFAULT_PARTITIONS',
  'message.max.bytes': 'ZOMBI_MAX_MESSAGE_BYTES',
  'socket.request.max.bytes': 'ZOMBI_MAX_REQUEST_BYTES',
  'log.segment.bytes': 'ZOMBI_SEGMENT_BYTES',
  'advertised.listeners': 'ZOMBI_ADVERTISED_LISTENERS',
  'broker.id': 'ZOMBI_NODE_ID',
  'node.id': 'ZOMBI_NODE_ID',
}

function fixedBrokerConfig(name: string): string {
  const setting = BROKER_SETTINGS[name]
  return setting === undefined ? 'it is fixed by Zombi\'s design (one broker, one replica, per-topic configs)' : `it is set at start by ${setting}`
}

type Config = IncrementalAlterConfigsRequest['resources'][number]['configs'][number]

function applied(current: Readonly<Record<string, string>>, configs: readonly Config[], broker: boolean): Change {
  const next = new Map(Object.entries(current))
  for (const { name, configOperation, value } of configs) {
    const definition = topicConfigDefinition(name)
    // Broker configs (checked by the caller against what the broker has) are strings here.
    if (definition === undefined && !broker) return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: topicConfigProblem(name, value) ?? `unknown topic config ${name}` }
    if (configOperation === OPERATION.delete) {
      next.delete(name)
      continue
    }
    if (value === null) return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: `${name} needs a value` }
    if (configOperation === OPERATION.set) {
      next.set(name, value)
      continue
    }
    if (configOperation !== OPERATION.append && configOperation !== OPERATION.subtract) {
      return { ok: false, errorCode: ErrorCode.INVALID_REQUEST, message: `unknown config operation ${configOperation} (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT)` }
    }
    if (definition?.type !== 'LIST') return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: `${name} is not a list: APPEND and SUBTRACT apply to list configs only` }
    const items = (next.get(name) ?? definition!.defaultValue(LIST_DEFAULTS)).split(',').map((item) => item.trim()).filter((item) => item !== '')
    const given = value.split(',').map((item) => item.trim()).filter((item) => item !== '')
    const result = configOperation === OPERATION.append ? [...items, ...given.filter((item) => !items.includes(item))] : items.filter((item) => !given.includes(item))
    next.set(name, result.join(','))
  }
  return { ok: true, configs: next }
}

// List configs' defaults do not depend on broker settings.
const LIST_DEFAULTS = { maxMessageBytes: 0 }

export const incrementalAlterConfigs = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  read: readIncrementalAlterConfigsRequest,
  write: writeIncrementalAlterConfigsResponse,
  async handle(request, context) {
    const seen = new Set<string>()
    const responses: AlterResult[] = []
    for (const resource of request.resources) {
      responses.push(await alterTopicResource(context, resource.resourceType, resource.resourceName, request.validateOnly, seen, (current) => applied(current, resource.configs, resource.resourceType === RESOURCE_BROKER)))
    }
    return { throttleTimeMs: 0, responses }
  },
})
