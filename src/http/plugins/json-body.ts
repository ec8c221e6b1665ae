// JSON request bodies, refused unless they are UTF-8 holding well-formed Unicode strings: the strings
// are stored as UTF-8 bytes, and fastify's own parser would replace invalid bytes (and Buffer.from a lone
// surrogate) with U+FFFD, so the stored bytes would silently differ from the ones sent.
import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { HttpProblem } from '../problems.ts'

/** A \u escape of a UTF-16 surrogate (D800-DFFF): only then can a parsed string be ill-formed. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/

const BYTES_HINT = 'send bytes as base64 with "encoding":"base64"'

/** The JSON pointer of the first string (or property name) holding a lone surrogate, or null. */
function illFormedString(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : path
  if (typeof value !== 'object' || value === null) return null
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = illFormedString(value[i], `${path}/${i}`)
      if (found !== null) return found
    }
    return null
  }
  for (const [name, inner] of Object.entries(value)) {
    if (!name.isWellFormed()) return `${path}/${name.toWellFormed()}`
    const found = illFormedString(inner, `${path}/${name}`)
    if (found !== null) return found
  }
  return null
}

/** Replaces fastify's application/json parser with one that checks the encoding first (isUtf8 is native and cheap). */
export function parseJsonStrictly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) {
      done(new HttpProblem('HTTP_INVALID_ENCODING', `the request body is not valid UTF-8; JSON must be UTF-8 text: ${BYTES_HINT}`), undefined)
      return
    }
    const text = body.toString('utf8')
    if (!text.includes('\\u') || !SURROGATE_ESCAPE.test(text)) {
      parseJson(request, text, done)
      return
    }
    parseJson(request, text, (error, parsed) => {
      const path = error === null ? illFormedString(parsed, 'body') : null
      if (path === null) done(error, parsed)
      else done(new HttpProblem('HTTP_INVALID_ENCODING', `${path} holds a lone UTF-16 surrogate (such as \\ud800), which has no UTF-8 form: ${BYTES_HINT}`), undefined)
    })
  })
}
