import { describe, expect, it } from 'vitest'
import { describeConfigs } from '../../../src/kafka/handlers/describe-configs.ts'
import { TOPIC_CONFIGS } from '../../../src/log/topic-config.ts'
import type { DescribeConfigsRequest, DescribeConfigsResponse } from '../../../src/protocol/generated/describe-configs.ts'
import { ErrorCode } from '../../../src/protocol/generated/errors.ts'
import { call, exchange, makeHandlerContext } from '../fixtures/broker-parts.ts'

const TOPIC = 2
const BROKER = 4

function request(resources: Array<[type: number, name: string, keys?: string[]]>, includeSynonyms = false): DescribeConfigsRequest {
  return { resources: resources.map(([resourceType, resourceName, keys]) => ({ resourceType, resourceName, configurationKeys: keys ?? null })), includeSynonyms, includeDocumentation: false }
}

describe('DescribeConfigs', () => {
  it('describes every topic config: the ones set as dynamic topic configs, the others as defaults', async () => {
    const { context, log } = await makeHandlerContext()
    await log.createTopic('orders', 1, { 'retention.ms': '1000' })
    const response = await exchange<DescribeConfigsResponse>(describeConfigs, 4, request([[TOPIC, 'orders']]), context)
    const [result] = response.results
    expect(result).toMatchObject({ resourceType: TOPIC, resourceName: 'orders', errorCode: ErrorCode.NONE, errorMessage: null })
    expect(result!.configs.map((c) => c.name)).toEqual(TOPIC_CONFIGS.map((c) => c.name))
    expect(result!.configs.find((c) => c.name === 'retention.ms')).toMatchObject({ value: '1000', configSource: 1, isDefault: false, readOnly: false, configType: 5 })
    expect(result!.configs.find((c) => c.name === 'max.message.bytes')).toMatchObject({ value: String(context.config.maxMessageBytes), configSource: 5 })
  })

  it('describes only the asked-for keys, with synonyms when asked (v1+)', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    const response = await exchange<DescribeConfigsResponse>(describeConfigs, 1, request([[TOPIC, 'orders', ['cleanup.policy']]], true), context)
    expect(response.results[0]!.configs).toEqual([expect.objectContaining({ name: 'cleanup.policy', value: 'delete', synonyms: [{ name: 'cleanup.policy', value: 'delete', source: 5 }] })])
    const withoutSynonyms = await call<DescribeConfigsResponse>(describeConfigs, 1, request([[TOPIC, 'orders', ['cleanup.policy']]]), context)
    expect(withoutSynonyms.results[0]!.configs[0]!.synonyms).toEqual([])
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic and INVALID_TOPIC_EXCEPTION for an impossible name', async () => {
    const { context } = await makeHandlerContext()
    const response = await call<DescribeConfigsResponse>(describeConfigs, 4, request([[TOPIC, 'missing'], [TOPIC, 'bad/name']]), context)
    expect(response.results.map((r) => [r.resourceName, r.errorCode, r.configs])).toEqual([
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
      ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION, []],
    ])
  })

  it('describes this broker, by its id or the empty name, with read-only static configs from the settings', async () => {
    const { context, broker } = await makeHandlerContext({ settings: { ZOMBI_DEFAULT_PARTITIONS: '6' } })
    const response = await exchange<DescribeConfigsResponse>(describeConfigs, 4, request([[BROKER, String(broker.nodeId), ['num.partitions', 'broker.id']], [BROKER, '']]), context)
    expect(response.results[0]!.configs.map((c) => [c.name, c.value, c.configSource, c.readOnly])).toEqual([['broker.id', '0', 4, true], ['num.partitions', '6', 4, true]])
    expect(response.results[1]!.configs.map((c) => c.name)).toContain('auto.create.topics.enable')
  })

  it('refuses another broker id and unsupported resource types with INVALID_REQUEST', async () => {
    const { context } = await makeHandlerContext()
    const response = await call<DescribeConfigsResponse>(describeConfigs, 4, request([[BROKER, '7'], [3, 'group']]), context)
    expect(response.results.map((r) => [r.errorCode, r.configs])).toEqual([[ErrorCode.INVALID_REQUEST, []], [ErrorCode.INVALID_REQUEST, []]])
    expect(response.results[0]!.errorMessage).toMatch(/unknown broker 7/)
  })

  it('answers a v0 client, which cannot ask for synonyms, without them', async () => {
    const { context } = await makeHandlerContext({ topics: { orders: 1 } })
    const response = await exchange<DescribeConfigsResponse>(describeConfigs, 0, request([[TOPIC, 'orders', ['cleanup.policy']]], true), context)
    expect(response.results[0]!.configs).toEqual([expect.objectContaining({ name: 'cleanup.policy', isDefault: true, synonyms: [] })])
  })
})
