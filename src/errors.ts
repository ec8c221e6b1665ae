// Zombi's one error catalogue. Everything Zombi throws is a ZombiError whose `code` names an
// entry of ERRORS; the HTTP API's problems (the `error` field of its error bodies, with their
// status) are entries too. Kafka protocol errors are not exceptions but codes in responses
// (ErrorCode, generated from protocol/errors.json). Codes are stable: test/errors.test.ts lists
// every one, so adding, renaming or removing one is a visible decision.

interface Entry {
  /** What the code means; the message of each error says what happened that time. */
  readonly meaning: string
}

interface HttpEntry extends Entry {
  readonly status: number
  /** The `error` field of the HTTP error body. */
  readonly problem: string
}

function catalogue<const T extends Record<string, Entry | HttpEntry>>(entries: T): Readonly<T> {
  for (const entry of Object.values(entries)) Object.freeze(entry)
  return Object.freeze(entries)
}

export const ERRORS = catalogue({
  CONFIG_INVALID: { meaning: 'a ZOMBI_* setting or flag is unknown, lacks a value or is invalid' },
  INVALID_ARGUMENT: { meaning: 'a call got a value it refuses (a bug in the caller, not a client\'s input or the stored data)' },
  INVALID_STATE: { meaning: 'a call came at the wrong moment: opening twice, using a closed pool, a worker module loaded on the main thread' },
  STORAGE_FAILED: { meaning: 'reading or writing the hot store failed; after a failed append it accepts no further writes' },
  STORAGE_FULL: { meaning: 'the disk is full: the write was refused or rolled back, nothing of it is stored; retry once space returns' },
  STORAGE_CLOSED: { meaning: 'the hot store is not open (yet, or any more)' },
  STORAGE_CORRUPT: { meaning: 'stored bytes are not what Zombi wrote: an unknown format version or frame kind, a truncated segment' },
  PROTOCOL_MALFORMED: { meaning: 'bytes from a client do not decode: a truncated field, a bad length, records overrunning their batch, an unknown codec' },
  CATALOG_COMMIT_CONFLICT: { meaning: 'another writer committed the table first; reload it and try again' },
  CATALOG_UNAVAILABLE: { meaning: 'the Iceberg REST catalog did not answer (unreachable, timed out) or kept failing with 429/5xx after retries' },
  CATALOG_REQUEST_FAILED: { meaning: 'the Iceberg REST catalog refused a request or answered what Zombi cannot use: rejected credentials, a missing endpoint, an unexpected status or body' },
  CATALOG_COMMIT_UNKNOWN: { meaning: "a commit got no definite answer (the catalog's or the object store's answer lost through every retry) and is not (yet) in the table: it may still land, so its files stay until the table is read again" },
  ICEBERG_RANGE_COMMITTED: { meaning: 'the table already holds offsets of the range being committed; nothing was committed' },
  ICEBERG_METADATA_INVALID: { meaning: 'table metadata does not parse or does not hold what it must' },
  ICEBERG_REWRITE_CONFLICT: { meaning: 'data files a compaction rewrote are no longer live in the table (another writer removed or replaced them, or the topic was recreated); the compaction committed nothing and removed its new files' },
  ICEBERG_FILE_MISSING: { meaning: 'a file the table\'s metadata refers to is missing from the warehouse' },
  ENCODE_FAILED: { meaning: 'a Parquet encode job failed or its worker thread exited' },
  TYPED_SCHEMA_UNSUPPORTED: { meaning: 'a registered schema has a construct no table column can hold (a recursive type, a union of several non-null JSON types, a top-level value that is not a record), or it does not parse' },
  TYPED_SCHEMA_INCOMPATIBLE: { meaning: 'a schema would change a typed table column in a way Iceberg cannot evolve (a type other than int->long, float->double or a wider decimal, a struct becoming a list...); its records go to the dead-letter table' },
  TYPED_RECORD_UNDECODABLE: { meaning: 'a record value does not decode with its schema (wrong magic byte, unknown schema id, bad bytes, a value the table cannot hold); it goes to the dead-letter table' },
  OBJECT_STORE_UNAVAILABLE: { meaning: 'the object store kept failing (throttling, 5xx answers, reset connections, timeouts) through every retry; the message names the operation, the key and the last error' },
  SASL_AUTHENTICATION_FAILED: { meaning: 'a SASL exchange failed (unknown user, wrong password, invalid or expired token, malformed or out-of-order message); the client gets SASL_AUTHENTICATION_FAILED and the connection is closed' },
  OBJECT_STORE_FAILED: { meaning: 'the object store refused a request that retrying would not fix (access denied, no such bucket, an unexpected answer); the message names the operation and the key' },

  HTTP_INVALID_REQUEST: { status: 400, problem: 'invalid_request', meaning: 'the request is malformed or fails its schema' },
  HTTP_INVALID_ENCODING: { status: 400, problem: 'invalid_encoding', meaning: 'the body is not UTF-8, or a JSON string holds a lone surrogate' },
  HTTP_INVALID_TABLE: { status: 400, problem: 'invalid_table', meaning: 'the table name is not a valid Kafka topic name' },
  HTTP_OFFSET_OUT_OF_RANGE: { status: 400, problem: 'offset_out_of_range', meaning: 'the offset is below the log start: deleted (DeleteRecords, topic retention), or gone from the hot log with no Iceberg reader configured' },
  HTTP_UNAUTHORIZED: { status: 401, problem: 'unauthorized', meaning: 'the request did not authenticate (no, malformed or wrong credentials, an invalid or expired token); WWW-Authenticate names the accepted schemes' },
  HTTP_FORBIDDEN: { status: 403, problem: 'forbidden', meaning: 'the authenticated principal may not do this: the ACLs do not allow it' },
  HTTP_NOT_FOUND: { status: 404, problem: 'not_found', meaning: 'no such route, table or partition' },
  HTTP_METHOD_NOT_ALLOWED: { status: 405, problem: 'method_not_allowed', meaning: 'the path exists with other methods (listed in Allow)' },
  HTTP_REQUEST_TIMEOUT: { status: 408, problem: 'request_timeout', meaning: 'the request was not received in time' },
  HTTP_TABLE_EXISTS: { status: 409, problem: 'table_exists', meaning: 'PUT /tables/{t} for a table (topic) that already exists; change its configs with PATCH /tables/{t}/config' },
  HTTP_GROUP_ACTIVE: { status: 409, problem: 'group_active', meaning: 'the group has active Kafka members; only they commit its offsets' },
  HTTP_PAYLOAD_TOO_LARGE: { status: 413, problem: 'payload_too_large', meaning: 'the body is over the body limit' },
  HTTP_RECORD_TOO_LARGE: { status: 413, problem: 'record_too_large', meaning: 'a record does not fit in a record batch of the table\'s max.message.bytes' },
  HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, problem: 'unsupported_media_type', meaning: 'the body is not JSON' },
  HTTP_BACKPRESSURE: { status: 429, problem: 'backpressure', meaning: 'too many writes or bytes in flight; retry after Retry-After' },
  HTTP_HEADERS_TOO_LARGE: { status: 431, problem: 'headers_too_large', meaning: 'the request line and headers are over 16 KiB' },
  HTTP_INTERNAL: { status: 500, problem: 'internal', meaning: 'an unexpected error; the broker log has it' },
  HTTP_INSUFFICIENT_STORAGE: { status: 507, problem: 'insufficient_storage', meaning: 'the broker\'s disk is full; nothing was stored, retry after Retry-After' },
  // The embedded Iceberg REST catalog (/iceberg) answers in Iceberg's error shape: the problem is the `type`.
  ICEBERG_REST_BAD_REQUEST: { status: 400, problem: 'BadRequestException', meaning: 'a request to the Iceberg REST catalog is malformed: a bad page token or size, an unknown snapshots mode' },
  ICEBERG_REST_NO_SUCH_NAMESPACE: { status: 404, problem: 'NoSuchNamespaceException', meaning: 'the Iceberg REST catalog serves one namespace, ZOMBI_CATALOG_NAMESPACE; this is another' },
  ICEBERG_REST_NO_SUCH_TABLE: { status: 404, problem: 'NoSuchTableException', meaning: 'no table of that name in the Iceberg REST catalog: no such topic, or nothing of it flushed yet' },
  ICEBERG_REST_READ_ONLY: { status: 406, problem: 'UnsupportedOperationException', meaning: 'a write through the Iceberg REST catalog: its tables are written only by Zombi, from the Kafka topics' },
  // The schema registry (/registry) answers in Confluent's error shape, {"error_code": N, "message"}: the problem is Confluent's error code.
  REGISTRY_SUBJECT_NOT_FOUND: { status: 404, problem: '40401', meaning: 'the schema registry has no such subject (or only soft-deleted versions of it, unless deleted=true)' },
  REGISTRY_VERSION_NOT_FOUND: { status: 404, problem: '40402', meaning: 'the subject has no such version (or it is soft-deleted, unless deleted=true)' },
  REGISTRY_SCHEMA_NOT_FOUND: { status: 404, problem: '40403', meaning: 'no schema with that id, or the schema is not registered under that subject' },
  REGISTRY_SUBJECT_SOFT_DELETED: { status: 404, problem: '40404', meaning: 'the subject is already soft-deleted; delete it with permanent=true to remove it' },
  REGISTRY_SUBJECT_NOT_SOFT_DELETED: { status: 404, problem: '40405', meaning: 'a subject must be soft-deleted before it is deleted with permanent=true' },
  REGISTRY_VERSION_SOFT_DELETED: { status: 404, problem: '40406', meaning: 'the version is already soft-deleted; delete it with permanent=true to remove it' },
  REGISTRY_VERSION_NOT_SOFT_DELETED: { status: 404, problem: '40407', meaning: 'a version must be soft-deleted before it is deleted with permanent=true' },
  REGISTRY_SUBJECT_CONFIG_NOT_FOUND: { status: 404, problem: '40408', meaning: 'the subject has no compatibility level of its own (ask with defaultToGlobal=true for the one that applies)' },
  REGISTRY_INCOMPATIBLE: { status: 409, problem: '409', meaning: "the schema breaks the subject's compatibility level against its registered versions; the message says how" },
  REGISTRY_INVALID_SCHEMA: { status: 422, problem: '42201', meaning: 'the schema does not parse as its type (AVRO, JSON, PROTOBUF), names an unknown type or reference, or is over the size limit' },
  REGISTRY_INVALID_VERSION: { status: 422, problem: '42202', meaning: 'a version is neither an integer from 1 to 2^31-1 (or -1) nor "latest"' },
  REGISTRY_INVALID_COMPATIBILITY: { status: 422, problem: '42203', meaning: 'a compatibility level is not one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, or the config holds a field the registry does not implement' },
  REGISTRY_INVALID_MODE: { status: 422, problem: '42204', meaning: 'a mode other than READWRITE, the only one the registry implements' },
  REGISTRY_NOT_PERMITTED: { status: 422, problem: '42205', meaning: "the registry holds its maximum of schema versions or schema bytes (ZOMBI_SCHEMA_REGISTRY_MAX_*), or the request asks for what it does not implement (data contracts' metadata and rules, a chosen id or version of IMPORT mode)" },
  REGISTRY_REFERENCE_EXISTS: { status: 422, problem: '42206', meaning: 'another registered schema references this version; delete that one first' },
  REGISTRY_STORE_ERROR: { status: 500, problem: '50001', meaning: 'the registry could not store the change (hot store failure or full disk); nothing of it was kept' },
})

export type ZombiErrorCode = keyof typeof ERRORS

/** The codes of HTTP problems: entries with a status. */
export type HttpProblemCode = { [K in ZombiErrorCode]: (typeof ERRORS)[K] extends HttpEntry ? K : never }[ZombiErrorCode]

export class ZombiError extends Error {
  readonly code: ZombiErrorCode

  constructor(code: ZombiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ZombiError'
    this.code = code
  }
}

/** Whether `error` is a ZombiError with `code`. */
export function hasCode(error: unknown, code: ZombiErrorCode): error is ZombiError {
  return error instanceof ZombiError && error.code === code
}

/**
 * A write refused (or rolled back) because the disk is full: nothing of it is stored, the store
 * stays usable and accepts writes again once space returns. Retriable for the writer.
 */
export function isStorageFull(error: unknown): boolean {
  return hasCode(error, 'STORAGE_FULL')
}

/** A client mistake (4xx) or a refusal (429, 507), answered with a JSON error naming the field or the cause. */
export class HttpProblem extends ZombiError {
  declare readonly code: HttpProblemCode
  readonly status: number
  /** The `error` field of the answer. */
  readonly problem: string
  /** Seconds for a Retry-After header, or null for none. */
  readonly retryAfterSecs: number | null

  constructor(code: HttpProblemCode, message: string, retryAfterSecs: number | null = null) {
    super(code, message)
    this.name = 'HttpProblem'
    this.status = ERRORS[code].status
    this.problem = ERRORS[code].problem
    this.retryAfterSecs = retryAfterSecs
  }
}
