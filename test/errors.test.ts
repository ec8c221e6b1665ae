// Every error code Zombi has, with its meaning (after fastify's test/internals/errors.test.js): a code
// added, renamed, removed or given another meaning, HTTP status or problem fails here until this list
// says so too, because codes are what operators and HTTP clients match on.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ERRORS, HttpProblem, ZombiError, hasCode, isStorageFull, type ZombiErrorCode } from '../src/errors.ts'
import { ErrorCode, errorName, isRetriable } from '../src/protocol/generated/errors.ts'
import { ProtocolDecodeError } from '../src/protocol/reader.ts'

/** `CODE: meaning`, and for HTTP problems `CODE status error-field: meaning`. */
const EXPECTED = [
  'CONFIG_INVALID: a ZOMBI_* setting or flag is unknown, lacks a value or is invalid',
  "INVALID_ARGUMENT: a call got a value it refuses (a bug in the caller, not a client's input or the stored data)",
  'INVALID_STATE: a call came at the wrong moment: opening twice, using a closed pool, a worker module loaded on the main thread',
  'STORAGE_FAILED: reading or writing the hot store failed; after a failed append it accepts no further writes',
  'STORAGE_FULL: the disk is full: the write was refused or rolled back, nothing of it is stored; retry once space returns',
  'STORAGE_CLOSED: the hot store is not open (yet, or any more)',
  'STORAGE_CORRUPT: stored bytes are not what Zombi wrote: an unknown format version or frame kind, a truncated segment',
  'PROTOCOL_MALFORMED: bytes from a client do not decode: a truncated field, a bad length, records overrunning their batch, an unknown codec',
  'CATALOG_COMMIT_CONFLICT: another writer committed the table first; reload it and try again',
  'CATALOG_UNAVAILABLE: the Iceberg REST catalog did not answer (unreachable, timed out) or kept failing with 429/5xx after retries',
  'CATALOG_REQUEST_FAILED: the Iceberg REST catalog refused a request or answered what Zombi cannot use: rejected credentials, a missing endpoint, an unexpected status or body',
  "CATALOG_COMMIT_UNKNOWN: a commit got no definite answer (the catalog's or the object store's answer lost through every retry) and is not (yet) in the table: it may still land, so its files stay until the table is read again",
  'ICEBERG_RANGE_COMMITTED: the table already holds offsets of the range being committed; nothing was committed',
  'ICEBERG_METADATA_INVALID: table metadata does not parse or does not hold what it must',
  'ICEBERG_REWRITE_CONFLICT: data files a compaction rewrote are no longer live in the table (another writer removed or replaced them, or the topic was recreated); the compaction committed nothing and removed its new files',
  "ICEBERG_FILE_MISSING: a file the table's metadata refers to is missing from the warehouse",
  'ENCODE_FAILED: a Parquet encode job failed or its worker thread exited',
  'TYPED_SCHEMA_UNSUPPORTED: a registered schema has a construct no table column can hold (a recursive type, a union of several non-null JSON types, a top-level value that is not a record), or it does not parse',
  'TYPED_SCHEMA_INCOMPATIBLE: a schema would change a typed table column in a way Iceberg cannot evolve (a type other than int->long, float->double or a wider decimal, a struct becoming a list...); its records go to the dead-letter table',
  'TYPED_RECORD_UNDECODABLE: a record value does not decode with its schema (wrong magic byte, unknown schema id, bad bytes, a value the table cannot hold); it goes to the dead-letter table',
  'OBJECT_STORE_UNAVAILABLE: the object store kept failing (throttling, 5xx answers, reset connections, timeouts) through every retry; the message names the operation, the key and the last error',
  'SASL_AUTHENTICATION_FAILED: a SASL exchange failed (unknown user, wrong password, invalid or expired token, malformed or out-of-order message); the client gets SASL_AUTHENTICATION_FAILED and the connection is closed',
  'OBJECT_STORE_FAILED: the object store refused a request that retrying would not fix (access denied, no such bucket, an unexpected answer); the message names the operation and the key',
  'HTTP_INVALID_REQUEST 400 invalid_request: the request is malformed or fails its schema',
  'HTTP_INVALID_ENCODING 400 invalid_encoding: the body is not UTF-8, or a JSON string holds a lone surrogate',
  'HTTP_INVALID_TABLE 400 invalid_table: the table name is not a valid Kafka topic name',
  'HTTP_OFFSET_OUT_OF_RANGE 400 offset_out_of_range: the offset is below the log start: deleted (DeleteRecords, topic retention), or gone from the hot log with no Iceberg reader configured',
  'HTTP_UNAUTHORIZED 401 unauthorized: the request did not authenticate (no, malformed or wrong credentials, an invalid or expired token); WWW-Authenticate names the accepted schemes',
  'HTTP_FORBIDDEN 403 forbidden: the authenticated principal may not do this: the ACLs do not allow it',
  'HTTP_NOT_FOUND 404 not_found: no such route, table or partition',
  'HTTP_METHOD_NOT_ALLOWED 405 method_not_allowed: the path exists with other methods (listed in Allow)',
  'HTTP_REQUEST_TIMEOUT 408 request_timeout: the request was not received in time',
  'HTTP_TABLE_EXISTS 409 table_exists: PUT /tables/{t} for a table (topic) that already exists; change its configs with PATCH /tables/{t}/config',
  'HTTP_GROUP_ACTIVE 409 group_active: the group has active Kafka members; only they commit its offsets',
  'HTTP_PAYLOAD_TOO_LARGE 413 payload_too_large: the body is over the body limit',
  "HTTP_RECORD_TOO_LARGE 413 record_too_large: a record does not fit in a record batch of the table's max.message.bytes",
  'HTTP_UNSUPPORTED_MEDIA_TYPE 415 unsupported_media_type: the body is not JSON',
  'HTTP_BACKPRESSURE 429 backpressure: too many writes or bytes in flight; retry after Retry-After',
  'HTTP_HEADERS_TOO_LARGE 431 headers_too_large: the request line and headers are over 16 KiB',
  'HTTP_INTERNAL 500 internal: an unexpected error; the broker log has it',
  "HTTP_INSUFFICIENT_STORAGE 507 insufficient_storage: the broker's disk is full; nothing was stored, retry after Retry-After",
  'ICEBERG_REST_BAD_REQUEST 400 BadRequestException: a request to the Iceberg REST catalog is malformed: a bad page token or size, an unknown snapshots mode',
  'ICEBERG_REST_NO_SUCH_NAMESPACE 404 NoSuchNamespaceException: the Iceberg REST catalog serves one namespace, ZOMBI_CATALOG_NAMESPACE; this is another',
  'ICEBERG_REST_NO_SUCH_TABLE 404 NoSuchTableException: no table of that name in the Iceberg REST catalog: no such topic, or nothing of it flushed yet',
  'ICEBERG_REST_READ_ONLY 406 UnsupportedOperationException: a write through the Iceberg REST catalog: its tables are written only by Zombi, from the Kafka topics',
  'REGISTRY_SUBJECT_NOT_FOUND 404 40401: the schema registry has no such subject (or only soft-deleted versions of it, unless deleted=true)',
  'REGISTRY_VERSION_NOT_FOUND 404 40402: the subject has no such version (or it is soft-deleted, unless deleted=true)',
  'REGISTRY_SCHEMA_NOT_FOUND 404 40403: no schema with that id, or the schema is not registered under that subject',
  'REGISTRY_SUBJECT_SOFT_DELETED 404 40404: the subject is already soft-deleted; delete it with permanent=true to remove it',
  'REGISTRY_SUBJECT_NOT_SOFT_DELETED 404 40405: a subject must be soft-deleted before it is deleted with permanent=true',
  'REGISTRY_VERSION_SOFT_DELETED 404 40406: the version is already soft-deleted; delete it with permanent=true to remove it',
  'REGISTRY_VERSION_NOT_SOFT_DELETED 404 40407: a version must be soft-deleted before it is deleted with permanent=true',
  'REGISTRY_SUBJECT_CONFIG_NOT_FOUND 404 40408: the subject has no compatibility level of its own (ask with defaultToGlobal=true for the one that applies)',
  "REGISTRY_INCOMPATIBLE 409 409: the schema breaks the subject's compatibility level against its registered versions; the message says how",
  'REGISTRY_INVALID_SCHEMA 422 42201: the schema does not parse as its type (AVRO, JSON, PROTOBUF), names an unknown type or reference, or is over the size limit',
  'REGISTRY_INVALID_VERSION 422 42202: a version is neither an integer from 1 to 2^31-1 (or -1) nor "latest"',
  'REGISTRY_INVALID_COMPATIBILITY 422 42203: a compatibility level is not one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, or the config holds a field the registry does not implement',
  'REGISTRY_INVALID_MODE 422 42204: a mode other than READWRITE, the only one the registry implements',
  "REGISTRY_NOT_PERMITTED 422 42205: the registry holds its maximum of schema versions or schema bytes (ZOMBI_SCHEMA_REGISTRY_MAX_*), or the request asks for what it does not implement (data contracts' metadata and rules, a chosen id or version of IMPORT mode)",
  'REGISTRY_REFERENCE_EXISTS 422 42206: another registered schema references this version; delete that one first',
  'REGISTRY_STORE_ERROR 500 50001: the registry could not store the change (hot store failure or full disk); nothing of it was kept',
]

const srcDir = fileURLToPath(new URL('../src/', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(file) : file.endsWith('.ts') ? [file] : []
  })
}

describe('error catalogue', () => {
  it('lists every code with its meaning, and HTTP problems with their status and error field', () => {
    const listed = Object.entries(ERRORS).map(([code, entry]) => ('status' in entry ? `${code} ${entry.status} ${entry.problem}: ${entry.meaning}` : `${code}: ${entry.meaning}`))
    expect(listed).toEqual(EXPECTED)
  })

  it('is frozen, so no module adds or changes a code at run time', () => {
    expect(Object.isFrozen(ERRORS)).toBe(true)
    for (const entry of Object.values(ERRORS)) expect(Object.isFrozen(entry)).toBe(true)
  })

  it('gives every HTTP problem its own error field', () => {
    const problems = Object.values(ERRORS).flatMap((entry) => ('problem' in entry ? [entry.problem] : []))
    expect(new Set(problems).size).toBe(problems.length)
  })

  it('has no code that nothing raises', () => {
    const text = sourceFiles(srcDir).filter((file) => !file.endsWith(`${path.sep}errors.ts`)).map((file) => readFileSync(file, 'utf8')).join('\n')
    const unused = Object.keys(ERRORS).filter((code) => !text.includes(`'${code}'`) && !text.includes(`ERRORS.${code}`))
    expect(unused).toEqual([])
  })

  it('builds errors that carry their code, and HTTP problems their status and error field', () => {
    const cause = new Error('ENOSPC')
    const full = new ZombiError('STORAGE_FULL', 'the disk is full', { cause })
    expect(full).toMatchObject({ name: 'ZombiError', code: 'STORAGE_FULL', message: 'the disk is full', cause })
    expect([isStorageFull(full), hasCode(full, 'STORAGE_FAILED'), hasCode(new Error('x'), 'STORAGE_FULL')]).toEqual([true, false, false])
    const problem = new HttpProblem('HTTP_BACKPRESSURE', 'too many writes', 1)
    expect(problem).toBeInstanceOf(ZombiError)
    expect(problem).toMatchObject({ name: 'HttpProblem', code: 'HTTP_BACKPRESSURE', status: 429, problem: 'backpressure', retryAfterSecs: 1 })
    const malformed = new ProtocolDecodeError('truncated')
    expect(malformed).toBeInstanceOf(ZombiError)
    expect(malformed).toMatchObject({ name: 'ProtocolDecodeError', code: 'PROTOCOL_MALFORMED' satisfies ZombiErrorCode })
  })
})

describe('Kafka error codes', () => {
  it('are typed constants generated from protocol/errors.json, with names and retriability', () => {
    const tooLarge: ErrorCode = ErrorCode.MESSAGE_TOO_LARGE
    expect([tooLarge, errorName(tooLarge), isRetriable(tooLarge)]).toEqual([10, 'MESSAGE_TOO_LARGE', false])
    expect([ErrorCode.NONE, ErrorCode.UNKNOWN_SERVER_ERROR, ErrorCode.KAFKA_STORAGE_ERROR]).toEqual([0, -1, 56])
    expect(isRetriable(ErrorCode.KAFKA_STORAGE_ERROR)).toBe(true)
    expect(errorName(12345)).toBe('UNKNOWN_ERROR_CODE_12345')
  })
})
