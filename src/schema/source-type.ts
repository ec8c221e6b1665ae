// The shape of a decoded record value, common to Avro, Protobuf and JSON Schema: what a table's
// typed columns are made from (the Iceberg side assigns the field ids). The primitive names are
// Iceberg's, so the mapping of each format says once which Iceberg type a construct becomes.
// Decoders (decoders.ts) produce values in the conventions documented on SourceType.

/**
 * Values a decoder yields per primitive: boolean -> boolean; int, float, double -> number;
 * long -> number or bigint; date -> days since 1970-01-01; time -> microseconds of the day;
 * timestamp, timestamptz -> microseconds since the epoch (number or bigint); string -> string;
 * binary -> Uint8Array.
 */
export type SourcePrimitive = 'boolean' | 'int' | 'long' | 'float' | 'double' | 'date' | 'time' | 'timestamp' | 'timestamptz' | 'string' | 'binary'

/**
 * decimal -> bigint (the unscaled value); fixed -> Uint8Array of `size` bytes; struct -> an object
 * keyed by field name (a missing or undefined field is null); list -> an array; map -> an array of
 * [key, value] pairs.
 */
export type SourceType =
  | { kind: 'primitive'; type: SourcePrimitive }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'fixed'; size: number }
  | { kind: 'struct'; fields: SourceField[] }
  | { kind: 'list'; element: SourceType; elementOptional: boolean }
  | { kind: 'map'; key: SourceType; value: SourceType; valueOptional: boolean }

export interface SourceField {
  name: string
  type: SourceType
  /** The field may be null (an Avro union with null, a proto3 field, a JSON property not listed as required). */
  optional: boolean
}

export type StructSource = Extract<SourceType, { kind: 'struct' }>

export const primitive = (type: SourcePrimitive): SourceType => ({ kind: 'primitive', type })
