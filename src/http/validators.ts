// Request validation for the HTTP door: bodies are JSON and validated as sent (a wrong type is the
// client's mistake, never silently converted); query strings and path parameters are text, so their
// numbers are coerced, but only from plain decimal digits.
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

/** Digits with an optional minus: what a number in a query string may look like (minimum/maximum bound it further). */
const DECIMAL_INTEGER = /^-?[0-9]+$/

type Validator = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => boolean) & Pick<ValidateFunction, 'errors' | 'schemaEnv'>

/** Names of the schema's properties typed integer (query schemas are flat). */
function integerProperties(schema: AnySchema): string[] {
  if (typeof schema !== 'object' || schema.properties === undefined) return []
  const names: string[] = []
  for (const [name, property] of Object.entries(schema.properties as Record<string, { type?: unknown }>)) {
    const type = property.type
    if (type === 'integer' || (Array.isArray(type) && type.includes('integer'))) names.push(name)
  }
  return names
}

/**
 * ajv's coercion reads "0x1" as 1, "1e3" as 1000, " 1" and "1.0" as 1 and "" as 0: a typo would read
 * another offset than the one meant. Integer parameters are checked to be decimal digits first.
 */
function decimalIntegersOnly(validate: ValidateFunction, names: string[]): Validator {
  const strict: Validator = (data, context) => {
    if (typeof data === 'object' && data !== null) {
      for (const name of names) {
        const value = (data as Record<string, unknown>)[name]
        if (typeof value === 'string' && !DECIMAL_INTEGER.test(value)) {
          const error: ErrorObject = { instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, keyword: 'type', params: { type: 'integer' }, message: 'must be an integer in decimal digits (such as 42)' }
          strict.errors = [error]
          return false
        }
      }
    }
    const valid = validate(data, context)
    strict.errors = validate.errors
    return valid
  }
  // Fastify passes the parent object to validators that have one, which lets ajv apply defaults to the root.
  strict.schemaEnv = validate.schemaEnv
  return strict
}

/** The validator compiler for every route; `shared` are the schemas referenced by $ref. */
export function validatorCompiler(shared: readonly AnySchema[]): FastifySchemaCompiler<AnySchema> {
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
  const coercing = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
  for (const schema of shared) {
    strict.addSchema(schema)
    coercing.addSchema(schema)
  }
  return ({ schema, httpPart }) => {
    if (httpPart === 'body') return strict.compile(schema)
    const validate = coercing.compile(schema)
    const integers = integerProperties(schema)
    return integers.length === 0 ? validate : decimalIntegersOnly(validate, integers)
  }
}
