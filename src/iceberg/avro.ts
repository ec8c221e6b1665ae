// Iceberg v2 manifests and manifest lists as Avro object container files, written with avsc.
// The Avro schemas carry Iceberg field ids; avsc drops unknown attributes when it prints a
// schema, so the exact JSON goes into the `avro.schema` header. Longs are BigInt (snapshot ids
// use all 63 bits).
import avro from 'avsc'
import { PassThrough } from 'node:stream'
import { ZombiError } from '../errors.ts'

type AvroSchema = Record<string, unknown>

const BigIntLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer): bigint => buf.readBigInt64LE(),
  toBuffer: (n: bigint): Buffer => {
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(n)
    return buf
  },
  fromJSON: (n: number | string): bigint => BigInt(n),
  toJSON: (n: bigint): number => Number(n),
  isValid: (n: unknown): boolean => typeof n === 'bigint',
  compare: (a: bigint, b: bigint): number => (a === b ? 0 : a < b ? -1 : 1),
})

function typeOf(schema: AvroSchema): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: BigIntLong } })
}

const optional = (name: string, type: unknown, fieldId: number): AvroSchema => ({ name, type: ['null', type], default: null, 'field-id': fieldId })
const required = (name: string, type: unknown, fieldId: number): AvroSchema => ({ name, type, 'field-id': fieldId })
const intMap = (name: string, fieldId: number, keyId: number, valueId: number, valueType: string): AvroSchema =>
  optional(name, {
    type: 'array',
    logicalType: 'map',
    items: { type: 'record', name: `k${keyId}_v${valueId}`, fields: [required('key', 'int', keyId), required('value', valueType, valueId)] },
  }, fieldId)

/** The `partition` struct of spec 0 (identity(event_date), identity(event_hour)). */
const partitionRecord: AvroSchema = {
  type: 'record',
  name: 'r102',
  fields: [optional('event_date', { type: 'int', logicalType: 'date' }, 1000), optional('event_hour', 'int', 1001)],
}

export const MANIFEST_ENTRY_SCHEMA: AvroSchema = {
  type: 'record',
  name: 'manifest_entry',
  fields: [
    required('status', 'int', 0),
    optional('snapshot_id', 'long', 1),
    optional('sequence_number', 'long', 3),
    optional('file_sequence_number', 'long', 4),
    required('data_file', {
      type: 'record',
      name: 'r2',
      fields: [
        required('content', 'int', 134),
        required('file_path', 'string', 100),
        required('file_format', 'string', 101),
        required('partition', partitionRecord, 102),
        required('record_count', 'long', 103),
        required('file_size_in_bytes', 'long', 104),
        intMap('column_sizes', 108, 117, 118, 'long'),
        intMap('value_counts', 109, 119, 120, 'long'),
        intMap('null_value_counts', 110, 121, 122, 'long'),
        intMap('nan_value_counts', 137, 138, 139, 'long'),
        intMap('lower_bounds', 125, 126, 127, 'bytes'),
        intMap('upper_bounds', 128, 129, 130, 'bytes'),
        optional('key_metadata', 'bytes', 131),
        optional('split_offsets', { type: 'array', items: 'long', 'element-id': 133 }, 132),
        optional('equality_ids', { type: 'array', items: 'int', 'element-id': 136 }, 135),
        optional('sort_order_id', 'int', 140),
      ],
    }, 2),
  ],
}

export const MANIFEST_FILE_SCHEMA: AvroSchema = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    required('manifest_path', 'string', 500),
    required('manifest_length', 'long', 501),
    required('partition_spec_id', 'int', 502),
    required('content', 'int', 517),
    required('sequence_number', 'long', 515),
    required('min_sequence_number', 'long', 516),
    required('added_snapshot_id', 'long', 503),
    required('added_files_count', 'int', 504),
    required('existing_files_count', 'int', 505),
    required('deleted_files_count', 'int', 506),
    required('added_rows_count', 'long', 512),
    required('existing_rows_count', 'long', 513),
    required('deleted_rows_count', 'long', 514),
    optional('partitions', {
      type: 'array',
      'element-id': 508,
      items: {
        type: 'record',
        name: 'r508',
        fields: [
          required('contains_null', 'boolean', 509),
          optional('contains_nan', 'boolean', 518),
          optional('lower_bound', 'bytes', 510),
          optional('upper_bound', 'bytes', 511),
        ],
      },
    }, 507),
    optional('key_metadata', 'bytes', 519),
  ],
}

const manifestEntryType = typeOf(MANIFEST_ENTRY_SCHEMA)
const manifestFileType = typeOf(MANIFEST_FILE_SCHEMA)

export interface IntMapEntry<V> {
  key: number
  value: V
}

export interface DataFileRecord {
  content: number
  file_path: string
  file_format: string
  partition: { event_date: number | null; event_hour: number | null }
  record_count: bigint
  file_size_in_bytes: bigint
  column_sizes: Array<IntMapEntry<bigint>> | null
  value_counts: Array<IntMapEntry<bigint>> | null
  null_value_counts: Array<IntMapEntry<bigint>> | null
  nan_value_counts: Array<IntMapEntry<bigint>> | null
  lower_bounds: Array<IntMapEntry<Buffer>> | null
  upper_bounds: Array<IntMapEntry<Buffer>> | null
  key_metadata: Buffer | null
  split_offsets: bigint[] | null
  equality_ids: number[] | null
  sort_order_id: number | null
}

export interface ManifestEntryRecord {
  /** 0 existing, 1 added, 2 deleted. */
  status: number
  snapshot_id: bigint | null
  sequence_number: bigint | null
  file_sequence_number: bigint | null
  data_file: DataFileRecord
}

export interface PartitionFieldSummary {
  contains_null: boolean
  contains_nan: boolean | null
  lower_bound: Buffer | null
  upper_bound: Buffer | null
}

export interface ManifestFileRecord {
  manifest_path: string
  manifest_length: bigint
  partition_spec_id: number
  content: number
  sequence_number: bigint
  min_sequence_number: bigint
  added_snapshot_id: bigint
  added_files_count: number
  existing_files_count: number
  deleted_files_count: number
  added_rows_count: bigint
  existing_rows_count: bigint
  deleted_rows_count: bigint
  partitions: PartitionFieldSummary[] | null
  key_metadata: Buffer | null
}

async function encodeContainer(type: avro.Type, schema: AvroSchema, records: readonly unknown[], metadata: Record<string, string>): Promise<Buffer> {
  if (records.length === 0) throw new ZombiError('INVALID_ARGUMENT', 'refusing to write an Avro file without records')
  const header: Record<string, Buffer> = {}
  for (const [name, value] of Object.entries(metadata)) header[name] = Buffer.from(value, 'utf8')
  header['avro.schema'] = Buffer.from(JSON.stringify(schema), 'utf8')
  // `metadata` is a BlockEncoder option avsc's typings leave out; it overrides the printed schema.
  const options = { codec: 'deflate', metadata: header } as Partial<avro.EncoderOptions>
  const encoder = new avro.streams.BlockEncoder(type as unknown as avro.Schema, options)
  const chunks: Buffer[] = []
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => chunks.push(chunk))
  const done = new Promise<void>((resolve, reject) => {
    sink.on('end', resolve)
    encoder.on('error', reject)
  })
  encoder.pipe(sink)
  for (const record of records) encoder.write(record)
  encoder.end()
  await done
  return Buffer.concat(chunks)
}

async function decodeContainer<T>(bytes: Buffer): Promise<{ records: T[]; metadata: Map<string, Buffer> }> {
  const records: T[] = []
  const metadata = new Map<string, Buffer>()
  const decoder = new avro.streams.BlockDecoder({ parseHook: (schema: avro.Schema) => typeOf(schema as AvroSchema) })
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
      for (const [name, value] of Object.entries(header.meta)) metadata.set(name, value)
    })
    decoder.on('data', (record: T) => records.push(record))
    decoder.on('end', resolve)
    decoder.on('error', reject)
  })
  decoder.end(bytes)
  await done
  return { records, metadata }
}

/** A manifest file (content "data"); the metadata keys Iceberg readers look for are filled in. */
export function encodeManifest(entries: readonly ManifestEntryRecord[], tableSchemaJson: string, partitionSpecJson: string, specId: number, schemaId: number): Promise<Buffer> {
  return encodeContainer(manifestEntryType, MANIFEST_ENTRY_SCHEMA, entries, {
    schema: tableSchemaJson,
    'schema-id': String(schemaId),
    'partition-spec': partitionSpecJson,
    'partition-spec-id': String(specId),
    'format-version': '2',
    content: 'data',
  })
}

export function encodeManifestList(manifests: readonly ManifestFileRecord[], snapshotId: bigint, parentSnapshotId: bigint | null, sequenceNumber: bigint): Promise<Buffer> {
  return encodeContainer(manifestFileType, MANIFEST_FILE_SCHEMA, manifests, {
    'snapshot-id': snapshotId.toString(),
    'parent-snapshot-id': parentSnapshotId === null ? 'null' : parentSnapshotId.toString(),
    'sequence-number': sequenceNumber.toString(),
    'format-version': '2',
  })
}

export async function decodeManifestList(bytes: Buffer): Promise<ManifestFileRecord[]> {
  return (await decodeContainer<ManifestFileRecord>(bytes)).records
}

export async function decodeManifest(bytes: Buffer): Promise<{ entries: ManifestEntryRecord[]; metadata: Map<string, Buffer> }> {
  const { records, metadata } = await decodeContainer<ManifestEntryRecord>(bytes)
  return { entries: records, metadata }
}
