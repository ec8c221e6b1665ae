// The HTTP side of the REST catalog client: bearer-token or OAuth2 client-credentials auth (a token
// renewed before it expires and once on a 401), JSON bodies read losslessly (snapshot ids are 63-bit),
// and retries with backoff for the answers that mean "not done, try later".
import { setTimeout as sleep } from 'node:timers/promises'
import { ZombiError } from '../errors.ts'
import { jsonText, parseJson } from './table-metadata.ts'

export interface RestAuth {
  /** A fixed bearer token. */
  token: string | null
  /** `client_id:client_secret` for the client-credentials grant. */
  credential: string | null
  oauth2Uri: string
  scope: string
}

export interface RestResponse {
  status: number
  /** The parsed JSON body, or null when there is none. */
  body: unknown
  headers: Headers
}

/**
 * Which failures a request repeats: `all` for reads and requests that change nothing (no answer,
 * 429, 5xx); `rejected` for a commit, whose 5xx or missing answer leaves its outcome unknown, so only
 * 429 (refused before it was looked at) is safe to repeat.
 */
export type RetryPolicy = 'all' | 'rejected'

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
  retry: RetryPolicy
}

const RETRIED_STATUS = new Set([429, 500, 502, 503, 504])
const MAX_ATTEMPTS = 5
const FIRST_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 5_000

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The server's own words from an Iceberg error body ({ error: { message, type, code } }). */
export function errorText(response: RestResponse): string {
  const error = isObject(response.body) ? response.body.error : undefined
  if (isObject(error)) return `${response.status} ${String(error.type ?? '')}: ${String(error.message ?? '')}`
  return `HTTP ${response.status}`
}

export class RestHttp {
  readonly #auth: RestAuth
  readonly #timeoutMs: number
  #token: string | null
  /** When the OAuth2 token should be replaced (ms since the epoch; Infinity: only on a 401). */
  #renewAtMs = 0
  #fetchingToken: Promise<string> | null = null

  constructor(auth: RestAuth, timeoutMs: number) {
    this.#auth = auth
    this.#timeoutMs = timeoutMs
    this.#token = auth.token
  }

  /**
   * One request, repeated per `retry` with exponential backoff (Retry-After honoured). Returns
   * the last answer, whatever its status; throws CATALOG_UNAVAILABLE when no answer came.
   */
  async request(method: string, url: string, options: RequestOptions): Promise<RestResponse> {
    for (let attempt = 1; ; attempt++) {
      let response: RestResponse
      try {
        response = await this.#authorized(method, url, options)
      } catch (error) {
        // A refused token is final; no answer (from the catalog or its token endpoint) may pass.
        if (error instanceof ZombiError && error.code !== 'CATALOG_UNAVAILABLE') throw error
        if (options.retry === 'all' && attempt < MAX_ATTEMPTS) {
          await sleep(backoffMs(attempt, null))
          continue
        }
        if (error instanceof ZombiError) throw error
        throw new ZombiError('CATALOG_UNAVAILABLE', `REST catalog: ${method} ${url} got no answer: ${describe(error)}`, { cause: error })
      }
      const retried = options.retry === 'all' ? RETRIED_STATUS.has(response.status) : response.status === 429
      if (!retried || attempt >= MAX_ATTEMPTS) return response
      await sleep(backoffMs(attempt, response.headers.get('retry-after')))
    }
  }

  /** Sends with the current token; on a 401 with client credentials, renews the token and sends once more. */
  async #authorized(method: string, url: string, options: RequestOptions): Promise<RestResponse> {
    const response = await this.#send(method, url, options, await this.#bearer(false))
    if (response.status !== 401 || this.#auth.credential === null) return response
    return this.#send(method, url, options, await this.#bearer(true))
  }

  async #bearer(renew: boolean): Promise<string | null> {
    if (this.#auth.credential === null) return this.#token
    if (!renew && this.#token !== null && Date.now() < this.#renewAtMs) return this.#token
    // Concurrent requests share one token request.
    this.#fetchingToken ??= this.#fetchToken().finally(() => {
      this.#fetchingToken = null
    })
    return this.#fetchingToken
  }

  async #fetchToken(): Promise<string> {
    const credential = this.#auth.credential!
    const colon = credential.indexOf(':')
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    // Without a colon the whole credential is the secret, as Iceberg's Java client reads it.
    if (colon >= 0) form.set('client_id', credential.slice(0, colon))
    form.set('client_secret', colon >= 0 ? credential.slice(colon + 1) : credential)
    form.set('scope', this.#auth.scope)
    const url = this.#auth.oauth2Uri
    let answer: Response
    try {
      answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (error) {
      throw new ZombiError('CATALOG_UNAVAILABLE', `REST catalog: the OAuth2 token endpoint ${url} got no answer: ${describe(error)}`, { cause: error })
    }
    const response = await readResponse(answer)
    const body = response.body
    if (response.status !== 200 || !isObject(body) || typeof body.access_token !== 'string') {
      throw new ZombiError('CATALOG_REQUEST_FAILED', `REST catalog: the OAuth2 token endpoint ${url} gave no token (${errorText(response)})`)
    }
    const expiresInSecs = Number(body.expires_in)
    // Renew when 90% of the lifetime has passed (at most a minute early), so no request carries a token about to expire.
    this.#renewAtMs = Number.isFinite(expiresInSecs) && expiresInSecs > 0
      ? Date.now() + expiresInSecs * 1000 - Math.min(60_000, expiresInSecs * 100)
      : Number.POSITIVE_INFINITY
    this.#token = body.access_token
    return body.access_token
  }

  async #send(method: string, url: string, options: RequestOptions, token: string | null): Promise<RestResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
    if (token !== null) headers.authorization = `Bearer ${token}`
    let body: string | undefined
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = jsonText(options.body)
    }
    const answer = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) })
    return readResponse(answer)
  }
}

async function readResponse(answer: Response): Promise<RestResponse> {
  const text = await answer.text()
  let body: unknown = null
  if (text.trim() !== '') {
    try {
      body = parseJson(text)
    } catch {
      body = null // an HTML error page from a proxy: the status tells what happened
    }
  }
  return { status: answer.status, body, headers: answer.headers }
}

function backoffMs(attempt: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? NaN : Number(retryAfter)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(MAX_BACKOFF_MS, seconds * 1000)
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1))
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
    return `${error.message}${cause}`
  }
  return String(error)
}
