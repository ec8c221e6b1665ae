import { expect, test } from 'vitest'
import { decodeManifest, decodeManifestList, encodeManifest, encodeManifestList, MANIFEST_ENTRY_SCHEMA, type ManifestFileRecord } from '../../src/iceberg/avro.ts'

/** The Avro header's metadata map, parsed by hand (independent of avsc). */
function header(bytes: Buffer): Map<string, string> {
  let position = 4
  const varlong = (): number => {
    let value = 0
    let multiplier = 1
    for (;;) {
      const byte = bytes[position++]!
      value += (byte & 0x7f) * multiplier
      if ((byte & 0x80) === 0) break
      multiplier *= 128
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2
  }
  const out = new Map<string, string>()
  for (let count = varlong(); count !== 0; count = varlong()) {
    if (count < 0) varlong() // a negative count is followed by the block's byte size
    for (let i = 0; i < Math.abs(count); i++) {
      const text = (): string => {
        const length = varlong()
        position += length
        return bytes.subarray(position - length, position).toString()
      }
      const key = text()
      out.set(key, text())
    }
  }
  return out
}

const snapshotId = 0x7fffffffffffff01n

const manifest: ManifestFileRecord = {
  manifest_path: 'file:///w/m0.avro', manifest_length: 1234n, partition_spec_id: 0, content: 0, sequence_number: 3n, min_sequence_number: 3n,
  added_snapshot_id: snapshotId, added_files_count: 2, existing_files_count: 0, deleted_files_count: 0, added_rows_count: 10n,
  existing_rows_count: 0n, deleted_rows_count: 0n, partitions: [{ contains_null: false, contains_nan: null, lower_bound: Buffer.from([1, 0, 0, 0]), upper_bound: null }], key_metadata: null,
}

test('manifest lists write the exact schema with field ids into the header and keep 64-bit longs', async () => {
  const bytes = await encodeManifestList([manifest], snapshotId, null, 3n)
  const meta = header(bytes)
  const schema = JSON.parse(meta.get('avro.schema')!) as { fields: Array<{ name: string; 'field-id': number }> }
  expect(schema.fields.map((field) => [field.name, field['field-id']])).toContainEqual(['added_snapshot_id', 503])
  expect(meta.get('snapshot-id')).toBe(snapshotId.toString())
  expect(meta.get('format-version')).toBe('2')
  expect(await decodeManifestList(bytes)).toEqual([manifest])
})

test('manifests carry the table schema, partition spec and content metadata; empty files are refused', async () => {
  const entry = {
    status: 1, snapshot_id: snapshotId, sequence_number: null, file_sequence_number: null,
    data_file: {
      content: 0, file_path: 'file:///w/d.parquet', file_format: 'PARQUET', partition: { event_date: 19800, event_hour: 5 }, record_count: 10n,
      file_size_in_bytes: 999n, column_sizes: null, value_counts: [{ key: 1, value: 10n }], null_value_counts: [{ key: 1, value: 0n }], nan_value_counts: null,
      lower_bounds: [{ key: 1, value: Buffer.alloc(8) }], upper_bounds: [{ key: 1, value: Buffer.alloc(8, 1) }], key_metadata: null, split_offsets: null,
      equality_ids: null, sort_order_id: 1,
    },
  }
  const bytes = await encodeManifest([entry], '{"type":"struct"}', '[]', 0, 0)
  const meta = header(bytes)
  expect(JSON.parse(meta.get('avro.schema')!)).toEqual(MANIFEST_ENTRY_SCHEMA)
  expect(Object.fromEntries([...meta].filter(([key]) => !key.startsWith('avro.')))).toEqual({
    schema: '{"type":"struct"}', 'schema-id': '0', 'partition-spec': '[]', 'partition-spec-id': '0', 'format-version': '2', content: 'data',
  })
  expect((await decodeManifest(bytes)).entries).toEqual([entry])
  await expect(encodeManifest([], '{}', '[]', 0, 0)).rejects.toThrow(/without records/)
})
