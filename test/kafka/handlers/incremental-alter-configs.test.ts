// IncrementalAlterConfigs and AlterConfigs: topic configs set, deleted, appended and subtracted,
// validated (nothing applied on an invalid entry), persisted with the topic, validate_only honoured;
// broker and unknown resources refused.
import { describe, expect, it } from 'vitest'
import { alterConfigs } from '../../../src/kafka/handlers/alter-configs.ts'
import { incrementalAlterConfigs } from '../../../src/kafka/handlers/incremental-alter-configs.ts'
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../../src/protocol/generated/alter-configs.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../../src/protocol/generated/incremental-alter-configs.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const TOPIC = 2
const BROKER = 4
const SET = 0
const DELETE = 1
const APPEND = 2
const SUBTRACT = 3

function incremental(resources: Array<[type: number, name: string, Array<[string, number, string | null]>]>, validateOnly = false): IncrementalAlterConfigsRequest {
  return { resources: resources.map(([resourceType, resourceName, configs]) => ({ resourceType, resourceName, configs: configs.map(([name, configOperation, value]) => ({ name, configOperation, value })) })), validateOnly }
}

describe('IncrementalAlterConfigs', () => {
  it('sets, deletes, appends to and subtracts from topic configs, and persists them with the topic', async () => {
    const { context, log } = await makeHandlerContext()
    await log.createTopic('orders', 1, { 'retention.bytes': '5' })
    for (const version of [0, 1]) {
      const response = await exchange<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, version, incremental([[TOPIC, 'orders', [
        ['zombi.iceberg.mode', SET, 'value_schema_id_prefix'], ['retention.bytes', DELETE, null], ['cleanup.policy', APPEND, 'compact'],
      ]]]), context)
      expect(response.responses).toEqual([{ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: TOPIC, resourceName: 'orders' }])
    }
    expect(log.topicByName('orders')!.configs).toEqual({ 'zombi.iceberg.mode': 'value_schema_id_prefix', 'cleanup.policy': 'delete,compact' })
    await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([[TOPIC, 'orders', [['cleanup.policy', SUBTRACT, 'delete']]]]), context)
    expect(log.topicByName('orders')!.configs['cleanup.policy']).toBe('compact')
    const stored = (await log.store.loadTopics()).find((topic) => topic.name === 'orders')
    expect(stored?.configs).toEqual({ 'zombi.iceberg.mode': 'value_schema_id_prefix', 'cleanup.policy': 'compact' })
  })

  it('applies nothing of a resource with an invalid entry, and nothing at all with validate_only', async () => {
    const { context, log } = await makeHandlerContext({ topics: { orders: 1 } })
    const response = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([
      [TOPIC, 'orders', [['retention.ms', SET, '1000'], ['zombi.iceberg.mode', SET, 'protobuf']]],
    ]), context)
    expect(response.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: expect.stringMatching(/zombi.iceberg.mode=protobuf must be one of/) })
    const unknown = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([[TOPIC, 'orders', [['no.such', SET, '1']]], [TOPIC, 'orders', []]]), context)
    expect(unknown.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST])
    const appendToString = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([[TOPIC, 'orders', [['zombi.iceberg.mode', APPEND, 'json']]]]), context)
    expect(appendToString.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG)
    const validateOnly = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([[TOPIC, 'orders', [['retention.ms', SET, '1000']]]], true), context)
    expect(validateOnly.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(log.topicByName('orders')!.configs).toEqual({})
  })

  it('refuses broker configs, unknown topics and other resource types', async () => {
    const { context } = await makeHandlerContext()
    const response = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([[BROKER, '0', [['num.partitions', SET, '3']]], [TOPIC, 'missing', []], [3, 'group', []]]), context)
    expect(response.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST])
  })
})

describe('AlterConfigs', () => {
  it('replaces the whole set of a topic configs (those not given go back to their defaults)', async () => {
    const { context, log } = await makeHandlerContext()
    await log.createTopic('orders', 1, { 'retention.ms': '1000' })
    const request: AlterConfigsRequest = { resources: [{ resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'zombi.iceberg.mode', value: 'json' }] }], validateOnly: false }
    for (const version of [0, 2]) {
      const response = await exchange<AlterConfigsResponse>(alterConfigs, version, request, context)
      expect(response.responses[0]).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: TOPIC, resourceName: 'orders' })
    }
    expect(log.topicByName('orders')!.configs).toEqual({ 'zombi.iceberg.mode': 'json' })
  })
})
