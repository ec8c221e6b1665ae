// An HTTP proxy in front of the reference REST catalog server, for what the server itself does not
// do: record each request (to see the client's auth headers), lose an answer, answer 401 once,
// hold a commit while another client commits first. Requests go to the real server unless a
// test's handler decides otherwise.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { once } from 'node:events'

export interface ProxiedRequest {
  method: string
  /** Path and query, e.g. /v1/namespaces/zombi/tables/orders. */
  path: string
  headers: IncomingHttpHeaders
  body: string
}

export interface ProxiedResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** Decides a request's answer; `forward` sends it (or a changed copy) to the real server. */
export type ProxyHandler = (request: ProxiedRequest, forward: (request?: ProxiedRequest) => Promise<ProxiedResponse>) => Promise<ProxiedResponse>

export class CatalogProxy {
  readonly url: string
  readonly requests: ProxiedRequest[] = []
  handler: ProxyHandler = (request, forward) => forward(request)
  readonly #server: Server

  private constructor(server: Server, url: string) {
    this.#server = server
    this.url = url
  }

  static async start(target: string): Promise<CatalogProxy> {
    let proxy: CatalogProxy | null = null
    const server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('end', () => {
        const request: ProxiedRequest = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') }
        proxy!.requests.push(request)
        const forward = async (sent: ProxiedRequest = request): Promise<ProxiedResponse> => {
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(sent.headers)) {
            if (typeof value === 'string' && !['host', 'content-length', 'connection', 'accept-encoding'].includes(name)) headers[name] = value
          }
          const answer = await fetch(`${target}${sent.path}`, { method: sent.method, headers, body: sent.method === 'GET' || sent.method === 'HEAD' ? undefined : sent.body })
          const answerHeaders: Record<string, string> = {}
          answer.headers.forEach((value, name) => {
            if (name === 'content-type' || name === 'etag' || name === 'retry-after') answerHeaders[name] = value
          })
          return { status: answer.status, headers: answerHeaders, body: await answer.text() }
        }
        proxy!.handler(request, forward).then((response) => {
          outgoing.writeHead(response.status, response.headers).end(response.body)
        }, (error: unknown) => {
          outgoing.writeHead(599).end(String(error))
        })
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('proxy has no port')
    proxy = new CatalogProxy(server, `http://127.0.0.1:${address.port}`)
    return proxy
  }

  /** Requests whose method and path (without query) match. */
  matching(method: string, path: RegExp): ProxiedRequest[] {
    return this.requests.filter((request) => request.method === method && path.test(request.path.split('?')[0]!))
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise((resolve) => this.#server.close(resolve))
  }
}
