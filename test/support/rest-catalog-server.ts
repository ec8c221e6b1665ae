// The Iceberg project's reference REST catalog (RESTCatalogServer from iceberg-open-api's test
// fixtures) as a child JVM on a free port, backed by an in-memory sqlite JdbcCatalog: one per test
// file. Its jars come from test/support/iceberg-rest/fetch.sh (cached in .cache after the first run).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from './ports.ts'

export interface RestCatalogServerOptions {
  /** The server's warehouse location (file:///… or s3://bucket/…); Zombi gives tables explicit locations anyway. */
  warehouse: string
  /** Write metadata through S3FileIO to this S3 endpoint (path-style, e.g. moto) instead of HadoopFileIO. */
  s3?: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }
}

export interface RestCatalogServer {
  url: string
  /** The server's log so far (for failure messages). */
  log(): string
  stop(): Promise<void>
}

const FETCH = fileURLToPath(new URL('./iceberg-rest/fetch.sh', import.meta.url))
const STARTUP_LIMIT_MS = 120_000
const LOG_LIMIT = 64 * 1024

let libsDir: Promise<string> | null = null

/** The directory of the server's jars, fetched once per process. */
export function restCatalogServerLibs(): Promise<string> {
  libsDir ??= promisify(execFile)('bash', [FETCH], { maxBuffer: 1 << 20 }).then(({ stdout }) => stdout.trim().split('\n').at(-1)!)
  return libsDir
}

export async function startRestCatalogServer(options: RestCatalogServerOptions): Promise<RestCatalogServer> {
  const libs = await restCatalogServerLibs()
  const port = await freePort()
  // RESTCatalogServer reads its catalog properties from CATALOG_* variables: `__` becomes `-`, `_` becomes `.`.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CATALOG_REST_PORT: String(port),
    CATALOG_WAREHOUSE: options.warehouse,
    CATALOG_URI: 'jdbc:sqlite::memory:',
    // Every connection to :memory: is a database of its own: one connection, or tables come and go.
    CATALOG_CLIENTS: '1',
  }
  if (options.s3 !== undefined) {
    Object.assign(env, {
      CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
      CATALOG_S3_ENDPOINT: options.s3.endpoint,
      CATALOG_S3_PATH__STYLE__ACCESS: 'true',
      CATALOG_S3_ACCESS__KEY__ID: options.s3.accessKeyId,
      CATALOG_S3_SECRET__ACCESS__KEY: options.s3.secretAccessKey,
      CATALOG_CLIENT_REGION: options.s3.region,
      AWS_REGION: options.s3.region,
    })
  }
  const child = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`, 'org.apache.iceberg.rest.RESTCatalogServer'], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-LOG_LIMIT)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = once(child, 'exit')
  const url = `http://127.0.0.1:${port}`
  const server: RestCatalogServer = { url, log: () => log, stop: () => stop(child, exited) }
  try {
    await untilAnswering(`${url}/v1/config`, child, () => log)
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

async function untilAnswering(configUrl: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_LIMIT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the REST catalog server exited (${child.exitCode ?? child.signalCode}):\n${log()}`)
    try {
      const response = await fetch(configUrl, { signal: AbortSignal.timeout(2000) })
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the REST catalog server did not answer ${configUrl} within ${STARTUP_LIMIT_MS / 1000} s:\n${log()}`)
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
