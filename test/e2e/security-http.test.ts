// The HTTP door of a secured broker: HTTPS with the Kafka listeners' certificate, basic auth against the
// SCRAM users and the same ACLs; liveness stays open.
import { readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { makeCertificates, type TestCertificates } from '../support/certificates.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs } from './fixtures/kcat.ts'

let certs: TestCertificates
let broker: Broker

beforeAll(async () => {
  certs = makeCertificates()
  writeFileSync(join(certs.dir, 'users.txt'), 'admin:admin-secret\nalice:alice-secret\n')
  broker = await startBroker({
    ZOMBI_LISTENERS: 'SASL_SSL://127.0.0.1:0',
    ZOMBI_TLS_CERT_FILE: certs.broker.cert, ZOMBI_TLS_KEY_FILE: certs.broker.key,
    ZOMBI_SASL_USERS_FILE: join(certs.dir, 'users.txt'), ZOMBI_SUPER_USERS: 'User:admin',
    ZOMBI_HTTP_TLS: 'true', ZOMBI_HTTP_AUTH: 'basic',
  })
})

afterAll(async () => {
  await broker?.cleanup()
  certs?.cleanup()
})

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function call(method: string, path: string, user: string | null, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
    if (user !== null) headers.authorization = `Basic ${Buffer.from(`${user}:${user}-secret`).toString('base64')}`
    const req = request(`${broker.httpUrl}${path}`, { method, headers, ca: readFileSync(certs.caFile) }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, headers: response.headers }))
    })
    req.once('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

describe('HTTPS with basic auth and ACLs', () => {
  test('serves HTTPS with the broker certificate; liveness is open, the rest needs credentials', async () => {
    expect(broker.httpUrl).toMatch(/^https:/)
    expect((await call('GET', '/health/live', null)).status).toBe(200)
    const anonymous = await call('GET', '/stats', null)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="zombi"')
    expect((await call('GET', '/stats', 'admin')).status).toBe(200)
  })

  test('the same principals and ACLs as the Kafka door: alice may not write, the super user may, and kcat reads it', async () => {
    const topic = uniqueTopic('http-acl')
    const denied = await call('POST', `/tables/${topic}`, 'alice', { payload: 'from-alice' })
    expect(denied.status).toBe(403)
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'forbidden' })
    expect((await call('POST', `/tables/${topic}`, 'admin', { payload: 'from-admin' })).status).toBe(202)
    const consumed = await kcat(['-C', '-b', broker.bootstrap, '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certs.caFile}`, '-X', 'sasl.mechanism=SCRAM-SHA-256',
      '-X', 'sasl.username=admin', '-X', 'sasl.password=admin-secret', '-t', topic, '-o', 'beginning', '-c', '1', '-e', '-f', '%s\\n', ...kcatCommonArgs])
    expect(consumed.stdout.toString()).toBe('from-admin\n')
  })
})
