// Confluent's Python serializers (confluent-kafka[avro,json,protobuf,schemaregistry] from PyPI) pointed at
// the broker's own registry, schema.registry.url=http://<host>:<port>/registry: two schema versions each for
// Avro, JSON Schema and Protobuf produced to Zombi topics, an incompatible third refused with the client's
// exception, every record read back through the deserializers; then kill -9 and a restart keep the schemas
// and their ids. The script is compat-tests/confluent-kafka-python/schema_registry.py.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { pythonJsonLines } from './fixtures/python.ts'

const script = 'compat-tests/confluent-kafka-python/schema_registry.py'
const formats = ['avro', 'json', 'protobuf'] as const
type Format = (typeof formats)[number]

let broker: Broker
const topics = new Map<Format, string>(formats.map((format) => [format, uniqueTopic(`registry-${format}`)]))

interface Step { type: 'produced' | 'refused' | 'accepted'; version: number; id?: number; exception?: string; http_status?: number; error_code?: number; message?: string }
interface Consumed { type: 'record'; offset: number; schema_id: number; value: Record<string, unknown> }

const registryUrl = (): string => `${broker.httpUrl}/registry`
const run = (args: string[]) => pythonJsonLines(script, [...args, '--registry', registryUrl()], { timeoutMs: 90_000 })
const consume = async (format: Format) => (await run(['consume', '--bootstrap', broker.bootstrap, '--topic', topics.get(format)!, '--format', format, '--count', '4'])) as Consumed[]

const expected: Record<Format, Array<Record<string, unknown>>> = {
  avro: [{ name: 'ada', count: 1 }, { name: 'bob', count: 2 }, { name: 'cy', count: 3, email: 'cy@example.com' }, { name: 'di', count: 4, email: null }],
  json: [{ name: 'ada', count: 1 }, { name: 'bob' }, { name: 'cy', count: 3.5, email: 'cy@example.com' }, { name: 'di', count: 4 }],
  // protobuf's JSON mapping writes int64 as a string.
  protobuf: [{ id: 'o1', cents: '100' }, { id: 'o2', cents: '250' }, { id: 'o3', cents: '999', note: 'gift' }, { id: 'o4', cents: '1' }],
}
const ids = new Map<Format, number[]>()

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_DURABILITY: 'fsync' })
})

afterAll(async () => {
  await broker?.cleanup()
})

describe('Confluent serializers against the broker\'s registry', () => {
  test.each(formats)('%s: two compatible versions are produced and read back, an incompatible third is refused with 409', async (format) => {
    const steps = (await run(['produce', '--bootstrap', broker.bootstrap, '--topic', topics.get(format)!, '--format', format])) as Step[]
    const produced = steps.filter((step) => step.type === 'produced')
    expect(produced.map((step) => step.version)).toEqual([1, 1, 2, 2])
    const [first, , second] = produced.map((step) => step.id!)
    expect(first).not.toBe(second)
    // Both records of a version carry the same id: the serializer registered each schema once.
    expect(produced.map((step) => step.id)).toEqual([first, first, second, second])
    ids.set(format, [first!, second!])
    const refusal = steps.find((step) => step.type !== 'produced')
    expect(refusal).toMatchObject({ type: 'refused', version: 3, exception: 'SchemaRegistryError', http_status: 409, error_code: 409 })
    expect(refusal!.message).toMatch(/incompatible with an earlier schema.*version 2 \(BACKWARD\)/)

    const records = await consume(format)
    expect(records.map((record) => record.schema_id)).toEqual([first, first, second, second])
    expect(records.map((record) => record.value)).toEqual(expected[format])
  })

  test('schemas, versions and ids survive kill -9; the same schema registered again keeps its id', async () => {
    const before = new Map<Format, unknown[]>()
    for (const format of formats) before.set(format, await run(['describe', '--topic', topics.get(format)!]))
    await broker.kill9()
    await broker.restart()
    for (const format of formats) {
      const after = await run(['describe', '--topic', topics.get(format)!])
      expect(after).toEqual(before.get(format))
      expect(after[0]).toMatchObject({ type: 'subject', versions: [1, 2], ids: ids.get(format), latest_id: ids.get(format)![1] })
      expect(after.at(-1)).toEqual({ type: 'registered-again', id: ids.get(format)![1] })
      // A fresh deserializer (nothing cached) fetches the schemas from the restarted registry.
      expect((await consume(format)).map((record) => record.value)).toEqual(expected[format])
    }
    const subjects = await (await fetch(`${registryUrl()}/subjects`)).json()
    expect(subjects).toEqual(formats.map((format) => `${topics.get(format)}-value`).sort())
    // A new schema after the restart gets an id none of the earlier ones had.
    const response = await fetch(`${registryUrl()}/subjects/after-restart/versions`, {
      method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'Fresh', fields: [] }) }),
    })
    const { id } = await response.json() as { id: number }
    expect(id).toBe(Math.max(...[...ids.values()].flat()) + 1)
  })
})
