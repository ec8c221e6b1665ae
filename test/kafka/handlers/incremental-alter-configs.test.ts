// IncrementalAlterConfigs and AlterConfigs: topic configs set, deleted, appended and subtracted,
// validated (nothing applied on an invalid entry), persisted with the topic, validate_only honoured;
// broker configs accepted only at the values the broker holds; unknown resources refused.
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

  it('refuses unknown topics and other resource types', async () => {
    const { context } = await makeHandlerContext()
    const response = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([[TOPIC, 'missing', []], [3, 'group', []], [BROKER, '9', []]]), context)
    expect(response.responses.map((r) => r.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST])
  })

  it('accepts a broker config change only when it keeps the value the broker holds, and names the key and its setting otherwise', async () => {
    const { context } = await makeHandlerContext()
    const responses = []
    for (const resource of [
      [BROKER, '0', [['num.partitions', SET, String(context.config.defaultPartitions)], ['message.max.bytes', DELETE, null]]],
      [BROKER, '', [['num.partitions', SET, '7']]],
      [BROKER, '0', [['log.cleaner.threads', SET, '2']]],
      [BROKER, '0', [['num.partitions', APPEND, '2']]],
    ] as const) {
      const response = await call<IncrementalAlterConfigsResponse>(incrementalAlterConfigs, 1, incremental([resource as unknown as [number, string, Array<[string, number, string | null]>]]), context)
      responses.push(...response.responses)
    }
    expect(responses.map((r) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.NONE, null],
      [ErrorCode.INVALID_CONFIG, expect.stringMatching(/^broker config num.partitions=7 is refused: it is set at start by ZOMBI_DEFAULT_PARTITIONS/)],
      [ErrorCode.INVALID_CONFIG, expect.stringMatching(/^broker config log.cleaner.threads is not supported by Zombi/)],
      [ErrorCode.INVALID_CONFIG, expect.stringMatching(/^num.partitions is not a list/)],
    ])
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

  it('accepts broker configs at the values the broker holds and refuses others, naming the key', async () => {
    const { context } = await makeHandlerContext()
    const request = (value: string): AlterConfigsRequest => ({ resources: [{ resourceType: BROKER, resourceName: '0', configs: [{ name: 'auto.create.topics.enable', value }] }], validateOnly: false })
    const same = await call<AlterConfigsResponse>(alterConfigs, 2, request(String(context.config.autoCreateTopics)), context)
    expect(same.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    const other = await call<AlterConfigsResponse>(alterConfigs, 2, request(String(!context.config.autoCreateTopics)), context)
    expect(other.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: expect.stringContaining('auto.create.topics.enable') })
  })
})
