// Avro compatibility is Avro's own schema resolution (the specification's "Schema Resolution"): a reader
// schema can read data of a writer schema when avsc can build a resolver between them. That covers
// every rule of the specification: matching names and aliases, fields added without a default, removed
// fields, promotions (int to long, float or double; long to float or double; float to double; string
// and bytes), enum symbols missing from the reader (unless it has a default), and unions.
import type avro from 'avsc'

/** Why `reader` cannot read data written with `writer`, or nothing when it can. */
export function avroReadErrors(reader: avro.Type, writer: avro.Type): string[] {
  try {
    reader.createResolver(writer)
    return []
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)]
  }
}
