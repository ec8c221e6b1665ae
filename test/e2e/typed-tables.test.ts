// Typed tables end to end: the broker, with both schema versions registered in its own registry
// (POST /registry/subjects/{s}/versions), takes Avro records in Confluent's wire format from @platformatic/kafka over two schema versions
// plus undecodable ones, on a topic created with zombi.iceberg.mode=value_schema_id_prefix (kafkajs
// admin); after POST /tables/{t}/flush, DuckDB and pyiceberg read typed columns equal to the produced
// values, the new version's column null for old rows with its new field id, a filter on a nested
// field prunes files, the dead-letter table holds exactly the bad records, and Kafka still serves them all.
import { ProduceAcks, Producer } from '@platformatic/kafka'
import avro from 'avsc'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { plannedFiles, readColumns, readInfo, tableDir } from '../iceberg/readers.ts'
import { framed } from '../support/memory-schema-lookup.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { readPartition } from './fixtures/platformatic.ts'

const topic = uniqueTopic('typed')
const v1 = {
  type: 'record', name: 'Reading', namespace: 'sensors',
  fields: [
    { name: 'device', type: { type: 'record', name: 'Device', fields: [{ name: 'id', type: 'string' }, { name: 'floor', type: 'int' }] } },
    { name: 'celsius', type: 'float' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
}
const v2 = { ...v1, fields: [...v1.fields.map((field) => (field.name === 'celsius' ? { name: 'celsius', type: 'double' } : field)), { name: 'battery', type: ['null', 'int'], default: null }] }
let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_FLUSH_INTERVAL_SECS: '0' })
})

/** Registers a schema version of `<topic>-value` in the broker's registry; its global id. */
async function register(schema: object): Promise<number> {
  const response = await fetch(`${broker.httpUrl}/registry/subjects/${topic}-value/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: JSON.stringify(schema) }),
  })
  expect(response.status).toBe(200)
  return (await response.json() as { id: number }).id
}

afterAll(async () => {
  await broker?.cleanup()
})

async function flush(): Promise<void> {
  const response = await fetch(`${broker.httpUrl}/tables/${topic}/flush`, { method: 'POST' })
  expect(response.status).toBe(200)
}

async function produce(values: Buffer[]): Promise<void> {
  const producer = new Producer<Buffer | null, Buffer, Buffer, Buffer>({ clientId: 'zombi-e2e-typed', bootstrapBrokers: [broker.bootstrap], retries: 3 })
  try {
    await producer.send({ acks: ProduceAcks.ALL, messages: values.map((value, i) => ({ topic, partition: 0, key: Buffer.from(`k${i}`), value })) })
  } finally {
    await producer.close()
  }
}

test('Avro records in the wire format become typed columns that evolve; undecodable ones land in the dead-letter table', async () => {
  const admin = new Kafka({ clientId: 'zombi-e2e-typed', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'zombi.iceberg.mode', value: 'value_schema_id_prefix' }] }] })
  } finally {
    await admin.disconnect()
  }
  const type1 = avro.Type.forSchema(v1 as avro.Schema)
  const type2 = avro.Type.forSchema(v2 as avro.Schema)
  const at = 1_767_000_000_000_000
  const first = [
    { device: { id: 'd1', floor: 1 }, celsius: 20.5, at, tags: ['a'] },
    { device: { id: 'd2', floor: 2 }, celsius: 21.25, at: at + 1, tags: [] },
  ]
  const id1 = await register(v1)
  const id2 = await register(v2)
  const unknownId = id2 + 40
  const bad = [Buffer.from('plain text'), framed(id1, Buffer.from([0xff, 0xff])), framed(unknownId, type1.toBuffer(first[0]))]
  await produce([framed(id1, type1.toBuffer(first[0])), bad[0]!, framed(id1, type1.toBuffer(first[1])), bad[1]!])
  await flush()
  const second = [
    { device: { id: 'd3', floor: 7 }, celsius: 30.125, at: at + 2, tags: ['x', 'y'], battery: 80 },
    { device: { id: 'd4', floor: 9 }, celsius: 31.5, at: at + 3, tags: ['z'], battery: null },
  ]
  await produce([framed(id2, type2.toBuffer(second[0])), bad[2]!, framed(id2, type2.toBuffer(second[1]))])
  await flush()

  const dir = tableDir(broker.dataDir, topic)
  const info = await readInfo(dir)
  // Ids as pyiceberg reads them: value after the Kafka columns, its fields, then theirs; v2's field next, the widened one unchanged.
  const value = info.schema.find((field) => field.name === 'value') as unknown as Record<string, unknown>
  const idsOf = (field: Record<string, unknown>): unknown => ({
    [String(field.name)]: field.id, ...(field.fields === undefined ? {} : { fields: (field.fields as Array<Record<string, unknown>>).map(idsOf) }),
    ...(field.element === undefined ? {} : { element: (field.element as { id: number }).id }),
  })
  expect(idsOf(value)).toEqual({
    value: 16,
    fields: [{ device: 17, fields: [{ id: 21 }, { floor: 22 }] }, { celsius: 18 }, { at: 19 }, { tags: 20, element: 23 }, { battery: 24 }],
  })
  const fieldsOf = value.fields as Array<{ name: string; type: string; required: boolean }>
  expect(fieldsOf.map((field) => [field.name, field.type, field.required])).toEqual([
    ['device', expect.stringContaining('struct'), true], ['celsius', 'double', true], ['at', 'timestamptz', true], ['tags', expect.stringContaining('list'), true], ['battery', 'int', false],
  ])
  const expected = [
    { sequence: 0, value: { ...first[0], battery: null } },
    { sequence: 1, value: null },
    { sequence: 2, value: { ...first[1], battery: null } },
    { sequence: 3, value: null },
    { sequence: 4, value: second[0] },
    { sequence: 5, value: null },
    { sequence: 6, value: second[1] },
  ]
  for (const reader of ['duckdb', 'pyiceberg'] as const) {
    const rows = await readColumns(dir, 'partition, sequence, value', reader)
    expect(rows.map(({ sequence, value: typed }) => ({ sequence, value: typed }))).toEqual(expected)
    const letters = await readColumns(tableDir(broker.dataDir, `${topic}~dlq`), 'partition, sequence, payload, error, schema_id', reader)
    expect(letters.map((row) => [row.sequence, row.payload, row.schema_id])).toEqual([
      [1, bad[0]!.toString('base64'), null], [3, bad[1]!.toString('base64'), id1], [5, bad[2]!.toString('base64'), unknownId],
    ])
    expect(letters.map((row) => row.error)).toEqual([expect.stringMatching(/magic byte/), expect.stringMatching(/truncated|invalid/), expect.stringMatching(new RegExp(`no schema has id ${unknownId}`))])
  }
  // The first flush's file has floors 1-2, the second's 7-9.
  expect(await plannedFiles(dir, 'value.device.floor >= 7')).toEqual({ planned: 1, data_files: 2 })
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  expect(metrics).toContain(`zombi_iceberg_dead_letter_rows{topic="${topic}"} 3`)
  // Both tables are served by the broker's own Iceberg REST catalog.
  const listed = await (await fetch(`${broker.httpUrl}/iceberg/v1/namespaces/zombi/tables`)).json() as { identifiers: Array<{ name: string }> }
  expect(listed.identifiers.map((identifier) => identifier.name)).toEqual(expect.arrayContaining([topic, `${topic}~dlq`]))
  const loaded = await fetch(`${broker.httpUrl}/iceberg/v1/namespaces/zombi/tables/${encodeURIComponent(`${topic}~dlq`)}`)
  expect(loaded.status).toBe(200)
  // The Kafka topic is unchanged: every record, decodable or not.
  expect((await readPartition(broker.bootstrap, topic, 0)).records.map((record) => record.value)).toHaveLength(7)
})
