// Confluent's compatibility levels over the three formats. BACKWARD: the new schema reads data written
// with the old one (consumers upgrade first); FORWARD: the old schema reads data written with the new one
// (producers upgrade first); FULL: both. Without _TRANSITIVE only the latest live version is checked,
// with it every live version.
import type { ParsedSchema } from '../parse.ts'
import { avroReadErrors } from './avro.ts'
import { jsonSchemaReadErrors } from './json-schema.ts'
import { protobufReadErrors } from './protobuf.ts'

export const COMPATIBILITY_LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number]

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value)
}

/** Why `reader` cannot read data written with `writer`; `writerIsOlder` says which of them is the registered one. */
function readErrors(reader: ParsedSchema, writer: ParsedSchema, writerIsOlder: boolean): string[] {
  if (reader.type !== writer.type) return [`schema type changed from ${writerIsOlder ? writer.type : reader.type} to ${writerIsOlder ? reader.type : writer.type}`]
  if (reader.type === 'AVRO' && writer.type === 'AVRO') return avroReadErrors(reader.avro, writer.avro)
  if (reader.type === 'JSON' && writer.type === 'JSON') return jsonSchemaReadErrors(reader.json, writer.json)
  if (reader.type === 'PROTOBUF' && writer.type === 'PROTOBUF') {
    return protobufReadErrors({ root: reader.proto, packageName: reader.packageName }, { root: writer.proto, packageName: writer.packageName }, writerIsOlder)
  }
  return []
}

export interface PreviousVersion {
  version: number
  parsed: ParsedSchema
}

/**
 * Messages saying why `candidate` breaks `level` against the subject's live versions (oldest first);
 * empty when it is compatible.
 */
export function compatibilityErrors(level: CompatibilityLevel, candidate: ParsedSchema, previous: readonly PreviousVersion[]): string[] {
  if (level === 'NONE' || previous.length === 0) return []
  const against = level.endsWith('_TRANSITIVE') ? [...previous].reverse() : [previous[previous.length - 1]!]
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL')
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL')
  const messages: string[] = []
  for (const { version, parsed } of against) {
    if (backward) {
      for (const error of readErrors(candidate, parsed, true)) messages.push(`the new schema cannot read data written with version ${version} (${level}): ${error}`)
    }
    if (forward) {
      for (const error of readErrors(parsed, candidate, false)) messages.push(`version ${version} cannot read data written with the new schema (${level}): ${error}`)
    }
  }
  return messages
}
