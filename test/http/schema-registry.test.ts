// The schema registry's REST door (/registry) through fastify's inject: Confluent's shapes, codes and
// edge cases (bad JSON, unknown subjects, wrong versions, invalid schemas, soft and hard deletes).
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import { GroupCoordinator } from '../../src/groups/coordinator.ts'
import { buildHttpApp } from '../../src/http/app.ts'
import { BrokerLog } from '../../src/log/broker-log.ts'
import { IdempotencyKeys } from '../../src/log/idempotency-keys.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import { registerSchemaRegistryMetrics } from '../../src/schema/metrics.ts'
import { SchemaRegistry } from '../../src/schema/registry.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
let app: FastifyInstance
let metrics: Metrics

const user = (fields: object[]) => JSON.stringify({ type: 'record', name: 'User', namespace: 'com.example', fields })
const v1 = user([{ name: 'name', type: 'string' }])
const v2 = user([{ name: 'name', type: 'string' }, { name: 'age', type: 'int', default: 0 }])
const incompatible = user([{ name: 'name', type: 'string' }, { name: 'email', type: 'string' }])

beforeEach(async () => {
  const store = new MemoryHotStore()
  await store.open()
  const config = loadConfig({})
  const log = new BrokerLog({ store, logger: silentLogger, defaults: { maxMessageBytes: 1_048_588 }, fetchCacheBytes: 0 })
  await log.open()
  const registry = await SchemaRegistry.open(store, { maxVersions: 20, maxBytes: 1 << 20 }, silentLogger)
  metrics = new Metrics()
  registerSchemaRegistryMetrics(metrics, registry)
  app = await buildHttpApp({
    log, groups: new GroupCoordinator(log, silentLogger, config), keys: new IdempotencyKeys(store), metrics, config, schemaRegistry: registry,
    components: () => ({}), stats: () => ({}),
    iceberg: { flush: async () => { throw new Error('unused') }, describe: async () => null, compact: async () => { throw new Error('unused') } },
  })
})

afterEach(async () => {
  await app.close()
})

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, contentType = CONTENT_TYPE) {
  const response = await app.inject({
    method, url: `/registry${url}`,
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType } }),
  })
  return { status: response.statusCode, body: response.body === '' ? undefined : JSON.parse(response.body) as unknown, type: response.headers['content-type'] }
}

const register = (subject: string, body: object, query = '') => call('POST', `/subjects/${encodeURIComponent(subject)}/versions${query}`, body)

describe('schema registry routes', () => {
  it('answers the root, the types and the mode in Confluent\'s content type', async () => {
    expect(await call('GET', '/')).toEqual({ status: 200, body: {}, type: `${CONTENT_TYPE}; charset=utf-8` })
    expect((await call('GET', '/schemas/types')).body).toEqual(['AVRO', 'JSON', 'PROTOBUF'])
    expect((await call('GET', '/mode')).body).toEqual({ mode: 'READWRITE' })
    expect(await call('PUT', '/mode', { mode: 'READWRITE' })).toMatchObject({ status: 200, body: { mode: 'READWRITE' } })
    expect(await call('PUT', '/mode', { mode: 'READONLY' })).toMatchObject({ status: 422, body: { error_code: 42204 } })
    expect(await call('PUT', '/mode/s', { mode: 'IMPORT' })).toMatchObject({ status: 422, body: { error_code: 42204 } })
  })

  it('registers idempotently, gives the same schema the same global id in another subject, and serves it back', async () => {
    expect(await register('users-value', { schema: v1 })).toMatchObject({ status: 200, body: { id: 1 }, type: expect.stringMatching(/^application\/vnd\.schemaregistry\.v1\+json/) })
    expect((await register('users-value', { schema: JSON.stringify(JSON.parse(v1), null, 2) })).body).toEqual({ id: 1 })
    expect((await register('users-value', { schema: v2 })).body).toEqual({ id: 2 })
    expect((await register('other-value', { schema: v1 })).body).toEqual({ id: 1 })
    expect((await call('GET', '/subjects')).body).toEqual(['other-value', 'users-value'])
    expect((await call('GET', '/subjects/users-value/versions')).body).toEqual([1, 2])
    expect((await call('GET', '/subjects/users-value/versions/latest')).body).toEqual({ subject: 'users-value', version: 2, id: 2, schema: v2 })
    expect((await call('GET', '/subjects/users-value/versions/-1')).body).toMatchObject({ version: 2 })
    expect((await call('GET', '/subjects/users-value/versions/1')).body).toEqual({ subject: 'users-value', version: 1, id: 1, schema: v1 })
    expect((await call('GET', '/schemas/ids/1')).body).toEqual({ schema: v1 })
    expect((await call('GET', '/schemas/ids/1?subject=users-value')).body).toEqual({ schema: v1 })
    expect((await call('GET', '/schemas/ids/1?fetchMaxId=true')).body).toEqual({ schema: v1, maxId: 2 })
    expect((await call('GET', '/schemas/ids/1/subjects')).body).toEqual(['other-value', 'users-value'])
    expect((await call('GET', '/schemas/ids/1/versions')).body).toEqual([{ subject: 'other-value', version: 1 }, { subject: 'users-value', version: 1 }])
    expect((await call('GET', '/schemas/ids/2/schema')).body).toEqual(JSON.parse(v2))
    expect((await call('GET', '/subjects/users-value/versions/2/schema')).body).toEqual(JSON.parse(v2))
    expect(await call('POST', '/subjects/users-value', { schema: v1 })).toMatchObject({ status: 200, body: { subject: 'users-value', version: 1, id: 1, schema: v1 } })
  })

  it('refuses an incompatible schema with 409 and says why, and tests compatibility without registering', async () => {
    await register('users-value', { schema: v1 })
    const refused = await register('users-value', { schema: incompatible })
    expect(refused).toMatchObject({ status: 409, body: { error_code: 409 } })
    expect((refused.body as { message: string }).message).toMatch(/email/)
    expect((await call('POST', '/compatibility/subjects/users-value/versions/latest', { schema: incompatible })).body).toEqual({ is_compatible: false })
    const verbose = await call('POST', '/compatibility/subjects/users-value/versions/1?verbose=true', { schema: incompatible })
    expect(verbose.body).toMatchObject({ is_compatible: false, messages: [expect.stringMatching(/email/)] })
    expect((await call('POST', '/compatibility/subjects/users-value/versions?verbose=true', { schema: v2 })).body).toEqual({ is_compatible: true, messages: [] })
    expect(await call('POST', '/compatibility/subjects/nobody/versions/1', { schema: v2 })).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect((await call('GET', '/subjects/users-value/versions')).body).toEqual([1])
  })

  it('follows the subject and global compatibility levels', async () => {
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD', normalize: false })
    expect(await call('GET', '/config/users-value')).toMatchObject({ status: 404, body: { error_code: 40408 } })
    expect((await call('GET', '/config/users-value?defaultToGlobal=true')).body).toMatchObject({ compatibilityLevel: 'BACKWARD' })
    expect(await call('PUT', '/config/users-value', { compatibility: 'NONE' })).toMatchObject({ status: 200, body: { compatibility: 'NONE' } })
    expect((await call('GET', '/config/users-value')).body).toMatchObject({ compatibilityLevel: 'NONE' })
    await register('users-value', { schema: v1 })
    expect((await register('users-value', { schema: incompatible })).status).toBe(200)
    expect(await call('PUT', '/config', { compatibility: 'SIDEWAYS' })).toMatchObject({ status: 422, body: { error_code: 42203 } })
    expect(await call('PUT', '/config', { compatibility: 'FULL', validateFields: true })).toMatchObject({ status: 422, body: { error_code: 42203 } })
    expect((await call('PUT', '/config', { compatibilityLevel: 'FORWARD' })).body).toEqual({ compatibility: 'FORWARD' })
    expect((await call('DELETE', '/config/users-value')).body).toMatchObject({ compatibilityLevel: 'NONE' })
    expect((await call('GET', '/config/users-value?defaultToGlobal=true')).body).toMatchObject({ compatibilityLevel: 'FORWARD' })
    expect((await call('DELETE', '/config')).body).toMatchObject({ compatibilityLevel: 'FORWARD' })
    expect((await call('GET', '/config')).body).toMatchObject({ compatibilityLevel: 'BACKWARD' })
  })

  it('answers unknown subjects, versions and ids with 40401, 40402, 40403 and bad versions with 42202', async () => {
    await register('s', { schema: v1 })
    expect(await call('GET', '/subjects/nobody/versions')).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect(await call('GET', '/subjects/nobody/versions/1')).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect(await call('GET', '/subjects/s/versions/7')).toMatchObject({ status: 404, body: { error_code: 40402 } })
    for (const version of ['0', 'abc', '-2', '1.5', '99999999999']) {
      expect(await call('GET', `/subjects/s/versions/${version}`)).toMatchObject({ status: 422, body: { error_code: 42202 } })
    }
    expect(await call('GET', '/schemas/ids/99')).toMatchObject({ status: 404, body: { error_code: 40403 } })
    expect(await call('GET', '/schemas/ids/x')).toMatchObject({ status: 404, body: { error_code: 40403 } })
    expect(await call('POST', '/subjects/nobody', { schema: v1 })).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect(await call('POST', '/subjects/s', { schema: v2 })).toMatchObject({ status: 404, body: { error_code: 40403 } })
    expect(await call('GET', '/no/such/route')).toMatchObject({ status: 404, body: { error_code: 404 } })
  })

  it('refuses invalid schemas, bad JSON, missing fields and data contracts with Confluent\'s codes', async () => {
    expect(await register('s', { schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}' })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await register('s', { schema: 'not json' })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await register('s', { schema: '{"type": 5}', schemaType: 'JSON' })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await register('s', { schema: 'message M { int32 a = 1 }', schemaType: 'PROTOBUF' })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await register('s', { schema: v1, schemaType: 'XML' })).toMatchObject({ status: 422, body: { error_code: 422 } })
    expect(await register('s', {})).toMatchObject({ status: 422, body: { error_code: 422 } })
    expect(await register('s', { schema: '' })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await register('s', { schema: v1, ruleSet: { domainRules: [{ name: 'r' }] } })).toMatchObject({ status: 422, body: { error_code: 42205 } })
    expect(await register('s', { schema: v1, id: 7 })).toMatchObject({ status: 422, body: { error_code: 42205 } })
    expect(await register('s', { schema: v1, version: 3 })).toMatchObject({ status: 422, body: { error_code: 42205 } })
    expect(await register('s', { schema: v1, references: [{ name: 'x', subject: 'missing', version: 1 }] })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await call('POST', '/subjects/s/versions', '{"schema": ', CONTENT_TYPE)).toMatchObject({ status: 400, body: { error_code: 400 } })
    const big = { schema: JSON.stringify({ type: 'record', name: 'Big', doc: 'x'.repeat(3 * 1024 * 1024), fields: [] }) }
    expect(await register('s', big)).toMatchObject({ status: 413, body: { error_code: 413 } })
    // The content types Confluent's clients send are all read as JSON.
    for (const type of ['application/json', 'application/vnd.schemaregistry+json', 'application/octet-stream']) {
      expect((await call('POST', '/subjects/s/versions', { schema: v1 }, type)).body).toEqual({ id: 1 })
    }
    expect(await call('POST', '/subjects/s/versions', { schema: v1 }, 'text/plain')).toMatchObject({ status: 415, body: { error_code: 415 } })
    const scraped = await app.inject({ method: 'GET', url: '/metrics' })
    expect(scraped.body).toMatch(/zombi_schema_registry_refusals_total\{error_code="42201"\} [1-9]/)
    expect(scraped.body).toMatch(/zombi_schema_registry_registrations_total 1/)
  })

  it('soft-deletes, then hard-deletes only what was soft-deleted, and never gives an id twice', async () => {
    await register('s', { schema: v1 })
    await register('s', { schema: v2 })
    expect(await call('DELETE', '/subjects/s/versions/1?permanent=true')).toMatchObject({ status: 404, body: { error_code: 40407 } })
    expect((await call('DELETE', '/subjects/s/versions/1')).body).toBe(1)
    expect(await call('DELETE', '/subjects/s/versions/1')).toMatchObject({ status: 404, body: { error_code: 40406 } })
    expect(await call('GET', '/subjects/s/versions/1')).toMatchObject({ status: 404, body: { error_code: 40402 } })
    expect((await call('GET', '/subjects/s/versions/1?deleted=true')).body).toMatchObject({ version: 1, id: 1 })
    expect((await call('GET', '/subjects/s/versions')).body).toEqual([2])
    expect((await call('GET', '/subjects/s/versions?deleted=true')).body).toEqual([1, 2])
    expect(await call('DELETE', '/subjects/s?permanent=true')).toMatchObject({ status: 404, body: { error_code: 40405 } })
    expect((await call('DELETE', '/subjects/s')).body).toEqual([2])
    expect(await call('DELETE', '/subjects/s')).toMatchObject({ status: 404, body: { error_code: 40404 } })
    expect((await call('GET', '/subjects')).body).toEqual([])
    expect((await call('GET', '/subjects?deleted=true')).body).toEqual(['s'])
    expect(await call('GET', '/subjects/s/versions')).toMatchObject({ status: 404, body: { error_code: 40401 } })
    // A soft-deleted schema still decodes old records by id.
    expect((await call('GET', '/schemas/ids/1')).body).toEqual({ schema: v1 })
    expect((await call('DELETE', '/subjects/s?permanent=true')).body).toEqual([1, 2])
    expect(await call('GET', '/schemas/ids/1')).toMatchObject({ status: 404, body: { error_code: 40403 } })
    expect(await call('DELETE', '/subjects/s')).toMatchObject({ status: 404, body: { error_code: 40401 } })
    // The same schema again is a new schema: ids are never reused.
    expect((await register('s', { schema: v1 })).body).toEqual({ id: 3 })
    expect((await call('GET', '/subjects/s/versions')).body).toEqual([1])
  })

  it('resolves references and refuses to delete a referenced version', async () => {
    const address = JSON.stringify({ type: 'record', name: 'Address', namespace: 'com.example', fields: [{ name: 'street', type: 'string' }] })
    expect((await register('address', { schema: address })).body).toEqual({ id: 1 })
    const person = JSON.stringify({ type: 'record', name: 'Person', namespace: 'com.example', fields: [{ name: 'home', type: 'com.example.Address' }] })
    expect(await register('person', { schema: person })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    const references = [{ name: 'com.example.Address', subject: 'address', version: 1 }]
    expect((await register('person', { schema: person, references })).body).toEqual({ id: 2 })
    expect((await call('GET', '/schemas/ids/2')).body).toEqual({ schema: person, references })
    expect((await call('GET', '/subjects/address/versions/1/referencedby')).body).toEqual([2])
    expect(await call('DELETE', '/subjects/address/versions/1')).toMatchObject({ status: 422, body: { error_code: 42206 } })
    expect(await call('DELETE', '/subjects/address')).toMatchObject({ status: 422, body: { error_code: 42206 } })
  })

  it('resolves Protobuf imports and JSON $refs through references', async () => {
    const money = 'syntax = "proto3";\npackage money;\nmessage Money { int64 units = 1; }\n'
    expect((await register('money', { schema: money, schemaType: 'PROTOBUF' })).body).toEqual({ id: 1 })
    const order = 'syntax = "proto3";\npackage shop;\nimport "money.proto";\nmessage Order { money.Money total = 1; }\n'
    expect(await register('order', { schema: order, schemaType: 'PROTOBUF' })).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect((await register('order', { schema: order, schemaType: 'PROTOBUF', references: [{ name: 'money.proto', subject: 'money', version: 1 }] })).body).toEqual({ id: 2 })
    const address = JSON.stringify({ type: 'object', properties: { zip: { type: 'string' } } })
    expect((await register('address-json', { schema: address, schemaType: 'JSON' })).body).toEqual({ id: 3 })
    const person = (zip: string) => JSON.stringify({ type: 'object', properties: { home: { $ref: 'address.json' }, zip: { type: zip } } })
    const references = [{ name: 'address.json', subject: 'address-json', version: 1 }]
    expect((await register('person-json', { schema: person('string'), schemaType: 'JSON', references })).body).toEqual({ id: 4 })
    expect(await register('person-json', { schema: person('integer'), schemaType: 'JSON', references })).toMatchObject({ status: 409, body: { error_code: 409 } })
  })

  it('serves a Protobuf schema as a base64 FileDescriptorProto with format=serialized', async () => {
    const proto = 'syntax = "proto3";\npackage shop;\nmessage Order {\n  string id = 1;\n  int64 cents = 2;\n}\n'
    expect((await register('orders-value', { schema: proto, schemaType: 'PROTOBUF' })).body).toEqual({ id: 1 })
    expect((await call('GET', '/schemas/ids/1')).body).toEqual({ schemaType: 'PROTOBUF', schema: proto.trim() })
    const serialized = (await call('GET', '/schemas/ids/1?format=serialized')).body as { schema: string }
    // A descriptor registered as such is the same schema: the registry parses both forms.
    expect((await register('orders-copy', { schema: serialized.schema, schemaType: 'PROTOBUF' })).body).toEqual({ id: 2 })
    expect((await call('GET', '/schemas/ids/2?format=serialized')).body).toEqual({ schemaType: 'PROTOBUF', schema: serialized.schema })
    expect(Buffer.from(serialized.schema, 'base64').toString('latin1')).toContain('Order')
  })
})
