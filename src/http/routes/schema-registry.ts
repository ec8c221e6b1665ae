// Confluent Schema Registry's REST API over the broker's registry (src/schema/), under /registry: clients
// set schema.registry.url=http://<host>:<port>/registry. Bodies and answers follow Confluent's API
// (application/vnd.schemaregistry.v1+json, errors as {"error_code": N, "message"}); what a request
// means is decided by the registry, this door only translates.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { ERRORS, HttpProblem } from '../../errors.ts'
import { accessResponses } from '../plugins/access.ts'
import type { Metrics } from '../../observability/metrics.ts'
import { COMPATIBILITY_LEVELS, isCompatibilityLevel } from '../../schema/compatibility/index.ts'
import type { RegisteredSchema, SchemaReference, SchemaType, SubjectVersion } from '../../schema/lookup.ts'
import { MAX_SCHEMA_BYTES, SCHEMA_TYPES, type SchemaInput, type SchemaRegistry } from '../../schema/registry.ts'

export interface SchemaRegistryOptions {
  registry: SchemaRegistry
  metrics: Metrics
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
/** What Confluent's registry consumes besides application/json (parsed by the app already). */
const JSON_TYPES = ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/octet-stream']
/** A schema of MAX_SCHEMA_BYTES escaped into a JSON string can double; references and the rest are small. */
const BODY_LIMIT = 2 * MAX_SCHEMA_BYTES + 64 * 1024
const MODE = 'READWRITE'

const tags = ['schema registry']
const error = { type: 'object', properties: { error_code: { type: 'integer' }, message: { type: 'string' } } } as const
const errors = {} as const
const reference = { type: 'object', required: ['name', 'subject', 'version'], properties: { name: { type: 'string' }, subject: { type: 'string' }, version: { type: 'integer' } } } as const
const schemaBody = {
  type: 'object',
  required: ['schema'],
  properties: {
    schema: { type: 'string', description: `Avro or JSON Schema JSON, .proto source or a base64 FileDescriptorProto; at most ${MAX_SCHEMA_BYTES} bytes` },
    schemaType: { type: 'string', enum: [...SCHEMA_TYPES], default: 'AVRO' },
    references: { type: ['array', 'null'], items: reference },
    metadata: { description: 'Data contracts are not implemented: only null or absent' },
    id: { description: 'IMPORT mode is not implemented: only absent, null or 0' },
    version: { description: 'IMPORT mode is not implemented: only absent, null, 0 or -1' },
    ruleSet: { description: 'Data contracts are not implemented: only null or absent' },
  },
} as const
const schemaAnswer = {
  type: 'object',
  properties: {
    subject: { type: 'string' }, version: { type: 'integer' }, id: { type: 'integer' }, schemaType: { type: 'string' },
    schema: { type: 'string' }, references: { type: 'array', items: reference },
  },
} as const
const subjectParams = { type: 'object', properties: { subject: { type: 'string' } } } as const
const versionParams = { type: 'object', properties: { subject: { type: 'string' }, version: { type: 'string', description: 'A version number, -1 or latest' } } } as const
const idParams = { type: 'object', properties: { id: { type: 'string' } } } as const
// Booleans as Confluent's server reads them (Java's Boolean.valueOf): "true" in any case is true, anything else
// false; Confluent's Python client sends normalize=False.
const flag = (description: string) => ({ type: 'string', description: `${description} (true in any case; anything else is false)` }) as const
const isTrue = (value: string | undefined): boolean => value?.toLowerCase() === 'true'
/** An optional flag: absent stays undefined (the subject's or global default applies). */
const optionalFlag = (value: string | undefined): boolean | undefined => (value === undefined ? undefined : isTrue(value))
const deletedQuery = { type: 'object', properties: { deleted: flag('Include soft-deleted subjects or versions') } } as const
const configBody = {
  type: 'object',
  properties: {
    compatibility: { type: 'string', description: `One of ${COMPATIBILITY_LEVELS.join(', ')}` },
    compatibilityLevel: { type: 'string', description: 'The same, under the name GET answers with' },
    normalize: { type: 'boolean', description: 'Normalize schemas registered without a normalize parameter' },
  },
} as const
const configAnswer = { type: 'object', properties: { compatibilityLevel: { type: 'string' }, normalize: { type: 'boolean' } } } as const

type Subject = { Params: { subject: string } }
type Version = { Params: { subject: string; version: string } }
type Flags = { fetchMaxId?: string; deleted?: string; permanent?: string; normalize?: string; verbose?: string; defaultToGlobal?: string; format?: string; subjectPrefix?: string }
type SchemaBody = { schema?: string; schemaType?: SchemaType; references?: SchemaReference[] | null; metadata?: unknown; ruleSet?: unknown; id?: unknown; version?: unknown }

/** Confluent's shape of a schema: schemaType left out for AVRO, references when there are none. */
function schemaFields(schema: RegisteredSchema, text: string): Record<string, unknown> {
  return {
    ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
    ...(schema.references.length === 0 ? {} : { references: schema.references }),
    schema: text,
  }
}

function input(body: SchemaBody | undefined): SchemaInput {
  if (body === undefined || body === null || typeof body.schema !== 'string' || body.schema === '') throw new HttpProblem('REGISTRY_INVALID_SCHEMA', 'Empty schema')
  for (const field of ['metadata', 'ruleSet'] as const) {
    const value = body[field]
    if (value !== undefined && value !== null && !(typeof value === 'object' && Object.keys(value).length === 0)) {
      throw new HttpProblem('REGISTRY_NOT_PERMITTED', `${field} is not supported: this registry does not implement data contracts (metadata and rule sets)`)
    }
  }
  // A chosen id or version is Confluent's IMPORT mode, which this registry does not implement: refused, not ignored.
  for (const field of ['id', 'version'] as const) {
    const value = body[field]
    if (typeof value === 'number' && value > 0) throw new HttpProblem('REGISTRY_NOT_PERMITTED', `a schema ${field} chosen by the client (${value}) needs IMPORT mode, which this registry does not implement; register without it`)
  }
  return { schema: body.schema, schemaType: body.schemaType ?? 'AVRO', references: body.references ?? [] }
}

function schemaId(raw: string): number {
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id)) throw new HttpProblem('REGISTRY_SCHEMA_NOT_FOUND', `Schema ${raw} not found`)
  return id
}

/** The statuses any registry route may answer with besides its own, each a Confluent error body. */
const ERROR_STATUSES: Record<string, string> = {
  400: 'Malformed JSON or query parameter (error_code 400)',
  404: 'Subject, version or schema not found (40401, 40402, 40403), soft-delete states (40404 to 40407), no subject config (40408), no route (404)',
  409: 'Incompatible schema (error_code 409)',
  413: 'Body over the limit (error_code 413)',
  415: 'Not a JSON content type (error_code 415)',
  422: 'Invalid schema (42201), version (42202), compatibility (42203), mode (42204), limits or data contracts (42205), referenced version (42206), body failing its schema (422)',
  500: 'The change could not be stored (50001)',
}

/**
 * Route responses in Confluent's media type, with every error status documented (docs/openapi.yaml is generated from
 * them); `guarded`: the 401 and 403 of ZOMBI_HTTP_AUTH (plugins/access.ts), given the Confluent error body here.
 */
function documentedResponses(responses: Record<string, object> | undefined, guarded: Record<string, object>): Record<string, object> {
  const documented: Record<string, object> = {}
  for (const [status, schema] of Object.entries(responses ?? { 200: {} })) {
    if (!(status in guarded)) documented[status] = { content: { [CONTENT_TYPE]: { schema } } }
  }
  for (const [status, description] of Object.entries(ERROR_STATUSES)) documented[status] ??= { description, content: { [CONTENT_TYPE]: { schema: error } } }
  for (const [status, answer] of Object.entries(guarded)) documented[status] = { ...answer, content: { [CONTENT_TYPE]: { schema: error } } }
  return documented
}

function sendError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type(CONTENT_TYPE).send({ error_code: code, message })
}

export async function schemaRegistryRoutes(app: FastifyInstance, options: SchemaRegistryOptions): Promise<void> {
  const { registry, metrics } = options

  const parseJson = app.getDefaultJsonParser('error', 'error')
  // Confluent's registry reads JSON only: a text/plain body is 415, not a string to validate.
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string', bodyLimit: BODY_LIMIT }, parseJson)
  // Every answer, errors included, is Confluent's media type: set before serialization, which picks the schema by it.
  app.addHook('onRequest', async (_request, reply) => {
    reply.type(CONTENT_TYPE)
  })
  app.addHook('onRoute', (route) => {
    const method = Array.isArray(route.method) ? route.method[0]! : route.method
    route.schema = { ...route.schema, response: documentedResponses(route.schema?.response as Record<string, object> | undefined, accessResponses(method, route.url, {})) }
  })
  app.setErrorHandler((failure: FastifyError | HttpProblem, request, reply) => {
    if (failure instanceof HttpProblem) {
      metrics.errors.inc({ door: 'http', code: failure.problem })
      const code = /^\d+$/.test(failure.problem) ? Number(failure.problem) : failure.status
      return sendError(reply, failure.status, code, failure.message)
    }
    const status = failure.statusCode ?? 500
    if (status < 500) {
      // A body that fails its schema is Confluent's 422 (an unprocessable entity); the rest keep their status.
      const answer = failure.validation !== undefined ? (failure.validationContext === 'body' ? 422 : 400) : status
      metrics.errors.inc({ door: 'http', code: answer === 413 ? ERRORS.HTTP_PAYLOAD_TOO_LARGE.problem : answer === 415 ? ERRORS.HTTP_UNSUPPORTED_MEDIA_TYPE.problem : ERRORS.HTTP_INVALID_REQUEST.problem })
      const where = failure.validation !== undefined ? `${failure.validationContext ?? 'request'}${failure.validation[0]?.instancePath ?? ''} ` : ''
      return sendError(reply, answer, answer, `${where}${failure.validation?.[0]?.message ?? failure.message}`)
    }
    request.log.error(failure)
    metrics.errors.inc({ door: 'http', code: ERRORS.REGISTRY_STORE_ERROR.problem })
    return sendError(reply, 500, 50001, 'Internal error of the schema registry; see the broker log')
  })
  app.setNotFoundHandler((request, reply) => {
    metrics.errors.inc({ door: 'http', code: ERRORS.HTTP_NOT_FOUND.problem })
    return sendError(reply, 404, 404, `HTTP 404 Not Found: no route ${request.method} ${request.url.split('?')[0]}`)
  })

  app.get('/', { schema: { tags, summary: 'Nothing: Confluent clients probe the root', response: { 200: { type: 'object' } } } }, async () => ({}))

  app.get('/schemas/types', { schema: { tags, summary: 'Schema types supported', response: { 200: { type: 'array', items: { type: 'string' } } } } }, async () => [...SCHEMA_TYPES])

  app.get<{ Params: { id: string }; Querystring: Flags }>('/schemas/ids/:id', {
    schema: {
      tags, summary: 'A schema by global id (format=serialized gives Protobuf as a base64 FileDescriptorProto)', params: idParams,
      querystring: { type: 'object', properties: { subject: { type: 'string' }, format: { type: 'string' }, fetchMaxId: flag('Add maxId, the highest id given so far') } },
      response: { 200: { ...schemaAnswer, properties: { ...schemaAnswer.properties, maxId: { type: 'integer' } } }, ...errors },
    },
  }, async (request) => {
    const schema = registry.schemaById(schemaId(request.params.id))
    return { ...schemaFields(schema, registry.formatted(schema, request.query.format)), ...(isTrue(request.query.fetchMaxId) ? { maxId: registry.maxId() } : {}) }
  })

  app.get<{ Params: { id: string } }>('/schemas/ids/:id/schema', { schema: { tags, summary: 'The schema text of a global id', params: idParams } }, async (request, reply) => {
    const schema = registry.schemaById(schemaId(request.params.id))
    return reply.type(CONTENT_TYPE).send(schema.schema)
  })

  app.get<{ Params: { id: string }; Querystring: Flags }>('/schemas/ids/:id/subjects', {
    schema: { tags, summary: 'Subjects holding a global id', params: idParams, querystring: deletedQuery, response: { 200: { type: 'array', items: { type: 'string' } }, ...errors } },
  }, async (request) => [...new Set(registry.usesOf(schemaId(request.params.id), isTrue(request.query.deleted)).map((row) => row.subject))])

  app.get<{ Params: { id: string }; Querystring: Flags }>('/schemas/ids/:id/versions', {
    schema: { tags, summary: 'Subject versions holding a global id', params: idParams, querystring: deletedQuery, response: { 200: { type: 'array', items: { type: 'object', properties: { subject: { type: 'string' }, version: { type: 'integer' } } } }, ...errors } },
  }, async (request) => registry.usesOf(schemaId(request.params.id), isTrue(request.query.deleted)).map(({ subject, version }) => ({ subject, version })))

  app.get<{ Querystring: Flags }>('/subjects', {
    schema: { tags, summary: 'Subjects', querystring: { type: 'object', properties: { deleted: flag('Include soft-deleted subjects'), subjectPrefix: { type: 'string' } } }, response: { 200: { type: 'array', items: { type: 'string' } } } },
  }, async (request) => {
    const prefix = request.query.subjectPrefix ?? ''
    return registry.subjects(isTrue(request.query.deleted)).filter((subject) => subject.startsWith(prefix))
  })

  app.get<Subject & { Querystring: Flags }>('/subjects/:subject/versions', {
    schema: { tags, summary: 'Versions of a subject', params: subjectParams, querystring: deletedQuery, response: { 200: { type: 'array', items: { type: 'integer' } }, ...errors } },
  }, async (request) => registry.versions(request.params.subject, isTrue(request.query.deleted)))

  const versionAnswer = (version: SubjectVersion, format: string | undefined): Record<string, unknown> => ({ subject: version.subject, version: version.version, id: version.id, ...schemaFields(version, registry.formatted(version, format)) })

  app.get<Version & { Querystring: Flags }>('/subjects/:subject/versions/:version', {
    schema: { tags, summary: 'One version of a subject', params: versionParams, querystring: { type: 'object', properties: { deleted: flag('Also a soft-deleted version'), format: { type: 'string' } } }, response: { 200: schemaAnswer, ...errors } },
  }, async (request) => versionAnswer(registry.getVersion(request.params.subject, request.params.version, isTrue(request.query.deleted)), request.query.format))

  app.get<Version & { Querystring: Flags }>('/subjects/:subject/versions/:version/schema', {
    schema: { tags, summary: 'The schema text of one version', params: versionParams, querystring: deletedQuery },
  }, async (request, reply) => reply.type(CONTENT_TYPE).send(registry.getVersion(request.params.subject, request.params.version, isTrue(request.query.deleted)).schema))

  app.get<Version>('/subjects/:subject/versions/:version/referencedby', {
    schema: { tags, summary: 'Global ids of the schemas referencing a version', params: versionParams, response: { 200: { type: 'array', items: { type: 'integer' } }, ...errors } },
  }, async (request) => registry.referencedBy(request.params.subject, request.params.version))

  app.post<Subject & { Querystring: Flags; Body: SchemaBody }>('/subjects/:subject/versions', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags, summary: 'Register a schema under a subject (the same schema again gets its existing id and version)', params: subjectParams,
      querystring: { type: 'object', properties: { normalize: flag('Normalize the schema first (sorted JSON keys; Protobuf in protobufjs JSON form)') } },
      body: schemaBody, response: { 200: { type: 'object', properties: { id: { type: 'integer' } } }, 409: error, ...errors },
    },
  }, async (request) => {
    const { id } = await registry.register(request.params.subject, input(request.body), optionalFlag(request.query.normalize))
    return { id }
  })

  app.post<Subject & { Querystring: Flags; Body: SchemaBody }>('/subjects/:subject', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags, summary: 'Find a schema in a subject', params: subjectParams,
      querystring: { type: 'object', properties: { normalize: flag('Normalize the schema first'), deleted: flag('Also among soft-deleted versions') } },
      body: schemaBody, response: { 200: schemaAnswer, ...errors },
    },
  }, async (request) => versionAnswer(registry.lookup(request.params.subject, input(request.body), optionalFlag(request.query.normalize), isTrue(request.query.deleted)), undefined))

  app.delete<Subject & { Querystring: Flags }>('/subjects/:subject', {
    schema: { tags, summary: 'Soft-delete a subject, or with permanent=true remove a soft-deleted one', params: subjectParams, querystring: { type: 'object', properties: { permanent: flag('Hard delete') } }, response: { 200: { type: 'array', items: { type: 'integer' } }, ...errors } },
  }, async (request) => registry.deleteSubject(request.params.subject, isTrue(request.query.permanent)))

  app.delete<Version & { Querystring: Flags }>('/subjects/:subject/versions/:version', {
    schema: { tags, summary: 'Soft-delete a version, or with permanent=true remove a soft-deleted one', params: versionParams, querystring: { type: 'object', properties: { permanent: flag('Hard delete') } }, response: { 200: { type: 'integer' }, ...errors } },
  }, async (request) => registry.deleteVersion(request.params.subject, request.params.version, isTrue(request.query.permanent)))

  const compatibilitySchema = (summary: string, params: object) => ({
    tags, summary, params, body: schemaBody,
    querystring: { type: 'object', properties: { verbose: flag('Say why in messages'), normalize: flag('Normalize the schema first') } },
    response: { 200: { type: 'object', properties: { is_compatible: { type: 'boolean' }, messages: { type: 'array', items: { type: 'string' } } } }, ...errors },
  })
  const compatibilityAnswer = (messages: string[], verbose: string | undefined) => (isTrue(verbose) ? { is_compatible: messages.length === 0, messages } : { is_compatible: messages.length === 0 })

  app.post<Version & { Querystring: Flags; Body: SchemaBody }>('/compatibility/subjects/:subject/versions/:version', {
    bodyLimit: BODY_LIMIT, schema: compatibilitySchema('Test a schema against one version, in the direction of the subject\'s level', versionParams),
  }, async (request) => compatibilityAnswer(registry.testCompatibility(request.params.subject, request.params.version, input(request.body), optionalFlag(request.query.normalize)), request.query.verbose))

  app.post<Subject & { Querystring: Flags; Body: SchemaBody }>('/compatibility/subjects/:subject/versions', {
    bodyLimit: BODY_LIMIT, schema: compatibilitySchema('Test a schema against the versions the subject\'s level names (the latest, or all with _TRANSITIVE)', subjectParams),
  }, async (request) => compatibilityAnswer(registry.testCompatibility(request.params.subject, null, input(request.body), optionalFlag(request.query.normalize)), request.query.verbose))

  const configUpdate = (body: Record<string, unknown> | undefined): { compatibility?: (typeof COMPATIBILITY_LEVELS)[number]; normalize?: boolean } => {
    const update: { compatibility?: (typeof COMPATIBILITY_LEVELS)[number]; normalize?: boolean } = {}
    for (const [field, value] of Object.entries(body ?? {})) {
      if (value === null || value === undefined) continue
      if (field === 'compatibility' || field === 'compatibilityLevel') {
        if (!isCompatibilityLevel(value)) throw new HttpProblem('REGISTRY_INVALID_COMPATIBILITY', `Invalid compatibility level. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}`)
        update.compatibility = value
      } else if (field === 'normalize' && typeof value === 'boolean') {
        update.normalize = value
      } else {
        throw new HttpProblem('REGISTRY_INVALID_COMPATIBILITY', `config field ${field} is not supported by this registry (only compatibility and normalize)`)
      }
    }
    if (update.compatibility === undefined && update.normalize === undefined) throw new HttpProblem('REGISTRY_INVALID_COMPATIBILITY', `Invalid compatibility level. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}`)
    return update
  }
  // PUT answers with `compatibility` (the request's name), GET and DELETE with `compatibilityLevel`, as Confluent does.
  const putAnswer = (config: { compatibility?: string; normalize?: boolean }, update: { normalize?: boolean }) => ({ compatibility: config.compatibility, ...(update.normalize === undefined ? {} : { normalize: update.normalize }) })
  const getAnswer = (config: { compatibility: string; normalize: boolean }) => ({ compatibilityLevel: config.compatibility, normalize: config.normalize })
  const putConfigSchema = (summary: string, params?: object) => ({ tags, summary, ...(params === undefined ? {} : { params }), body: configBody, response: { 200: { type: 'object', properties: { compatibility: { type: 'string' }, normalize: { type: 'boolean' } } }, ...errors } })

  app.get('/config', { schema: { tags, summary: 'The global compatibility level', response: { 200: configAnswer } } }, async () => getAnswer(registry.config(null, true)))
  app.put<{ Body: Record<string, unknown> }>('/config', { schema: putConfigSchema('Set the global compatibility level') }, async (request) => {
    const update = configUpdate(request.body)
    return putAnswer(await registry.setConfig(null, update), update)
  })
  app.delete('/config', { schema: { tags, summary: 'Reset the global compatibility level to BACKWARD', response: { 200: configAnswer } } }, async () => getAnswer(await registry.deleteConfig(null)))
  app.get<Subject & { Querystring: Flags }>('/config/:subject', {
    schema: { tags, summary: 'A subject\'s compatibility level (with defaultToGlobal, the global one when it has none)', params: subjectParams, querystring: { type: 'object', properties: { defaultToGlobal: flag('Fall back to the global level') } }, response: { 200: configAnswer, ...errors } },
  }, async (request) => getAnswer(registry.config(request.params.subject, isTrue(request.query.defaultToGlobal))))
  app.put<Subject & { Body: Record<string, unknown> }>('/config/:subject', { schema: putConfigSchema('Set a subject\'s compatibility level', subjectParams) }, async (request) => {
    const update = configUpdate(request.body)
    return putAnswer(await registry.setConfig(request.params.subject, update), update)
  })
  app.delete<Subject>('/config/:subject', { schema: { tags, summary: 'Remove a subject\'s own compatibility level', params: subjectParams, response: { 200: configAnswer, ...errors } } }, async (request) => getAnswer(await registry.deleteConfig(request.params.subject)))

  // Only READWRITE is implemented (no IMPORT, READONLY): setting it is accepted, any other mode refused.
  const modeAnswer = { 200: { type: 'object', properties: { mode: { type: 'string' } } }, ...errors }
  const setMode = async (body: { mode?: unknown } | undefined) => {
    if (body?.mode !== MODE) throw new HttpProblem('REGISTRY_INVALID_MODE', `Invalid mode ${JSON.stringify(body?.mode ?? null)}: this registry implements only READWRITE (not READONLY, READONLY_OVERRIDE or IMPORT)`)
    return { mode: MODE }
  }
  const modeBody = { type: 'object', properties: { mode: { type: 'string' } } }
  app.get('/mode', { schema: { tags, summary: 'The registry\'s mode: always READWRITE', response: modeAnswer } }, async () => ({ mode: MODE }))
  app.put<{ Body: { mode?: unknown } }>('/mode', { schema: { tags, summary: 'Set the mode: only READWRITE is accepted', body: modeBody, response: modeAnswer } }, async (request) => setMode(request.body))
  app.get<Subject>('/mode/:subject', { schema: { tags, summary: 'A subject\'s mode: always READWRITE', params: subjectParams, response: modeAnswer } }, async () => ({ mode: MODE }))
  app.put<Subject & { Body: { mode?: unknown } }>('/mode/:subject', { schema: { tags, summary: 'Set a subject\'s mode: only READWRITE is accepted', params: subjectParams, body: modeBody, response: modeAnswer } }, async (request) => setMode(request.body))
  app.delete<Subject>('/mode/:subject', { schema: { tags, summary: 'Remove a subject\'s mode (it stays READWRITE)', params: subjectParams, response: modeAnswer } }, async () => ({ mode: MODE }))
}
